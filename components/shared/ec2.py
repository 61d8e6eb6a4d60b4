"""What every host and every security group of the program share: the image, the launch template
(one helper for the app hosts, the bastion and the database nodes), and security group rules,
each a separate resource, declared in pairs where one group talks to another."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from components.shared.iam import InstanceRole
from components.shared.naming import TIER_TAG

HTTPS_PORT = 443

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


def launch_template(
    name: str,
    *,
    image: str | None,
    instance_type: str,
    role: InstanceRole,
    user_data: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
    security_group_ids: Sequence[pulumi.Input[str]] = (),
    public_address: bool = False,
    root_volume_gb: int = 16,
    key_name: str | None = None,
    volume_tags: Mapping[str, str] | None = None,
    depends_on: Sequence[pulumi.Resource] = (),
) -> aws.ec2.LaunchTemplate:
    """A host's launch template: Amazon Linux 2023 (or `image`), IMDSv2 only with one hop and
    instance tags readable there, an encrypted gp3 root, detailed monitoring, the role's profile,
    base64 `user_data`; each new version becomes the default.

    `security_group_ids` go on the instance, or with `public_address` on its one network interface
    (which gets a public IPv4 address). The template waits for the role's grants, since a host's
    first boot acts through them, and for `depends_on`.
    """
    interfaces = (
        [
            aws.ec2.LaunchTemplateNetworkInterfaceArgs(
                associate_public_ip_address="true",
                security_groups=list(security_group_ids),
                delete_on_termination="true",
            )
        ]
        if public_address
        else None
    )
    return aws.ec2.LaunchTemplate(
        name,
        image_id=launch_template_image(image, instance_type),
        instance_type=instance_type,
        key_name=key_name,
        iam_instance_profile=aws.ec2.LaunchTemplateIamInstanceProfileArgs(arn=role.profile.arn),
        vpc_security_group_ids=None if public_address else list(security_group_ids),
        network_interfaces=interfaces,
        metadata_options=_imdsv2(),
        block_device_mappings=[_encrypted_root(root_volume_gb)],
        monitoring=aws.ec2.LaunchTemplateMonitoringArgs(enabled=True),
        user_data=user_data,
        update_default_version=True,
        tag_specifications=[
            aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type="volume", tags=volume_tags)
        ]
        if volume_tags
        else None,
        opts=pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(depends_on=[*role.ready, *depends_on])
        ),
    )


def _imdsv2() -> aws.ec2.LaunchTemplateMetadataOptionsArgs:
    """IMDSv2 only, instance tags readable from the metadata service, one hop: a container with
    host networking (the app) still reaches it, one behind a bridge does not."""
    return aws.ec2.LaunchTemplateMetadataOptionsArgs(
        http_endpoint="enabled",
        http_tokens="required",
        http_put_response_hop_limit=1,
        instance_metadata_tags="enabled",
    )


def _encrypted_root(size_gb: int) -> aws.ec2.LaunchTemplateBlockDeviceMappingArgs:
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
    *,
    tags: Mapping[str, str] | None = None,
) -> aws.ec2.SecurityGroup:
    """A group with no inline rules, tagged with the tier it guards (the reachability analysis
    names tiers by this tag) and `tags`.

    AWS cannot change a group's description: a new one replaces the group, which fails while
    hosts still use it. So the description holds no tunable (no port, network or mode), and a
    later edit of its text applies to new stacks only (`ignore_changes`)."""
    return aws.ec2.SecurityGroup(
        name,
        vpc_id=vpc_id,
        description=description,
        tags={TIER_TAG: tier, **(tags or {})},
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


def allow_tcp(
    name: str,
    *,
    port: int,
    client_group_id: pulumi.Input[str],
    server_group_id: pulumi.Input[str],
    ingress_description: str,
    egress_description: str,
    opts: pulumi.ResourceOptions,
    server_cidr: str | None = None,
    egress_name: str | None = None,
) -> list[aws.vpc.SecurityGroupIngressRule | aws.vpc.SecurityGroupEgressRule]:
    """Let the client's group open TCP `port` on the server's group: the ingress rule on the
    server's group (`name`) and the matching egress rule on the client's group
    (`egress_name`, default `<name>-egress`), declared together so that neither is forgotten.

    `server_cidr` is where the client sends: a virtual IP that no interface of the server's
    group holds, which an egress rule referencing that group would not match. Returns both
    rules, for what must wait until the client can connect."""
    ingress = tcp_ingress(
        name,
        server_group_id,
        port,
        ingress_description,
        opts,
        referenced_security_group_id=client_group_id,
    )
    destination: dict[str, Any] = (
        {"cidr_ipv4": server_cidr}
        if server_cidr
        else {"referenced_security_group_id": server_group_id}
    )
    egress = tcp_egress(
        egress_name or f"{name}-egress",
        client_group_id,
        port,
        egress_description,
        opts,
        **destination,
    )
    return [ingress, egress]


def https_to_internet(
    name: str,
    group_id: pulumi.Input[str],
    description: str,
    opts: pulumi.ResourceOptions,
    *,
    ipv6: bool = False,
) -> list[aws.vpc.SecurityGroupEgressRule]:
    """Let a group open HTTPS anywhere (package mirrors, registries, AWS APIs), over IPv6 too when
    the VPC has it (`<name>-ipv6`). Returns the rules: a host's first boot needs them."""
    rules = [tcp_egress(name, group_id, HTTPS_PORT, description, opts, cidr_ipv4="0.0.0.0/0")]
    if ipv6:
        rules.append(
            tcp_egress(f"{name}-ipv6", group_id, HTTPS_PORT, description, opts, cidr_ipv6="::/0")
        )
    return rules


def egress_anywhere(
    name: str, group_id: pulumi.Input[str], description: str, opts: pulumi.ResourceOptions
) -> aws.vpc.SecurityGroupEgressRule:
    """Let a group send every protocol anywhere: the NAT instance only, which forwards what the
    groups behind it may send (an exception to the policy, see policy/exceptions.py)."""
    return aws.vpc.SecurityGroupEgressRule(
        name,
        security_group_id=group_id,
        ip_protocol="-1",
        cidr_ipv4="0.0.0.0/0",
        description=description,
        opts=opts,
    )
