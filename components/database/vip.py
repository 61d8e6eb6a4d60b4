"""PostgresHA's vip mode: the self-hosted PostgreSQL cluster of the seeds, made safe.

- Nodes run in an Auto Scaling group across the data subnets and share one encrypted EFS data
  directory. Only the primary runs PostgreSQL: the failover function
  (components/database/failover.py) fences an old primary before it promotes another, and each
  node's agent
  (functions/hosts/pg_agent.py) starts PostgreSQL only while its role tag says primary and the
  lease on the shared volume is free.
- Clients reach a virtual IP outside the VPC through a /32 route the failover function points at
  the primary. Pulumi never declares that route (it would delete the function's route on the next
  update); the network tags the route tables the function manages instead.
- The cluster's table (DynamoDB) holds the failover function's lease and each node's report of
  its state: the function judges PostgreSQL itself, not only EC2. Its stream runs the function
  at once on a `failing` report. The nodes reach it through the VPC's DynamoDB gateway endpoint,
  so no NAT fault silences them.
- The node group never removes the primary by itself: AZ rebalancing is suspended, and the
  failover function protects the primary from scale-in.
- One certificate for the VIP, made once per stack and kept in Pulumi's state: every node serves
  it, so it does not change at a failover, and clients verify it (`verify-full`) with the CA
  that the master secret carries.
- The nodes may open HTTPS anywhere (packages, the EC2, DynamoDB and Secrets Manager APIs) and NFS
  to their data volume, nothing else.
- The primary archives its WAL and base backups to the stack's bucket, under the cluster's prefix
  (components/database/archive.py); with `vip.restore`, the first primary restores an archive
  instead of running initdb. With `deletionProtection`, the data volume and the archive are
  protected and kept when the stack is destroyed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_tls as tls

from components.config import DatabaseConfig
from components.database import archive as wal_archive
from components.database import credentials as database_credentials
from components.database.credentials import Credentials
from components.shared import cloud_init, ec2, iam
from components.shared import file_system as shared_file_system
from components.shared.contracts import NetworkRef
from components.shared.file_system import SharedFileSystemArgs
from functions.db_credentials import roles
from functions.db_failover import contract

SHARED_DIR = "/var/lib/multitier-pg"
# The app's roles as SQL (the credentials function's module), for the node's bootstrap.
ROLES_PROGRAM = "/usr/local/lib/multitier/roles.py"
# The CA outlives every stack; the server certificate is renewed by the `pulumi up` that runs in
# its last 30 days (nodes read it at boot: replace them one at a time afterwards).
CA_VALIDITY_HOURS = 20 * 365 * 24
CERTIFICATE_VALIDITY_HOURS = 2 * 365 * 24
CERTIFICATE_EARLY_RENEWAL_HOURS = 30 * 24


@dataclass(frozen=True)
class VipCluster:
    """What exists only in vip mode."""

    cluster_name: str
    """The cluster's tag value on its nodes and route tables."""
    node_group_name: pulumi.Output[str]
    """The nodes' Auto Scaling group."""
    file_system_id: pulumi.Output[str]
    """The shared data volume."""
    file_system_arn: pulumi.Output[str]
    """The same volume, for its backups' copies."""
    table_name: pulumi.Output[str]
    """The cluster's table: the failover lease and the nodes' reports."""
    table_arn: pulumi.Output[str]
    """The same table, for the function's policy."""
    table_stream_arn: pulumi.Output[str]
    """The table's stream of changed items: `failing` reports run the function."""
    node_group_arn: pulumi.Output[str]
    """The node group, whose scale-in protection the function sets."""
    nodes: aws.autoscaling.Group
    """The failover rules wait for it: with no node in service every run would fail."""
    credentials: Credentials
    """The master's, the app's and the read-only login's secrets, each with the CA clients
    verify the VIP's certificate against."""
    node_role_id: pulumi.Output[str]
    """The nodes' role's unique id (AROA...): their reports are keyed `node#<it>:<instance id>`,
    their `${aws:userid}`."""
    archive_bucket: pulumi.Output[str] | None = None
    """The WAL archive's bucket (components/database/archive.py)."""


