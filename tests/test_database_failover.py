"""The vip cluster's failover function as the program declares it: one run at a time, its triggers
(EC2 events, launches, the table's stream, the schedule, the deployment), its permissions scoped
to the cluster, the certificate and table the nodes boot with, the alarm on its metrics."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pulumi

from components.database.postgres_ha import cluster_name
from functions.db_failover import contract, lease
from functions.db_failover.decision import Node, Report
from functions.db_failover.handler import certificate_days_left
from policy.types import (
    ALARM,
    ASG,
    DYNAMODB_TABLE,
    EVENT_RULE,
    EVENT_SOURCE_MAPPING,
    EVENT_TARGET,
    FUNCTION,
    INVOCATION,
    LAMBDA_PERMISSION,
    LOG_GROUP,
    ROLE,
    ROLE_POLICY,
    SECRET,
    SECRET_VERSION,
    TLS_CERT_REQUEST,
    TLS_LOCALLY_SIGNED_CERT,
    TLS_SELF_SIGNED_CERT,
)
from tests.conftest import plan
from tests.test_postgres_ha import node_user_data, run_for, written


def test_failover_lambda_runs_one_at_a_time_with_its_contract_settings():
    run = run_for("dev", "vip")
    function = run.one(FUNCTION, "database-failover")
    # Serialised by a lease, not reserved concurrency (which fails on low-quota accounts).
    assert "reservedConcurrentExecutions" not in function.inputs
    assert function["runtime"] in {"python3.12", "python3.13"}
    assert function["handler"] == "db_failover.handler.handler"
    table = run.one(DYNAMODB_TABLE, "database-failover-lease")
    assert function["environment"]["variables"] == {
        "CLUSTER_NAME": "multitier-dev-db",
        "VIP_ADDRESS": "10.10.10.10",
        "LEASE_TABLE": table.state["name"],
        "NODE_GROUP": run.one(ASG, "database-nodes").state["name"],
        "NODE_ROLE_ID": run.one(ROLE, "database-nodes").state["uniqueId"],
    }
    assert (table["hashKey"], table["attributes"]) == (
        lease.KEY,
        [{"name": lease.KEY, "type": "S"}],
    )
    assert table["billingMode"] == "PAY_PER_REQUEST"
    code = function["code"]
    assert isinstance(code, pulumi.AssetArchive)
    # The package as the tests import it, so its relative imports work in Lambda too.
    assert {"db_failover/__init__.py", "db_failover/handler.py", "db_failover/lease.py"} <= set(
        code.assets
    )
    group = run.one(LOG_GROUP, "database-failover")
    assert function["loggingConfig"]["logGroup"] == group["name"]
    assert group["retentionInDays"] == 14


def test_failover_lambda_is_triggered_by_state_changes_node_launches_and_a_schedule():
    run = run_for("dev", "vip")
    rules = {r.name.removeprefix("database-failover-"): r for r in run.of_type(EVENT_RULE)}
    state = json.loads(rules["state-change"]["eventPattern"])
    assert set(state["detail"]["state"]) == {"stopping", "stopped", "shutting-down", "terminated"}
    launched = json.loads(rules["node-launched"]["eventPattern"])
    nodes = run.one(ASG, "database-nodes").state["name"]
    assert launched["detail"]["AutoScalingGroupName"] == [nodes]
    assert rules["schedule"]["scheduleExpression"] == "rate(1 minute)"
    function_arn = run.one(FUNCTION, "database-failover").state["arn"]
    targets = run.of_type(EVENT_TARGET)
    assert sorted(t["rule"] for t in targets) == sorted(r.state["name"] for r in rules.values())
    assert {t["arn"] for t in targets} == {function_arn}
    permissions = [
        p for p in run.of_type(LAMBDA_PERMISSION) if p["principal"] == "events.amazonaws.com"
    ]
    assert sorted(p["sourceArn"] for p in permissions) == sorted(
        r.state["arn"] for r in rules.values()
    )


def test_a_failing_report_runs_the_failover_lambda_through_the_tables_stream():
    """The function hears of a primary whose writes fail within a second, not at its next
    scheduled run: the table's stream, filtered to `failing` reports."""
    run = run_for("dev", "vip")
    table = run.one(DYNAMODB_TABLE, "database-failover-lease")
    assert (table["streamEnabled"], table["streamViewType"]) == (True, "NEW_IMAGE")
    mapping = run.one(EVENT_SOURCE_MAPPING)
    assert mapping["eventSourceArn"] == table.state["streamArn"]
    assert mapping["functionName"] == run.one(FUNCTION, "database-failover").state["arn"]
    patterns = [json.loads(f["pattern"]) for f in mapping["filterCriteria"]["filters"]]
    assert patterns == contract.report_filters()
    assert mapping["startingPosition"] == "LATEST"
    assert mapping["maximumRetryAttempts"] <= 2, "a failed run must not block the stream"
    role_policy = run.one(ROLE_POLICY, "database-failover")
    assert role_policy.urn in run.prerequisites(mapping), "Lambda checks the role at creation"


