"""The failover Lambda's pure decision, case by case: which primary it keeps, whom it fences and
promotes, the grace it gives a starting or failing primary, the protection it sets. Its properties
over any mix of node states: tests/test_failover_decision_properties.py; the handler on moto:
tests/test_failover_handler.py and tests/test_failover_contract_runs.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

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
)
from tests.failover_world import DESTINATION, T0, VIP

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


def test_decide_fences_a_new_primary_that_stopped_serving_within_its_grace():
    failing = node("a", "primary", report=reported("failing"), promoted_at=NOW - 30)
    decision = decide([failing, node("b")], tables_to("eni-a"), VIP, NOW)
    assert (decision.action, decision.fence) == ("failed_over", ["a"])
    silent = node("a", "primary", report=reported("serving", seconds_ago=25), promoted_at=NOW - 60)
    assert decide([silent, node("b")], tables_to("eni-a"), VIP, NOW).action == "failed_over"
