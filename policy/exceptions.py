"""Explicit exceptions to the rules: one resource, one rule, and why.

A resource is named by its type and its Pulumi logical name (the name in the plan). An exception
may be limited to some stacks. The offline plan lists every exception it applied, and the tests
fail on an exception that no stack uses any more.

To add one, append a `PolicyException` below with a reason a reviewer can check; keep the list
short, and prefer fixing the resource.
"""

from __future__ import annotations

from dataclasses import dataclass

from policy.model import Res
from policy.types import EGRESS, FUNCTION, INGRESS


@dataclass(frozen=True)
class PolicyException:
    rule: str
    type: str
    name: str
    reason: str
    stacks: tuple[str, ...] = ()
    """Only in these stacks; every stack when empty."""

    def covers(self, rule_id: str, resource: Res, stack: str) -> bool:
        return (
            self.rule == rule_id
            and self.type == resource.type
            and self.name == resource.name
            and (not self.stacks or stack in self.stacks)
        )


_LOW_QUOTA = (
    "AWS keeps 100 units of an account's concurrency unreserved, so reserving fails on accounts "
    "with a low quota (new accounts often have 10)."
)
_ROTATION_CALLS = (
    "Secrets Manager calls a rotation function once per step, four steps one after the other, "
    "and never runs two rotations of one secret at once."
)

EXCEPTIONS: tuple[PolicyException, ...] = (
    PolicyException(
        "sg-world-egress-limited",
        EGRESS,
        "network-nat-to-internet",
        "The NAT instance forwards the private subnets' egress: every protocol, to anywhere. "
        "What may leave is decided by the egress rules of the groups behind it.",
    ),
    PolicyException(
        "sg-ingress-single-port",
        INGRESS,
        "network-nat-from-vpc",
        "The NAT instance forwards whatever the VPC sends it; it admits the VPC CIDR only, and "
        "the sending groups' egress rules limit the ports.",
    ),
    PolicyException(
        "sg-ssh-from-bastion-only",
        INGRESS,
        "network-nat-from-vpc",
        "A security group cannot tell forwarded traffic from traffic to the instance, and the "
        "NAT forwards whatever the groups behind it may send: HTTPS today, and SSH (git over "
        "SSH) or any port a program adds to their egress, without a change here. Nobody can "
        "log in to the NAT instance: it has no key pair, and it is reached through SSM.",
    ),
    PolicyException(
        "lambda-reserved-concurrency",
        FUNCTION,
        "database-failover",
        "AWS keeps 100 units of an account's concurrency unreserved, so reserving fails on "
        "accounts with a low quota (new accounts often have 10). The function serialises itself "
        "with a DynamoDB lease instead and runs a few times a minute at most; "
        "database.vip.reserveConcurrency reserves one unit where the quota allows.",
    ),
    PolicyException(
        "lambda-in-vpc",
        FUNCTION,
        "database-failover",
        "The failover function only calls the EC2 API. Outside the VPC it keeps working when a "
        "zone, a NAT path or an endpoint fails, which is exactly when it must run; nothing in "
        "the VPC can reach it, and nothing in it needs the VPC.",
    ),
    PolicyException(
        "lambda-reserved-concurrency",
        FUNCTION,
        "database-credentials",
        f"{_ROTATION_CALLS} This function rotates three secrets (database.rotation: every 30 to "
        "90 days by default, about ten calls a month) and bootstraps the app's roles once per "
        f"deployment: one call per secret at a time, and the bootstrap. {_LOW_QUOTA}",
    ),
    PolicyException(
        "lambda-reserved-concurrency",
        FUNCTION,
        "app-cache-rotation",
        f"{_ROTATION_CALLS} This function rotates one secret, the cache's AUTH token "
        "(app.cache.authRotationDays: every 30 days by default), so it runs four times per "
        "period, one call at a time. "
        f"{_LOW_QUOTA}",
    ),
    PolicyException(
        "lambda-in-vpc",
        FUNCTION,
        "app-cache-rotation",
        "The cache's rotation function only calls the Secrets Manager and ElastiCache APIs (the "
        "token's versions; ModifyReplicationGroup to ROTATE, then SET the AUTH token) and never "
        "connects to the cache. Outside the VPC it reaches them with neither a NAT nor interface "
        "endpoints, and nothing in the VPC can reach it; the database's credentials function "
        "stays in the VPC because it logs in to PostgreSQL.",
    ),
)
