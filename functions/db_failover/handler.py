"""Failover of the self-hosted PostgreSQL cluster: keep the VIP route on one serving primary.

Configured by `CLUSTER_NAME`, `VIP_ADDRESS`, `LEASE_TABLE` and `NODE_GROUP`; runs on EC2 state
changes, node launches, the cluster table's stream (every `failing` report), a schedule, and
once when the stack is deployed. One invocation acts at a time: it holds the lease in `LEASE_TABLE`
(`lease.py`); one that finds the lease held asks the holder to run once more and returns
`deferred`. Contract of each run:

- Nodes are the instances tagged `multitier:db-cluster=CLUSTER_NAME`, terminated ones excepted
  (they are missing). `multitier:db-role` is `primary`, `standby` or `fenced`; no tag means
  standby, any other value keeps the node out like `fenced`. Managed route tables are those
  tagged `multitier:db-vip-routes=CLUSTER_NAME`.
- Each node's agent reports its state in `LEASE_TABLE` (item `node#<NODE_ROLE_ID>:<instance
  id>`, which IAM holds each node to); who serves
  and who may take over is decided from EC2 and those reports (`decision.py`).
- Serving primary, every managed route sends `VIP_ADDRESS/32` to its primary interface (device
  index 0): nothing changes (`unchanged`).
- Serving primary, some routes missing or elsewhere: those routes are created or replaced and
  the primary's source/dest check is disabled (`rerouted`).
- No serving primary (missing, impaired, or PostgreSQL silent): the old primary is fenced
  (force-stopped unless already stopped, waited for until stopped or terminated, then tagged
  `fenced`), then the ready standby launched first is promoted: source/dest check off, tagged
  `primary` with the time of its promotion, every managed route pointed at it (`failed_over`).
  Fenced nodes are never promoted, even when running again.
- Several primaries: the serving one the routes point to stays, the others are fenced.
- A new cluster whose nodes are still booting: nothing changes (`waiting`).
- The primary it leaves is protected from scale-in in the node group, every other node is not;
  a refused protection change is logged and changes nothing else (the group's min, max and
  desired capacity are equal, so only an operator's change of `nodeCount` scales in).
- Nobody to serve: no route changes, nothing is fenced, the decision is logged and the
  invocation fails (`NoCandidateError`), so the function's Errors alarm fires; except when a
  report on the stream or the deployment ran it (`QUIET_TRIGGERS`): a failed stream batch would
  be retried and hold up the reports behind it, and a failed deployment run would fail
  `pulumi up`. The schedule's next run fails in their place.

- Paused (the item `failover-pause` in `LEASE_TABLE`, set by `tools/dbctl pause`): the run
  observes, decides, logs the decision with the pause and its `PrimaryServing` metric (so the
  alarm fires while paused), records what it would have done, and changes nothing.
- An EC2 state change about an instance that is not a node of the cluster returns `ignored`
  after one DescribeInstances, before the lease: EventBridge cannot filter those by tag.
- A switchover (`tools/dbctl switchover`) holds the same lease: runs meanwhile defer to it.

Fencing always completes before any promotion or route change. A second invocation right after a
successful one returns `unchanged`. Every decision is logged as one JSON line, which carries the
`PrimaryServing` metric in CloudWatch's embedded metric format (the alarm on it fires when no
primary serves).

`decision.decide` is the pure core (no AWS); this module reads EC2 and the reports with boto3
and applies its `Decision`.
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
from dataclasses import asdict
from typing import Any

import boto3  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import ClientError  # type: ignore[import-untyped]

from .contract import (
    BOOTING_METRIC,
    CERTIFICATE_EXPIRES,
    CERTIFICATE_METRIC,
    CLUSTER_TAG,
    DECISIONS_ITEM,
    DECISIONS_KEPT,
    DEPLOYED,
    METRIC_NAMESPACE,
    PAUSE_ITEM,
    PROMOTED_TAG,
    ROLE_TAG,
    ROUTES_TAG,
    SERVING_METRIC,
    node_item,
)
from .decision import (
    FENCED,
    NO_CANDIDATE,
    PAUSED,
    PRIMARY,
    STANDBY,
    UNCHANGED,
    WAITING,
    Decision,
    Node,
    Report,
    RouteTable,
    decide,
    is_healthy,
    why,
)
from .lease import KEY, Lease

Ec2Client = Any  # boto3's clients; boto3 ships no type information
DynamoDbClient = Any


QUIET_TRIGGERS = ("aws:dynamodb", DEPLOYED)
"""Triggers whose runs log an unservable cluster instead of failing."""
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


# --- Imperative shell ----------------------------------------------------------------------------


class NoCandidateError(RuntimeError):
    """No healthy node can serve the VIP; raised so that the function's Errors alarm fires."""


