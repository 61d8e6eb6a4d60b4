"""BastionHost: a self-healing SSH jump host in a public subnet, for operators' networks only.

- An Auto Scaling group of one replaces a failed or terminated host; at boot the new host claims the
  bastion's Elastic IP, so the SSH command does not change.
- sshd listens on a non-standard port, with keys only and no root login; the security group admits
  that port from the configured networks only (config validation refuses 0.0.0.0/0).
- IMDSv2 is required with a hop limit of 1: nothing on the host runs in a container.
- The security group is exposed so the other tiers admit SSH from the bastion and nowhere else.
  It may open SSH to the VPC (ProxyJump to any private host) and HTTPS anywhere (updates, the SSM
  and EC2 APIs), nothing else: tunnels to other ports go through SSM port forwarding instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.config import BastionConfig
from components.shared import cloud_init, ec2, iam
from components.shared.contracts import NetworkRef

SSH_USER = "ec2-user"
# Cloud-init runs the scripts in this directory at every boot, the first one included.
BOOT_SCRIPT = "/var/lib/cloud/scripts/per-boot/multitier-bastion-boot"

# sshd settings, written to a drop-in that Amazon Linux's sshd_config includes first.
_SSHD = {
    "PasswordAuthentication": "no",
    "KbdInteractiveAuthentication": "no",
    "PermitRootLogin": "no",
    "PermitEmptyPasswords": "no",
    "X11Forwarding": "no",
    "AllowAgentForwarding": "no",
    "AllowTcpForwarding": "yes",  # ProxyJump needs it
    "MaxAuthTries": "3",
    "LoginGraceTime": "30",
    "ClientAliveInterval": "300",
    "ClientAliveCountMax": "2",
}


@dataclass(frozen=True)
class BastionHostArgs:
    config: BastionConfig
    """`multitier:bastion`."""
    network: NetworkRef
    """The host goes in its public tier; it may reach the VPC over SSH."""


class BastionHost(pulumi.ComponentResource):
    """The SSH way into the private tiers, where SSM Session Manager is not enough."""

    security_group_id: pulumi.Output[str]
    """The bastion's group: other tiers admit SSH from it."""
    group_name: pulumi.Output[str]
    """Its Auto Scaling group of one (the alarms watch its status checks)."""
    public_ip: pulumi.Output[str]
    """The Elastic IP every bastion host claims at boot."""
    ssh_command: pulumi.Output[str]
    """`ssh -p <port> ec2-user@<address>`."""
    proxy_jump: pulumi.Output[str]
    """`ssh -J …` to a private host through the bastion."""

    def __init__(
        self, name: str, args: BastionHostArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("multitier:bastion:BastionHost", name, None, opts)
        config, network = args.config, args.network
        child = pulumi.ResourceOptions(parent=self)

        region = aws.get_region().region
        security_group, https = self._security_group(name, config, network)
        address = aws.ec2.Eip(name, domain="vpc", tags={"Name": name}, opts=child)
        role = iam.InstanceRole(name, child)
        role.allow(address.allocation_id.apply(_claim_address_policy), f"{name}-claim-address")
        template = ec2.launch_template(
            name,
            image=config.ami,
            instance_type=config.instance_type,
            key_name=config.key_name,
            role=role,
            security_group_ids=[security_group.id],
            public_address=True,
            user_data=address.allocation_id.apply(
                lambda allocation: cloud_init.render_base64(_user_data(config, region, allocation))
            ),
            opts=child,
            # Hosts get a public address and claim the Elastic IP at first boot: the gateway and
            # the role's grants (the claim among them) must exist by then.
            depends_on=network.internet_connectivity.get("public", []),
        )
        group = aws.autoscaling.Group(
            name,
            min_size=1,
            max_size=1,
            desired_capacity=1,
            vpc_zone_identifiers=network.subnet_ids("public"),
            health_check_type="EC2",
            health_check_grace_period=120,
            launch_template=aws.autoscaling.GroupLaunchTemplateArgs(
                id=template.id, version=template.latest_version.apply(str)
            ),
            # A changed launch template (new AMI, sshd settings) replaces the host.
            instance_refresh=aws.autoscaling.GroupInstanceRefreshArgs(
                strategy="Rolling",
                preferences=aws.autoscaling.GroupInstanceRefreshPreferencesArgs(
                    min_healthy_percentage=0
                ),
            ),
            tags=[aws.autoscaling.GroupTagArgs(key="Name", value=name, propagate_at_launch=True)],
            # The first boot claims the address through the EC2 API: HTTPS out.
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[*network.internet_connectivity.get("public", []), *https],
            ),
        )

        self.security_group_id = security_group.id
        self.group_name = group.name
        self.public_ip = address.public_ip
        port = config.ssh_port
        self.ssh_command = pulumi.Output.concat(
            "ssh -p ", str(port), f" {SSH_USER}@", self.public_ip
        )
        self.proxy_jump = pulumi.Output.concat(
            f"ssh -J {SSH_USER}@", self.public_ip, f":{port} {SSH_USER}@<private-ip>"
        )
        self.register_outputs(
            {
                "securityGroupId": self.security_group_id,
                "publicIp": self.public_ip,
                "sshCommand": self.ssh_command,
                "proxyJump": self.proxy_jump,
            }
        )

    def _security_group(
        self, name: str, config: BastionConfig, network: NetworkRef
    ) -> tuple[aws.ec2.SecurityGroup, list[aws.vpc.SecurityGroupEgressRule]]:
        """The bastion's group, and its HTTPS way out, which the first boot's claim needs."""
        child = pulumi.ResourceOptions(parent=self)
        group = ec2.security_group(
            name,
            network.vpc_id,
            "bastion",
            "Bastion: SSH from the operator networks",
            child,
        )
        for index, cidr in enumerate(config.allowed_cidrs):
            ec2.tcp_ingress(
                f"{name}-ssh-{index}",
                group.id,
                config.ssh_port,
                f"SSH from operator network {cidr}",
                child,
                cidr_ipv4=str(cidr),
            )
        ec2.tcp_egress(
            f"{name}-ssh-to-vpc",
            group.id,
            22,
            "SSH to the private hosts (ProxyJump)",
            child,
            cidr_ipv4=network.cidr_block,
        )
        https = ec2.https_to_internet(
            f"{name}-https",
            group.id,
            "HTTPS: package updates, the SSM and EC2 APIs",
            child,
            ipv6=network.ipv6_cidr_block is not None,
        )
        return group, https


