"""The failover Lambda: its pure decision for any mix of node states, and the handler on moto.

The moto tests build the VPC, nodes and route tables they need, invoke the handler in-process and
check what EC2 holds afterwards: routes, role tags, instance states, source/dest check. Where the
order of calls is the contract (fence before promote) they check the calls the handler made.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError  # type: ignore[import-untyped]
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws

from functions.db_failover import contract
from functions.db_failover import handler as failover
from functions.db_failover.decision import (
    FAIL_AFTER_SECONDS,
    REPORT_STALE_SECONDS,
    START_GRACE_SECONDS,
    Decision,
    Node,
    Report,
    RouteTable,
    decide,
    is_healthy,
    serves,
)
from tests.failover_world import CLUSTER, DESTINATION, T0, VIP, World, build_world, impair

NOW = (T0 + timedelta(days=1)).timestamp()
# Absent `report`: what the node's agent says by default, given its role.
AS_ITS_ROLE = Report("as its role", 0, 0)


def reported(state: str, seconds_ago: float = 1.0, since_ago: float = 3600.0) -> Report:
    """A report made `seconds_ago`, of a state the node has been in for `since_ago`."""
    return Report(state, NOW - since_ago, NOW - seconds_ago)


def node(
    instance_id: str,
    role: str = "standby",
    *,
    healthy: bool = True,
    state: str | None = None,
    minute: int = 0,
    report: Report | None = AS_ITS_ROLE,
    promoted_at: float | None = None,
    protected: bool | None = None,
) -> Node:
    """A node whose agent reports `serving` (a primary) or `ready` (others), unless told."""
    if report is AS_ITS_ROLE:
        report = reported("serving" if role == "primary" else "ready")
    return Node(
        instance_id=instance_id,
        state=state or ("running" if healthy else "stopped"),
        healthy=healthy,
        role=role,
        eni=f"eni-{instance_id}",
        launch_time=T0 + timedelta(minutes=minute),
        report=report,
        promoted_at=promoted_at,
        protected=protected,
    )


def tables_to(*targets: str | None) -> list[RouteTable]:
    return [RouteTable(f"rtb-{i}", target) for i, target in enumerate(targets)]


def test_decide_leaves_a_healthy_routed_primary_alone():
    decision = decide([node("a", "primary"), node("b")], tables_to("eni-a", "eni-a"), VIP, NOW)
    assert decision == Decision("unchanged", "a", DESTINATION, serving=True)


def test_decide_creates_missing_and_replaces_stray_routes_for_a_healthy_primary():
    decision = decide(
        [node("a", "primary"), node("b")], tables_to(None, "eni-b", "eni-a"), VIP, NOW
    )
    assert (decision.action, decision.primary, decision.fence, decision.promote) == (
        "rerouted",
        "a",
        [],
        None,
    )
    assert decision.routes == [("rtb-0", "create"), ("rtb-1", "replace")]
    assert (decision.target_eni, decision.disable_source_dest_check) == ("eni-a", "a")


def test_decide_fences_an_unhealthy_primary_and_promotes_the_earliest_launched_standby():
    nodes = [
        node("a", "primary", healthy=False, state="running"),
        node("b", minute=5),
        node("c", minute=1),
    ]
    decision = decide(nodes, tables_to("eni-a"), VIP, NOW)
    assert (decision.action, decision.fence, decision.promote, decision.primary) == (
        "failed_over",
        ["a"],
        "c",
        "c",
    )
    assert (decision.routes, decision.target_eni) == ([("rtb-0", "replace")], "eni-c")


def test_decide_breaks_launch_time_ties_by_instance_id():
    decision = decide([node("i-b"), node("i-a"), node("i-c")], tables_to(), VIP, NOW)
    assert decision.promote == "i-a"


def test_decide_never_promotes_a_fenced_node_even_when_it_runs_healthy():
    decision = decide(
        [node("a", "fenced", minute=0), node("b", minute=9)], tables_to(None), VIP, NOW
    )
    assert decision.promote == "b"


def test_decide_never_promotes_a_node_with_an_unknown_role():
    decision = decide(
        [node("a", "maintenance", minute=0), node("b", minute=9)], tables_to(), VIP, NOW
    )
    assert (decision.promote, decision.fence) == ("b", [])


def test_decide_treats_a_node_without_a_network_interface_as_unable_to_serve():
    nodes = [replace(node("a", "primary"), eni=None), node("b")]
    decision = decide(nodes, tables_to(None), VIP, NOW)
    assert (decision.fence, decision.promote) == (["a"], "b")


def test_decide_keeps_the_routed_primary_among_several_and_fences_the_rest():
    nodes = [node("a", "primary", minute=0), node("b", "primary", minute=5), node("c", "primary")]
    decision = decide(nodes, tables_to("eni-b", "eni-b"), VIP, NOW)
    assert (decision.action, decision.primary, decision.fence, decision.routes) == (
        "rerouted",
        "b",
        ["a", "c"],
        [],
    )


def test_decide_keeps_the_earliest_healthy_primary_when_the_routed_one_is_unhealthy():
    nodes = [
        node("a", "primary", minute=3),
        node("b", "primary", healthy=False),
        node("c", "primary", minute=1),
    ]
    decision = decide(nodes, tables_to("eni-b"), VIP, NOW)
    assert (decision.primary, decision.fence, decision.routes) == (
        "c",
        ["a", "b"],
        [("rtb-0", "replace")],
    )


def test_decide_without_a_healthy_node_changes_nothing():
    nodes = [node("a", "primary", healthy=False), node("b", healthy=False), node("c", "fenced")]
    decision = decide(nodes, tables_to("eni-a"), VIP, NOW)
    assert decision == Decision("no_candidate", None, DESTINATION)


def test_decide_fences_a_running_primary_whose_postgres_is_silent():
    """EC2 health is not database health: the report decides."""
    for report in (
        None,
        reported("serving", seconds_ago=REPORT_STALE_SECONDS + 1),
        reported("failing"),
    ):
        nodes = [node("a", "primary", report=report), node("b")]
        decision = decide(nodes, tables_to("eni-a"), VIP, NOW)
        assert (decision.action, decision.fence, decision.promote) == ("failed_over", ["a"], "b")


def test_decide_gives_a_starting_primary_its_grace_from_when_it_started_starting():
    """A promoted node, or a primary whose server died and restarts: crash recovery may outlast
    the reports' staleness, and its agent keeps reporting `starting` meanwhile."""
    for promoted_at in (NOW - 30, NOW - 86400, None):
        starting = node(
            "a", "primary", report=reported("starting", since_ago=60), promoted_at=promoted_at
        )
        decision = decide([starting, node("b")], tables_to("eni-a"), VIP, NOW)
        assert (decision.action, decision.serving) == ("unchanged", False)
        late = replace(starting, report=reported("starting", since_ago=START_GRACE_SECONDS + 1))
        assert decide([late, node("b")], tables_to("eni-a"), VIP, NOW).action == "failed_over"


