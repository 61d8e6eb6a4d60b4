"""The app's Redis cache (state sync between app hosts): ElastiCache in the data tier, encrypted at
rest and in transit, with an AUTH token the program generates and keeps in Secrets Manager, and
a security group that admits the app hosts' group only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.config import CacheConfig
from components.shared import ec2, iam

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


@dataclass(frozen=True)
class Cache:
    endpoint: pulumi.Output[str]
    """The primary endpoint's address (TLS, port `REDIS_PORT`)."""
    secret_arn: pulumi.Output[str]
    """The AUTH token's secret, handed out once it holds the token."""
    member_clusters: pulumi.Output[list[str]]
    """The node cluster ids, which the cache's CloudWatch metrics are keyed by."""


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
    version = aws.secretsmanager.SecretVersion(
        name, secret_id=secret.id, secret_string=token.result, opts=opts
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
        opts=opts,
    )
    return Cache(
        endpoint=cache.primary_endpoint_address,
        # Handed out once the secret has its value: hosts read it at first boot.
        secret_arn=pulumi.Output.all(secret.arn, version.id).apply(lambda v: v[0]),
        member_clusters=cache.member_clusters.apply(sorted),
    )
