"""The vip cluster's parts agree: the node agent (shipped alone to the hosts, with its own copies)
writes the reports the failover function reads, under the keys and tags the program declares; and
the drill plays the events the program's EventBridge rules deliver."""

from __future__ import annotations

import json
from typing import Any

import boto3  # type: ignore[import-untyped]

from drill import events
from functions.db_failover import contract
from functions.db_failover.handler import read_reports
from functions.hosts import pg_agent
from policy.types import EVENT_RULE
from tests.conftest import plan
from tests.failover_world import LEASE_TABLE, REGION


def test_the_agent_reads_the_role_tag_the_function_writes():
    assert pg_agent.ROLE_TAG == contract.ROLE_TAG


def test_the_function_reads_the_reports_the_agent_writes(world):
    reporter = pg_agent.Reporter(
        table=LEASE_TABLE,
        region=REGION,
        node_id="i-0123456789abcdef0",
        credentials=lambda: pg_agent.Credentials("a", "b", "c", 0),
        clock=lambda: 1_000.0,
    )
    item: dict[str, Any] = reporter.item("serving", 990.0)
    assert item[contract.TABLE_KEY] == {"S": contract.node_item("i-0123456789abcdef0")}
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.put_item(TableName=LEASE_TABLE, Item=item)
    (report,) = read_reports(dynamodb, LEASE_TABLE, ["i-0123456789abcdef0"]).values()
    assert (report.state, report.since, report.at) == ("serving", 990.0, 1000.0)


def test_the_stream_runs_the_function_on_a_failing_report_only(world):
    """The deployed filters (Lambda's event filtering, as the drill plays it) against the
    reports the agent writes, as DynamoDB's stream carries them (moto's records)."""
    reporter = pg_agent.Reporter(
        table=LEASE_TABLE,
        region=REGION,
        node_id="i-0123456789abcdef0",
        credentials=lambda: pg_agent.Credentials("a", "b", "c", 0),
        clock=lambda: 1_000.0,
    )
    for state, runs in (("failing", True), ("serving", False), ("starting", False)):
        record = {"eventName": "MODIFY", "dynamodb": {"NewImage": reporter.item(state, 990.0)}}
        assert any(events.matches(f, record) for f in contract.report_filters()) == runs, state
    lease_item = {"dynamodb": {"NewImage": {contract.TABLE_KEY: {"S": contract.LEASE_ITEM}}}}
    assert not any(events.matches(f, lease_item) for f in contract.report_filters())


def _matches(pattern: Any, event: Any) -> bool:
    """EventBridge's matching for the patterns the program deploys: every key of the pattern in
    the event, a list of values matching when the event's value is one of them."""
    if isinstance(pattern, dict):
        return isinstance(event, dict) and all(
            key in event and _matches(value, event[key]) for key, value in pattern.items()
        )
    return event in pattern


def _deployed_patterns() -> dict[str, Any]:
    run = plan("dev", database={"mode": "vip"})
    rules = run.of_type(EVENT_RULE)
    return {r.name: json.loads(r["eventPattern"]) for r in rules if r.get("eventPattern")}


def test_the_drills_events_match_the_deployed_rules():
    patterns = _deployed_patterns()
    state_change = patterns["database-failover-state-change"]
    launched = patterns["database-failover-node-launched"]
    for state in ("stopped", "terminated", "stopping", "shutting-down"):
        assert _matches(state_change, events.state_change("i-0123456789abcdef0", state))
    assert not _matches(state_change, events.state_change("i-0123456789abcdef0", "running"))
    group = launched["detail"]["AutoScalingGroupName"][0]
    event = events.launched("i-0123456789abcdef0")
    assert _matches(
        launched, {**event, "detail": {**event["detail"], "AutoScalingGroupName": group}}
    )
    assert not _matches(launched, event), "the drill's group name is its own"


def test_a_report_keyed_by_the_nodes_user_id_is_read_by_the_function(world):
    """On AWS the key is the node's ${aws:userid}, `<role id>:<instance id>`: the one item its
    policy lets it write; the function knows the role id from NODE_ROLE_ID."""
    reporter = pg_agent.Reporter(
        table=LEASE_TABLE,
        region=REGION,
        node_id="i-0123456789abcdef0",
        credentials=lambda: pg_agent.Credentials("a", "b", "c", 0),
        clock=lambda: 1_000.0,
        role_id="AROAEXAMPLEROLEID0001",
    )
    item: dict[str, Any] = reporter.item("ready", 990.0)
    assert item[contract.TABLE_KEY] == {"S": "node#AROAEXAMPLEROLEID0001:i-0123456789abcdef0"}
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.put_item(TableName=LEASE_TABLE, Item=item)
    found = read_reports(dynamodb, LEASE_TABLE, ["i-0123456789abcdef0"], "AROAEXAMPLEROLEID0001")
    assert found["i-0123456789abcdef0"].state == "ready"
    assert read_reports(dynamodb, LEASE_TABLE, ["i-0123456789abcdef0"], "") == {}
