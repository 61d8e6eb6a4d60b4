"""The failover decision, as a pure function of what was observed: no AWS, no clock of its own.

Who can serve is decided by PostgreSQL, not by EC2 alone. Each node's agent reports its state to
the cluster's table at least every 5 s and at once when it changes (`Report`), whatever the node
is busy with: `serving` after a recent write through its own server, `starting` while a primary
waits for the lease or PostgreSQL starts (crash recovery included), `failing` when no write has
succeeded since `since`, `ready` for a standby whose boot finished. Then:

- A primary serves when it is running, its status checks are not impaired, it has a network
  interface, and its latest report is fresh and says it serves or may still: `serving`;
  `starting` for at most `START_GRACE_SECONDS` since it started starting (a promoted node, or a
  primary whose server died and restarts); `failing` for less than `FAIL_AFTER_SECONDS` since its
  last write (the hysteresis: a latency spike on the data volume fences nobody); `ready`, or no
  report, for a few seconds after its promotion (its agent has not noticed yet). Silence beyond
  `REPORT_STALE_SECONDS` never does.
- A standby can be promoted when it is healthy in EC2 and its fresh report says `ready`: its boot
  finished and its agent runs. Fenced nodes never are.
- A new cluster whose nodes have not reported yet, all launched less than `BOOT_GRACE_SECONDS`
  ago, is left alone (`waiting`): its nodes are still installing PostgreSQL.

The decision keeps a serving primary, repairs routes that do not point at it, fences every other
primary; with no serving primary it fences them all and promotes the standby launched first
(ties: lowest instance id). With nobody to promote it changes nothing (`no_candidate`), and the
handler fails so that the function's error alarm fires. Nothing is fenced unless a standby can
take over.

The node group must never remove the primary by itself: the primary it leaves is protected from
scale-in, every other node of the group is not (`protect`, `unprotect`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Action = Literal[
    "unchanged", "rerouted", "failed_over", "no_candidate", "waiting", "paused", "switched_over"
]
RouteOp = Literal["create", "replace"]

PRIMARY, STANDBY, FENCED = "primary", "standby", "fenced"
UNCHANGED: Action = "unchanged"
REROUTED: Action = "rerouted"
FAILED_OVER: Action = "failed_over"
NO_CANDIDATE: Action = "no_candidate"
WAITING: Action = "waiting"
PAUSED: Action = "paused"
SWITCHED_OVER: Action = "switched_over"
SERVING, STARTING, FAILING, READY = "serving", "starting", "failing", "ready"

# Agents report every 5 s: four missed reports in a row and a node is silent.
REPORT_STALE_SECONDS = 20.0
# How long a primary may take to serve once it starts starting: the old primary's lease (3 s),
# then PostgreSQL's start, which may replay WAL after a crash.
START_GRACE_SECONDS = 300.0
# The hysteresis: a primary whose writes fail is fenced once its last write is this old. Agents
# write every 2 s, each write bounded at 4 s: a stall of the data volume shorter than 6 s fences
# nobody, one longer than 8 s always fails over (functions/hosts/pg_agent.py).
FAIL_AFTER_SECONDS = 8.0
# How long a new cluster's nodes may take to boot (packages, EFS, secrets) before they report.
BOOT_GRACE_SECONDS = 900.0


@dataclass(frozen=True)
class Report:
    """A node agent's latest report: its state, since when, and when it said so (epoch s)."""

    state: str
    since: float
    at: float
    certificate_expires: float | None = None
    """When the certificate the node serves expires (epoch s), if it says."""


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
    protected: bool | None = None
    """Protected from scale-in in the node group; None: not in the group (yet, or any more)."""


@dataclass(frozen=True)
class RouteTable:
    """A managed route table and where its VIP route points: an ENI id, another target's id when
    it points at something else, or None when it has no VIP route."""

    table_id: str
    vip_target_eni: str | None


@dataclass(frozen=True)
class Decision:
    """What to do, in this order: fence, disable source/dest check, promote, route, then the
    node group's scale-in protection.

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
    protect: list[str] = field(default_factory=list)
    unprotect: list[str] = field(default_factory=list)


def is_healthy(state: str, instance_status: str, system_status: str) -> bool:
    """Running, and neither status check impaired (initializing or insufficient data is fine)."""
    return state == "running" and "impaired" not in (instance_status, system_status)


def reports(node: Node, state: str, now: float) -> bool:
    """The node's latest report is fresh and says `state`."""
    report = node.report
    return report is not None and report.state == state and now - report.at <= REPORT_STALE_SECONDS