def test_decide_keeps_a_primary_whose_writes_fail_until_the_hysteresis_ends():
    """A latency spike on the data volume fences nobody: only writes failing for longer than
    FAIL_AFTER_SECONDS since the last one that succeeded do."""
    spiking = node("a", "primary", report=reported("failing", since_ago=FAIL_AFTER_SECONDS - 1))
    decision = decide([spiking, node("b")], tables_to("eni-a"), VIP, NOW)
    assert (decision.action, decision.serving) == ("unchanged", False)
    hung = replace(spiking, report=reported("failing", since_ago=FAIL_AFTER_SECONDS))
    decision = decide([hung, node("b")], tables_to("eni-a"), VIP, NOW)
    assert (decision.action, decision.fence, decision.promote) == ("failed_over", ["a"], "b")


def test_decide_lets_a_promoted_node_notice_its_promotion_for_a_few_seconds_only():
    for report in (None, reported("ready")):
        noticed_late = node("a", "primary", report=report, promoted_at=NOW - 5)
        assert decide([noticed_late, node("b")], tables_to("eni-a"), VIP, NOW).action == "unchanged"
        never = replace(noticed_late, promoted_at=NOW - REPORT_STALE_SECONDS - 1)
        assert decide([never, node("b")], tables_to("eni-a"), VIP, NOW).action == "failed_over"


def test_decide_protects_the_primary_from_scale_in_and_no_other_node():
    nodes = [
        node("a", "primary", protected=False),
        node("b", protected=True),
        node("c", "fenced", protected=True),
        node("d", protected=None),  # not in the group
    ]
    decision = decide(nodes, tables_to("eni-a"), VIP, NOW)
    assert (decision.action, decision.protect, decision.unprotect) == (
        "unchanged",
        ["a"],
        ["b", "c"],
    )
    failed = [replace(nodes[0], healthy=False, protected=True), nodes[1], nodes[2]]
    decision = decide(failed, tables_to("eni-a"), VIP, NOW)
    assert (decision.promote, decision.protect, decision.unprotect) == ("b", [], ["a", "c"])


def test_decide_promotes_only_a_standby_that_reports_ready():
    nodes = [
        node("a", "primary", healthy=False),
        node("b", minute=0, report=None),  # still booting
        node("c", minute=1, report=reported("ready", seconds_ago=REPORT_STALE_SECONDS + 1)),
        node("d", minute=2),
    ]
    assert decide(nodes, tables_to("eni-a"), VIP, NOW).promote == "d"


def test_decide_waits_for_a_new_cluster_to_boot_then_gives_up():
    young = [
        replace(node(i, report=None), launch_time=datetime.fromtimestamp(NOW - 120, tz=UTC))
        for i in "ab"
    ]
    assert decide(young, tables_to(None), VIP, NOW).action == "waiting"
    old = [replace(n, launch_time=T0) for n in young]
    assert decide(old, tables_to(None), VIP, NOW).action == "no_candidate"


