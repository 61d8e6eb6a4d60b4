"""The database's credentials function (functions/db_credentials) in the VPC: it bootstraps the
app's roles at deployment and rotates the three secrets on their schedules, in either mode.

- It runs in the private subnets, whose route tables carry the routes to the database in both
  modes (the VIP's /32 in vip mode), with a security group of its own: PostgreSQL to the
  database (admitted by the database's group), HTTPS out to Secrets Manager, through the NAT or
  the VPC's Secrets Manager endpoint (`network.endpoints.secretsManager`).
- The app's login rotates with alternating users: each rotation gives the login not in use a
  new password and makes it current, so the one the app hosts hold keeps working until the next
  rotation, and a host that reads the secret again when a login fails never sees a refusal it
  cannot recover from. The read-only login and the master user rotate their own password.
- The bootstrap runs once at deployment (and again when what it creates changes): managed mode
  needs it to create the roles; in vip mode the first primary creates them with the cluster, and
  the bootstrap covers a cluster that existed before the app had logins of its own, skipping a
  cluster that does not answer yet.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components.config import DatabaseConfig
from components.database.credentials import Credentials
from components.shared import cloud_init, credentials_function, ec2
from components.shared.contracts import NetworkRef
from functions.db_credentials import roles

ROLES_DIGEST = hashlib.sha256(
    cloud_init.python(Path(roles.__file__).read_text()).encode()
).hexdigest()[:16]
"""The roles' SQL as code: a change to it runs the bootstrap again."""


@dataclass(frozen=True)
class RotationArgs:
    config: DatabaseConfig
    """`multitier:database`: the mode and `rotation`'s schedules."""
    credentials: Credentials
    """The three secrets."""
    network: NetworkRef
    """The private subnets it runs in, and what they need to reach AWS."""
    host: pulumi.Input[str]
    """Where the database is: the RDS endpoint, or the VIP."""
    port: int
    """The PostgreSQL port."""
    database_group_id: pulumi.Input[str]
    """The database's group, which admits the function."""
    database_cidr: str | None
    """vip mode: where the function sends, the VIP's /32."""
    cluster_name: str
    """Names its log group."""
    log_retention_days: int
    """Its log's retention."""
    log_kms_key_arn: pulumi.Input[str] | None = None
    """The key its log group is encrypted with."""
    database: Sequence[pulumi.Resource] = ()
    """What serves the database: the bootstrap waits for it."""
    instance_identifier: pulumi.Input[str] | None = None
    """managed mode: the RDS instance, whose master password the bootstrap sets when it refuses
    the master secret's (a replaced or restored instance)."""


@dataclass(frozen=True)
class Rotation:
    function: aws.lambda_.Function
    """Its errors alarm: a rotation or the bootstrap failed."""
    bootstrap: aws.lambda_.Invocation
    """The app's roles exist once it has run: the app hosts wait for it."""


def build(name: str, args: RotationArgs, opts: pulumi.ResourceOptions) -> Rotation:
    """The function with its group, rules and role, its bootstrap run, and the schedules."""
    config, credentials = args.config, args.credentials
    group = ec2.security_group(
        name,
        args.network.vpc_id,
        "credentials",
        "The database credentials function: PostgreSQL to the database, HTTPS to AWS",
        opts,
    )
    reach = [
        *ec2.allow_tcp(
            f"{name}-to-database",
            port=args.port,
            client_group_id=group.id,
            server_group_id=args.database_group_id,
            ingress_description="PostgreSQL from the credentials function",
            egress_description="PostgreSQL to the database",
            server_cidr=args.database_cidr,
            opts=opts,
        ),
        *ec2.https_to_internet(
            f"{name}-https",
            group.id,
            "HTTPS: Secrets Manager, through the NAT or the VPC endpoint",
            opts,
            ipv6=args.network.ipv6_cidr_block is not None,
        ),
    ]
    region = aws.get_region().region
    arns = [credentials.master.arn, credentials.app.arn, credentials.readonly.arn]
    function = credentials_function.build(
        name,
        credentials_function.FunctionArgs(
            description="Creates the app's database roles and rotates their passwords",
            log_group_name=f"/multitier/{args.cluster_name}/credentials",
            statements=pulumi.Output.all(
                arns=pulumi.Output.all(*arns),
                instance=args.instance_identifier or "",
                account=aws.get_caller_identity().account_id,
            ).apply(
                lambda r: [
                    *credentials_function.manage_secrets(region, r["arns"]),
                    *_heal(region, r["account"], r["instance"]),
                ]
            ),
            environment={
                "DB_HOST": args.host,
                "DB_PORT": str(args.port),
                "MASTER_SECRET_ARN": credentials.master.arn,
                "APP_SECRET_ARN": credentials.app.arn,
                "READONLY_SECRET_ARN": credentials.readonly.arn,
                **({"DB_INSTANCE": args.instance_identifier} if args.instance_identifier else {}),
            },
            log_retention_days=args.log_retention_days,
            log_kms_key_arn=args.log_kms_key_arn,
            vpc_config=aws.lambda_.FunctionVpcConfigArgs(
                subnet_ids=args.network.subnet_ids("private"),
                security_group_ids=[group.id],
            ),
            # Its calls need the routes out of the private subnets and its group's rules.
            depends_on=[*args.network.internet_connectivity.get("private", []), *reach],
        ),
        opts,
    )
    vip = config.mode == "vip"
    bootstrap = aws.lambda_.Invocation(
        f"{name}-bootstrap",
        function_name=function.function.name,
        input=json.dumps({"bootstrap": True, **({"unreachable": "skip"} if vip else {})}),
        # Again when the database or its secrets are new (a replaced instance, a new stack), and
        # when the SQL that makes the roles changes (its code, without docstrings or comments).
        triggers={"host": args.host, "master": credentials.master.arn, "roles": ROLES_DIGEST},
        opts=pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(depends_on=[*args.database, *reach])
        ),
    )
    schedules = {
        "master": (credentials.master, config.rotation.master_days),
        "app": (credentials.app, config.rotation.app_days),
        "readonly": (credentials.readonly, config.rotation.readonly_days),
    }
    for kind, (secret, days) in schedules.items():
        credentials_function.rotate(
            f"{name}-{kind}", secret.secret, function, days, opts, after=[bootstrap]
        )
    return Rotation(function.function, bootstrap)


def _heal(region: str, account: str, instance: str) -> list[dict[str, object]]:
    """managed mode: set the instance's master password, and only that instance's."""
    if not instance:
        return []
    return [
        {
            "Sid": "SetTheMasterPasswordOfThisInstance",
            "Effect": "Allow",
            "Action": "rds:ModifyDBInstance",
            "Resource": f"arn:aws:rds:{region}:{account}:db:{instance}",
        }
    ]
