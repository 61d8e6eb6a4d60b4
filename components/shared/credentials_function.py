"""The credentials function (functions/db_credentials) as Lambda runs it, and the rotation
schedules that call it. Two parts deploy it: the database's (components/database/rotation.py, in
the VPC: it logs in to PostgreSQL) and the cache's (components/app/cache.py, outside the VPC: it
only calls AWS APIs).

Its package is the function's own modules and the pure-Python PostgreSQL driver pg8000 with its
dependencies, copied from this environment, where requirements.txt pins each: the same files
every time, in the same order, without compiled caches, so the package (and the function) only
changes when one of them does.
"""

from __future__ import annotations

import importlib.metadata
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from components.shared import iam

CODE = Path(__file__).resolve().parents[2] / "functions" / "db_credentials"
LAMBDA_RUNTIME = "python3.13"
HANDLER = f"{CODE.name}.handler.handler"
# pg8000 and what it imports (scramp, asn1crypto; python-dateutil, six): pure Python, each pinned
# in requirements.txt. Distribution names, as pip knows them.
VENDORED = ("pg8000", "scramp", "asn1crypto", "python-dateutil", "six")
# What pip writes about its installation, which differs between machines (RECORD lists the caches
# it compiled, named after the installing interpreter): not part of the code.
_INSTALLATION_RECORDS = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})
# A rotation step may wait on the database or on ElastiCache (minutes): Lambda's longest.
TIMEOUT_SECONDS = 900


def package_files() -> dict[str, Path]:
    """The package: its path in the archive -> the file, sorted. Each vendored distribution
    comes as pip installed it, its metadata included (scramp reads its own version from it at
    import), without compiled caches, console scripts, or pip's records of the installation."""
    files = {f"{CODE.name}/{path.name}": path for path in CODE.glob("*.py")}
    for name in VENDORED:
        try:
            distribution = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            raise RuntimeError(
                f"{name} is not installed: pip install -r requirements.txt"
            ) from None
        for entry in distribution.files or ():
            path = Path(str(distribution.locate_file(entry)))
            inside = entry.as_posix()
            if (
                inside.startswith("..")  # console scripts, outside site-packages
                or "__pycache__" in entry.parts
                or path.suffix == ".pyc"
                or entry.name in _INSTALLATION_RECORDS
            ):
                continue
            files[inside] = path
    return dict(sorted(files.items()))


def package() -> pulumi.AssetArchive:
    return pulumi.AssetArchive(
        {name: pulumi.FileAsset(str(path)) for name, path in package_files().items()}
    )


@dataclass(frozen=True)
class FunctionArgs:
    description: str
    """What this deployment rotates."""
    log_group_name: str
    """`/multitier/<cluster>/credentials`, say."""
    statements: pulumi.Input[Sequence[Mapping[str, Any]]]
    """Its permissions beyond writing its own log."""
    environment: Mapping[str, pulumi.Input[str]]
    """Where the database is and which secrets are whose (functions/db_credentials/handler.py)."""
    log_retention_days: int
    """Its log's retention."""
    log_kms_key_arn: pulumi.Input[str] | None = None
    """The key its log group is encrypted with."""
    vpc_config: aws.lambda_.FunctionVpcConfigArgs | None = None
    """In the VPC (the database's deployment): subnets and security group."""
    depends_on: Sequence[pulumi.Resource] = ()
    """What must exist before its first call: the routes and rules to what it reaches."""


@dataclass(frozen=True)
class CredentialsFunction:
    function: aws.lambda_.Function
    """Rotation schedules name it; its errors alarm."""
    role: iam.Role
    """Its role, whose grants its first call waits for."""


def build(name: str, args: FunctionArgs, opts: pulumi.ResourceOptions) -> CredentialsFunction:
    """The function, its log group and its role."""
    log_group = aws.cloudwatch.LogGroup(
        name,
        name=args.log_group_name,
        retention_in_days=args.log_retention_days,
        kms_key_id=args.log_kms_key_arn,
        opts=opts,
    )
    statements = pulumi.Output.all(log_group.arn, args.statements).apply(
        lambda values: json.dumps(
            iam.policy(
                *values[1],
                {
                    "Sid": "WriteOwnLogs",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": f"{values[0]}:*",
                },
            )
        )
    )
    # In a VPC, Lambda makes the function's network interfaces with the role's permissions.
    managed = [iam.LAMBDA_VPC_ACCESS] if args.vpc_config is not None else []
    role = iam.Role(name, "lambda.amazonaws.com", opts, managed)
    role.allow(statements)
    function = aws.lambda_.Function(
        name,
        description=args.description,
        runtime=LAMBDA_RUNTIME,
        handler=HANDLER,
        code=package(),
        role=role.arn,
        timeout=TIMEOUT_SECONDS,
        memory_size=256,
        environment=aws.lambda_.FunctionEnvironmentArgs(variables=dict(args.environment)),
        vpc_config=args.vpc_config,
        logging_config=aws.lambda_.FunctionLoggingConfigArgs(
            log_format="Text", log_group=log_group.name
        ),
        opts=pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(depends_on=[*role.ready, *args.depends_on])
        ),
    )
    return CredentialsFunction(function, role)


def rotate(
    name: str,
    secret: aws.secretsmanager.Secret,
    function: CredentialsFunction,
    days: int,
    opts: pulumi.ResourceOptions,
    *,
    after: Sequence[pulumi.Resource] = (),
) -> aws.secretsmanager.SecretRotation:
    """Rotate `secret` every `days` days with the function. Not at once: enabling rotation runs
    the function's testSecret step only (functions/db_credentials/rotation.py), and the first
    rotation comes on schedule. `after`: what the first run needs (the database's roles)."""
    permission = aws.lambda_.Permission(
        name,
        action="lambda:InvokeFunction",
        function=function.function.name,
        principal="secretsmanager.amazonaws.com",
        source_arn=secret.arn,
        opts=opts,
    )
    return aws.secretsmanager.SecretRotation(
        name,
        secret_id=secret.id,
        rotation_lambda_arn=function.function.arn,
        rotation_rules=aws.secretsmanager.SecretRotationRotationRulesArgs(
            automatically_after_days=days
        ),
        rotate_immediately=False,
        opts=pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(depends_on=[permission, *after])
        ),
    )


def manage_secrets(region: str, secret_arns: Sequence[str]) -> list[dict[str, Any]]:
    """What a rotation does with its secrets: read them, write their new versions and move their
    labels, with the keys that encrypt them, through Secrets Manager only."""
    return [
        {
            "Sid": "RotateTheseSecrets",
            "Effect": "Allow",
            "Action": [
                "secretsmanager:DescribeSecret",
                "secretsmanager:GetSecretValue",
                "secretsmanager:PutSecretValue",
                "secretsmanager:UpdateSecretVersionStage",
            ],
            "Resource": list(secret_arns),
        },
        {
            "Sid": "UseTheirKeys",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": f"secretsmanager.{region}.amazonaws.com",
                    "kms:EncryptionContext:SecretARN": list(secret_arns),
                }
            },
        },
    ]