@pytest.mark.parametrize(
    ("state", "instance_status", "system_status", "healthy"),
    [
        ("running", "ok", "ok", True),
        ("running", "initializing", "initializing", True),
        ("running", "insufficient-data", "ok", True),
        ("running", "impaired", "ok", False),
        ("running", "ok", "impaired", False),
        ("pending", "not-applicable", "not-applicable", False),
        ("stopped", "not-applicable", "not-applicable", False),
    ],
)
def test_a_node_is_healthy_when_running_and_no_status_check_is_impaired(
    state, instance_status, system_status, healthy
):
    assert is_healthy(state, instance_status, system_status) is healthy


# --- Properties of the decision over any mix of node states --------------------------------------

# Running is weighted up so that healthy nodes, the interesting ones, are common.
STATES = ["pending", "running", "running", "running", "stopping", "stopped", "shutting-down"]
ROLES = ["primary", "standby", "fenced"]


REPORTS = [
    None,
    reported("ready"),
    reported("ready"),
    reported("serving"),
    reported("serving"),
    reported("starting"),
    reported("starting", since_ago=30),
    reported("failing"),
    reported("failing", since_ago=FAIL_AFTER_SECONDS - 1),
    reported("serving", seconds_ago=REPORT_STALE_SECONDS + 1),
    reported("ready", seconds_ago=REPORT_STALE_SECONDS + 1),
]
PROMOTED = [None, None, NOW - 10, NOW - START_GRACE_SECONDS - 1]


@st.composite
def observed_nodes(draw: st.DrawFn, index: int) -> Node:
    state = draw(st.sampled_from(STATES))
    return Node(
        instance_id=f"i-{index:02d}",
        state=state,
        healthy=state == "running" and draw(st.booleans()),
        role=draw(st.sampled_from(ROLES)),
        eni=draw(st.sampled_from([f"eni-{index:02d}"] * 4 + [None])),
        launch_time=T0 + timedelta(minutes=draw(st.integers(0, 3))),
        report=draw(st.sampled_from(REPORTS)),
        promoted_at=draw(st.sampled_from(PROMOTED)),
        protected=draw(st.sampled_from([None, True, False])),
    )


@st.composite
def clusters(draw: st.DrawFn) -> tuple[list[Node], list[RouteTable]]:
    count = draw(st.integers(0, 6))
    nodes = draw(st.permutations([draw(observed_nodes(i)) for i in range(count)]))
    targets = [n.eni for n in nodes if n.eni] + [None, "igw-0123"]
    tables = [
        RouteTable(f"rtb-{j}", draw(st.sampled_from(targets)))
        for j in range(draw(st.integers(0, 3)))
    ]
    return list(nodes), tables


def by_id(nodes: list[Node]) -> dict[str, Node]:
    return {n.instance_id: n for n in nodes}


def applied(nodes: list[Node], tables: list[RouteTable], decision: Decision):
    """The cluster as the handler leaves it after applying `decision`."""

    def after(n: Node) -> Node:
        if n.instance_id in decision.protect:
            n = replace(n, protected=True)
        if n.instance_id in decision.unprotect:
            n = replace(n, protected=False)
        if n.instance_id in decision.fence:
            return replace(n, role="fenced", state="stopped", healthy=False)
        if n.instance_id == decision.promote:
            return replace(n, role="primary", promoted_at=NOW)
        return n

    routed = {table_id for table_id, _ in decision.routes}
    return [after(n) for n in nodes], [
        replace(t, vip_target_eni=decision.target_eni) if t.table_id in routed else t
        for t in tables
    ]


@given(clusters())
def test_decide_never_promotes_a_fenced_unhealthy_or_unready_node(cluster):
    nodes, tables = cluster
    decision = decide(nodes, tables, VIP, NOW)
    if decision.promote is not None:
        promoted = by_id(nodes)[decision.promote]
        assert promoted.role == "standby"
        assert promoted.healthy
        assert promoted.report is not None and promoted.report.state == "ready"
        assert NOW - promoted.report.at <= REPORT_STALE_SECONDS


@given(clusters())
def test_decide_never_keeps_a_silent_primary_past_its_grace(cluster):
    nodes, tables = cluster
    decision = decide(nodes, tables, VIP, NOW)
    if decision.action in ("unchanged", "rerouted"):
        assert decision.primary is not None
        kept = by_id(nodes)[decision.primary]
        report = kept.report
        fresh = report is not None and NOW - report.at <= REPORT_STALE_SECONDS
        fresh_serving = fresh and report is not None and report.state == "serving"
        # Spelt out from the fields, not by `serves`: each way a primary may be kept.
        starting = fresh and report is not None and report.state == "starting"
        failing = fresh and report is not None and report.state == "failing"
        just_promoted = kept.promoted_at is not None and NOW - kept.promoted_at <= 20
        assert (
            fresh_serving
            or (starting and report is not None and NOW - report.since <= START_GRACE_SECONDS)
            or (failing and report is not None and NOW - report.since < FAIL_AFTER_SECONDS)
            or (just_promoted and (not fresh or (report is not None and report.state == "ready")))
        )
        assert decision.serving == fresh_serving


