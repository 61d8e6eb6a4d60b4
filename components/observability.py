"""Observability: the alert topic, the app hosts' logs and agent config, alarms and a dashboard.

Built in two steps, because the app hosts need the agent config before the alarms can name the
app: the constructor declares the encrypted topic, its e-mail subscriptions, the app log group and
the CloudWatch agent config in Parameter Store; `watch(...)` then declares one alarm per condition
of the tiers that exist in this stack, each with ALARM and OK actions on the topic, and one
dashboard whose widgets follow the same tiers.

`treat_missing_data` is chosen per alarm: error and latency counts are `notBreaching` (no traffic
is no error), while "enough healthy hosts" and "free storage" are `breaching` (a silent metric
there means the thing is gone).
"""

from __future__ import annotations

import json
import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components import iam
from components.config import ObservabilityConfig
from functions.db_failover import contract

# Parameter names the CloudWatchAgentServerPolicy lets instances read.
AGENT_PARAMETER_PREFIX = "AmazonCloudWatch-"
GB = 1024**3
MB = 1024**2


@dataclass(frozen=True)
class AppTargets:
    alb_arn_suffix: pulumi.Output[str]
    target_group_arn_suffix: pulumi.Output[str]
    group_name: pulumi.Output[str]
    min_size: int
    cache_member_clusters: pulumi.Output[list[str]] | None
    cache_node_count: int


@dataclass(frozen=True)
class DatabaseTargets:
    mode: str
    instance_identifiers: list[pulumi.Output[str]] = field(default_factory=list)
    failover_function_name: pulumi.Output[str] | None = None
    node_group_name: pulumi.Output[str] | None = None
    file_system_id: pulumi.Output[str] | None = None
    cluster_name: str | None = None
    """vip: the cluster the failover function reports `PrimaryServing` for."""
    check_every_minutes: int = 1
    """vip: how often the failover function runs at least (one metric value per run)."""


@dataclass(frozen=True)
class NetworkTargets:
    nat_gateway_ids: list[pulumi.Output[str]]
    nat_instance_id: pulumi.Output[str] | None


@dataclass(frozen=True)
class Condition:
    """One alarm, as data: the metric, the test and what missing data means."""

    label: str
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