class FenceTimeoutError(RuntimeError):
    """A node to fence did not stop in time: nothing is promoted, the invocation fails."""


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Hold the lease and run until nobody asked for another run; or defer to the holder. The
    run at deployment never fails (`pulumi up` waits for it): it logs what went wrong, and the
    schedule's first run meets it again."""
    if trigger_of(event) != DEPLOYED:
        return _handle(event, context)
    try:
        return _handle(event, context)
    except Exception as error:  # e.g. the role's new policy not yet everywhere in IAM
        record = {"trigger": DEPLOYED, "error": f"{type(error).__name__}: {error}"}
        print(json.dumps(record), flush=True)
        return {"action": "error", "primary": None, "route_tables": [], "runs": 0}


def _handle(event: Any, context: Any) -> dict[str, Any]:
    cluster, vip = os.environ["CLUSTER_NAME"], os.environ["VIP_ADDRESS"]
    holder = getattr(context, "aws_request_id", None) or uuid.uuid4().hex
    trigger = trigger_of(event)
    ec2 = boto3.client("ec2", config=CLIENT_CONFIG)
    outsider = _outsider(ec2, cluster, event)
    if outsider is not None:
        # EventBridge cannot filter EC2's state changes by tag: every stop in the region runs
        # the function. One DescribeInstances, no lease, no log line.
        return {"action": "ignored", "primary": None, "route_tables": [], "instance": outsider}
    dynamodb, table = boto3.client("dynamodb", config=CLIENT_CONFIG), os.environ["LEASE_TABLE"]
    lease = Lease(dynamodb, table, holder)
    if not lease.acquire_or_defer():
        record = {"cluster": cluster, "action": "deferred", "holder": holder, "trigger": trigger}
        print(json.dumps(record), flush=True)
        return {"action": "deferred", "primary": None, "route_tables": []}
    group = NodeGroup(boto3.client("autoscaling", config=CLIENT_CONFIG), os.environ["NODE_GROUP"])
    journal = Journal(dynamodb, table)

    def reports(ids: list[str]) -> dict[str, Report]:
        return read_reports(dynamodb, table, ids)

    runs: list[dict[str, Any]] = []
    try:
        while True:
            run = run_once(
                ec2,
                cluster,
                vip,
                lease.renew,
                reports,
                group=group,
                trigger=trigger,
                journal=journal,
            )
            runs.append(run)
            if lease.release():
                break
            if _seconds_left(context) < RUN_BUDGET_SECONDS:
                lease.abandon()  # too little time for another run: the next trigger makes it
                break
    except NoCandidateError:
        lease.abandon()
        if trigger not in QUIET_TRIGGERS:
            raise
        return {"action": NO_CANDIDATE, "primary": None, "route_tables": [], "runs": len(runs)}
    except BaseException:
        lease.abandon()
        raise
    # What the invocation did: its first run that changed something, else its last run.
    changed = [run for run in runs if run["action"] != UNCHANGED]
    return {**(changed or runs)[0 if changed else -1], "runs": len(runs)}