@dataclass(frozen=True)
class VipArgs:
    config: DatabaseConfig
    """`multitier:database`, its `vip` settings."""
    cluster_name: str
    """Tags the nodes and names the CA."""
    network: NetworkRef
    """The nodes and the data volume's mount targets go in the data tier."""
    security_group: aws.ec2.SecurityGroup
    """The nodes' group (PostgresHA's)."""
    secrets_key_arn: pulumi.Input[str]
    """Encrypts the master and TLS secrets."""
    bastion_security_group_id: pulumi.Input[str] | None = None
    """Admit SSH to the nodes from this group."""


def build(name: str, args: VipArgs, opts: pulumi.ResourceOptions) -> VipCluster:
    """Declare the nodes and what they need: the data volume, the secrets, the table."""
    config, group = args.config, args.security_group
    vip = str(config.vip.address)
    if args.bastion_security_group_id is not None:
        ec2.tcp_ingress(
            f"{name}-ssh-from-bastion",
            group.id,
            22,
            "SSH from the bastion",
            opts,
            referenced_security_group_id=args.bastion_security_group_id,
        )
    https = ec2.https_to_internet(
        f"{name}-https",
        group.id,
        "HTTPS: packages, the EC2, DynamoDB and Secrets Manager APIs",
        opts,
        ipv6=args.network.ipv6_cidr_block is not None,
    )
    volume = shared_file_system.build(
        f"{name}-data",
        SharedFileSystemArgs(
            vpc_id=args.network.vpc_id,
            subnets=args.network.tier("data"),
            clients_group_id=group.id,
            tier="database-efs",
            description="PostgreSQL data EFS: NFS from the database nodes only",
            clients="the database nodes",
            clients_label="nodes",
            purpose="the data volume",
            performance_mode="generalPurpose",
            protect=config.deletion_protection,
        ),
        opts,
    )
    file_system = volume.file_system
    ca, certificate_secret = _certificate(name, vip, args, opts)
    credentials = database_credentials.build(
        name,
        config,
        host=vip,
        master_password=database_credentials.master_password(name, opts),
        key_arn=args.secrets_key_arn,
        opts=opts,
        extra={"ca_certificate": ca.cert_pem},
    )
    secret_arn = credentials.master.arn
    logins = [credentials.app.arn, credentials.readonly.arn]
    # The failover lease and the nodes' reports; created before the nodes, which report into it.
    table = aws.dynamodb.Table(
        f"{name}-failover-lease",
        attributes=[aws.dynamodb.TableAttributeArgs(name=contract.TABLE_KEY, type="S")],
        hash_key=contract.TABLE_KEY,
        billing_mode="PAY_PER_REQUEST",
        # New images only: the function's trigger filters reports on their state.
        stream_enabled=True,
        stream_view_type="NEW_IMAGE",
        opts=opts,
    )
    role = iam.InstanceRole(f"{name}-nodes", opts, [iam.SSM_CORE, iam.CLOUDWATCH_AGENT])
    region = aws.get_region().region
    archive = wal_archive.build(
        f"{name}-archive",
        wal_archive.ArchiveArgs(config.vip, args.cluster_name, protect=config.deletion_protection),
        opts,
    )
    role.allow(
        pulumi.Output.all(archive.bucket_name, archive.key.arn).apply(
            lambda values: json.dumps(
                wal_archive.node_policy(
                    region, args.cluster_name, values[0], values[1], config.vip.restore
                )
            )
        ),
        name=f"{name}-nodes-archive",
    )
    role.allow(
        pulumi.Output.all(
            [secret_arn, certificate_secret, *logins], file_system.arn, table.arn
        ).apply(lambda arns: json.dumps(node_policy(region, *arns)))
    )
    settings = {
        "REGION": region,
        "CLUSTER": args.cluster_name,
        "VIP": vip,
        "PG_MAJOR": config.major_version,
        "OWNER_ROLE": roles.OWNER,
        "APP_LOGIN": roles.APP,
        "READER_LOGIN": roles.READER,
        "APP_CIDRS": " ".join(args.network.cidrs("private")),
        "SHARED_DIR": SHARED_DIR,
        "PGDATA": f"{SHARED_DIR}/data",
    }
    user_data = pulumi.Output.all(
        file_system.id,
        secret_arn,
        certificate_secret,
        table.name,
        role.role.unique_id,
        *logins,
        archive.bucket_name,
    ).apply(
        lambda ids: cloud_init.render_base64(
            node_user_data(
                {
                    **settings,
                    "EFS_ID": ids[0],
                    "SECRET_ARN": ids[1],
                    "TLS_SECRET_ARN": ids[2],
                    "LEASE_TABLE": ids[3],
                    "NODE_ROLE_ID": ids[4],
                    "APP_SECRET_ARN": ids[5],
                    "READONLY_SECRET_ARN": ids[6],
                    **wal_archive.node_settings(config.vip, ids[7]),
                }
            )
        )
    )
    # The agent reads the node's role tag from instance metadata.
    template = ec2.launch_template(
        f"{name}-node",
        image=config.vip.ami,
        instance_type=config.vip.instance_type,
        role=role,
        user_data=user_data,
        security_group_ids=[group.id],
        opts=opts,
    )
    # No instance refresh: database nodes are replaced deliberately, one at a time.
    nodes = aws.autoscaling.Group(
        f"{name}-nodes",
        vpc_zone_identifiers=args.network.subnet_ids("data"),
        min_size=config.vip.node_count,
        max_size=config.vip.node_count,
        desired_capacity=config.vip.node_count,
        health_check_type="EC2",
        health_check_grace_period=300,
        # Rebalancing across zones would terminate a node it chose, the primary included; the
        # failover function protects the primary from scale-in (lowering nodeCount).
        suspended_processes=["AZRebalance"],
        launch_template=aws.autoscaling.GroupLaunchTemplateArgs(
            id=template.id, version=template.latest_version.apply(str)
        ),
        tags=[
            aws.autoscaling.GroupTagArgs(key=key, value=value, propagate_at_launch=True)
            for key, value in {
                "Name": f"{args.cluster_name}-node",
                contract.CLUSTER_TAG: args.cluster_name,
                contract.ROLE_TAG: "standby",
            }.items()
        ],
        # A node's first boot installs packages and reads the secrets (HTTPS out through the
        # data tier's route) and mounts the data volume (its mount targets and NFS rules).
        opts=pulumi.ResourceOptions.merge(
            opts,
            pulumi.ResourceOptions(
                depends_on=[
                    *args.network.internet_connectivity.get("data", []),
                    *https,
                    *volume.ready,
                ]
            ),
        ),
    )
    cluster = VipCluster(
        cluster_name=args.cluster_name,
        node_group_name=nodes.name,
        file_system_id=file_system.id,
        file_system_arn=file_system.arn,
        table_name=table.name,
        table_arn=table.arn,
        table_stream_arn=table.stream_arn,
        node_group_arn=nodes.arn,
        nodes=nodes,
        credentials=credentials,
        node_role_id=role.role.unique_id,
        archive_bucket=archive.bucket_name,
    )
    return cluster


