"""`multitier:network`: the VPC's config, and the address ranges a VPC or the database's virtual
IP may take (what AWS allows, what Docker on the app hosts takes, what the load balancer's subnets
need).
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, Field, model_validator

from components.config.fields import Allowed, InstanceType, LogRetention, Model

# Each subnet is 1/16 of the VPC (components/network/vpc.py, carve), and an ALB's subnets must be
# /27 or larger with 8 free addresses (Elastic Load Balancing, "Application Load Balancers",
# subnets): a /24 VPC gives /28 subnets, so /23 is the smallest VPC that works.
SUBNET_BITS = 4
ALB_SUBNET_PREFIX = 27
VPC_PREFIXES = (16, ALB_SUBNET_PREFIX - SUBNET_BITS)
# Addresses AWS keeps in every subnet (the first four and the last): "Subnet CIDR blocks".
AWS_RESERVED_PER_SUBNET = 5
# Interface endpoints (ssm, ssmmessages, ec2messages; secretsmanager) take one address in each
# private subnet, and so does the credentials function: Lambda gives a function in a VPC one
# Hyperplane interface per subnet and security group it uses.
SSM_ENDPOINTS = 3
PRIVATE_SUBNET_FUNCTIONS = 1

DOCKER_BRIDGE = IPv4Network("172.17.0.0/16")
RFC1918 = (IPv4Network("10.0.0.0/8"), IPv4Network("172.16.0.0/12"), IPv4Network("192.168.0.0/16"))
# Ranges no VPC and no VIP may use, and why. Docker's default bridge is on every app host (it routes
# 172.17.0.0/16 to docker0), and the VPC guide ("VPC CIDR blocks") asks to keep VPCs off it too.
_SPECIAL_RANGES: tuple[tuple[IPv4Network, str], ...] = (
    (IPv4Network("0.0.0.0/8"), "'this network' (RFC 1122), not an address"),
    (IPv4Network("127.0.0.0/8"), "loopback"),
    (IPv4Network("169.254.0.0/16"), "link-local, where instance metadata and the Amazon DNS live"),
    (IPv4Network("224.0.0.0/4"), "multicast"),
    (IPv4Network("240.0.0.0/4"), "reserved (RFC 1112)"),
    (DOCKER_BRIDGE, "Docker's bridge network on the app hosts"),
)
# RFC 6598 shared address space: refused for the VIP, because EKS pods and carrier-grade NAT use it,
# so a network peered with this VPC may well route it elsewhere.
SHARED_ADDRESS_SPACE = IPv4Network("100.64.0.0/10")


def _special_range(network: IPv4Network) -> str | None:
    return next((why for special, why in _SPECIAL_RANGES if network.overlaps(special)), None)


def _vpc_cidr(cidr: IPv4Network) -> IPv4Network:
    low, high = VPC_PREFIXES
    if cidr.prefixlen < low:
        raise ValueError(f"AWS allows VPCs of /16 to /28; allowed: /{low} to /{high}")
    if cidr.prefixlen > high:
        raise ValueError(
            f"a /{cidr.prefixlen} VPC gives /{cidr.prefixlen + SUBNET_BITS} subnets (each is "
            f"1/{2**SUBNET_BITS} of it), and a load balancer needs /{ALB_SUBNET_PREFIX} or "
            f"larger; the smallest VPC that works is /{high}; allowed: /{low} to /{high}"
        )
    special = _special_range(cidr)
    if special:
        raise ValueError(f"overlaps {special}; use a private (RFC 1918) range such as 10.0.0.0/16")
    return cidr


def _vip_address(address: IPv4Address) -> IPv4Address:
    network = IPv4Network(address)
    special = _special_range(network)
    why = special or (
        "shared address space (RFC 6598), which EKS pods and carrier-grade NAT use"
        if address in SHARED_ADDRESS_SPACE
        else None
    )
    if why is None and not any(address in private for private in RFC1918):
        why = "a public address"
    if why:
        raise ValueError(
            f"{why}; the VIP must be a private address (10.0.0.0/8, 172.16.0.0/12 or "
            f"192.168.0.0/16, not {DOCKER_BRIDGE}) outside the VPC"
        )
    return address


VpcCidr = Annotated[
    IPv4Network,
    AfterValidator(_vpc_cidr),
    Allowed(
        f"/{VPC_PREFIXES[0]} to /{VPC_PREFIXES[1]}; not {DOCKER_BRIDGE} (Docker's bridge), "
        "loopback, link-local, multicast or reserved"
    ),
]
VipAddress = Annotated[
    IPv4Address,
    AfterValidator(_vip_address),
    Allowed(f"RFC 1918 (not 100.64.0.0/10, not {DOCKER_BRIDGE}), outside the VPC (vip mode)"),
]


class VpcEndpoints(Model):
    s3: bool = Field(True, description="S3 gateway endpoint on the private and data route tables.")
    dynamodb: bool = Field(
        True,
        description="DynamoDB gateway endpoint on the private and data route tables (vip mode "
        "needs it).",
    )
    ssm: bool = Field(False, description="SSM, SSM messages and EC2 messages interface endpoints.")
    secrets_manager: bool = Field(
        False,
        description="Secrets Manager interface endpoint in the private subnets (natMode none "
        "needs it: the credentials function rotates the database's passwords from there).",
    )


class NetworkConfig(Model):
    """`multitier:network`"""

    cidr: VpcCidr = Field(
        IPv4Network("10.0.0.0/16"), description="VPC IPv4 CIDR; each subnet gets 1/16 of it."
    )
    az_count: int = Field(2, ge=2, le=3, description="Availability zones to spread over.")
    nat_mode: Literal["none", "instance", "single", "per_az"] = Field(
        "single",
        description="Egress for the private tiers: none, one NAT instance, one NAT gateway, "
        "or a NAT gateway per AZ.",
    )
    nat_instance_type: InstanceType = Field(
        "t3.micro", description="Instance type when natMode is instance."
    )
    data_egress: bool = Field(
        False, description="Let the data tier reach the internet through NAT (for patches)."
    )
    ipv6: bool = Field(
        False,
        description="Give the VPC an IPv6 block; private tiers egress via an egress-only IGW.",
    )
    flow_log_retention_days: LogRetention | None = Field(
        None, description="Flow log retention; default observability.logRetentionDays."
    )
    endpoints: VpcEndpoints = Field(
        default_factory=VpcEndpoints,
        description="VPC endpoints: `{s3, dynamodb, ssm, secretsManager}` booleans.",
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.data_egress and self.nat_mode == "none":
            raise ValueError("dataEgress needs a NAT; set natMode to instance, single or per_az")
        if self.nat_mode == "none" and not self.endpoints.secrets_manager:
            raise ValueError(
                "natMode none leaves the private subnets no way to Secrets Manager, where the "
                "credentials function rotates the database's passwords from; set "
                "endpoints.secretsManager to true, or natMode to instance, single or per_az"
            )
        return self
