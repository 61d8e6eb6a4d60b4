"""The failover decision, as a pure function of what was observed: no AWS, no clock of its own.

Who can serve is decided by PostgreSQL, not by EC2 alone. Each node's agent reports its state to
the cluster's table every few seconds (`Report`): `serving` after a real write through its own
server, `starting` while a promoted node waits for the lease or for PostgreSQL, `failing` when
that write failed, `ready` for a standby whose boot finished. Then:

- A primary serves when it is running, its status checks are not impaired, it has a network
  interface, and its latest report is fresh and `serving`. For `START_GRACE_SECONDS` after its
  promotion it may also still be starting (waiting for the old primary's lease, or replaying
  WAL): a fresh `starting` or `ready` report, or no report yet for a few seconds, will do. A
  `failing` report, or silence, never does.
- A standby can be promoted when it is healthy in EC2 and its fresh report says `ready`: its boot
  finished and its agent runs. Fenced nodes never are.
- A new cluster whose nodes have not reported yet, all launched less than `BOOT_GRACE_SECONDS`
  ago, is left alone (`waiting`): its nodes are still installing PostgreSQL.

The decision keeps a serving primary, repairs routes that do not point at it, fences every other
primary; with no serving primary it fences them all and promotes the standby launched first
(ties: lowest instance id). With nobody to promote it changes nothing (`no_candidate`), and the
handler fails so that the function's error alarm fires.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Action = Literal["unchanged", "rerouted", "failed_over", "no_candidate", "waiting"]
RouteOp = Literal["create", "replace"]

PRIMARY, STANDBY, FENCED = "primary", "standby", "fenced"
UNCHANGED: Action = "unchanged"
REROUTED: Action = "rerouted"
FAILED_OVER: Action = "failed_over"
NO_CANDIDATE: Action = "no_candidate"
WAITING: Action = "waiting"
SERVING, STARTING, FAILING, READY = "serving", "starting", "failing", "ready"

# Agents report every 5 s: four missed reports in a row and a node is silent.
REPORT_STALE_SECONDS = 20.0
# How long a promoted primary may take to serve: the old primary's lease (3 s), then PostgreSQL's
# start, which may replay WAL after a crash.
START_GRACE_SECONDS = 300.0
# How long a new cluster's nodes may take to boot (packages, EFS, secrets) before they report.
BOOT_GRACE_SECONDS = 900.0


@dataclass(frozen=True)
class Report:
    """A node agent's latest report: its state, since when, and when it said so (epoch s)."""

    state: str
    since: float
    at: float


@dataclass(frozen=True)
class Node:
    """A cluster node as observed: EC2 state, health, role tag (`standby` when untagged; a value
    other than `primary` or `standby` keeps the node out of everything, like `fenced`), primary
    network interface (None: it cannot serve), its agent's latest report, and when it was
    promoted (epoch s, from its tag)."""

    instance_id: str
    state: str
    healthy: bool
    role: str
    eni: str | None
    launch_time: datetime
    report: Report | None = None
    promoted_at: float | None = None


@dataclass(frozen=True)
class RouteTable:
    """A managed route table and where its VIP route points: an ENI id, another target's id when
    it points at something else, or None when it has no VIP route."""

    table_id: str
    vip_target_eni: str | None


@dataclass(frozen=True)
class Decision:
    """What to do, in this order: fence, disable source/dest check, promote, route.

    `primary` is the node that serves afterwards; `routes` point `destination` (the VIP's /32) at
    its `target_eni`, creating the route or replacing one that points elsewhere. `serving` says
    whether a primary is known to serve now (the `PrimaryServing` metric).
    """

    action: Action
    primary: str | None
    destination: str
    fence: list[str] = field(default_factory=list)
    promote: str | None = None
    routes: list[tuple[str, RouteOp]] = field(default_factory=list)
    disable_source_dest_check: str | None = None
    target_eni: str | None = None
    serving: bool = False


def is_healthy(state: str, instance_status: str, system_status: str) -> bool:
    """Running, and neither status check impaired (initializing or insufficient data is fine)."""
    return state == "running" and "impaired" not in (instance_status, system_status)


def reports(node: Node, state: str, now: float) -> bool:
    """The node's latest report is fresh and says `state`."""
    report = node.report
    return report is not None and report.state == state and now - report.at <= REPORT_STALE_SECONDS


def serves(node: Node, now: float) -> bool:
    """A primary that serves, or that is still starting after a recent promotion."""
    if not (node.healthy and node.eni is not None):
        return False
    if reports(node, SERVING, now):
        return True
    if node.promoted_at is None or now - node.promoted_at > START_GRACE_SECONDS:
        return False
    report = node.report
    if report is None or now - report.at > REPORT_STALE_SECONDS:
        # No word since: its agent may not have noticed the promotion yet, for a little while.
        return now - node.promoted_at <= REPORT_STALE_SECONDS
    # Waiting for the lease or replaying WAL; `ready` until it notices. `failing` is not.
    return report.state in (STARTING, READY)


def can_take_over(node: Node, now: float) -> bool:
    """A standby that booted, whose agent runs, and that EC2 finds healthy."""
    return (
        node.role == STANDBY and node.healthy and node.eni is not None and reports(node, READY, now)
    )


def booting(nodes: Sequence[Node], now: float) -> bool:
    """A new cluster: no node has reported yet, and none is older than the boot grace."""
    return (
        bool(nodes)
        and all(node.report is None for node in nodes)
        and all(now - node.launch_time.timestamp() <= BOOT_GRACE_SECONDS for node in nodes)
    )


def decide(nodes: Sequence[Node], tables: Sequence[RouteTable], vip: str, now: float) -> Decision:
    """The actions that leave exactly one serving primary with every VIP route pointing at it."""
    destination = f"{vip}/32"
    primaries = [node for node in nodes if node.role == PRIMARY]
    keep = _first([node for node in primaries if serves(node, now)], _routed_enis(tables))
    if keep is not None:
        serving = reports(keep, SERVING, now)
        fence = sorted(
            node.instance_id for node in primaries if node.instance_id != keep.instance_id
        )
        routes = _route_changes(tables, keep)
        if not fence and not routes:
            return Decision(UNCHANGED, keep.instance_id, destination, serving=serving)
        return Decision(
            REROUTED,
            keep.instance_id,
            destination,
            fence=fence,
            routes=routes,
            disable_source_dest_check=keep.instance_id,
            target_eni=keep.eni,
            serving=serving,
        )
    standby = _first([node for node in nodes if can_take_over(node, now)])
    if standby is None:
        return Decision(WAITING if booting(nodes, now) else NO_CANDIDATE, None, destination)
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
