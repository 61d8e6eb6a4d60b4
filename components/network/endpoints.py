"""The VPC's endpoints, a part of VpcNetwork: S3 and DynamoDB gateways on the private and data
route tables; SSM's three and Secrets Manager's interface endpoints in the private subnets,
behind one security group that admits HTTPS from the VPC.

Without a NAT the private subnets reach Secrets Manager only through its endpoint: it is returned
with what gives the private tier its way out, so what runs there (the credentials function)
waits for it as it waits for a NAT route.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.config.network import VpcEndpoints
from components.shared import ec2

GATEWAYS = ("s3", "dynamodb")
SSM = ("ssm", "ssmmessages", "ec2messages")
SECRETS_MANAGER = "secretsmanager"


@dataclass(frozen=True)
class EndpointsArgs:
    config: VpcEndpoints
    """`multitier:network.endpoints`: which endpoints."""
    vpc_id: pulumi.Input[str]
    """The VPC they serve."""
    cidr_block: str
    """The VPC's: the interface endpoints admit HTTPS from it."""
    route_table_ids: Sequence[pulumi.Input[str]]
    """The private and data tiers' route tables: the gateways' routes go there."""
    interface_subnet_ids: Sequence[pulumi.Input[str]]
    """The private subnets: an interface endpoint takes an address in each."""


def build(name: str, args: EndpointsArgs, opts: pulumi.ResourceOptions) -> list[pulumi.Resource]:
    """The configured endpoints; returns those the private tier needs for its way out."""
    region = aws.get_region().region
    for service in GATEWAYS:
        if getattr(args.config, service):
            aws.ec2.VpcEndpoint(
                f"{name}-{service}",
                vpc_id=args.vpc_id,
                service_name=f"com.amazonaws.{region}.{service}",
                vpc_endpoint_type="Gateway",
                route_table_ids=list(args.route_table_ids),
                opts=opts,
            )
    interfaces = [
        *(SSM if args.config.ssm else ()),
        *((SECRETS_MANAGER,) if args.config.secrets_manager else ()),
    ]
    if not interfaces:
        return []
    group = ec2.security_group(
        f"{name}-endpoints",
        args.vpc_id,
        "endpoints",
        "Interface endpoints: HTTPS from inside the VPC",
        opts,
    )
    ec2.tcp_ingress(
        f"{name}-endpoints-https",
        group.id,
        ec2.HTTPS_PORT,
        "HTTPS to the endpoints from inside the VPC",
        opts,
        cidr_ipv4=args.cidr_block,
    )
    egress: list[pulumi.Resource] = []
    for service in interfaces:
        endpoint = aws.ec2.VpcEndpoint(
            f"{name}-{service}",
            vpc_id=args.vpc_id,
            service_name=f"com.amazonaws.{region}.{service}",
            vpc_endpoint_type="Interface",
            private_dns_enabled=True,
            subnet_ids=list(args.interface_subnet_ids),
            security_group_ids=[group.id],
            opts=opts,
        )
        if service == SECRETS_MANAGER:
            egress.append(endpoint)
    return egress
