"""The failover Lambda's handler on moto: each test builds the VPC, nodes and route tables it needs,
invokes the handler in-process and checks what EC2 holds afterwards: routes, role tags, instance
states, source/dest check, the node group's protection. Where the order of calls is the contract
(fence before promote) it checks the calls the handler made."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.db_failover import contract
from functions.db_failover import handler as failover
from functions.db_failover.decision import (
    REPORT_STALE_SECONDS,
)
from tests.failover_world import CLUSTER, DESTINATION, T0, impair


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