def _certificate(
    name: str, vip: str, args: VipArgs, opts: pulumi.ResourceOptions
) -> tuple[tls.SelfSignedCert, pulumi.Output[str]]:
    """The cluster's CA and the VIP's certificate, signed by it; the certificate and its key in a
    secret only the nodes read. Returns the CA and that secret's ARN (resolved with its value)."""
    label = f"{name}-tls"
    ca_key = tls.PrivateKey(f"{label}-ca", algorithm="ECDSA", ecdsa_curve="P256", opts=opts)
    ca = tls.SelfSignedCert(
        f"{label}-ca",
        private_key_pem=ca_key.private_key_pem,
        is_ca_certificate=True,
        subject=tls.SelfSignedCertSubjectArgs(common_name=f"{args.cluster_name} CA"),
        validity_period_hours=CA_VALIDITY_HOURS,
        allowed_uses=["cert_signing", "crl_signing"],
        opts=opts,
    )
    key = tls.PrivateKey(label, algorithm="ECDSA", ecdsa_curve="P256", opts=opts)
    request = tls.CertRequest(
        label,
        private_key_pem=key.private_key_pem,
        subject=tls.CertRequestSubjectArgs(common_name=vip),
        ip_addresses=[vip],
        opts=opts,
    )
    certificate = tls.LocallySignedCert(
        label,
        cert_request_pem=request.cert_request_pem,
        ca_private_key_pem=ca_key.private_key_pem,
        ca_cert_pem=ca.cert_pem,
        validity_period_hours=CERTIFICATE_VALIDITY_HOURS,
        early_renewal_hours=CERTIFICATE_EARLY_RENEWAL_HOURS,
        allowed_uses=["digital_signature", "key_encipherment", "server_auth"],
        opts=opts,
    )
    secret = aws.secretsmanager.Secret(
        label,
        description="The cluster's TLS certificate and key, for its nodes",
        kms_key_id=args.secrets_key_arn,
        opts=opts,
    )
    version = aws.secretsmanager.SecretVersion(
        label,
        secret_id=secret.id,
        secret_string=pulumi.Output.json_dumps(
            {
                "certificate": certificate.cert_pem,
                "private_key": key.private_key_pem,
                "ca_certificate": ca.cert_pem,
            }
        ),
        opts=opts,
    )
    return ca, pulumi.Output.all(secret.arn, version.id).apply(lambda values: values[0])


