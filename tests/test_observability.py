"""Observability: the alarm set follows the tiers of each stack; alarms, dashboard and logs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.shared import cloud_init
from policy.types import (
    ALARM,
    ASG,
    CACHE,
    DASHBOARD,
    KMS_KEY,
    LAUNCH_TEMPLATE,
    LB,
    LOG_GROUP,
    SSM_PARAMETER,
    TOPIC,
    TOPIC_SUBSCRIPTION,
)
from tests.conftest import nat_mode, plan
from tools.mockrun import Run


def alarms(run: Run) -> set[str]:
    """Observability's alarms, by label (the scaling alarms belong to AppFleet)."""
    return {
        a.name.removeprefix("observability-")
        for a in run.of_type(ALARM)
        if a.name.startswith("observability-")
    }


def dashboard(run: Run) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(run.one(DASHBOARD)["dashboardBody"])
    return body


APP_ALARMS = {
    "alb-5xx",
    "target-5xx",
    "unhealthy-hosts",
    "healthy-hosts-low",
    "latency-p95",
    "app-cpu",
}
MANAGED_ALARMS = {"db-cpu", "db-free-storage", "db-free-memory", "db-connections"}
VIP_ALARMS = {"failover-errors", "failover-throttles", "db-node-status", "db-efs-io-limit"}


@pytest.mark.parametrize("mode", ["managed", "vip"])
def test_alarm_set_follows_the_database_mode(stack, mode):
    names = alarms(plan(stack, database={"mode": mode}))
    assert names >= APP_ALARMS
    assert (names >= MANAGED_ALARMS) == (mode == "managed")
    assert (names >= VIP_ALARMS) == (mode == "vip")
    assert not (names & (VIP_ALARMS if mode == "managed" else MANAGED_ALARMS))


def test_read_replicas_get_their_own_alarms_with_lag():
    names = alarms(plan("prod", database={"readReplicas": 2}))
    assert {"db-replica-1-lag", "db-replica-2-lag", "db-replica-2-cpu"} <= names
    assert "db-lag" not in names


def test_cache_alarms_exist_per_node_only_with_a_cache():
    assert not any(n.startswith("cache-") for n in alarms(plan("dev")))
    names = alarms(plan("prod"))
    for node in (0, 1):
        assert {f"cache-{node}-cpu", f"cache-{node}-memory", f"cache-{node}-evictions"} <= names
    run = plan("prod")
    members = set(run.one(CACHE).state["memberClusters"])
    cache_alarms = [a for a in run.of_type(ALARM) if a["namespace"] == "AWS/ElastiCache"]
    assert {a["dimensions"]["CacheClusterId"] for a in cache_alarms} == members


def test_bastion_status_alarm_only_with_a_bastion():
    assert "bastion-status" in alarms(plan("dev"))
    assert "bastion-status" not in alarms(plan("prod"))


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("none", set()),
        ("instance", {"nat-instance-status"}),
        ("single", {"nat-0-port-allocation"}),
        ("per_az", {"nat-0-port-allocation", "nat-1-port-allocation", "nat-2-port-allocation"}),
    ],
)
def test_nat_alarms_follow_the_nat_mode(mode, expected):
    run = plan("prod", network=nat_mode(mode))
    assert {n for n in alarms(run) if n.startswith("nat-")} == expected


def test_every_alarm_notifies_the_topic_on_alarm_and_ok(stack):
    run = plan(stack)
    topic = run.one(TOPIC).state["arn"]
    for alarm in run.of_type(ALARM):
        if alarm.name.startswith("observability-"):
            assert alarm["alarmActions"] == [topic], alarm.name
            assert alarm["okActions"] == [topic], alarm.name
            assert alarm["treatMissingData"] in {"breaching", "notBreaching"}, alarm.name


def test_missing_data_is_chosen_per_alarm():
    run = plan("prod")
    missing = {
        a.name.removeprefix("observability-"): a["treatMissingData"] for a in run.of_type(ALARM)
    }
    assert missing["healthy-hosts-low"] == "breaching"
    assert missing["db-free-storage"] == "breaching"
    assert missing["alb-5xx"] == "notBreaching"


def test_alarm_dimensions_name_resources_of_the_stack(stack):
    run = plan(stack)
    alb = run.one(LB).state["arnSuffix"]
    group = run.one(ASG, "app").state["name"]
    by_name = {a.name.removeprefix("observability-"): a for a in run.of_type(ALARM)}
    assert by_name["alb-5xx"]["dimensions"] == {"LoadBalancer": alb}
    assert by_name["app-cpu"]["dimensions"] == {"AutoScalingGroupName": group}
    assert by_name["latency-p95"]["extendedStatistic"] == "p95"