def _outsider(ec2: Ec2Client, cluster: str, event: Any) -> str | None:
    """The instance of an EC2 state change that is not a node of this cluster, else None (not
    such an event, or a node of the cluster, or an instance gone from EC2's answers)."""
    if not isinstance(event, dict) or event.get("source") != "aws.ec2":
        return None
    instance_id = (event.get("detail") or {}).get("instance-id")
    if not isinstance(instance_id, str):
        return None
    filters = [{"Name": "instance-id", "Values": [instance_id]}]
    reservations = ec2.describe_instances(Filters=filters)["Reservations"]
    instances = [i for reservation in reservations for i in reservation["Instances"]]
    if not instances:
        return None  # gone already: run, the cluster's state says whether it mattered
    tags = {tag["Key"]: tag["Value"] for tag in instances[0].get("Tags", [])}
    return None if tags.get(CLUSTER_TAG) == cluster else instance_id


class Journal:
    """The cluster table's items of the function's own: the pause switch, which operators set
    (`tools/dbctl`), and the latest decisions that changed something or could not, with why."""

    def __init__(self, dynamodb: DynamoDbClient, table: str) -> None:
        self._db, self._table = dynamodb, table

    def read(self) -> tuple[dict[str, str] | None, list[dict[str, Any]]]:
        """The pause (who, when, why; None when not paused) and the latest decisions."""
        keys = [{KEY: {"S": PAUSE_ITEM}}, {KEY: {"S": DECISIONS_ITEM}}]
        answer = self._db.batch_get_item(
            RequestItems={self._table: {"Keys": keys, "ConsistentRead": True}}
        )
        items = {item[KEY]["S"]: item for item in answer["Responses"].get(self._table, [])}
        pause = items.get(PAUSE_ITEM)
        decisions = items.get(DECISIONS_ITEM)
        return (
            None if pause is None else {k: v["S"] for k, v in pause.items() if "S" in v},
            [] if decisions is None else list(json.loads(decisions["decisions"]["S"])),
        )

    def paused(self) -> dict[str, str] | None:
        return self.read()[0]

    def record(self, entry: dict[str, Any]) -> None:
        """Keep `entry` first among the latest decisions (only the lease's holder writes). Best
        effort: a failover never waits on its own record; a refused write is logged."""
        try:
            _, decisions = self.read()
            kept = [entry, *decisions][:DECISIONS_KEPT]
            self._db.put_item(
                TableName=self._table,
                Item={KEY: {"S": DECISIONS_ITEM}, "decisions": {"S": json.dumps(kept)}},
            )
        except ClientError as error:
            print(json.dumps({"table": self._table, "record_failed": str(error)}), flush=True)


def trigger_of(event: Any) -> str:
    """What ran the function, for its log: an EC2 state change, a launch, a stream record (a
    node's report), the schedule."""
    if not isinstance(event, dict):
        return "unknown"
    records = event.get("Records")
    if isinstance(records, list) and records:
        return str(records[0].get("eventSource", "unknown"))
    return str(event.get("detail-type") or event.get("source") or "unknown")


class NodeGroup:
    """The node group's scale-in protection of the cluster's nodes."""

    def __init__(self, autoscaling: Any, name: str) -> None:
        self._autoscaling, self.name = autoscaling, name

    def protection(self, ids: list[str]) -> dict[str, bool]:
        """Per node in the group, whether it is protected from scale-in (50 ids per request).
        Nothing when Auto Scaling does not answer: a failover never waits for it."""
        found: dict[str, bool] = {}
        try:
            for start in range(0, len(ids), 50):
                answer = self._autoscaling.describe_auto_scaling_instances(
                    InstanceIds=ids[start : start + 50]
                )
                for instance in answer["AutoScalingInstances"]:
                    if instance["AutoScalingGroupName"] == self.name:
                        found[instance["InstanceId"]] = bool(instance["ProtectedFromScaleIn"])
        except ClientError as error:
            print(json.dumps({"group": self.name, "protection_unknown": str(error)}), flush=True)
            return {}
        return found

    def protect(self, ids: list[str], protected: bool) -> None:
        self._autoscaling.set_instance_protection(
            InstanceIds=ids, AutoScalingGroupName=self.name, ProtectedFromScaleIn=protected
        )