@given(clusters())
def test_decide_leaves_only_the_primary_protected_from_scale_in(cluster):
    nodes, tables = cluster
    decision = decide(nodes, tables, VIP, NOW)
    if decision.action in ("no_candidate", "waiting"):
        assert (decision.protect, decision.unprotect) == ([], [])
        return
    after_nodes, _ = applied(nodes, tables, decision)
    for n in after_nodes:
        if n.protected is not None:
            assert n.protected == (n.instance_id == decision.primary), n.instance_id


@given(clusters())
def test_decide_never_routes_to_an_unhealthy_node(cluster):
    nodes, tables = cluster
    decision = decide(nodes, tables, VIP, NOW)
    if decision.routes:
        assert decision.primary is not None
        target = by_id(nodes)[decision.primary]
        assert target.healthy
        assert decision.target_eni == target.eni


@given(clusters())
def test_decide_never_fences_the_node_it_promotes_or_keeps(cluster):
    nodes, tables = cluster
    decision = decide(nodes, tables, VIP, NOW)
    assert decision.promote not in decision.fence
    assert decision.primary not in decision.fence


@given(clusters())
def test_decide_gives_up_only_when_nobody_serves_or_can_take_over(cluster):
    nodes, tables = cluster
    # A standby that can take over, spelled out from its fields rather than by can_take_over.
    ready = [
        n
        for n in nodes
        if n.role == "standby"
        and n.healthy
        and n.eni is not None
        and n.report is not None
        and n.report.state == "ready"
        and NOW - n.report.at <= REPORT_STALE_SECONDS
    ]
    able = [n for n in nodes if serves(n, NOW) and n.role == "primary"] + ready
    assert (decide(nodes, tables, VIP, NOW).action in ("no_candidate", "waiting")) == (not able)


@given(clusters())
def test_unchanged_and_no_candidate_decisions_change_nothing(cluster):
    nodes, tables = cluster
    decision = decide(nodes, tables, VIP, NOW)
    if decision.action in ("unchanged", "no_candidate", "waiting"):
        assert decision.fence == []
        assert decision.promote is None
        assert decision.routes == []
        assert decision.disable_source_dest_check is None
    if decision.action in ("no_candidate", "waiting"):
        assert (decision.protect, decision.unprotect) == ([], [])


@given(clusters())
def test_applying_a_decision_leaves_one_healthy_primary_and_nothing_more_to_do(cluster):
    nodes, tables = cluster
    decision = decide(nodes, tables, VIP, NOW)
    if decision.action in ("no_candidate", "waiting"):
        return
    after_nodes, after_tables = applied(nodes, tables, decision)
    primaries = [n for n in after_nodes if n.role == "primary"]
    assert [n.instance_id for n in primaries] == [decision.primary]
    assert primaries[0].healthy
    again = decide(after_nodes, after_tables, VIP, NOW)
    assert (again.action, again.primary) == ("unchanged", decision.primary)
    assert (again.protect, again.unprotect) == ([], [])


@settings(max_examples=500)
@given(clusters(), st.randoms())
def test_decide_does_not_depend_on_the_order_nodes_are_listed_in(cluster, random):
    nodes, tables = cluster
    shuffled = random.sample(nodes, len(nodes))
    assert decide(shuffled, tables, VIP, NOW) == decide(nodes, tables, VIP, NOW)


# --- The handler on moto -------------------------------------------------------------------------


def test_healthy_primary_with_every_route_on_it_changes_nothing(world):
    primary, standby = world.launch("primary"), world.launch("standby")
    world.route_to(primary)
    before = world.vip_routes()

    assert world.invoke() == {"action": "unchanged", "primary": primary, "route_tables": []}
    assert world.vip_routes() == before
    assert (world.role(primary), world.role(standby)) == ("primary", "standby")
    assert world.writes() == []


def test_missing_route_is_created_for_the_healthy_primary(world):
    primary = world.launch("primary")
    first, second = world.managed
    world.route_to(primary, first)

    result = world.invoke()

    assert result == {"action": "rerouted", "primary": primary, "route_tables": [second]}
    assert world.managed_routes() == {world.eni(primary)}
    assert not world.source_dest_check(primary)
    assert world.role(primary) == "primary"


def test_route_pointing_at_another_node_is_replaced(world):
    primary, standby = world.launch("primary"), world.launch("standby")
    first, second = world.managed
    world.route_to(primary, first)
    world.route_to(standby, second)

    result = world.invoke()

    assert result == {"action": "rerouted", "primary": primary, "route_tables": [second]}
    assert world.managed_routes() == {world.eni(primary)}
    assert world.role(standby) == "standby"
    assert world.writes()[-1] == ("ReplaceRoute", second)


def test_route_pointing_at_a_gateway_is_replaced(world):
    primary = world.launch("primary")
    first, second = world.managed
    world.route_to(primary, first)
    gateway = world.vip_routes()[world.unmanaged[0]]
    world.ec2.create_route(RouteTableId=second, DestinationCidrBlock=DESTINATION, GatewayId=gateway)

    assert world.invoke()["route_tables"] == [second]
    assert world.managed_routes() == {world.eni(primary)}


