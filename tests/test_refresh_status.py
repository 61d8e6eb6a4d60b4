"""`tools/refresh_status.py`: what an operator is told about a running refresh. The report from
hand-built answers of DescribeInstanceRefreshes; the reading of AWS on moto, which has groups,
hosts and alarms but no instance refreshes (its DescribeInstanceRefreshes is stood in for)."""

from __future__ import annotations

from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest
from moto import mock_aws

from tools import refresh_status
from tools.refresh_status import Observed, report

GUARD = ("multitier-prod-app-refresh-5xx", "multitier-prod-app-refresh-unhealthy")


def refresh(status: str = "InProgress", done: int = 0, **extra: Any) -> dict[str, Any]:
    prefs = {
        "CheckpointPercentages": [50, 100],
        "CheckpointDelay": 600,
        "AlarmSpecification": {"Alarms": list(GUARD)},
        "AutoRollback": False,
        **extra.pop("prefs", {}),
    }
    return {
        "InstanceRefreshId": "r-1",
        "Status": status,
        "PercentageComplete": done,
        "InstancesToUpdate": 2,
        "Preferences": prefs,
        **extra,
    }


def ok(*firing: str) -> dict[str, str]:
    return {name: "ALARM" if name in firing else "OK" for name in GUARD}


def test_a_group_without_refresh_says_so():
    result = report(Observed("app", None))
    assert result.lines == ["app: no instance refresh has run"]
    assert result.healthy


def test_a_refresh_under_way_names_its_next_checkpoint_and_alarms():
    result = report(Observed("app", refresh(done=20), ok()))
    text = "\n".join(result.lines)
    assert "refresh r-1 InProgress, 20 % replaced, 2 hosts to go" in text
    assert "checkpoints: 50 %, 100 %, each pauses 600 s; next at 50 %" in text
    assert f"{GUARD[0]} OK" in text and "the refresh stops on ALARM" in text
    assert "automatic rollback: off" in text
    assert result.healthy


def test_a_refresh_at_a_checkpoint_says_it_is_paused():
    text = "\n".join(report(Observed("app", refresh(done=50), ok())).lines)
    assert "paused at 50 %: look now" in text


def test_a_firing_guard_alarm_is_unhealthy():
    result = report(Observed("app", refresh(done=50), ok(GUARD[1])))
    assert f"{GUARD[1]} ALARM" in "\n".join(result.lines)
    assert not result.healthy


def test_a_refresh_without_alarms_says_nothing_stops_it():
    bare = refresh(prefs={"AlarmSpecification": {}, "CheckpointPercentages": []})
    text = "\n".join(report(Observed("app", bare)).lines)
    assert "alarms: none named: nothing stops this refresh" in text
    assert "checkpoints: none" in text


def test_an_automatic_rollback_says_why_and_that_git_must_follow():
    rolled = refresh(
        "RollbackSuccessful",
        done=50,
        prefs={"AutoRollback": True},
        RollbackDetails={
            "RollbackReason": "Alarm multitier-prod-app-refresh-5xx went into ALARM",
            "PercentageCompleteOnRollback": 50,
        },
    )
    result = report(Observed("app", rolled, ok()))
    line = next(x for x in result.lines if "rollback" in x)
    assert line.startswith("  rollback (on): RollbackSuccessful at 50 % replaced: Alarm")
    assert "`make rollback STACK=<stack>`" in line
    assert not result.healthy


@pytest.mark.parametrize("status", ["Failed", "Cancelled", "RollbackFailed"])
def test_a_refresh_that_ended_badly_is_unhealthy(status):
    assert not report(Observed("app", refresh(status), ok())).healthy


@pytest.fixture
def world(monkeypatch):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    with mock_aws():
        region = "eu-west-1"
        ec2 = boto3.client("ec2", region_name=region)
        autoscaling = boto3.client("autoscaling", region_name=region)
        cloudwatch = boto3.client("cloudwatch", region_name=region)
        template = ec2.create_launch_template(
            LaunchTemplateName="app",
            LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "t3.small"},
        )["LaunchTemplate"]["LaunchTemplateId"]
        zone = f"{region}a"
        autoscaling.create_auto_scaling_group(
            AutoScalingGroupName="app",
            LaunchTemplate={"LaunchTemplateId": template, "Version": "1"},
            MinSize=2,
            MaxSize=4,
            DesiredCapacity=2,
            AvailabilityZones=[zone],
        )
        for name in GUARD:
            cloudwatch.put_metric_alarm(
                AlarmName=name,
                Namespace="AWS/ApplicationELB",
                MetricName="UnHealthyHostCount",
                Statistic="Maximum",
                Period=60,
                EvaluationPeriods=1,
                Threshold=0,
                ComparisonOperator="GreaterThanThreshold",
            )
        cloudwatch.set_alarm_state(AlarmName=GUARD[0], StateValue="ALARM", StateReason="5xx")
        cloudwatch.set_alarm_state(AlarmName=GUARD[1], StateValue="OK", StateReason="fine")
        # moto keeps no instance refreshes: answer as AWS does for one under way.
        monkeypatch.setattr(
            autoscaling,
            "describe_instance_refreshes",
            lambda **_: {"InstanceRefreshes": [refresh(done=50)]},
        )
        yield autoscaling, cloudwatch


@pytest.mark.slow  # moto
def test_observe_reads_the_alarm_states_and_the_hosts_versions(world):
    autoscaling, cloudwatch = world
    seen = refresh_status.observe("app", autoscaling, cloudwatch)
    assert seen is not None
    assert seen.alarms == {GUARD[0]: "ALARM", GUARD[1]: "OK"}
    assert seen.group_version == "1"
    assert len(seen.hosts) == 2
    assert {(version, state) for _, version, state, _ in seen.hosts} == {("1", "InService")}
    assert not report(seen).healthy, "the 5xx alarm fires"


@pytest.mark.slow  # moto
def test_observe_names_a_guard_alarm_that_does_not_exist(world):
    autoscaling, cloudwatch = world
    cloudwatch.delete_alarms(AlarmNames=[GUARD[1]])
    seen = refresh_status.observe("app", autoscaling, cloudwatch)
    assert seen is not None and seen.alarms[GUARD[1]] == "MISSING"


@pytest.mark.slow  # moto
def test_an_unknown_group_is_none(world):
    autoscaling, cloudwatch = world
    assert refresh_status.observe("nope", autoscaling, cloudwatch) is None
