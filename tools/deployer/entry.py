"""One row of the deployer's table: the IAM actions that create, read, update, delete and tag
one Pulumi resource type, and how AWS names it in an ARN (see table.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    """One resource type's actions by verb, and its ARN (see table.py)."""

    create: tuple[str, ...]
    read: tuple[str, ...]
    update: tuple[str, ...] = ()
    delete: tuple[str, ...] = ()
    tag: tuple[str, ...] = ()
    resource: str = ""
    arn: str = ""
    name: str = ""
    lowercase: bool = False
    """AWS keeps the name in lower case (RDS identifiers, S3 buckets, ElastiCache ids)."""
    also: tuple[tuple[str, str], ...] = ()

    @property
    def actions(self) -> tuple[str, ...]:
        return self.create + self.read + self.update + self.delete + self.tag


EC2_TAGS = ("ec2:CreateTags", "ec2:DeleteTags")


def arn(service: str, tail: str) -> str:
    """`arn:aws:<service>:{region}:{account}:<tail>`, the region and account filled in later."""
    return f"arn:aws:{service}:{{region}}:{{account}}:{tail}"