def test_stopped_primary_is_fenced_and_the_earliest_launched_standby_promoted(world):
    primary = world.launch("primary", at=T0)
    later = world.launch("standby", at=T0 + timedelta(hours=2))
    earlier = world.launch("standby", at=T0 + timedelta(hours=1))
    world.route_to(primary)
    world.ec2.stop_instances(InstanceIds=[primary])
    unmanaged_before = {t: world.vip_routes()[t] for t in world.unmanaged}

    result = world.invoke()

    assert result == {"action": "failed_over", "primary": earlier, "route_tables": world.managed}
    assert (world.role(primary), world.state(primary)) == ("fenced", "stopped")
    assert (world.role(earlier), world.role(later)) == ("primary", "standby")
    assert not world.source_dest_check(earlier)
    assert world.source_dest_check(later)
    assert world.managed_routes() == {world.eni(earlier)}
    assert {t: world.vip_routes()[t] for t in world.unmanaged} == unmanaged_before
    assert "StopInstances" not in [call.operation for call in world.calls]


def test_standbys_launched_at_the_same_time_are_chosen_by_instance_id(world):
    standbys = [world.launch("standby", at=T0) for _ in range(3)]

    assert world.invoke()["primary"] == min(standbys)


@pytest.mark.parametrize("check", ["instance", "system"])
def test_running_primary_with_an_impaired_status_check_is_force_stopped_then_replaced(
    world, monkeypatch, check
):
    primary, standby = world.launch("primary"), world.launch("standby")
    world.route_to(primary)
    impair(monkeypatch, primary, check)

    result = world.invoke()

    assert (result["action"], result["primary"]) == ("failed_over", standby)
    assert (world.state(primary), world.role(primary)) == ("stopped", "fenced")
    assert (world.state(standby), world.role(standby)) == ("running", "primary")
    assert world.managed_routes() == {world.eni(standby)}


def test_initializing_status_checks_do_not_make_a_primary_unhealthy(world, monkeypatch):
    primary = world.launch("primary")
    world.launch("standby")
    world.route_to(primary)
    # moto never reports initializing; this read is the only one patched.
    monkeypatch.setattr(
        failover,
        "fetch_statuses",
        lambda ec2, ids: dict.fromkeys(ids, ("initializing", "insufficient-data")),
    )

    assert world.invoke()["action"] == "unchanged"
    assert world.state(primary) == "running"


def test_fencing_stops_waits_and_tags_before_anything_is_promoted_or_routed(world, monkeypatch):
    primary, standby = world.launch("primary"), world.launch("standby")
    world.route_to(primary)
    impair(monkeypatch, primary)

    world.invoke()

    assert world.writes() == [
        ("StopInstances", ([primary], True)),
        ("CreateTags", ([primary], "fenced")),
        ("ModifyInstanceAttribute", (standby, {"Value": False})),
        ("CreateTags", ([standby], "primary")),
        *[("ReplaceRoute", table) for table in world.managed],
    ]
    operations = [call.operation for call in world.calls]
    stop, tag = operations.index("StopInstances"), operations.index("CreateTags")
    polls = [c.params for c in world.calls[stop:tag] if c.operation == "DescribeInstances"]
    assert polls, "no wait for the stop before the node was tagged fenced"
    assert polls[0]["Filters"] == [{"Name": "instance-id", "Values": [primary]}]
    assert (world.state(primary), world.role(standby)) == ("stopped", "primary")


def test_a_node_terminated_while_being_fenced_counts_as_down(world, monkeypatch):
    primary, standby = world.launch("primary"), world.launch("standby")
    world.route_to(primary)
    impair(monkeypatch, primary)

    def terminated_by_its_group(parsed: dict[str, Any], **_: Any) -> None:
        stopping = [i["InstanceId"] for i in parsed["StoppingInstances"]]
        world.ec2.terminate_instances(InstanceIds=stopping)

    # The instance_stopped waiter fails when it sees `terminated`; the handler must accept that.
    result = world.invoke({"after-call.ec2.StopInstances": terminated_by_its_group})

    assert (result["action"], result["primary"]) == ("failed_over", standby)
    assert world.state(primary) == "terminated"
    assert world.managed_routes() == {world.eni(standby)}


def test_terminated_primary_is_missing_and_a_standby_takes_over(world):
    primary, standby = world.launch("primary"), world.launch("standby")
    world.route_to(primary)
    world.ec2.terminate_instances(InstanceIds=[primary])

    result = world.invoke()

    assert result == {"action": "failed_over", "primary": standby, "route_tables": world.managed}
    assert world.role(standby) == "primary"
    assert world.managed_routes() == {world.eni(standby)}
    assert [op for op, _ in world.writes()].count("StopInstances") == 0


