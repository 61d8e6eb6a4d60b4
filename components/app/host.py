"""What an app host is given: its `#cloud-config` (settings, the host library, the boot script and
the release's units) and its instance role (read this stack's database and cache secrets, mount
the backups file system, ship logs and metrics). Nothing else reaches the host: the app reads
secret values from Secrets Manager at start."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.config import AppConfig
from components.shared import cloud_init, iam

ECR_READ = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"


@dataclass(frozen=True)
class HostSettings:
    """The resolved addresses and ARNs an app host is told (empty: the stack has none)."""

    database: str = ""
    """The database's host (`DB_HOST`)."""
    database_port: str = ""
    """Its port (`DB_PORT`)."""
    database_secret: str = ""
    """Its credentials' secret (`DB_SECRET_ARN`)."""
    cache: str = ""
    """The cache's endpoint (`CACHE_HOST`)."""
    cache_port: str = ""
    """Its port (`CACHE_PORT`)."""
    cache_secret: str = ""
    """Its AUTH token's secret (`CACHE_AUTH_SECRET_ARN`)."""
    file_system: str = ""
    """The backups file system, mounted at `efs.mountPath`."""
    agent_config: str = ""
    """The SSM parameter holding the CloudWatch agent's config."""


def user_data_document(config: AppConfig, region: str, settings: HostSettings) -> dict[str, Any]:
    """The app hosts' `#cloud-config`: settings files, the host library, the boot script, and the
    release's units (the image pull, then the container)."""
    boot = {
        "REGION": region,
        "IMAGE": config.release.image,
        "RELEASE_VERSION": config.release.version,
        "BACKUP_DIR": config.efs.mount_path,
        "EFS_ID": settings.file_system,
        "AGENT_CONFIG_PARAMETER": settings.agent_config,
    }
    app_env = {
        **config.release.env,
        "PORT": config.port,
        "AWS_REGION": region,
        "RELEASE_VERSION": config.release.version,
        "DB_HOST": settings.database,
        "DB_PORT": settings.database_port,
        "DB_SECRET_ARN": settings.database_secret,
        "CACHE_HOST": settings.cache,
        "CACHE_PORT": settings.cache_port,
        "CACHE_TLS": "true" if settings.cache else "",
        "CACHE_AUTH_SECRET_ARN": settings.cache_secret,
        "BACKUP_DIR": config.efs.mount_path,
    }
    mount = []
    if settings.file_system:
        # Before cloud-init mounts it at first boot, and at every reboot: the release must never
        # start on (and write its backups to) the root volume's directory under the mount point.
        mount = [
            {
                "path": "/etc/systemd/system/multitier-app.service.d/backups-mount.conf",
                "permissions": "0644",
                "content": f"[Unit]\nRequiresMountsFor={config.efs.mount_path}\n",
            }
        ]
    return {
        "write_files": [
            cloud_init.library(),
            {
                "path": "/etc/multitier/boot.env",
                "permissions": "0644",
                "content": cloud_init.env_file(boot),
            },
            {
                "path": "/etc/multitier/app.env",
                "permissions": "0644",
                "content": _docker_env(app_env),
            },
            {
                "path": "/etc/systemd/system/multitier-app-pull.service",
                "permissions": "0644",
                "content": cloud_init.script("multitier-app-pull.service"),
            },
            {
                "path": "/etc/systemd/system/multitier-app.service",
                "permissions": "0644",
                "content": cloud_init.script("multitier-app.service"),
            },
            {
                "path": "/usr/local/sbin/multitier-app-pull",
                "permissions": "0755",
                "content": cloud_init.script("app_pull.sh"),
            },
            {
                "path": "/usr/local/sbin/multitier-app-boot",
                "permissions": "0755",
                "content": cloud_init.script("app_boot.sh"),
            },
            *mount,
        ],
        "runcmd": [["/usr/local/sbin/multitier-app-boot"]],
    }


def _docker_env(values: dict[str, Any]) -> str:
    """`docker run --env-file` syntax: KEY=value, unquoted, one per line; empty values dropped."""
    return "".join(f"{key}={value}\n" for key, value in values.items() if value != "")


def host_role(
    name: str,
    opts: pulumi.ResourceOptions,
    config: AppConfig,
    secret_arns: list[pulumi.Output[str]],
    file_system_id: pulumi.Output[str] | None,
) -> iam.InstanceRole:
    """The hosts' role: SSM and the CloudWatch agent, ECR when the image is there, and one inline
    policy reading `secret_arns` and mounting the file system."""
    managed = [iam.SSM_CORE, iam.CLOUDWATCH_AGENT]
    if ".dkr.ecr." in config.release.image.split("/")[0]:
        managed.append(ECR_READ)
    role = iam.InstanceRole(name, opts, managed)
    # Each entry: some statements of the hosts' policy, once the ARNs are known.
    statements: list[pulumi.Output[list[dict[str, Any]]]] = []
    if secret_arns:
        region = aws.get_region().region
        statements.append(
            pulumi.Output.all(*secret_arns).apply(lambda arns: iam.read_secrets(region, list(arns)))
        )
    if file_system_id is not None:
        statements.append(file_system_id.apply(lambda fs: [_mount_statement(fs)]))
    if statements:
        role.allow(
            pulumi.Output.all(*statements).apply(
                lambda groups: json.dumps(iam.policy(*(s for g in groups for s in g)))
            )
        )
    return role


def _mount_statement(file_system_id: str) -> dict[str, Any]:
    return {
        "Sid": "MountBackups",
        "Effect": "Allow",
        "Action": ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
        "Resource": f"arn:aws:elasticfilesystem:*:*:file-system/{file_system_id}",
    }
