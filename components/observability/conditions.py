"""The alarms' conditions, as data: one `Condition` per alarm, per tier, from the tiers' records
and the configured thresholds. The monitoring component (components/observability/monitoring.py)
turns each into a CloudWatch alarm.

`missing` is chosen per condition: error and latency counts are `notBreaching` (no traffic is no
error), while "enough healthy hosts" and "free storage" are `breaching` (a silent metric there
means the thing is gone).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi

from components.config import AlarmThresholds
from components.shared.contracts import AppMonitoring, DatabaseMonitoring, NetworkMonitoring
from functions.db_failover import contract

GB = 1024**3
ARCHIVE_AGE_METRIC = "ArchiveAgeSeconds"
"""Seconds since the vip primary's newest WAL segment reached the archive."""
CERTIFICATE_WARN_DAYS = 21
"""The cluster certificate's alarm: within this many days of its expiry on any node, every
`verify-full` client fails when it expires."""
MB = 1024**2


@dataclass(frozen=True)
class Condition:
    """One alarm, as data: the metric, the test and what missing data means."""

    label: str
    """Names the alarm (`<component>-<label>`)."""
    description: str
    namespace: str
    metric: str
    dimensions: Mapping[str, pulumi.Input[str]]
    comparison: str
    threshold: float
    statistic: str | None = "Average"
    missing: str = "notBreaching"
    periods: int = 1
    extended_statistic: str | None = None
    period_seconds: int = 60
    plus: tuple[str, ...] = ()
    """Metrics of the same namespace and dimensions added to `metric` before the test (metric
    math): a booting cluster counts as serving."""
    after: tuple[pulumi.Resource, ...] = ()
    """What must exist before the alarm: what first publishes its metric."""


def app_conditions(app: AppMonitoring, t: AlarmThresholds) -> list[Condition]:
    """The ALB's and the hosts' errors, health, latency and CPU."""
    alb = {"LoadBalancer": app.alb_arn_suffix}
    target = {"LoadBalancer": app.alb_arn_suffix, "TargetGroup": app.target_group_arn_suffix}
    elb = "AWS/ApplicationELB"
    return [
        Condition("alb-5xx", "ALB itself answers 5xx", elb, "HTTPCode_ELB_5XX_Count", alb,
                  "GreaterThanThreshold", t.alb_5xx_per_minute, "Sum"),
        Condition("target-5xx", "App hosts answer 5xx", elb, "HTTPCode_Target_5XX_Count",
                  target, "GreaterThanThreshold", t.alb_5xx_per_minute, "Sum"),
        Condition("unhealthy-hosts", "An app host fails its health check", elb,
                  "UnHealthyHostCount", target, "GreaterThanThreshold", 0, "Maximum",
                  periods=2),
        Condition("healthy-hosts-low", "Fewer healthy app hosts than the group minimum",
                  elb, "HealthyHostCount", target, "LessThanThreshold", app.min_size,
                  "Minimum", missing="breaching", periods=2),
        Condition("latency-p95", "p95 response time of the app is high", elb,
                  "TargetResponseTime", target, "GreaterThanThreshold", t.p95_latency_seconds,
                  statistic=None, extended_statistic="p95", periods=t.evaluation_minutes),
        Condition("app-cpu", "App hosts' average CPU is high", "AWS/EC2", "CPUUtilization",
                  {"AutoScalingGroupName": app.group_name}, "GreaterThanThreshold",
                  t.app_cpu_percent, periods=t.evaluation_minutes),
    ]  # fmt: skip


