"""The stack's CloudWatch dashboard, as data: request, latency and host widgets for the app, and
widgets for the database and the cache as this stack has them."""

from __future__ import annotations

import operator
from typing import Any

import pulumi

from components.shared.contracts import AppMonitoring, DatabaseMonitoring


def dashboard_body(app: AppMonitoring, db: DatabaseMonitoring, region: str) -> dict[str, Any]:
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
                    for cluster in each(app.cache_member_clusters, app.cache_node_count)
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


def each(ids: pulumi.Output[list[str]], count: int) -> list[pulumi.Output[str]]:
    """The first `count` ids as separate outputs (the count is known before deployment)."""
    return [ids.apply(operator.itemgetter(index)) for index in range(count)]