def test_thresholds_come_from_config():
    run = plan(
        "prod", observability={"thresholds": {"p95LatencySeconds": 0.5, "dbConnections": 50}}
    )
    by_name = {a.name.removeprefix("observability-"): a for a in run.of_type(ALARM)}
    assert by_name["latency-p95"]["threshold"] == 0.5
    assert by_name["db-connections"]["threshold"] == 50


def test_topic_is_encrypted_and_mails_every_address():
    run = plan("dev", observability={"alarmEmails": ["a@example.com", "b@example.com"]})
    topic = run.one(TOPIC)
    assert topic["kmsMasterKeyId"] == run.one(KMS_KEY, "observability-alerts").state["arn"]
    subscriptions = run.of_type(TOPIC_SUBSCRIPTION)
    assert sorted(s["endpoint"] for s in subscriptions) == ["a@example.com", "b@example.com"]
    assert {s["protocol"] for s in subscriptions} == {"email"}
    assert {s["topic"] for s in subscriptions} == {topic.state["arn"]}


@pytest.mark.parametrize("mode", ["managed", "vip"])
def test_every_log_group_is_encrypted_with_the_log_key(stack, mode):
    run = plan(stack, database={"mode": mode})
    key = run.one(KMS_KEY, "observability-logs")
    policy = json.loads(key["policy"])
    logs = next(s for s in policy["Statement"] if s["Sid"] == "CloudWatchLogsEncrypts")
    assert logs["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}
    assert key["enableKeyRotation"] is True
    groups = run.of_type(LOG_GROUP)
    assert len(groups) >= 3
    assert {g.name: g.get("kmsKeyId") for g in groups} == {g.name: key.state["arn"] for g in groups}


@pytest.mark.parametrize("mode", ["managed", "vip"])
def test_dashboard_is_valid_json_naming_only_metrics_of_existing_resources(stack, mode):
    run = plan(stack, database={"mode": mode})
    known = {
        value
        for r in run.resources
        for value in (r.id, *r.state.values())
        if isinstance(value, str)
    }
    known |= {m for r in run.resources for m in r.state.get("memberClusters", [])}
    metrics = [m for w in dashboard(run)["widgets"] for m in w["properties"]["metrics"]]
    assert metrics
    for metric in metrics:
        dimension_values = metric[3::2]
        assert dimension_values, metric
        for value in dimension_values:
            assert value in known, f"dashboard names {value!r}, which the stack does not declare"
    namespaces = {m[0] for m in metrics}
    assert ("AWS/RDS" in namespaces) == (mode == "managed")
    assert ("AWS/Lambda" in namespaces) == (mode == "vip")


def test_every_log_group_has_a_retention(stack):
    for mode in ("managed", "vip"):
        for group in plan(stack, database={"mode": mode}).of_type(LOG_GROUP):
            assert group.get("retentionInDays"), f"{group.name} keeps logs forever"


def test_one_retention_governs_all_log_groups_unless_overridden():
    run = plan(
        "dev", network={"flowLogRetentionDays": None}, observability={"logRetentionDays": 60}
    )
    assert {g["retentionInDays"] for g in run.of_type(LOG_GROUP)} == {60}
    run = plan(
        "dev",
        network={"flowLogRetentionDays": None},
        observability={"logRetentionDays": 60, "logRetention": {"app": 365, "database": 7}},
    )
    retention = {g.name: g["retentionInDays"] for g in run.of_type(LOG_GROUP)}
    assert retention == {
        "network-flow-logs": 60,
        "observability-app": 365,
        "database-failover": 7,
        "database-credentials": 7,
    }


def test_app_hosts_run_the_cloudwatch_agent_with_the_stored_config():
    run = plan("prod")
    parameter = run.one(SSM_PARAMETER)
    assert parameter["name"].startswith(
        "AmazonCloudWatch-"
    )  # readable under CloudWatchAgentServerPolicy
    config = json.loads(parameter["value"])
    collected = config["metrics"]["metrics_collected"]
    assert {"cpu", "mem", "disk"} <= set(collected)
    files = config["logs"]["logs_collected"]["files"]["collect_list"]
    assert {f["log_group_name"] for f in files} == {run.one(LOG_GROUP, "observability-app")["name"]}
    template = run.one(LAUNCH_TEMPLATE, "app")
    user_data = cloud_init.parse(
        cloud_init.decode(cloud_init.sent(template["userData"], base64_encoded=True))
    )
    boot = {f["path"]: f["content"] for f in user_data["write_files"]}["/etc/multitier/boot.env"]
    assert f"AGENT_CONFIG_PARAMETER='{parameter['name']}'" in boot


def test_outputs_name_the_topic_dashboard_and_alarms(stack):
    run = plan(stack)
    assert run.outputs["alertTopicArn"] == run.one(TOPIC).state["arn"]
    assert "dashboards:name=" in run.outputs["dashboardUrl"]
    assert len(run.outputs["alarmNames"]) == len(alarms(run))
