"""The vip cluster's parts agree: the node agent (shipped alone to the hosts, with its own copies)
writes the reports the failover function reads, under the keys and tags the program declares."""

from __future__ import annotations

from typing import Any

import boto3  # type: ignore[import-untyped]

from functions.db_failover import contract
from functions.db_failover.handler import read_reports
from functions.hosts import pg_agent
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
