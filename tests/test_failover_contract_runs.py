"""The failover Lambda's handler on moto, as the rest of AWS sees it: the metrics of each run, the
scale-in protection it keeps, what ran it and which runs may fail, and what a second run changes."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError  # type: ignore[import-untyped]
from moto import mock_aws

from functions.db_failover import contract
from functions.db_failover import handler as failover
from tests.failover_world import CLUSTER, World, build_world, impair


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


@pytest.mark.slow
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