def node_user_data(settings: dict[str, str]) -> dict[str, Any]:
    """A database node's `#cloud-config`: settings, the host library, scripts, agent and units,
    then boot."""
    files = [
        ("/etc/multitier/pg.env", "0644", cloud_init.env_file(settings)),
        (cloud_init.LIBRARY, "0644", cloud_init.script("lib.sh")),
        ("/usr/local/sbin/multitier-pg-boot", "0755", cloud_init.script("pg_node_boot.sh")),
        ("/usr/local/sbin/multitier-pg", "0755", cloud_init.script("pg_service.sh")),
        ("/usr/local/sbin/multitier-pg-agent", "0755", cloud_init.script("pg_agent.py")),
        (ROLES_PROGRAM, "0644", cloud_init.python(Path(roles.__file__).read_text())),
        (
            "/etc/systemd/system/multitier-vip.service",
            "0644",
            cloud_init.script("multitier-vip.service"),
        ),
        (
            "/etc/systemd/system/multitier-pg-agent.service",
            "0644",
            cloud_init.script("multitier-pg-agent.service"),
        ),
        *((path, mode, cloud_init.script(name)) for path, mode, name in wal_archive.NODE_FILES),
    ]
    return {
        "write_files": [
            {"path": path, "permissions": mode, "content": content} for path, mode, content in files
        ],
        "runcmd": [["/usr/local/sbin/multitier-pg-boot"]],
    }


def node_policy(
    region: str, secret_arns: list[str], file_system_arn: str, table_arn: str
) -> dict[str, Any]:
    """Read the secrets (the master's, the certificate's, and the logins' the node creates the
    roles with), mount the data volume, and report the node's own state, under its own key."""
    return iam.policy(
        *iam.read_secrets(region, secret_arns),
        {
            "Sid": "MountData",
            "Effect": "Allow",
            "Action": [
                "elasticfilesystem:ClientMount",
                "elasticfilesystem:ClientWrite",
                "elasticfilesystem:ClientRootAccess",
            ],
            "Resource": file_system_arn,
        },
        {
            "Sid": "ReportState",
            "Effect": "Allow",
            "Action": "dynamodb:PutItem",
            "Resource": table_arn,
            # Only its own report (`${aws:userid}` is `<role id>:<instance id>` for an instance
            # profile's session): never another node's, never the function's lease or pause.
            "Condition": {
                "ForAllValues:StringEquals": {
                    "dynamodb:LeadingKeys": [f"{contract.NODE_ITEM_PREFIX}{contract.NODE_USER_ID}"]
                }
            },
        },
    )
