"""The NAT instance (natMode: instance), a cheap NAT for dev: one Amazon Linux 2023 instance in a
public subnet, without source/dest check, masquerading the VPC's CIDR; a unit re-applies the
forwarding at every boot. It is a single point of egress failure: use NAT gateways where that
matters.

Its user data carries its own script, verbatim, and nothing the other hosts share (not the host
library, not the rendering that strips their comments): a change of user data replaces the
instance, and with it the VPC's only egress, so only a change of the NAT itself may do that."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.shared import cloud_init, ec2, iam


@dataclass(frozen=True)
class NatInstanceArgs:
    vpc_id: pulumi.Input[str]
    """The VPC it serves."""
    vpc_cidr: str
    """What it forwards and masquerades: everything from inside the VPC."""
    subnet_id: pulumi.Input[str]
    """A public subnet."""
    instance_type: str
    """`natInstanceType`."""
    depends_on: Sequence[pulumi.Resource] = ()
    """What its first boot needs besides its role: the public subnet's route to the internet."""


@dataclass(frozen=True)
class NatInstance:
    instance_id: pulumi.Output[str]
    """For its status-check alarm."""
    interface_id: pulumi.Output[str]
    """Its primary network interface: the private tiers' default route's target."""


def build(name: str, args: NatInstanceArgs, opts: pulumi.ResourceOptions) -> NatInstance:
    """Declare the instance, its group and rules, and its role, each named `name`."""
    group = ec2.security_group(name, args.vpc_id, "nat", "NAT instance: forwards VPC egress", opts)
    aws.vpc.SecurityGroupIngressRule(
        f"{name}-from-vpc",
        security_group_id=group.id,
        ip_protocol="-1",
        cidr_ipv4=args.vpc_cidr,
        description="All traffic from inside the VPC, to be forwarded",
        opts=opts,
    )
    egress = ec2.egress_anywhere(
        f"{name}-to-internet", group.id, "Forwarded egress to the internet", opts
    )
    role = iam.InstanceRole(name, opts)
    ami = aws.ssm.get_parameter_output(name=ec2.al2023_parameter(args.instance_type)).value
    instance = aws.ec2.Instance(
        name,
        ami=ami,
        instance_type=args.instance_type,
        subnet_id=args.subnet_id,
        vpc_security_group_ids=[group.id],
        associate_public_ip_address=True,
        source_dest_check=False,
        iam_instance_profile=role.profile.name,
        monitoring=True,
        user_data=cloud_init.render(user_data(args.vpc_cidr)),
        # Cloud-init writes the forwarding script and unit at the first boot only: new user
        # data on a stopped and started instance would change nothing, so it is a new one.
        user_data_replace_on_change=True,
        metadata_options=aws.ec2.InstanceMetadataOptionsArgs(
            http_tokens="required", http_put_response_hop_limit=1, http_endpoint="enabled"
        ),
        root_block_device=aws.ec2.InstanceRootBlockDeviceArgs(
            encrypted=True, volume_type="gp3", volume_size=8
        ),
        tags={"Name": name},
        opts=pulumi.ResourceOptions.merge(
            opts,
            pulumi.ResourceOptions(
                # A newer AMI must not replace the VPC's only NAT on an unrelated update.
                ignore_changes=["ami"],
                # Its first boot needs the public route, its group's way out and its role's
                # grants.
                depends_on=[*args.depends_on, egress, *role.ready],
            ),
        ),
    )
    return NatInstance(instance.id, instance.primary_network_interface_id)


def user_data(vpc_cidr: str) -> dict[str, Any]:
    """The NAT instance's `#cloud-config`: the forwarding script and the unit that runs it at every
    boot, enabled and started by the first one."""
    return {
        "write_files": [
            {
                "path": "/etc/multitier/nat.env",
                "permissions": "0644",
                "content": cloud_init.env_file({"VPC_CIDR": vpc_cidr}),
            },
            {
                "path": "/usr/local/sbin/multitier-nat",
                "permissions": "0755",
                "content": cloud_init.verbatim("nat_instance.sh"),
            },
            {
                "path": "/etc/systemd/system/multitier-nat.service",
                "permissions": "0644",
                "content": cloud_init.verbatim("multitier-nat.service"),
            },
        ],
        "runcmd": [
            ["systemctl", "daemon-reload"],
            ["systemctl", "enable", "--now", "multitier-nat.service"],
        ],
    }
