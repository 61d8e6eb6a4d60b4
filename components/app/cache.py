"""The app's Redis cache (state sync between app hosts): ElastiCache in the data tier, encrypted at
rest and in transit, with an AUTH token in Secrets Manager, and a security group that admits the
app hosts' group only.

The program generates the first token; the credentials function (functions/db_credentials,
deployed here outside the VPC: it only calls Secrets Manager and ElastiCache) rotates it every
`authRotationDays`, with ElastiCache's ROTATE then SET, so no client is refused at any moment:
after a rotation both the new and the previous token work until the next one. A host that reads
the secret at boot and again when AUTH fails follows it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.config import CacheConfig
from components.shared import credentials_function, ec2, iam
from functions.db_credentials import rotation

REDIS_PORT = 6379


@dataclass(frozen=True)
class CacheArgs:
    config: CacheConfig
    """`multitier:app.cache`: engine version, node type and count."""
    vpc_id: pulumi.Input[str]
    """The VPC of the cache's group."""
    subnet_ids: Sequence[pulumi.Input[str]]
    """The data tier's subnets."""
    clients_group_id: pulumi.Input[str]
    """The app hosts' group: the only one admitted."""
    log_group_name: str
    """The rotation function's log group."""
    log_retention_days: int
    """Its log's retention."""
    log_kms_key_arn: pulumi.Input[str] | None = None
    """The key its log group is encrypted with."""


@dataclass(frozen=True)
class Cache:
    endpoint: pulumi.Output[str]
    """The primary endpoint's address (TLS, port `REDIS_PORT`)."""
    secret_arn: pulumi.Output[str]
    """The AUTH token's secret, handed out once it holds the token."""
    member_clusters: pulumi.Output[list[str]]
    """The node cluster ids, which the cache's CloudWatch metrics are keyed by."""
    rotation_function_name: pulumi.Output[str]
    """The function that rotates the AUTH token: its errors are a failed rotation."""


def build(name: str, args: CacheArgs, opts: pulumi.ResourceOptions) -> Cache:
    """Declare the cache, its group and the rules between the app hosts and it, its subnet group,
    and its AUTH token with the token's secret and key, each named `name` or `name-…`."""
    config = args.config
    group = ec2.security_group(name, args.vpc_id, "cache", "Redis: from the app hosts only", opts)
    ec2.allow_tcp(
        f"{name}-from-hosts",
        port=REDIS_PORT,
        client_group_id=args.clients_group_id,
        server_group_id=group.id,
        ingress_description="Redis from the app hosts",
        egress_description="Redis to the app cache",
        opts=opts,
    )
    subnets = aws.elasticache.SubnetGroup(
        name,
        description="Data-tier subnets for the app cache",
        subnet_ids=list(args.subnet_ids),
        opts=opts,
    )
    token = random.RandomPassword(name, length=64, special=False, opts=opts)
    secret = aws.secretsmanager.Secret(
        name,
        description="AUTH token of the app's Redis cache",
        kms_key_id=iam.kms_key(f"{name}-secret", "the cache's AUTH token", opts).arn,
        opts=opts,
    )
    # The first token only: the rotation owns the value after it (components/database/
    # credentials.py says why the version keeps a label of its own).
    version = aws.secretsmanager.SecretVersion(
        name,
        secret_id=secret.id,
        secret_string=token.result,
        version_stages=[rotation.CURRENT, rotation.FIRST],
        opts=pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(ignore_changes=["secretString", "versionStages"])
        ),
    )
    replicated = config.node_count > 1
    cache = aws.elasticache.ReplicationGroup(
        name,
        description="App state sync",
        engine="redis",
        engine_version=config.engine_version,
        node_type=config.node_type,
        num_cache_clusters=config.node_count,
        automatic_failover_enabled=replicated,
        multi_az_enabled=replicated,
        port=REDIS_PORT,
        subnet_group_name=subnets.name,
        security_group_ids=[group.id],
        at_rest_encryption_enabled=True,
        transit_encryption_enabled=True,
        auth_token=token.result,
        snapshot_retention_limit=1,
        auto_minor_version_upgrade=True,
        # The first token only: the rotation changes it.
        opts=pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(ignore_changes=["authToken", "authTokenUpdateStrategy"])
        ),
    )
    function = _rotation(name, args, secret, cache, opts)
    return Cache(
        endpoint=cache.primary_endpoint_address,
        # Handed out once the secret has its value: hosts read it at first boot.
        secret_arn=pulumi.Output.all(secret.arn, version.id).apply(lambda v: v[0]),
        member_clusters=cache.member_clusters.apply(sorted),
        rotation_function_name=function.function.name,
    )


def _rotation(
    name: str,
    args: CacheArgs,
    secret: aws.secretsmanager.Secret,
    cache: aws.elasticache.ReplicationGroup,
    opts: pulumi.ResourceOptions,
) -> credentials_function.CredentialsFunction:
    """The function that rotates the token, and its schedule."""
    region = aws.get_region().region
    function = credentials_function.build(
        f"{name}-rotation",
        credentials_function.FunctionArgs(
            description="Rotates the app cache's AUTH token (ROTATE, then SET)",
            log_group_name=args.log_group_name,
            statements=pulumi.Output.all(secret.arn, cache.arn).apply(
                lambda arns: [
                    *credentials_function.manage_secrets(region, [arns[0]]),
                    {
                        "Sid": "RotateTheCacheToken",
                        "Effect": "Allow",
                        "Action": [
                            "elasticache:DescribeReplicationGroups",
                            "elasticache:ModifyReplicationGroup",
                        ],
                        "Resource": arns[1],
                    },
                ]
            ),
            environment={"CACHE_SECRET_ARN": secret.arn, "CACHE_GROUP": cache.id},
            log_retention_days=args.log_retention_days,
            log_kms_key_arn=args.log_kms_key_arn,
        ),
        opts,
    )
    credentials_function.rotate(
        f"{name}-rotation", secret, function, args.config.auth_rotation_days, opts, after=[cache]
    )
    return function