def _seconds_left(context: Any) -> float:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return remaining() / 1000 if callable(remaining) else float("inf")


def run_once(
    ec2: Ec2Client,
    cluster: str,
    vip: str,
    renew: Callable[[], None],
    reports: Callable[[list[str]], dict[str, Report]],
    *,
    group: NodeGroup | None = None,
    trigger: str = "unknown",
    journal: Journal | None = None,
) -> dict[str, Any]:
    """Observe the cluster, decide, log the decision, apply it; fail when no node can serve.
    `renew` keeps the lease between changes; `reports` reads the agents' reports by node;
    `group` is the node group, whose scale-in protection follows the primary; `journal` holds
    the pause switch and keeps the decisions. While paused, the decision is logged (with its
    `PrimaryServing` metric, so the alarm on it still fires) and nothing is changed."""
    nodes = read_nodes(ec2, cluster, reports, group)
    tables = read_route_tables(ec2, cluster, vip)
    now = time.time()
    decision = decide(nodes, tables, vip, now)
    pause = journal.paused() if journal is not None else None
    reason = why(decision, nodes, now)
    _log(cluster, vip, nodes, tables, decision, trigger=trigger, paused=pause, why=reason)
    if journal is not None and decision.action != UNCHANGED:
        entry = {"at": round(now, 3), "trigger": trigger, "action": decision.action}
        if pause is not None:
            entry = {**entry, "action": PAUSED, "would": decision.action}
        journal.record({**entry, "primary": decision.primary, "why": reason})
    if pause is not None:
        return {"action": PAUSED, "primary": decision.primary, "route_tables": []}
    if decision.action == NO_CANDIDATE:
        raise NoCandidateError(f"no healthy node of {cluster} can take the VIP {vip}")
    renew()
    apply(ec2, decision, nodes, renew)
    if group is not None:
        update_protection(group, cluster, decision)
    return {
        "action": decision.action,
        "primary": decision.primary,
        "route_tables": [table_id for table_id, _ in decision.routes],
    }


def read_nodes(
    ec2: Ec2Client,
    cluster: str,
    reports: Callable[[list[str]], dict[str, Report]],
    group: NodeGroup | None = None,
) -> list[Node]:
    """The cluster's instances that are not terminated, with their health, reports and
    protection in the node group."""
    instances = list(_cluster_instances(ec2, cluster))
    ids = [instance["InstanceId"] for instance in instances]
    statuses = fetch_statuses(ec2, ids)
    reported = reports(ids) if ids else {}
    protection = group.protection(ids) if group is not None and ids else {}
    return [_node(instance, statuses, reported, protection) for instance in instances]


def read_reports(
    dynamodb: DynamoDbClient, table: str, ids: list[str], role_id: str | None = None
) -> dict[str, Report]:
    """The agents' latest reports, by instance id (BatchGetItem, 100 keys per request), keyed by
    the nodes' role id (`NODE_ROLE_ID` unless given)."""
    role = os.environ.get("NODE_ROLE_ID", "") if role_id is None else role_id
    found: dict[str, Report] = {}
    for start in range(0, len(ids), 100):
        keys: list[dict[str, Any]] = [
            {KEY: {"S": node_item(i, role)}} for i in ids[start : start + 100]
        ]
        while keys:
            answer = dynamodb.batch_get_item(
                RequestItems={table: {"Keys": keys, "ConsistentRead": True}}
            )
            for item in answer["Responses"].get(table, []):
                expires = item.get(CERTIFICATE_EXPIRES, {}).get("N")
                found[item["node"]["S"]] = Report(
                    item["state"]["S"],
                    float(item["since"]["N"]),
                    float(item["at"]["N"]),
                    None if expires is None else float(expires),
                )
            keys = answer.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])
    return found


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