def database_conditions(db: DatabaseMonitoring, t: AlarmThresholds) -> list[Condition]:
    """managed: each instance's CPU, storage, memory, connections, a replica's lag; vip: the
    failover function's errors, the nodes' status checks, whether a primary serves, the volume's
    IO."""
    conditions: list[Condition] = []
    for index, identifier in enumerate(db.instance_identifiers):
        dims = {"DBInstanceIdentifier": identifier}
        label = "db" if index == 0 else f"db-replica-{index}"
        rds = "AWS/RDS"
        conditions += [
            Condition(f"{label}-cpu", "Database CPU is high", rds, "CPUUtilization", dims,
                      "GreaterThanThreshold", t.db_cpu_percent, periods=t.evaluation_minutes),
            Condition(f"{label}-free-storage", "Database storage is running out", rds,
                      "FreeStorageSpace", dims, "LessThanThreshold",
                      t.db_free_storage_gb * GB, "Minimum", missing="breaching"),
            Condition(f"{label}-free-memory", "Database memory is running out", rds,
                      "FreeableMemory", dims, "LessThanThreshold", t.db_free_memory_mb * MB,
                      "Minimum", periods=t.evaluation_minutes),
            Condition(f"{label}-connections", "Database connections are high", rds,
                      "DatabaseConnections", dims, "GreaterThanThreshold", t.db_connections,
                      "Maximum", periods=t.evaluation_minutes),
        ]  # fmt: skip
        if index > 0:
            conditions.append(
                Condition(
                    f"{label}-lag",
                    "Read replica lags",
                    rds,
                    "ReplicaLag",
                    dims,
                    "GreaterThanThreshold",
                    t.replica_lag_seconds,
                    "Maximum",
                    periods=t.evaluation_minutes,
                )
            )
    if db.failover_function_name is not None:
        fn = {"FunctionName": db.failover_function_name}
        conditions += [
            Condition("failover-errors", "The database failover Lambda failed (no healthy "
                      "node, or an AWS error)", "AWS/Lambda", "Errors", fn,
                      "GreaterThanThreshold", 0, "Sum"),
            Condition("failover-throttles", "The failover Lambda was throttled",
                      "AWS/Lambda", "Throttles", fn, "GreaterThanThreshold", 0, "Sum",
                      periods=5),
        ]  # fmt: skip
    if db.credentials_function_name is not None:
        conditions.append(
            function_errors(
                "credentials-errors",
                "A rotation of the database's passwords, or the bootstrap of the app's roles, "
                "failed (RUNBOOKS.md, Roll back a failed rotation)",
                db.credentials_function_name,
            )
        )
    if db.node_group_name is not None:
        conditions.append(status_check("db-node-status", "Database node", db.node_group_name))
    if db.cluster_name is not None:
        # One value of each per failover run, at least every checkEveryMinutes: a period with
        # none means the function did not run, which is no better. A new cluster whose nodes
        # still boot counts as serving, so that a first deploy pages nobody.
        conditions.append(
            Condition(
                "db-no-primary-serving",
                "No primary of the database cluster serves (its PostgreSQL is silent, or "
                "the failover function stopped running)",
                contract.METRIC_NAMESPACE,
                contract.SERVING_METRIC,
                {"cluster": db.cluster_name},
                "LessThanThreshold",
                1,
                "Maximum",
                missing="breaching",
                periods=3,
                period_seconds=60 * db.check_every_minutes,
                plus=(contract.BOOTING_METRIC,),
                after=(db.first_report,) if db.first_report is not None else (),
            )
        )
    if db.cluster_name is not None and db.archive_lag_minutes is not None:
        # The primary publishes it every minute (functions/hosts/pg_archive.sh, tick); no primary
        # publishing is db-no-primary-serving's to report.
        conditions.append(
            Condition(
                "db-archive-behind",
                "The database's WAL archive is behind: no segment archived for "
                f"{db.archive_lag_minutes} minutes (archiving fails, or cannot keep up)",
                contract.METRIC_NAMESPACE,
                ARCHIVE_AGE_METRIC,
                {"cluster": db.cluster_name},
                "GreaterThanThreshold",
                db.archive_lag_minutes * 60,
                "Maximum",
                periods=2,
            )
        )
    if db.cluster_name is not None:
        # The nodes serve the certificate they read at boot; `pulumi up` renews it in its last
        # CERTIFICATE_EARLY_RENEWAL_HOURS, and it reaches them as they are replaced. No node
        # reporting one (an older agent) is no data, and no alarm.
        conditions.append(
            Condition(
                "db-certificate-expiring",
                f"A database node serves a certificate that expires within "
                f"{CERTIFICATE_WARN_DAYS} days: run pulumi up, then roll the nodes "
                "(RUNBOOKS.md, Renew the cluster's certificate)",
                contract.METRIC_NAMESPACE,
                contract.CERTIFICATE_METRIC,
                {"cluster": db.cluster_name},
                "LessThanThreshold",
                CERTIFICATE_WARN_DAYS,
                "Minimum",
                period_seconds=3600,
            )
        )
    if db.file_system_id is not None:
        conditions.append(
            Condition(
                "db-efs-io-limit",
                "Database volume near its IO limit",
                "AWS/EFS",
                "PercentIOLimit",
                {"FileSystemId": db.file_system_id},
                "GreaterThanThreshold",
                t.efs_io_limit_percent,
                "Maximum",
                periods=t.evaluation_minutes,
            )
        )
    return conditions