def _user_data(config: BastionConfig, region: str, allocation_id: str) -> dict[str, object]:
    """Every boot claims the address, restarts sshd on the hardened settings and applies the
    release's package updates (`bastion_boot.sh`, one of cloud-init's per-boot scripts)."""
    sshd = {"Port": str(config.ssh_port), **_SSHD}
    return {
        "write_files": [
            cloud_init.library(),
            {
                "path": "/etc/ssh/sshd_config.d/00-multitier.conf",
                "permissions": "0600",
                "content": "".join(f"{key} {value}\n" for key, value in sshd.items()),
            },
            {
                "path": "/etc/multitier/bastion.env",
                "permissions": "0644",
                "content": cloud_init.env_file({"REGION": region, "ALLOCATION_ID": allocation_id}),
            },
            {
                "path": BOOT_SCRIPT,
                "permissions": "0755",
                "content": cloud_init.script("bastion_boot.sh"),
            },
        ],
    }


def _claim_address_policy(allocation_id: str) -> str:
    """Move this one Elastic IP, to whichever instance asks; nothing else."""
    return json.dumps(
        iam.policy(
            {
                "Effect": "Allow",
                "Action": "ec2:AssociateAddress",
                "Resource": [
                    f"arn:aws:ec2:*:*:elastic-ip/{allocation_id}",
                    "arn:aws:ec2:*:*:instance/*",
                    "arn:aws:ec2:*:*:network-interface/*",
                ],
            }
        )
    )