def serves(node: Node, now: float) -> bool:
    """A primary that serves, or may still: starting within its grace, failing within the
    hysteresis, or just promoted and not heard from since."""
    if not (node.healthy and node.eni is not None):
        return False
    report = node.report
    just_promoted = node.promoted_at is not None and now - node.promoted_at <= REPORT_STALE_SECONDS
    if report is None or now - report.at > REPORT_STALE_SECONDS:
        return just_promoted  # its agent may not have reported since, for a little while
    if report.state == SERVING:
        return True
    if report.state == STARTING:
        return now - report.since <= START_GRACE_SECONDS
    if report.state == FAILING:
        return now - report.since < FAIL_AFTER_SECONDS
    return report.state == READY and just_promoted  # it has not noticed its promotion yet


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
        protect, unprotect = _protection(nodes, keep)
        if not fence and not routes:
            return Decision(
                UNCHANGED,
                keep.instance_id,
                destination,
                serving=serving,
                protect=protect,
                unprotect=unprotect,
            )
        return Decision(
            REROUTED,
            keep.instance_id,
            destination,
            fence=fence,
            routes=routes,
            disable_source_dest_check=keep.instance_id,
            target_eni=keep.eni,
            serving=serving,
            protect=protect,
            unprotect=unprotect,
        )
    standby = _first([node for node in nodes if can_take_over(node, now)])
    if standby is None:
        return Decision(WAITING if booting(nodes, now) else NO_CANDIDATE, None, destination)
    protect, unprotect = _protection(nodes, standby)
    return Decision(
        FAILED_OVER,
        standby.instance_id,
        destination,
        fence=sorted(node.instance_id for node in primaries),
        promote=standby.instance_id,
        routes=_route_changes(tables, standby),
        disable_source_dest_check=standby.instance_id,
        target_eni=standby.eni,
        protect=protect,
        unprotect=unprotect,
    )


class SwitchoverRefusedError(RuntimeError):
    """A switchover that must not start: the message says why."""


def plan_switchover(
    nodes: Sequence[Node],
    tables: Sequence[RouteTable],
    vip: str,
    now: float,
    target: str | None = None,
) -> tuple[Node, Decision]:
    """A planned switchover: the one primary, which serves now, hands over to `target` (or, by
    default, the ready standby launched first). Returns the primary to demote and the decision
    that promotes the standby once the primary has stopped: no fence, since it stops cleanly.
    `SwitchoverRefusedError` when the cluster is not in a state to switch over."""
    primaries = [node for node in nodes if node.role == PRIMARY]
    if len(primaries) != 1:
        raise SwitchoverRefusedError(
            f"the cluster has {len(primaries)} primaries; a switchover needs exactly one"
        )
    (old,) = primaries
    if not (old.healthy and reports(old, SERVING, now)):
        state = "no report" if old.report is None else old.report.state
        raise SwitchoverRefusedError(
            f"the primary {old.instance_id} does not serve ({old.state}, {state}): that is a "
            "failover's job, not a switchover's"
        )
    ready = [node for node in nodes if can_take_over(node, now)]
    if target is not None:
        chosen = next((node for node in ready if node.instance_id == target), None)
        if chosen is None:
            known = next((node for node in nodes if node.instance_id == target), None)
            why = "is not a node of the cluster" if known is None else _not_ready(known, now)
            raise SwitchoverRefusedError(f"{target} {why}; ready standbys: {_ids(ready)}")
    else:
        chosen = _first(ready)
        if chosen is None:
            raise SwitchoverRefusedError(
                "no standby is ready (healthy in EC2, a fresh `ready` report): nobody to hand "
                "over to"
            )
    protect, unprotect = _protection(nodes, chosen)
    return old, Decision(
        SWITCHED_OVER,
        chosen.instance_id,
        f"{vip}/32",
        promote=chosen.instance_id,
        routes=_route_changes(tables, chosen),
        disable_source_dest_check=chosen.instance_id,
        target_eni=chosen.eni,
        protect=protect,
        unprotect=unprotect,
    )


def _not_ready(node: Node, now: float) -> str:
    if node.role != STANDBY:
        return f"is {node.role}, not a standby"
    if not node.healthy or node.eni is None:
        return f"is not healthy in EC2 ({node.state})"
    report = node.report
    if report is None:
        return "has not reported"
    if now - report.at > REPORT_STALE_SECONDS:
        return f"has not reported for {now - report.at:.0f} s"
    return f"reports {report.state}, not ready"


def _ids(nodes: Sequence[Node]) -> str:
    return ", ".join(node.instance_id for node in nodes) or "none"


def why(decision: Decision, nodes: Sequence[Node], now: float) -> str:
    """One line on why the decision was taken, for the log and `dbctl status`."""
    by_id = {node.instance_id: node for node in nodes}

    def described(instance_id: str) -> str:
        node = by_id.get(instance_id)
        if node is None:
            return instance_id
        report = node.report
        heard = "no report"
        if report is not None:
            heard = (
                f"{report.state} for {now - report.since:.0f} s, said {now - report.at:.0f} s ago"
            )
        return f"{instance_id} ({node.state}, {heard})"

    primaries = [node.instance_id for node in nodes if node.role == PRIMARY]
    if decision.action == FAILED_OVER:
        old = ", ".join(described(i) for i in primaries) or "no primary"
        return f"{old} did not serve; {decision.promote} was ready"
    if decision.action == REROUTED:
        extra = f"; fenced {', '.join(decision.fence)}" if decision.fence else ""
        return f"{decision.primary} serves; routes did not all point at it{extra}"
    if decision.action == NO_CANDIDATE:
        old = ", ".join(described(i) for i in primaries) or "no primary"
        return f"{old} does not serve, and no standby is ready"
    if decision.action == WAITING:
        return "a new cluster: no node has reported yet"
    if decision.action == SWITCHED_OVER:
        return f"planned switchover to {decision.promote}"
    return f"{decision.primary} serves"


def _protection(nodes: Sequence[Node], primary: Node) -> tuple[list[str], list[str]]:
    """The group's protection to change: the primary's on, every other node's off."""
    protect = [primary.instance_id] if primary.protected is False else []
    unprotect = sorted(
        node.instance_id
        for node in nodes
        if node.protected and node.instance_id != primary.instance_id
    )
    return protect, unprotect


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