class Observability(pulumi.ComponentResource):
    topic_arn: pulumi.Output[str]
    app_log_group_name: pulumi.Output[str]
    agent_config_parameter: pulumi.Output[str]
    alarm_names: list[pulumi.Output[str]]
    dashboard_url: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        config: ObservabilityConfig,
        stack_label: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("multitier:observability:Observability", name, None, opts)
        self._name = name
        self._config = config
        self._stack_label = stack_label
        self._child = pulumi.ResourceOptions(parent=self)
        self.alarm_names = []

        key = iam.kms_key(f"{name}-alerts", "the alert topic", self._child, _topic_key_policy())
        topic = aws.sns.Topic(f"{name}-alerts", kms_master_key_id=key.arn, opts=self._child)
        log_key = iam.kms_key(
            f"{name}-logs", "the stack's CloudWatch Logs log groups", self._child, _log_key_policy()
        )
        self.log_key_arn = log_key.arn
        for index, email in enumerate(config.alarm_emails):
            aws.sns.TopicSubscription(
                f"{name}-alerts-{index}",
                topic=topic.arn,
                protocol="email",
                endpoint=str(email),
                opts=self._child,
            )
        self.topic_arn = topic.arn

        app_logs = aws.cloudwatch.LogGroup(
            f"{name}-app",
            name=f"/multitier/{stack_label}/app",
            retention_in_days=config.retention("app"),
            kms_key_id=log_key.arn,
            opts=self._child,
        )
        self.app_log_group_name = app_logs.name
        parameter = aws.ssm.Parameter(
            f"{name}-agent",
            name=f"{AGENT_PARAMETER_PREFIX}{stack_label}-app",
            type="String",
            description="CloudWatch agent config of the app hosts",
            value=app_logs.name.apply(lambda group: json.dumps(agent_config(group))),
            opts=self._child,
        )
        self.agent_config_parameter = parameter.name
        self.register_outputs(
            {
                "topicArn": self.topic_arn,
                "appLogGroupName": self.app_log_group_name,
                "agentConfigParameter": self.agent_config_parameter,
            }
        )

    def watch(
        self,
        app: AppTargets,
        database: DatabaseTargets,
        network: NetworkTargets,
        bastion_group_name: pulumi.Output[str] | None,
    ) -> None:
        """Declare the alarms and the dashboard for the tiers this stack has."""
        conditions = (
            self._app_conditions(app)
            + self._database_conditions(database)
            + self._network_conditions(network)
        )
        if bastion_group_name is not None:
            conditions.append(_status_check("bastion-status", "Bastion", bastion_group_name))
        for condition in conditions:
            self._alarm(condition)
        if app.cache_member_clusters is not None:
            clusters = _each(app.cache_member_clusters, app.cache_node_count)
            for index, cluster in enumerate(clusters):
                for condition in self._cache_conditions(index, cluster):
                    self._alarm(condition)
        region = aws.get_region().region
        dashboard = aws.cloudwatch.Dashboard(
            f"{self._name}-dashboard",
            dashboard_name=f"{self._stack_label}-overview",
            dashboard_body=pulumi.Output.json_dumps(dashboard_body(app, database, region)),
            opts=self._child,
        )
        self.dashboard_url = dashboard.dashboard_name.apply(
            lambda n: (
                f"https://{region}.console.aws.amazon.com/cloudwatch/home"
                f"?region={region}#dashboards:name={n}"
            )
        )

    # The conditions, per tier

    def _app_conditions(self, app: AppTargets) -> list[Condition]:
        t = self._config.thresholds
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

    def _database_conditions(self, db: DatabaseTargets) -> list[Condition]:
        t = self._config.thresholds
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
        if db.node_group_name is not None:
            conditions.append(_status_check("db-node-status", "Database node", db.node_group_name))
        if db.cluster_name is not None:
            # One value per failover run, at least every checkEveryMinutes: a period with none
            # means the function did not run, which is no better.
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

    def _network_conditions(self, network: NetworkTargets) -> list[Condition]:
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

    def _cache_conditions(self, index: int, cluster: pulumi.Output[str]) -> list[Condition]:
        t, dims = self._config.thresholds, {"CacheClusterId": cluster}
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

    def _alarm(self, condition: Condition) -> None:
        alarm = aws.cloudwatch.MetricAlarm(
            f"{self._name}-{condition.label}",
            alarm_description=f"{self._stack_label}: {condition.description}",
            namespace=condition.namespace,
            metric_name=condition.metric,
            dimensions=condition.dimensions,
            statistic=condition.statistic,
            extended_statistic=condition.extended_statistic,
            period=condition.period_seconds,
            evaluation_periods=condition.periods,
            datapoints_to_alarm=condition.periods,
            comparison_operator=condition.comparison,
            threshold=condition.threshold,
            treat_missing_data=condition.missing,
            alarm_actions=[self.topic_arn],
            ok_actions=[self.topic_arn],
            opts=self._child,
        )
        self.alarm_names.append(alarm.name)


def _status_check(label: str, what: str, group_name: pulumi.Input[str]) -> Condition:
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


def agent_config(log_group: str) -> dict[str, Any]:
    """CloudWatch agent config of the app hosts: CPU, memory, disk, the container's logs."""
    return {
        "agent": {"metrics_collection_interval": 60},
        "metrics": {
            "namespace": "multitier/app",
            "append_dimensions": {"AutoScalingGroupName": "${aws:AutoScalingGroupName}"},
            "aggregation_dimensions": [["AutoScalingGroupName"]],
            "metrics_collected": {
                "cpu": {"measurement": ["cpu_usage_idle", "cpu_usage_iowait"], "totalcpu": True},
                "mem": {"measurement": ["mem_used_percent"]},
                "disk": {"measurement": ["used_percent"], "resources": ["/"]},
            },
        },
        "logs": {
            "logs_collected": {
                "files": {
                    "collect_list": [
                        {
                            "file_path": "/var/lib/docker/containers/*/*-json.log",
                            "log_group_name": log_group,
                            "log_stream_name": "{instance_id}/app",
                        },
                        {
                            "file_path": "/var/log/cloud-init-output.log",
                            "log_group_name": log_group,
                            "log_stream_name": "{instance_id}/cloud-init",
                        },
                    ]
                }
            }
        },
    }