def test_the_function_runs_once_at_deployment_before_its_alarm_exists():
    """A new cluster publishes `ClusterBooting` from its deployment on: the alarm created after
    that run finds data, and pages nobody while the nodes boot."""
    run = run_for("dev", "vip")
    first = run.one(INVOCATION, "database-failover-first-run")
    assert first["functionName"] == run.one(FUNCTION, "database-failover").state["name"]
    assert json.loads(first["input"]) == {"source": contract.DEPLOYED}
    assert first.get("lifecycleScope") in (None, "CREATE_ONLY")
    alarm = run.one(ALARM, "observability-db-no-primary-serving")
    assert first.urn in run.prerequisites(alarm)
    assert run.one(ASG, "database-nodes").urn in run.prerequisites(first)


def test_the_node_group_never_removes_the_primary_by_itself():
    run = run_for("dev", "vip")
    group = run.one(ASG, "database-nodes")
    assert group["suspendedProcesses"] == ["AZRebalance"]
    policy = json.loads(run.one(ROLE_POLICY, "database-failover")["policy"])
    (protect,) = [s for s in policy["Statement"] if s["Sid"] == "ProtectThePrimary"]
    assert (protect["Action"], protect["Resource"]) == (
        "autoscaling:SetInstanceProtection",
        group.state["arn"],
    )


def test_reserved_concurrency_is_an_option():
    run = plan("dev", database={"mode": "vip", "vip": {"reserveConcurrency": True}})
    assert run.one(FUNCTION, "database-failover")["reservedConcurrentExecutions"] == 1


def test_failover_policy_changes_only_this_clusters_nodes_and_routes():
    run = run_for("dev", "vip")
    policy = json.loads(run.one(ROLE_POLICY, "database-failover")["policy"])
    for statement in policy["Statement"]:
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        assert "*" not in actions and "ec2:*" not in actions
        if statement["Sid"] == "HoldTheLeaseAndReadReports":
            table = run.one(DYNAMODB_TABLE).state["arn"]
            assert statement["Resource"] == table
        elif statement["Sid"] == "ReadTheReportsStream":
            stream = run.one(DYNAMODB_TABLE).state["streamArn"]
            assert statement["Resource"] == stream
        elif statement["Sid"] == "ProtectThePrimary":
            group = run.one(ASG, "database-nodes").state["arn"]
            assert statement["Resource"] == group
        elif statement["Sid"] == "ListTheStreams":
            assert actions == ["dynamodb:ListStreams"]  # no resource-level scoping exists
        elif any(
            not a.startswith(("ec2:Describe", "autoscaling:Describe", "logs:")) for a in actions
        ):
            condition = json.dumps(statement["Condition"])
            assert "multitier-dev-db" in condition, statement["Sid"]


def test_cluster_names_are_valid_identifiers():
    assert cluster_name("multitier", "Prod_EU") == "multitier-prod-eu-db"
    assert len(cluster_name("multitier", "x" * 100)) <= 63


def test_one_certificate_for_the_vip_signed_by_a_ca_the_app_reads_with_the_secret():
    run = run_for("dev", "vip")
    request = run.one(TLS_CERT_REQUEST, "database-tls")
    assert request["ipAddresses"] == ["10.10.10.10"]
    assert request["subject"]["commonName"] == "10.10.10.10"
    ca = run.one(TLS_SELF_SIGNED_CERT, "database-tls-ca")
    assert ca["isCaCertificate"] is True
    certificate = run.one(TLS_LOCALLY_SIGNED_CERT, "database-tls")
    assert certificate["caCertPem"] == ca.state["certPem"]
    assert "server_auth" in certificate["allowedUses"]
    # Renewed by a pulumi up in its last month, never at every run.
    assert certificate["earlyRenewalHours"] < certificate["validityPeriodHours"]
    master = run.one(SECRET_VERSION, "database-master")
    assert json.loads(master["secretString"])["ca_certificate"] == ca.state["certPem"]
    held = json.loads(run.one(SECRET_VERSION, "database-tls")["secretString"])
    assert held["certificate"] == certificate.state["certPem"]
    assert "secretString" in run.one(SECRET_VERSION, "database-tls").secrets


