"""Settings shared by every EC2 instance and launch template the program declares, and the
security group rules, each a separate resource."""

from __future__ import annotations

import re
from typing import Any

import pulumi
import pulumi_aws as aws

from components.naming import TIER_TAG

# Graviton families: a digit followed by `g` (t4g, m7g, c7gn, r8gd); a1 is Graviton 1.
_ARM_FAMILY = re.compile(r"^(a1|[a-z]+\d+g[a-z]*)\.")


def architecture(instance_type: str) -> str:
    """`arm64` for Graviton instance types, `x86_64` otherwise."""
    return "arm64" if _ARM_FAMILY.match(instance_type) else "x86_64"


def al2023_parameter(instance_type: str) -> str:
    """The public SSM parameter holding the latest Amazon Linux 2023 AMI for this type."""
    arch = architecture(instance_type)
    return f"/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{arch}"


def launch_template_image(ami: str | None, instance_type: str) -> str:
    """An AMI id, or an SSM reference that EC2 resolves at each launch."""
    return ami or f"resolve:ssm:{al2023_parameter(instance_type)}"


def imdsv2(hop_limit: int = 1) -> aws.ec2.LaunchTemplateMetadataOptionsArgs:
    """IMDSv2 only, instance tags readable from the metadata service."""
    return aws.ec2.LaunchTemplateMetadataOptionsArgs(
        http_endpoint="enabled",
        http_tokens="required",
        http_put_response_hop_limit=hop_limit,
        instance_metadata_tags="enabled",
    )


def encrypted_root(size_gb: int = 16) -> aws.ec2.LaunchTemplateBlockDeviceMappingArgs:
    """An encrypted gp3 root volume for Amazon Linux (`/dev/xvda`)."""
    return aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
        device_name="/dev/xvda",
        ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
            volume_size=size_gb,
            volume_type="gp3",
            encrypted="true",
            delete_on_termination="true",
        ),
    )


def security_group(
    name: str,
    vpc_id: pulumi.Input[str],
    tier: str,
    description: str,
    opts: pulumi.ResourceOptions,
) -> aws.ec2.SecurityGroup:
    """A group with no inline rules, tagged with the tier it guards (the reachability analysis
    names tiers by this tag).

    AWS cannot change a group's description: a new one replaces the group, which fails while
    hosts still use it. So the description holds no tunable (no port, network or mode), and a
    later edit of its text applies to new stacks only (`ignore_changes`)."""
    return aws.ec2.SecurityGroup(
        name,
        vpc_id=vpc_id,
        description=description,
        tags={TIER_TAG: tier},
        opts=pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(ignore_changes=["description"])
        ),
    )


def tcp_ingress(
    name: str,
    group_id: pulumi.Input[str],
    port: int,
    description: str,
    opts: pulumi.ResourceOptions,
    **source: Any,
) -> aws.vpc.SecurityGroupIngressRule:
    """Admit one TCP port into a group, from `referenced_security_group_id=` or `cidr_ipv4=`."""
    return aws.vpc.SecurityGroupIngressRule(
        name, opts=opts, **_tcp(group_id, port, description), **source
    )


def tcp_egress(
    name: str,
    group_id: pulumi.Input[str],
    port: int,
    description: str,
    opts: pulumi.ResourceOptions,
    **target: Any,
) -> aws.vpc.SecurityGroupEgressRule:
    """Let a group open one TCP port to `referenced_security_group_id=` or `cidr_ipv4=`."""
    return aws.vpc.SecurityGroupEgressRule(
        name, opts=opts, **_tcp(group_id, port, description), **target
    )


def _tcp(group_id: pulumi.Input[str], port: int, description: str) -> dict[str, Any]:
    return {
        "security_group_id": group_id,
        "ip_protocol": "tcp",
        "from_port": port,
        "to_port": port,
        "description": description,
    }


def egress_anywhere(
    name: str, group_id: pulumi.Input[str], description: str, opts: pulumi.ResourceOptions
) -> aws.vpc.SecurityGroupEgressRule:
    """Let a group send every protocol anywhere (an exception to the policy, see
    policy/exceptions.py)."""
    return aws.vpc.SecurityGroupEgressRule(
        name,
        security_group_id=group_id,
        ip_protocol="-1",
        cidr_ipv4="0.0.0.0/0",
        description=description,
        opts=opts,
    )