def test_fenced_node_running_again_is_never_promoted(world):
    fenced = world.launch("fenced", at=T0)
    primary = world.launch("primary", at=T0 + timedelta(hours=1))
    standby = world.launch("standby", at=T0 + timedelta(hours=2))
    world.route_to(primary)
    world.ec2.stop_instances(InstanceIds=[primary])

    assert world.invoke()["primary"] == standby
    assert (world.role(fenced), world.state(fenced)) == ("fenced", "running")
    assert world.managed_routes() == {world.eni(standby)}


def test_first_boot_promotes_a_standby_and_creates_the_routes(world):
    first = world.launch(role=None)
    second = world.launch("standby")

    result = world.invoke()

    assert result == {"action": "failed_over", "primary": first, "route_tables": world.managed}
    assert (world.role(first), world.role(second)) == ("primary", "standby")
    assert not world.source_dest_check(first)
    assert world.managed_routes() == {world.eni(first)}
    assert [op for op, _ in world.writes()].count("CreateRoute") == 2


def test_of_two_primaries_the_routed_one_stays_and_the_other_is_fenced(world):
    older, routed = world.launch("primary"), world.launch("primary")
    world.route_to(routed)

    result = world.invoke()

    assert result == {"action": "rerouted", "primary": routed, "route_tables": []}
    assert (world.role(older), world.state(older)) == ("fenced", "stopped")
    assert (world.role(routed), world.state(routed)) == ("primary", "running")
    assert world.managed_routes() == {world.eni(routed)}


def test_of_two_unrouted_primaries_the_earliest_launched_stays(world):
    earlier = world.launch("primary", at=T0)
    later = world.launch("primary", at=T0 + timedelta(minutes=10))

    result = world.invoke()

    assert result == {"action": "rerouted", "primary": earlier, "route_tables": world.managed}
    assert (world.role(later), world.state(later)) == ("fenced", "stopped")
    assert world.managed_routes() == {world.eni(earlier)}
    assert not world.source_dest_check(earlier)


def test_of_two_primaries_an_unhealthy_routed_one_is_fenced_and_the_healthy_one_routed(
    world, monkeypatch
):
    healthy, routed = world.launch("primary"), world.launch("primary")
    world.route_to(routed)
    impair(monkeypatch, routed)

    result = world.invoke()

    assert result == {"action": "rerouted", "primary": healthy, "route_tables": world.managed}
    assert (world.role(routed), world.state(routed)) == ("fenced", "stopped")
    assert world.managed_routes() == {world.eni(healthy)}


def test_no_healthy_node_raises_and_changes_nothing(world):
    primary, standby = world.launch("primary"), world.launch("standby")
    world.route_to(primary)
    world.ec2.stop_instances(InstanceIds=[primary, standby])
    before = world.vip_routes()

    with pytest.raises(failover.NoCandidateError, match=CLUSTER):
        world.invoke()

    assert world.vip_routes() == before
    assert (world.role(primary), world.role(standby)) == ("primary", "standby")
    assert world.writes() == []


def test_only_fenced_nodes_running_is_no_candidate(world):
    fenced = world.launch("fenced")

    with pytest.raises(failover.NoCandidateError):
        world.invoke()

    assert world.role(fenced) == "fenced"
    assert world.managed_routes() == {None}


def test_a_running_primary_whose_postgres_went_silent_is_fenced_and_replaced(world):
    primary, standby = world.launch("primary"), world.launch("standby")
    world.route_to(primary)
    world.report(primary, "serving", seconds_ago=REPORT_STALE_SECONDS + 5)  # hung PostgreSQL

    result = world.invoke()

    assert (result["action"], result["primary"]) == ("failed_over", standby)
    assert (world.state(primary), world.role(primary)) == ("stopped", "fenced")
    assert world.role(standby) == "primary"
    assert world.managed_routes() == {world.eni(standby)}


def test_a_promotion_is_tagged_with_its_time(world):
    primary, standby = world.launch("primary"), world.launch("standby")
    world.route_to(primary)
    world.ec2.stop_instances(InstanceIds=[primary])
    before = time.time()

    world.invoke()

    promoted_at = float(world.tags(standby)[contract.PROMOTED_TAG])
    assert before - 1 <= promoted_at <= time.time() + 1


def test_a_promoted_primary_that_does_not_serve_yet_is_left_to_start(world):
    """Right after a promotion its agent still says `ready`, then `starting`: not a failure."""
    primary, standby = world.launch("primary"), world.launch("standby")
    world.route_to(primary)
    world.ec2.stop_instances(InstanceIds=[primary])
    world.invoke()
    world.report(standby, "starting")

    assert world.invoke()["action"] == "unchanged"
    assert world.role(standby) == "primary"


def test_a_standby_still_booting_is_not_promoted(world):
    primary = world.launch("primary")
    booting = world.launch("standby", reports=None)
    ready = world.launch("standby")
    world.route_to(primary)
    world.ec2.stop_instances(InstanceIds=[primary])

    assert world.invoke()["primary"] == ready
    assert world.role(booting) == "standby"


