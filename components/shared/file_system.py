"""A shared file system for one tier's hosts: encrypted EFS backed up by AWS Backup, a mount
target in each zone of the data tier, and a security group that admits NFS from the hosts' group
only. The app's backups directory and the vip cluster's data volume are both built here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.shared import ec2
from components.shared.contracts import SubnetRef

NFS_PORT = 2049


@dataclass(frozen=True)
class SharedFileSystemArgs:
    vpc_id: pulumi.Input[str]
    """The VPC of the mount targets and their group."""
    subnets: Sequence[SubnetRef]
    """One subnet per zone (the data tier) for the mount targets, each named after its zone."""
    clients_group_id: pulumi.Input[str]
    """The hosts' security group: the only one admitted, over NFS."""
    tier: str
    """The tier tag of the file system's group (`app-efs`, `database-efs`)."""
    description: str
    """The group's description."""
    clients: str
    """Who mounts it, in the ingress rule's description (`the app hosts`)."""
    clients_label: str
    """Who mounts it, in the ingress rule's name (`hosts`: `<name>-from-hosts`)."""
    purpose: str
    """What it is, in the egress rule's description (`the backups file system`)."""
    infrequent_access_after: str | None = None
    """Move files unread this long to Infrequent Access (`AFTER_30_DAYS`); None: never."""
    performance_mode: str | None = None
    """EFS performance mode; None: AWS's default (`generalPurpose`)."""
    protect: bool = False
    """Protect the file system (not its mount targets) and keep it when the stack is destroyed."""


@dataclass(frozen=True)
class SharedFileSystem:
    file_system: aws.efs.FileSystem
    """The file system (its id and ARN for policies and alarms)."""
    ready: Sequence[pulumi.Resource]
    """What a host's first boot waits for before it mounts the file system in its own zone: the
    mount targets and the NFS rules between the clients' group and the file system's."""
    mountable_id: pulumi.Output[str]
    """The file system's id, handed out once everything in `ready` exists."""


def build(name: str, args: SharedFileSystemArgs, opts: pulumi.ResourceOptions) -> SharedFileSystem:
    """Declare the file system, its group, the NFS rules between the hosts and it, its backup
    policy and its mount targets, each named `name` or `name-<zone>`."""
    group = ec2.security_group(name, args.vpc_id, args.tier, args.description, opts)
    rules = ec2.allow_tcp(
        f"{name}-from-{args.clients_label}",
        port=NFS_PORT,
        client_group_id=args.clients_group_id,
        server_group_id=group.id,
        ingress_description=f"NFS from {args.clients}",
        egress_description=f"NFS to {args.purpose}",
        opts=opts,
    )
    file_system = aws.efs.FileSystem(
        name,
        encrypted=True,
        performance_mode=args.performance_mode,
        throughput_mode="elastic",
        lifecycle_policies=[
            aws.efs.FileSystemLifecyclePolicyArgs(transition_to_ia=args.infrequent_access_after)
        ]
        if args.infrequent_access_after
        else None,
        opts=pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(protect=args.protect, retain_on_delete=args.protect)
        )
        if args.protect
        else opts,
    )
    aws.efs.BackupPolicy(
        name,
        file_system_id=file_system.id,
        backup_policy=aws.efs.BackupPolicyBackupPolicyArgs(status="ENABLED"),
        opts=opts,
    )
    targets = [
        aws.efs.MountTarget(
            f"{name}-{subnet.zone}",
            file_system_id=file_system.id,
            subnet_id=subnet.id,
            security_groups=[group.id],
            opts=opts,
        )
        for subnet in args.subnets
    ]
    ready = [*targets, *rules]
    return SharedFileSystem(
        file_system=file_system,
        ready=ready,
        mountable_id=pulumi.Output.all(file_system.id, *(r.id for r in ready)).apply(
            lambda ids: ids[0]
        ),
    )