def test_nodes_boot_with_the_cluster_table_and_the_certificate_secret():
    run = run_for("dev", "vip")
    env = written(node_user_data(run)[1])["/etc/multitier/pg.env"]
    table = run.one(DYNAMODB_TABLE, "database-failover-lease").state["name"]
    assert f"LEASE_TABLE='{table}'" in env
    tls_secret = run.one(SECRET, "database-tls").state["arn"]
    assert f"TLS_SECRET_ARN='{tls_secret}'" in env


def test_nodes_may_write_only_their_reports_into_the_cluster_table():
    run = run_for("dev", "vip")
    policy = json.loads(run.one(ROLE_POLICY, "database-nodes")["policy"])
    (report,) = [s for s in policy["Statement"] if s.get("Sid") == "ReportState"]
    assert report["Action"] == "dynamodb:PutItem"
    # Each node its own item: ${aws:userid} is <role id>:<instance id> for an instance profile.
    keys = report["Condition"]["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"]
    assert keys == ["node#${aws:userid}"]


def test_the_nodes_know_their_role_id_to_key_their_reports_by():
    run = run_for("dev", "vip")
    env = written(node_user_data(run)[1])["/etc/multitier/pg.env"]
    assert f"NODE_ROLE_ID='{run.one(ROLE, 'database-nodes').state['uniqueId']}'" in env


def test_the_function_may_change_only_the_source_dest_check_of_cluster_nodes():
    run = run_for("dev", "vip")
    policy = json.loads(run.one(ROLE_POLICY, "database-failover")["policy"])
    (modify,) = [s for s in policy["Statement"] if "ec2:ModifyInstanceAttribute" in s["Action"]]
    assert modify["Action"] == "ec2:ModifyInstanceAttribute"
    assert modify["Condition"]["StringEquals"]["ec2:Attribute/SourceDestCheck"] == "false"


def test_an_alarm_fires_three_weeks_before_a_node_serves_an_expired_certificate():
    run = run_for("dev", "vip")
    alarm = run.one(ALARM, "observability-db-certificate-expiring")
    assert (alarm["namespace"], alarm["metricName"]) == (
        contract.METRIC_NAMESPACE,
        contract.CERTIFICATE_METRIC,
    )
    assert alarm["dimensions"] == {"cluster": "multitier-dev-db"}
    assert (alarm["comparisonOperator"], alarm["threshold"]) == ("LessThanThreshold", 21)
    assert alarm["statistic"] == "Minimum"  # the earliest expiry of any node
    assert alarm["treatMissingData"] == "notBreaching"  # nodes too old to report it
    assert alarm["alarmActions"] and alarm["okActions"]


def test_the_function_publishes_the_days_left_of_the_earliest_certificate_a_node_serves():
    def node(state: str, expires: float | None) -> Node:
        report = Report("ready", 0, 0, expires)
        return Node("i-1", state, True, "standby", "eni-1", datetime.now(UTC), report)

    now = 1_000_000.0
    nodes = [node("running", now + 30 * 86400), node("running", now + 10 * 86400)]
    assert certificate_days_left(nodes, now) == 10
    assert certificate_days_left([node("stopped", now), node("running", None)], now) is None


def test_an_alarm_fires_when_no_primary_serves_but_not_while_a_new_cluster_boots():
    run = plan("dev", database={"mode": "vip", "vip": {"checkEveryMinutes": 2}})
    alarm = next(a for a in run.of_type(ALARM) if a.name == "observability-db-no-primary-serving")
    queries = {q["id"]: q for q in alarm["metricQueries"]}
    metrics = {q["metric"]["metricName"]: q["metric"] for q in queries.values() if "metric" in q}
    assert set(metrics) == {contract.SERVING_METRIC, contract.BOOTING_METRIC}
    for metric in metrics.values():
        assert metric["namespace"] == contract.METRIC_NAMESPACE
        assert metric["dimensions"] == {"cluster": "multitier-dev-db"}
        assert metric["period"] == 120  # one run at least every period
    (total,) = [q for q in queries.values() if q.get("returnData")]
    assert total["expression"] == "m0 + m1"  # serving, or booting: a first deploy pages nobody
    assert (alarm["comparisonOperator"], alarm["threshold"]) == ("LessThanThreshold", 1)
    assert alarm["treatMissingData"] == "breaching"  # the function stopped running
    assert alarm["alarmActions"] and alarm["okActions"]