def test_a_new_cluster_is_left_to_boot_without_an_error(world):
    now = datetime.now(UTC)
    nodes = [world.launch("standby", reports=None, at=now) for _ in range(2)]

    assert world.invoke()["action"] == "waiting"
    assert [world.role(n) for n in nodes] == ["standby", "standby"]
    assert world.writes() == []


def test_each_decision_carries_the_primary_serving_and_booting_metrics(world, capsys):
    primary = world.launch("primary")
    world.route_to(primary)
    world.invoke()
    (line,) = [json.loads(x) for x in capsys.readouterr().out.splitlines() if "_aws" in x]
    (directive,) = line["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == contract.METRIC_NAMESPACE
    assert directive["Metrics"] == [
        {"Name": "PrimaryServing", "Unit": "Count"},
        {"Name": "ClusterBooting", "Unit": "Count"},
    ]
    assert directive["Dimensions"] == [["cluster"]]
    assert line["cluster"] == CLUSTER
    assert (line["PrimaryServing"], line["ClusterBooting"]) == (1, 0)


def test_a_booting_cluster_says_so_so_that_a_first_deploy_pages_nobody(world, capsys):
    now = datetime.now(UTC)
    for _ in range(2):
        world.launch("standby", reports=None, at=now)
    assert world.invoke()["action"] == "waiting"
    (line,) = [json.loads(x) for x in capsys.readouterr().out.splitlines() if "_aws" in x]
    assert (line["PrimaryServing"], line["ClusterBooting"]) == (0, 1)


def test_a_cluster_waits_for_its_agents_reports_before_it_promotes(world):
    """Report-gated: EC2 says the nodes run, but nobody is promoted until an agent says its
    node's boot finished (`ready`); the next run after that report promotes it."""
    now = datetime.now(UTC)
    first, second = (world.launch("standby", reports=None, at=now) for _ in range(2))
    assert world.invoke()["action"] == "waiting"
    world.report(second, "ready")
    assert (world.invoke()["action"], world.role(second)) == ("failed_over", "primary")
    assert world.role(first) == "standby"


def test_the_promoted_node_is_protected_from_scale_in_and_the_fenced_one_released(world):
    primary, standby = world.launch("primary"), world.launch("standby")
    world.route_to(primary)
    assert world.invoke()["action"] == "unchanged"
    assert (world.protected(primary), world.protected(standby)) == (True, False)
    world.ec2.stop_instances(InstanceIds=[primary])
    assert world.invoke()["primary"] == standby
    assert (world.protected(primary), world.protected(standby)) == (False, True)


def test_a_refused_protection_change_is_logged_and_the_failover_stands(world, capsys):
    primary, standby = world.launch("primary"), world.launch("standby")
    world.route_to(primary)
    world.ec2.stop_instances(InstanceIds=[primary])

    def refuse(**_: Any) -> None:
        error = {"Error": {"Code": "ValidationError", "Message": "not in the group"}}
        raise ClientError(error, "SetInstanceProtection")

    assert world.invoke({"before-call.autoscaling.SetInstanceProtection": refuse})["primary"] == (
        standby
    )
    assert world.managed_routes() == {world.eni(standby)}
    assert world.role(standby) == "primary"
    assert "protection_failed" in capsys.readouterr().out


def test_a_failover_does_not_wait_for_auto_scaling(world, capsys):
    """Protection is not part of the decision: when Auto Scaling does not answer (throttled,
    an IAM policy still propagating), the run fails over all the same."""
    primary, standby = world.launch("primary"), world.launch("standby")
    world.route_to(primary)
    world.ec2.stop_instances(InstanceIds=[primary])

    def refuse(**_: Any) -> None:
        error = {"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}
        raise ClientError(error, "DescribeAutoScalingInstances")

    result = world.invoke({"before-call.autoscaling.DescribeAutoScalingInstances": refuse})
    assert result["primary"] == standby
    assert "protection_unknown" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("event", "raises"),
    [
        ({"source": "aws.events"}, True),
        ({"Records": [{"eventSource": "aws:dynamodb"}]}, False),
        ({"source": contract.DEPLOYED}, False),
    ],
)
def test_nobody_to_serve_fails_the_schedules_run_not_a_stream_or_deployment_run(
    world, event, raises
):
    """A failed stream batch is retried and holds up the reports behind it, and a failed
    deployment run fails `pulumi up`: the schedule's run is the one whose error pages."""
    primary = world.launch("primary")
    world.route_to(primary)
    world.ec2.stop_instances(InstanceIds=[primary])
    if raises:
        with pytest.raises(failover.NoCandidateError):
            failover.handler(event, None)
    else:
        assert failover.handler(event, None)["action"] == "no_candidate"


def test_the_run_at_deployment_never_fails(world, monkeypatch, capsys):
    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("the role's policy is not everywhere in IAM yet")

    monkeypatch.setattr(failover, "run_once", broken)
    assert failover.handler({"source": contract.DEPLOYED}, None)["action"] == "error"
    assert "not everywhere" in capsys.readouterr().out
    with pytest.raises(RuntimeError):
        failover.handler({"source": "aws.events"}, None)


def test_the_log_names_what_ran_the_function(world, capsys):
    primary = world.launch("primary")
    world.route_to(primary)
    record = {"eventSource": "aws:dynamodb", "dynamodb": {"NewImage": {}}}
    failover.handler({"Records": [record]}, None)
    (line,) = [json.loads(x) for x in capsys.readouterr().out.splitlines() if "_aws" in x]
    assert line["trigger"] == "aws:dynamodb"


Scenario = Callable[[World, pytest.MonkeyPatch], None]


def _stopped_primary(world: World, _: pytest.MonkeyPatch) -> None:
    primary = world.launch("primary")
    world.launch("standby")
    world.route_to(primary)
    world.ec2.stop_instances(InstanceIds=[primary])


def _stray_route(world: World, _: pytest.MonkeyPatch) -> None:
    primary, standby = world.launch("primary"), world.launch("standby")
    world.route_to(primary, world.managed[0])
    world.route_to(standby, world.managed[1])


def _impaired_primary(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    primary = world.launch("primary")
    world.launch("standby")
    world.route_to(primary)
    impair(monkeypatch, primary)


def _first_boot(world: World, _: pytest.MonkeyPatch) -> None:
    world.launch(None)
    world.launch(None)


def _two_primaries(world: World, _: pytest.MonkeyPatch) -> None:
    world.launch("primary")
    world.route_to(world.launch("primary"))


@pytest.mark.parametrize(
    "scenario", [_stopped_primary, _stray_route, _impaired_primary, _first_boot, _two_primaries]
)
def test_a_second_invocation_right_after_a_successful_one_changes_nothing(
    world, monkeypatch, scenario
):
    scenario(world, monkeypatch)
    first = world.invoke()
    assert first["action"] != "unchanged"
    routes = world.vip_routes()

    assert world.invoke() == {
        "action": "unchanged",
        "primary": first["primary"],
        "route_tables": [],
    }
    assert world.writes() == []
    assert world.vip_routes() == routes


def test_stopped_primary_then_restarted_then_new_node_keeps_one_routed_primary(world):
    old, standby = world.launch("primary"), world.launch("standby")
    world.route_to(old)

    world.ec2.stop_instances(InstanceIds=[old])
    assert world.invoke()["action"] == "failed_over"
    assert (world.role(old), world.state(old)) == ("fenced", "stopped")
    assert (world.role(standby), world.state(standby)) == ("primary", "running")
    assert world.managed_routes() == {world.eni(standby)}

    world.ec2.start_instances(InstanceIds=[old])
    assert world.invoke() == {"action": "unchanged", "primary": standby, "route_tables": []}
    assert (world.role(old), world.state(old)) == ("fenced", "running")
    assert world.role(standby) == "primary"
    assert world.managed_routes() == {world.eni(standby)}

    new = world.launch("standby")
    assert world.invoke() == {"action": "unchanged", "primary": standby, "route_tables": []}
    assert (world.role(new), world.state(new)) == ("standby", "running")
    assert (world.role(old), world.role(standby)) == ("fenced", "primary")
    assert world.managed_routes() == {world.eni(standby)}


def test_unrelated_instances_change_neither_the_calls_nor_what_the_handler_reads(aws_env):
    def failover_with(unrelated: int) -> tuple[Counter[str], set[str], set[str]]:
        """EC2 calls per operation, the instances the reads returned, and the cluster's nodes."""
        with mock_aws():
            world = build_world()
            primary, standby = world.launch("primary"), world.launch("standby")
            world.route_to(primary)
            for _ in range(unrelated):
                world.launch(None, cluster=None)
            world.launch("primary", cluster="other-db")
            world.ec2.stop_instances(InstanceIds=[primary])
            seen: set[str] = set()

            def read(parsed: dict[str, Any], **_: Any) -> None:
                for reservation in parsed.get("Reservations", []):
                    seen.update(i["InstanceId"] for i in reservation["Instances"])
                seen.update(s["InstanceId"] for s in parsed.get("InstanceStatuses", []))

            reads = ("after-call.ec2.DescribeInstances", "after-call.ec2.DescribeInstanceStatus")
            assert world.invoke(dict.fromkeys(reads, read))["action"] == "failed_over"
            return Counter(c.operation for c in world.calls), seen, {primary, standby}

    alone, seen_alone, nodes_alone = failover_with(0)
    crowded, seen_crowded, nodes_crowded = failover_with(30)

    assert crowded == alone
    assert seen_alone == nodes_alone
    assert seen_crowded == nodes_crowded


def test_decide_fences_a_new_primary_that_stopped_serving_within_its_grace():
    failing = node("a", "primary", report=reported("failing"), promoted_at=NOW - 30)
    decision = decide([failing, node("b")], tables_to("eni-a"), VIP, NOW)
    assert (decision.action, decision.fence) == ("failed_over", ["a"])
    silent = node("a", "primary", report=reported("serving", seconds_ago=25), promoted_at=NOW - 60)
    assert decide([silent, node("b")], tables_to("eni-a"), VIP, NOW).action == "failed_over"
