"""How to read the engine's property values: booleans, lists, ports, CIDRs, IAM documents and
the program's tags, shared by the rules and the reachability analysis."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from typing import Any

from policy.model import Res

TIER_TAG = "multitier:tier"
VIP_TAG = "multitier:vip"
"""On a security group: the virtual IP (a /32 outside the VPC) its members answer on, through a
route the program does not declare (the vip cluster's failover function owns it)."""
DB_CLUSTER_TAG = "multitier:db-cluster"
"""On the vip cluster's node group (propagated to its nodes): the cluster it runs."""
SECRET_TAG = "multitier:secret"
"""On each of the database's secrets, its kind: `master`, `app` or `readonly`."""
COMPONENT_TAG = "Component"
"""On every taggable resource: the `multitier:` component that declares it (`app` for the
children of `multitier:app:AppFleet`), written by the program's stack transformation."""


def asg_tag(group: Res, key: str) -> Any:
    """A tag of an Auto Scaling group, which takes its tags as a list of {key, value}."""
    return next((t.get("value") for t in as_list(group.get("tags")) if t.get("key") == key), None)


def truthy(value: Any) -> bool:
    """Booleans as the AWS provider takes them: `True`, or `"true"` in launch templates."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str | Mapping):
        return [value]
    return list(value)


def tier(group: Res) -> str | None:
    value = group.tags.get(TIER_TAG)
    return str(value) if value is not None else None


def ports(rule_: Mapping[str, Any]) -> tuple[str, int, int]:
    """(protocol, from, to) of a rule; all traffic is ("-1", 0, 65535)."""
    protocol = str(rule_.get("ipProtocol") or rule_.get("protocol") or "-1")
    if protocol in {"-1", "all"}:
        return "-1", 0, 65535
    low, high = rule_.get("fromPort"), rule_.get("toPort")
    return protocol, int(low if low is not None else 0), int(high if high is not None else 65535)


def admits_port(rule_: Mapping[str, Any], port: int) -> bool:
    protocol, low, high = ports(rule_)
    return protocol in {"-1", "tcp", "6"} and low <= port <= high


def world_cidrs(rule_: Mapping[str, Any]) -> list[str]:
    cidrs = [rule_.get("cidrIpv4"), rule_.get("cidrIpv6")]
    cidrs += as_list(rule_.get("cidrBlocks")) + as_list(rule_.get("ipv6CidrBlocks"))
    return [c for c in cidrs if c and ipaddress.ip_network(c, strict=False).prefixlen == 0]


def statements(document: Any) -> list[Mapping[str, Any]]:
    """The statements of an IAM policy document given as JSON text or a mapping."""
    if isinstance(document, str):
        document = json.loads(document)
    if not isinstance(document, Mapping):
        return []
    return [s for s in as_list(document.get("Statement")) if isinstance(s, Mapping)]
