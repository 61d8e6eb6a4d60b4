"""Failover of the self-hosted PostgreSQL cluster: keep the VIP route on one healthy primary.

Configured by `CLUSTER_NAME`, `VIP_ADDRESS` and `LEASE_TABLE`; runs on EC2 state changes, node
launches and a schedule. One invocation acts at a time: it holds the lease in `LEASE_TABLE`
(`lease.py`); one that finds the lease held asks the holder to run once more and returns
`deferred`. Contract of each run:

- Nodes are the instances tagged `multitier:db-cluster=CLUSTER_NAME`, terminated ones excepted
  (they are missing). `multitier:db-role` is `primary`, `standby` or `fenced`; no tag means
  standby, any other value keeps the node out like `fenced`. Managed route tables are those
  tagged `multitier:db-vip-routes=CLUSTER_NAME`.
- A node is healthy when it is running and neither its instance nor its system status check is
  `impaired`.
- Healthy primary, every managed route sends `VIP_ADDRESS/32` to its primary interface (device
  index 0): nothing changes (`unchanged`).
- Healthy primary, some routes missing or elsewhere: those routes are created or replaced and
  the primary's source/dest check is disabled (`rerouted`).
- Primary missing or unhealthy, or no primary yet: the old primary is fenced (force-stopped
  unless already stopped, waited for until stopped or terminated, then tagged `fenced`), then the
  healthy standby launched first (ties: lowest instance id) is promoted: source/dest check off,
  tagged `primary`, every managed route pointed at it (`failed_over`). Fenced nodes are never
  promoted, even when running again.
- Several primaries: the healthy one the routes point to stays (else the first healthy one by the
  same order), the others are fenced, then routes are made right (`rerouted`).
- No healthy node to serve: no route changes, nothing is fenced, the decision is logged and the
  invocation fails (`NoCandidateError`), so the function's Errors alarm fires.

Fencing always completes before any promotion or route change. A second invocation right after a
successful one returns `unchanged`. Every decision is logged as one JSON line.

`decide` is the pure core (no AWS); the rest reads EC2 with boto3 and applies its `Decision`.
Reads never grow with unrelated instances: instances are filtered by tag, statuses are asked for
the cluster's instance ids only. Standard library and boto3 only; Lambda runs it as
`db_failover.handler.handler`, the package as deployed.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

import boto3  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]

from .lease import Lease

Action = Literal["unchanged", "rerouted", "failed_over", "no_candidate"]
RouteOp = Literal["create", "replace"]
Ec2Client = Any  # boto3's EC2 client; boto3 ships no type information

CLUSTER_TAG = "multitier:db-cluster"
ROLE_TAG = "multitier:db-role"
ROUTES_TAG = "multitier:db-vip-routes"
PRIMARY, STANDBY, FENCED = "primary", "standby", "fenced"
UNCHANGED: Action = "unchanged"
REROUTED: Action = "rerouted"
FAILED_OVER: Action = "failed_over"
NO_CANDIDATE: Action = "no_candidate"

PRESENT_STATES = ["pending", "running", "shutting-down", "stopping", "stopped"]
# A pending node is stopped too: should EC2 refuse, the invocation fails before any promotion.
STOPPABLE_STATES = {"pending", "running", "stopping"}
DOWN_STATES = {"stopped", "terminated"}
# Force-stopping takes seconds to a couple of minutes; the function's timeout is 300 s.
STOP_TIMEOUT_SECONDS = 200
STOP_POLL_SECONDS = 2
# Run again for a deferred invocation only with time for a whole run left (a fence and its wait,
# then the routes) before the function's 300 s timeout; else the next trigger runs it.
RUN_BUDGET_SECONDS = STOP_TIMEOUT_SECONDS + 40
# Every AWS call is bounded, so the lease (renewed between calls) outlasts any single call.
CLIENT_CONFIG = Config(
    connect_timeout=5, read_timeout=10, retries={"max_attempts": 3, "mode": "standard"}
)
_NO_STATUS = ("insufficient-data", "insufficient-data")
# Where a VIP route may point other than an ENI; such a route is replaced, not created.
_OTHER_TARGETS = (
    "InstanceId",
    "GatewayId",
    "NatGatewayId",
    "TransitGatewayId",
    "VpcPeeringConnectionId",
    "LocalGatewayId",
    "CarrierGatewayId",
    "EgressOnlyInternetGatewayId",
    "CoreNetworkArn",
)


# --- Pure core -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """A cluster node as observed: EC2 state, health, role tag (`standby` when untagged; a value
    other than `primary` or `standby` keeps the node out of everything, like `fenced`) and primary
    network interface (None if EC2 reports none: such a node cannot serve)."""

    instance_id: str
    state: str
    healthy: bool
    role: str
    eni: str | None
    launch_time: datetime


@dataclass(frozen=True)
class RouteTable:
    """A managed route table and where its VIP route points: an ENI id, another target's id when
    it points at something else, or None when it has no VIP route."""

    table_id: str
    vip_target_eni: str | None


@dataclass(frozen=True)
class Decision:
    """What to do, in this order: fence, promote, disable source/dest check, route.

    `primary` is the node that serves afterwards; `routes` point `destination` (the VIP's /32) at
    its `target_eni`, creating the route or replacing one that points elsewhere.
    """

    action: Action
    primary: str | None
    destination: str
    fence: list[str] = field(default_factory=list)
    promote: str | None = None
    routes: list[tuple[str, RouteOp]] = field(default_factory=list)
    disable_source_dest_check: str | None = None
    target_eni: str | None = None


def is_healthy(state: str, instance_status: str, system_status: str) -> bool:
    """Running, and neither status check impaired (initializing or insufficient data is fine)."""
    return state == "running" and "impaired" not in (instance_status, system_status)


def decide(nodes: Sequence[Node], tables: Sequence[RouteTable], vip: str) -> Decision:
    """The actions that leave exactly one healthy primary with every VIP route pointing at it."""
    destination = f"{vip}/32"
    primaries = [node for node in nodes if node.role == PRIMARY]
    keep = _first([node for node in primaries if _can_serve(node)], _routed_enis(tables))
    if keep is not None:
        fence = sorted(
            node.instance_id for node in primaries if node.instance_id != keep.instance_id
        )
        routes = _route_changes(tables, keep)
        if not fence and not routes:
            return Decision(UNCHANGED, keep.instance_id, destination)
        return Decision(
            REROUTED,
            keep.instance_id,
            destination,
            fence=fence,
            routes=routes,
            disable_source_dest_check=keep.instance_id,
            target_eni=keep.eni,
        )
    standby = _first([node for node in nodes if node.role == STANDBY and _can_serve(node)])
    if standby is None:
        return Decision(NO_CANDIDATE, None, destination)
    return Decision(
        FAILED_OVER,
        standby.instance_id,
        destination,
        fence=sorted(node.instance_id for node in primaries),
        promote=standby.instance_id,
        routes=_route_changes(tables, standby),
        disable_source_dest_check=standby.instance_id,
        target_eni=standby.eni,
    )


def _can_serve(node: Node) -> bool:
    return node.healthy and node.eni is not None


def _routed_enis(tables: Iterable[RouteTable]) -> set[str]:
    return {table.vip_target_eni for table in tables if table.vip_target_eni is not None}


def _first(candidates: Sequence[Node], preferred_enis: set[str] | None = None) -> Node | None:
    """The candidate a route already points at if any, else the earliest launched (then by id)."""
    preferred = [node for node in candidates if node.eni in (preferred_enis or set())]
    pool = preferred or candidates
    return min(pool, key=lambda node: (node.launch_time, node.instance_id), default=None)


def _route_changes(tables: Iterable[RouteTable], target: Node) -> list[tuple[str, RouteOp]]:
    return [
        (table.table_id, "create" if table.vip_target_eni is None else "replace")
        for table in tables
        if table.vip_target_eni != target.eni
    ]


# --- Imperative shell ----------------------------------------------------------------------------


class NoCandidateError(RuntimeError):
    """No healthy node can serve the VIP; raised so that the function's Errors alarm fires."""


class FenceTimeoutError(RuntimeError):
    """A node to fence did not stop in time: nothing is promoted, the invocation fails."""


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Hold the lease and run until nobody asked for another run; or defer to the holder."""
    cluster, vip = os.environ["CLUSTER_NAME"], os.environ["VIP_ADDRESS"]
    holder = getattr(context, "aws_request_id", None) or uuid.uuid4().hex
    lease = Lease(boto3.client("dynamodb", config=CLIENT_CONFIG), os.environ["LEASE_TABLE"], holder)
    if not lease.acquire_or_defer():
        print(json.dumps({"cluster": cluster, "action": "deferred", "holder": holder}), flush=True)
        return {"action": "deferred", "primary": None, "route_tables": []}
    ec2 = boto3.client("ec2", config=CLIENT_CONFIG)
    runs: list[dict[str, Any]] = []
    try:
        while True:
            runs.append(run_once(ec2, cluster, vip, lease.renew))
            if lease.release():
                break
            if _seconds_left(context) < RUN_BUDGET_SECONDS:
                lease.abandon()  # too little time for another run: the next trigger makes it
                break
    except BaseException:
        lease.abandon()
        raise
    # What the invocation did: its first run that changed something, else its last run.
    changed = [run for run in runs if run["action"] != UNCHANGED]
    return {**(changed or runs)[0 if changed else -1], "runs": len(runs)}


def _seconds_left(context: Any) -> float:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return remaining() / 1000 if callable(remaining) else float("inf")


def run_once(
    ec2: Ec2Client, cluster: str, vip: str, renew: Callable[[], None] = lambda: None
) -> dict[str, Any]:
    """Observe the cluster, decide, log the decision, apply it; fail when no node can serve.
    `renew` keeps the lease between changes."""
    nodes = read_nodes(ec2, cluster)
    tables = read_route_tables(ec2, cluster, vip)
    decision = decide(nodes, tables, vip)
    _log(cluster, vip, nodes, tables, decision)
    if decision.action == NO_CANDIDATE:
        raise NoCandidateError(f"no healthy node of {cluster} can take the VIP {vip}")
    renew()
    apply(ec2, decision, nodes, renew)
    return {
        "action": decision.action,
        "primary": decision.primary,
        "route_tables": [table_id for table_id, _ in decision.routes],
    }


def read_nodes(ec2: Ec2Client, cluster: str) -> list[Node]:
    """The cluster's instances that are not terminated, with their health."""
    instances = list(_cluster_instances(ec2, cluster))
    statuses = fetch_statuses(ec2, [instance["InstanceId"] for instance in instances])
    return [_node(instance, statuses) for instance in instances]


def _cluster_instances(ec2: Ec2Client, cluster: str) -> Iterator[dict[str, Any]]:
    filters = [
        {"Name": f"tag:{CLUSTER_TAG}", "Values": [cluster]},
        {"Name": "instance-state-name", "Values": PRESENT_STATES},
    ]
    for page in ec2.get_paginator("describe_instances").paginate(Filters=filters):
        for reservation in page["Reservations"]:
            yield from reservation["Instances"]


def fetch_statuses(ec2: Ec2Client, instance_ids: list[str]) -> dict[str, tuple[str, str]]:
    """Instance and system status check per instance id (at most 100 ids per request)."""
    statuses: dict[str, tuple[str, str]] = {}
    paginator = ec2.get_paginator("describe_instance_status")
    for start in range(0, len(instance_ids), 100):
        chunk = instance_ids[start : start + 100]
        for page in paginator.paginate(InstanceIds=chunk, IncludeAllInstances=True):
            for status in page["InstanceStatuses"]:
                statuses[status["InstanceId"]] = (
                    status["InstanceStatus"]["Status"],
                    status["SystemStatus"]["Status"],
                )
    return statuses


def _node(instance: dict[str, Any], statuses: dict[str, tuple[str, str]]) -> Node:
    instance_id, state = instance["InstanceId"], instance["State"]["Name"]
    instance_status, system_status = statuses.get(instance_id, _NO_STATUS)
    tags = {tag["Key"]: tag["Value"] for tag in instance.get("Tags", [])}
    return Node(
        instance_id=instance_id,
        state=state,
        healthy=is_healthy(state, instance_status, system_status),
        role=tags.get(ROLE_TAG, STANDBY),
        eni=next(
            (
                interface["NetworkInterfaceId"]
                for interface in instance.get("NetworkInterfaces", [])
                if interface["Attachment"]["DeviceIndex"] == 0
            ),
            None,
        ),
        launch_time=instance["LaunchTime"],
    )


def read_route_tables(ec2: Ec2Client, cluster: str, vip: str) -> list[RouteTable]:
    """The managed route tables and where their VIP route points."""
    filters = [{"Name": f"tag:{ROUTES_TAG}", "Values": [cluster]}]
    return [
        RouteTable(table["RouteTableId"], _vip_target(table["Routes"], f"{vip}/32"))
        for page in ec2.get_paginator("describe_route_tables").paginate(Filters=filters)
        for table in page["RouteTables"]
    ]


def _vip_target(routes: Iterable[dict[str, Any]], destination: str) -> str | None:
    for route in routes:
        if route.get("DestinationCidrBlock") == destination:
            targets = ("NetworkInterfaceId", *_OTHER_TARGETS)
            return next((route[key] for key in targets if route.get(key)), "unknown-target")
    return None


def apply(
    ec2: Ec2Client,
    decision: Decision,
    nodes: Sequence[Node],
    renew: Callable[[], None] = lambda: None,
) -> None:
    """Fence (stop, wait, tag) before anything else; then promote; then move the routes."""
    by_id = {node.instance_id: node for node in nodes}
    if decision.fence:
        fence(ec2, [by_id[instance_id] for instance_id in decision.fence], renew)
        renew()
    if decision.disable_source_dest_check:
        ec2.modify_instance_attribute(
            InstanceId=decision.disable_source_dest_check, SourceDestCheck={"Value": False}
        )
    if decision.promote:
        _tag_role(ec2, [decision.promote], PRIMARY)
    for table_id, op in decision.routes:
        renew()
        route = {
            "RouteTableId": table_id,
            "DestinationCidrBlock": decision.destination,
            "NetworkInterfaceId": decision.target_eni,
        }
        if op == "create":
            ec2.create_route(**route)
        else:
            ec2.replace_route(**route)


def fence(ec2: Ec2Client, nodes: Sequence[Node], renew: Callable[[], None] = lambda: None) -> None:
    """Force-stop the nodes that may still run, wait until all are down, then tag them fenced."""
    to_stop = [node.instance_id for node in nodes if node.state in STOPPABLE_STATES]
    if to_stop:
        ec2.stop_instances(InstanceIds=to_stop, Force=True)
    for node in nodes:
        if node.state not in DOWN_STATES:
            _wait_until_down(ec2, node.instance_id, renew)
    _tag_role(ec2, [node.instance_id for node in nodes], FENCED)


def _wait_until_down(ec2: Ec2Client, instance_id: str, renew: Callable[[], None]) -> None:
    """Poll until stopped or terminated (e.g. by its Auto Scaling group meanwhile), renewing
    the lease between polls; `FenceTimeoutError` after `STOP_TIMEOUT_SECONDS`."""
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while (state := _state(ec2, instance_id)) not in DOWN_STATES:
        if time.monotonic() > deadline:
            raise FenceTimeoutError(f"{instance_id} is still {state} after fencing")
        renew()
        time.sleep(STOP_POLL_SECONDS)


def _state(ec2: Ec2Client, instance_id: str) -> str:
    filters = [{"Name": "instance-id", "Values": [instance_id]}]
    reservations = ec2.describe_instances(Filters=filters)["Reservations"]
    instances = [instance for reservation in reservations for instance in reservation["Instances"]]
    return str(instances[0]["State"]["Name"]) if instances else "terminated"


def _tag_role(ec2: Ec2Client, instance_ids: list[str], role: str) -> None:
    ec2.create_tags(Resources=instance_ids, Tags=[{"Key": ROLE_TAG, "Value": role}])


def _log(
    cluster: str,
    vip: str,
    nodes: Sequence[Node],
    tables: Sequence[RouteTable],
    decision: Decision,
) -> None:
    observed = [
        {key: value for key, value in asdict(node).items() if key != "launch_time"}
        for node in nodes
    ]
    record = {
        "cluster": cluster,
        "vip": vip,
        **asdict(decision),
        "nodes": observed,
        "route_tables": [asdict(table) for table in tables],
    }
    print(json.dumps(record, sort_keys=True), flush=True)
