"""The vip cluster's operator verbs, from the operator's machine with boto3: switchover, pause,
resume, status. Each takes the AWS clients and the cluster's settings (`Cluster`), so the tests
run them against moto and the drill against its emulator.

- **switchover** hands the primary role to a ready standby without a crash: it takes the failover
  function's lease (the function defers to it meanwhile), tags the primary `standby` (its agent
  checkpoints, stops PostgreSQL cleanly and releases the shared lease file), waits for its
  `ready` report, then promotes the standby as a failover does (source/dest check off, tagged
  `primary`, every VIP route, scale-in protection). Refused, having changed nothing, when the
  primary does not serve or no standby is ready. If the primary does not stop within the
  timeout, it is tagged `primary` again and nothing else changes.
- **pause** / **resume** put or delete the pause item in the cluster's table: a paused function
  observes, logs and publishes `PrimaryServing` (its alarm still fires), and changes nothing.
- **status** reads, and changes nothing.
"""

from __future__ import annotations

import getpass
import json
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from functions.db_failover.contract import (
    LEASE_ITEM,
    PAUSE_ITEM,
    SWITCHOVER_HOLDER,
    TABLE_KEY,
)
from functions.db_failover.decision import (
    PRIMARY,
    READY,
    SERVING,
    STANDBY,
    Node,
    Report,
    plan_switchover,
    why,
)
from functions.db_failover.handler import (
    Journal,
    NodeGroup,
    apply,
    read_nodes,
    read_reports,
    read_route_tables,
    tag_role,
    update_protection,
)
from functions.db_failover.lease import Lease

STOP_TIMEOUT_SECONDS = 60.0
"""How long the demoted primary may take to checkpoint and stop before the switchover gives up."""
SERVE_TIMEOUT_SECONDS = 60.0
"""How long the new primary may take to report `serving` before the switchover says so."""
LEASE_WAIT_SECONDS = 30.0
"""How long to wait for a running failover invocation to let go of the lease."""


@dataclass(frozen=True)
class Cluster:
    """What the verbs need to know of a cluster: the failover function's settings."""

    name: str
    vip: str
    table: str
    group: str
    function: str | None = None
    """The failover function, run once after a switchover that it asked to follow."""
    node_role_id: str = ""
    """The nodes' role's unique id, which their reports are keyed by."""


@dataclass(frozen=True)
class Clients:
    ec2: Any
    dynamodb: Any
    autoscaling: Any
    lambda_: Any = None


class SwitchoverFailedError(RuntimeError):
    """The switchover began and was undone: the message says what was seen."""


@dataclass
class Switchover:
    """What a switchover did, with its moments (epoch s)."""

    old: str
    new: str
    started: float
    demoted: float = 0.0
    stopped: float = 0.0
    promoted: float = 0.0
    serving: float | None = None
    steps: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        def at(moment: float | None) -> str:
            return "-" if moment is None else f"+{moment - self.started:.1f} s"

        return [
            f"switchover {self.old} -> {self.new}",
            f"  {self.old} demoted     {at(self.demoted)}",
            f"  {self.old} stopped     {at(self.stopped)} (checkpointed, clean)",
            f"  {self.new} promoted    {at(self.promoted)} (routes moved)",
            f"  {self.new} serving     {at(self.serving)}",
        ]


def switchover(
    clients: Clients,
    cluster: Cluster,
    target: str | None = None,
    *,
    say: Callable[[str], None] = print,
    stop_timeout: float = STOP_TIMEOUT_SECONDS,
    serve_timeout: float = SERVE_TIMEOUT_SECONDS,
    lease_wait: float = LEASE_WAIT_SECONDS,
    poll: float = 0.2,
) -> Switchover:
    """Hand the primary role to `target`, or to the ready standby launched first."""
    holder = f"{SWITCHOVER_HOLDER}{getpass.getuser()}@{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
    lease = Lease(clients.dynamodb, cluster.table, holder)
    deadline = time.monotonic() + lease_wait
    while not lease.acquire():
        if time.monotonic() > deadline:
            raise SwitchoverFailedError(
                f"the failover function held its lease for {lease_wait:.0f} s: nothing changed; "
                "try again"
            )
        time.sleep(0.5)
    done = False
    try:
        result = _switch(
            clients, cluster, target, lease=lease, say=say, stop_timeout=stop_timeout, poll=poll
        )
        done = True
    finally:
        if not done:
            lease.abandon()
    rerun = not lease.release()  # a failover run deferred to us meanwhile
    if rerun:
        lease.abandon()
        if cluster.function and clients.lambda_ is not None:
            clients.lambda_.invoke(
                FunctionName=cluster.function,
                InvocationType="Event",
                Payload=json.dumps({"source": "multitier.switchover"}).encode(),
            )
            say("the failover function asked to run meanwhile: invoked it")
    result.serving = _wait(
        lambda: _reported(clients, cluster, result.new, SERVING, after=None), serve_timeout, poll
    )
    if result.serving is None:
        say(f"{result.new} did not report serving within {serve_timeout:.0f} s: see `status`")
    return result


