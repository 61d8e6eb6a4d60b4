"""Physical names that are contracts: RDS identifiers, tag values, log group names."""

from __future__ import annotations

import re

TIER_TAG = "multitier:tier"
"""On a subnet, its network tier (public, private, data); on a security group, the service tier
it guards (alb, app, database, ...), which the reachability analysis names it by."""
VIP_TAG = "multitier:vip"
"""On the vip cluster's security group: the VIP (`<address>/32`) its nodes answer on, through the
route the failover function owns; the reachability analysis follows it."""

SECRET_TAG = "multitier:secret"
"""On each of the database's secrets, its kind (master, app, readonly): the policy pack holds that
no app host role reads the master's."""


def label(*parts: str, limit: int = 63) -> str:
    """`multitier-prod-db`: lowercase letters, digits and single hyphens, at most `limit` long."""
    raw = re.sub(r"[^a-z0-9-]+", "-", "-".join(parts).lower()).strip("-")
    return re.sub(r"-{2,}", "-", raw)[:limit].rstrip("-")