def network_conditions(network: NetworkMonitoring) -> list[Condition]:
    """Each NAT gateway's port allocation, the NAT instance's status checks."""
    conditions = [
        Condition(
            f"nat-{index}-port-allocation",
            "NAT gateway cannot allocate ports",
            "AWS/NATGateway",
            "ErrorPortAllocation",
            {"NatGatewayId": nat},
            "GreaterThanThreshold",
            0,
            "Sum",
        )
        for index, nat in enumerate(network.nat_gateway_ids)
    ]
    if network.nat_instance_id is not None:
        conditions.append(
            Condition(
                "nat-instance-status",
                "NAT instance fails its status checks",
                "AWS/EC2",
                "StatusCheckFailed",
                {"InstanceId": network.nat_instance_id},
                "GreaterThanThreshold",
                0,
                "Maximum",
                periods=2,
            )
        )
    return conditions


def cache_conditions(
    index: int, cluster: pulumi.Output[str], t: AlarmThresholds
) -> list[Condition]:
    """One cache node's engine CPU, memory and evictions."""
    dims = {"CacheClusterId": cluster}
    cache = "AWS/ElastiCache"
    return [
        Condition(f"cache-{index}-cpu", "Redis engine CPU is high", cache,
                  "EngineCPUUtilization", dims, "GreaterThanThreshold", t.cache_cpu_percent,
                  periods=t.evaluation_minutes),
        Condition(f"cache-{index}-memory", "Redis memory is nearly full", cache,
                  "DatabaseMemoryUsagePercentage", dims, "GreaterThanThreshold",
                  t.cache_memory_percent, "Maximum", periods=t.evaluation_minutes),
        Condition(f"cache-{index}-evictions", "Redis evicts keys", cache, "Evictions", dims,
                  "GreaterThanThreshold", t.cache_evictions_per_minute, "Sum"),
    ]  # fmt: skip


def function_errors(label: str, description: str, function: pulumi.Input[str]) -> Condition:
    """A function's run failed. A rotation runs its four steps as four calls, and Secrets
    Manager retries a failed one: each failure counts."""
    return Condition(
        label,
        description,
        "AWS/Lambda",
        "Errors",
        {"FunctionName": function},
        "GreaterThanThreshold",
        0,
        "Sum",
    )


def status_check(label: str, what: str, group_name: pulumi.Input[str]) -> Condition:
    """The group's hosts fail their EC2 status checks."""
    return Condition(
        label,
        f"{what} fails its EC2 status checks",
        "AWS/EC2",
        "StatusCheckFailed",
        {"AutoScalingGroupName": group_name},
        "GreaterThanThreshold",
        0,
        "Maximum",
        periods=2,
    )