def dashboard_body(app: AppTargets, db: DatabaseTargets, region: str) -> dict[str, Any]:
    """One dashboard: widgets for the tiers that exist in the stack."""
    elb = "AWS/ApplicationELB"
    target = ["LoadBalancer", app.alb_arn_suffix, "TargetGroup", app.target_group_arn_suffix]
    widgets = [
        _widget("Requests", [[elb, "RequestCount", "LoadBalancer", app.alb_arn_suffix]], "Sum"),
        _widget("Response time p95", [[elb, "TargetResponseTime", *target]], "p95"),
        _widget(
            "Hosts",
            [[elb, "HealthyHostCount", *target], [elb, "UnHealthyHostCount", *target]],
            "Minimum",
        ),
        _widget("App CPU", [["AWS/EC2", "CPUUtilization", "AutoScalingGroupName", app.group_name]]),
    ]
    if db.instance_identifiers:
        rds = [("AWS/RDS", "DBInstanceIdentifier", i) for i in db.instance_identifiers]
        widgets += [
            _widget("Database CPU", [[ns, "CPUUtilization", d, i] for ns, d, i in rds]),
            _widget(
                "Database connections", [[ns, "DatabaseConnections", d, i] for ns, d, i in rds]
            ),
            _widget("Database free storage", [[ns, "FreeStorageSpace", d, i] for ns, d, i in rds]),
        ]
    if db.node_group_name is not None:
        widgets.append(
            _widget(
                "Database node CPU",
                [["AWS/EC2", "CPUUtilization", "AutoScalingGroupName", db.node_group_name]],
            )
        )
    if db.failover_function_name is not None:
        fn = ["FunctionName", db.failover_function_name]
        widgets.append(
            _widget(
                "Failover runs",
                [["AWS/Lambda", m, *fn] for m in ("Invocations", "Errors", "Throttles")],
                "Sum",
            )
        )
    if app.cache_member_clusters is not None:
        widgets.append(
            _widget(
                "Cache engine CPU",
                [
                    ["AWS/ElastiCache", "EngineCPUUtilization", "CacheClusterId", cluster]
                    for cluster in _each(app.cache_member_clusters, app.cache_node_count)
                ],
            )
        )
    for index, widget in enumerate(widgets):
        widget |= {"x": (index % 2) * 12, "y": (index // 2) * 6, "width": 12, "height": 6}
        widget["properties"]["region"] = region
    return {"widgets": widgets}


def _widget(title: str, metrics: list[list[Any]], stat: str = "Average") -> dict[str, Any]:
    return {
        "type": "metric",
        "properties": {
            "title": title,
            "metrics": metrics,
            "stat": stat,
            "period": 60,
            "view": "timeSeries",
        },
    }


def _each(ids: pulumi.Output[list[str]], count: int) -> list[pulumi.Output[str]]:
    """The first `count` ids as separate outputs (the count is known before deployment)."""
    return [ids.apply(operator.itemgetter(index)) for index in range(count)]


def _key_policy(account: str, service_statement: dict[str, Any]) -> str:
    """The account administers the key; one AWS service may use it as the statement says."""
    administers = {
        "Sid": "AccountAdministers",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [administers, {"Effect": "Allow", **service_statement}],
        }
    )


def _log_key_policy() -> str:
    """CloudWatch Logs encrypts this account's log groups with the key."""
    account = aws.get_caller_identity().account_id
    region = aws.get_region().region
    return _key_policy(
        account,
        {
            "Sid": "CloudWatchLogsEncrypts",
            "Principal": {"Service": f"logs.{region}.amazonaws.com"},
            "Action": [
                "kms:Encrypt*",
                "kms:Decrypt*",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:Describe*",
            ],
            "Resource": "*",
            "Condition": {
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": (
                        f"arn:aws:logs:{region}:{account}:log-group:*"
                    )
                }
            },
        },
    )


def _topic_key_policy() -> str:
    """CloudWatch alarms of this account publish to the topic through the key."""
    account = aws.get_caller_identity().account_id
    return _key_policy(
        account,
        {
            "Sid": "CloudWatchAlarmsPublish",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": account}},
        },
    )