def _switch(
    clients: Clients,
    cluster: Cluster,
    target: str | None,
    *,
    lease: Lease,
    say: Callable[[str], None],
    stop_timeout: float,
    poll: float,
) -> Switchover:
    ec2, dynamodb = clients.ec2, clients.dynamodb
    group = NodeGroup(clients.autoscaling, cluster.group)

    def reports(ids: list[str]) -> dict[str, Report]:
        return read_reports(dynamodb, cluster.table, ids, cluster.node_role_id)

    nodes = read_nodes(ec2, cluster.name, reports, group)
    tables = read_route_tables(ec2, cluster.name, cluster.vip)
    started = time.time()
    old, decision = plan_switchover(nodes, tables, cluster.vip, started, target)  # or refused
    assert decision.promote is not None and old.report is not None
    result = Switchover(old.instance_id, decision.promote, started)
    say(f"demoting {old.instance_id}; {decision.promote} takes over")
    tag_role(ec2, [old.instance_id], STANDBY)
    result.demoted = time.time()
    last_said = old.report.at
    stopped = _wait(
        lambda: _reported(
            clients, cluster, old.instance_id, READY, after=last_said, renew=lease.renew
        ),
        stop_timeout,
        poll,
    )
    if stopped is None:
        tag_role(ec2, [old.instance_id], PRIMARY)
        raise SwitchoverFailedError(
            f"{old.instance_id} did not report a clean stop within {stop_timeout:.0f} s: it is "
            "primary again, nothing else changed (its agent's log says why)"
        )
    result.stopped = stopped
    lease.renew()
    apply(ec2, decision, nodes, lease.renew)
    update_protection(group, cluster.name, decision)
    result.promoted = time.time()
    Journal(dynamodb, cluster.table).record(
        {
            "at": round(result.promoted, 3),
            "trigger": "operator",
            "action": decision.action,
            "primary": decision.primary,
            "why": why(decision, nodes, result.promoted),
        }
    )
    return result


def _reported(
    clients: Clients,
    cluster: Cluster,
    node: str,
    state: str,
    *,
    after: float | None,
    renew: Callable[[], None] | None = None,
) -> float | None:
    """When the node's report says `state` (since after `after`), else None."""
    if renew is not None:
        renew()
    report = read_reports(clients.dynamodb, cluster.table, [node], cluster.node_role_id).get(node)
    if report is None or report.state != state or (after is not None and report.since <= after):
        return None
    return time.time()


def _wait(check: Callable[[], float | None], timeout: float, poll: float) -> float | None:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found is not None or time.monotonic() > deadline:
            return found
        time.sleep(poll)


# --- pause and resume ----------------------------------------------------------------------------


def pause(dynamodb: Any, cluster: Cluster, reason: str) -> dict[str, str]:
    """Pause failover: the function observes and logs, and changes nothing until `resume`."""
    item = {
        "by": f"{getpass.getuser()}@{socket.gethostname()}",
        "at": f"{time.time():.0f}",
        "reason": reason,
    }
    dynamodb.put_item(
        TableName=cluster.table,
        Item={TABLE_KEY: {"S": PAUSE_ITEM}, **{k: {"S": v} for k, v in item.items()}},
    )
    return item


def resume(dynamodb: Any, cluster: Cluster) -> dict[str, str] | None:
    """Resume failover; returns the pause it ended (None: it was not paused)."""
    answer = dynamodb.delete_item(
        TableName=cluster.table, Key={TABLE_KEY: {"S": PAUSE_ITEM}}, ReturnValues="ALL_OLD"
    )
    old = answer.get("Attributes")
    return None if old is None else {k: v["S"] for k, v in old.items() if k != TABLE_KEY}


