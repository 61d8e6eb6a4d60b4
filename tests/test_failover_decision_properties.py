"""Properties of the failover decision over any mix of node states (hypothesis): it never promotes
a node that cannot serve, never keeps a silent primary past its grace, never routes to an
unhealthy node, and applying it leaves one primary and nothing more to do."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from functions.db_failover.decision import (
    FAIL_AFTER_SECONDS,
    REPORT_STALE_SECONDS,
    START_GRACE_SECONDS,
    Decision,
    Node,
    RouteTable,
    decide,
    serves,
)
from tests.failover_world import T0, VIP
from tests.test_failover_decision import NOW, node, reported, tables_to


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