def _node(
    instance: dict[str, Any],
    statuses: dict[str, tuple[str, str]],
    reports: dict[str, Report],
    protection: dict[str, bool],
) -> Node:
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
        report=reports.get(instance_id),
        promoted_at=float(tags[PROMOTED_TAG]) if tags.get(PROMOTED_TAG) else None,
        protected=protection.get(instance_id),
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
        # The promotion's time starts the new primary's grace to serve (decision.serves).
        tag_role(ec2, [decision.promote], PRIMARY, {PROMOTED_TAG: f"{time.time():.0f}"})
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


def update_protection(group: NodeGroup, cluster: str, decision: Decision) -> None:
    """The group's scale-in protection follows the primary. A refusal (a node left the group
    meanwhile) is logged: the cluster serves without it."""
    for ids, protected in ((decision.protect, True), (decision.unprotect, False)):
        if not ids:
            continue
        try:
            group.protect(ids, protected)
        except ClientError as error:
            record = {"cluster": cluster, "protection_failed": ids, "error": str(error)}
            print(json.dumps(record), flush=True)


def fence(ec2: Ec2Client, nodes: Sequence[Node], renew: Callable[[], None] = lambda: None) -> None:
    """Force-stop the nodes that may still run, wait until all are down, then tag them fenced."""
    to_stop = [node.instance_id for node in nodes if node.state in STOPPABLE_STATES]
    if to_stop:
        ec2.stop_instances(InstanceIds=to_stop, Force=True)
    for node in nodes:
        if node.state not in DOWN_STATES:
            _wait_until_down(ec2, node.instance_id, renew)
    tag_role(ec2, [node.instance_id for node in nodes], FENCED)


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


def tag_role(
    ec2: Ec2Client, instance_ids: list[str], role: str, more: dict[str, str] | None = None
) -> None:
    tags = {ROLE_TAG: role, **(more or {})}
    ec2.create_tags(Resources=instance_ids, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])


def certificate_days_left(nodes: Sequence[Node], now: float) -> float | None:
    """Days until the first expiry among the certificates the running nodes serve."""
    expiries = [
        node.report.certificate_expires
        for node in nodes
        if node.state == "running" and node.report and node.report.certificate_expires
    ]
    return (min(expiries) - now) / 86400 if expiries else None


def _log(
    cluster: str,
    vip: str,
    nodes: Sequence[Node],
    tables: Sequence[RouteTable],
    decision: Decision,
    *,
    trigger: str,
    paused: dict[str, str] | None = None,
    why: str = "",
) -> None:
    observed = [
        {key: value for key, value in asdict(node).items() if key != "launch_time"}
        for node in nodes
    ]
    metrics = [
        {"Name": SERVING_METRIC, "Unit": "Count"},
        {"Name": BOOTING_METRIC, "Unit": "Count"},
    ]
    days_left = certificate_days_left(nodes, time.time())
    if days_left is not None:
        metrics.append({"Name": CERTIFICATE_METRIC, "Unit": "None"})
    record = {
        "cluster": cluster,
        "vip": vip,
        "trigger": trigger,
        **asdict(decision),
        "why": why,
        "paused": paused,
        "nodes": observed,
        "route_tables": [asdict(table) for table in tables],
        # CloudWatch's embedded metric format: Lambda's log turns this line into the metric.
        SERVING_METRIC: int(decision.serving),
        BOOTING_METRIC: int(decision.action == WAITING),
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": METRIC_NAMESPACE,
                    "Dimensions": [["cluster"]],
                    "Metrics": metrics,
                }
            ],
        },
    }
    if days_left is not None:  # no node says which certificate it serves: no data, no alarm
        record[CERTIFICATE_METRIC] = round(days_left, 2)
    print(json.dumps(record, sort_keys=True), flush=True)