# --- status --------------------------------------------------------------------------------------


def status(clients: Clients, cluster: Cluster) -> dict[str, Any]:
    """The cluster as the failover function sees it, read-only: nodes with their reports and
    ages, who the VIP routes point at, the lease's holder, the pause, the latest decisions."""
    now = time.time()

    def reports(ids: list[str]) -> dict[str, Report]:
        return read_reports(clients.dynamodb, cluster.table, ids, cluster.node_role_id)

    nodes = read_nodes(
        clients.ec2, cluster.name, reports, NodeGroup(clients.autoscaling, cluster.group)
    )
    tables = read_route_tables(clients.ec2, cluster.name, cluster.vip)
    paused, decisions = Journal(clients.dynamodb, cluster.table).read()
    lease_item = clients.dynamodb.get_item(
        TableName=cluster.table, Key={TABLE_KEY: {"S": LEASE_ITEM}}, ConsistentRead=True
    ).get("Item")
    by_eni = {node.eni: node.instance_id for node in nodes}
    return {
        "cluster": cluster.name,
        "vip": cluster.vip,
        "primary": [node.instance_id for node in nodes if node.role == PRIMARY],
        "nodes": [_node_status(node, now) for node in nodes],
        "routes": {
            table.table_id: by_eni.get(table.vip_target_eni, table.vip_target_eni)
            for table in tables
        },
        "lease": None
        if lease_item is None
        else {
            "holder": lease_item["holder"]["S"],
            "expires_in": round(float(lease_item["expires"]["N"]) - now, 1),
        },
        "paused": paused,
        "decisions": decisions,
        "certificate_expires": _certificate_expiry(nodes),
    }


def _node_status(node: Node, now: float) -> dict[str, Any]:
    report = node.report
    return {
        "id": node.instance_id,
        "state": node.state,
        "healthy": node.healthy,
        "role": node.role,
        "protected": node.protected,
        "report": None
        if report is None
        else {
            "state": report.state,
            "for": round(now - report.since, 1),
            "age": round(now - report.at, 1),
        },
    }


def _certificate_expiry(nodes: list[Node]) -> float | None:
    found = [
        n.report.certificate_expires for n in nodes if n.report and n.report.certificate_expires
    ]
    return min(found) if found else None


def render(view: dict[str, Any]) -> list[str]:
    """`status` for a terminal."""
    now = time.time()
    lines = [f"cluster {view['cluster']}, VIP {view['vip']}"]
    lines.append(f"  primary            {', '.join(view['primary']) or 'none'}")
    paused = view["paused"]
    lines.append(
        "  failover           "
        + (
            "active"
            if paused is None
            else f"PAUSED by {paused.get('by')} {_ago(now, paused.get('at'))}: "
            f"{paused.get('reason')}"
        )
    )
    lease = view["lease"]
    lines.append(
        "  lease              "
        + ("free" if lease is None else f"{lease['holder']} (expires in {lease['expires_in']} s)")
    )
    expires = view["certificate_expires"]
    lines.append(
        "  certificate        "
        + (
            "unknown (no node reports it)"
            if expires is None
            else time.strftime("expires %Y-%m-%d %H:%M UTC", time.gmtime(expires))
            + f", in {(expires - now) / 86400:.0f} days"
        )
    )
    lines.append("  nodes")
    for node in view["nodes"]:
        report = node["report"]
        heard = (
            "no report"
            if report is None
            else f"{report['state']} for {report['for']:.0f} s, reported {report['age']:.1f} s ago"
        )
        health = "healthy" if node["healthy"] else "UNHEALTHY"
        lines.append(f"    {node['id']}  {node['role']:<8} {node['state']:<8} {health:<9} {heard}")
    lines.append("  VIP routes")
    for table, target in sorted(view["routes"].items()):
        lines.append(f"    {table} -> {target or 'no route'}")
    lines.append("  latest decisions (newest first)")
    for entry in view["decisions"] or []:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(float(entry["at"])))
        action = entry["action"] + (f" (would {entry['would']})" if entry.get("would") else "")
        lines.append(f"    {when}  {entry['trigger']:<10} {action}: {entry.get('why', '')}")
    if not view["decisions"]:
        lines.append("    none recorded")
    return lines


def _ago(now: float, at: str | None) -> str:
    return "" if at is None else f"{(now - float(at)) / 60:.0f} min ago"
