"""CloudWatch alarms and dashboards as AWS::CloudWatch::Alarm and AWS::CloudWatch::Dashboard."""

from __future__ import annotations

from typing import Any

from cfncheck.fields import Block, Ctx, Custom, Emitted, Items, tags
from cfncheck.model import REF
from cfncheck.table import TypeMap


def _dimensions(value: Any, ctx: Ctx) -> list[Emitted]:
    return ctx.emit("Dimensions", [{"Name": k, "Value": v} for k, v in (value or {}).items()])


def _metric_dimensions(value: Any, ctx: Ctx) -> list[Emitted]:
    return ctx.emit(
        "Metric/Dimensions", [{"Name": k, "Value": v} for k, v in (value or {}).items()]
    )


TYPES = (
    TypeMap(
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "AWS::CloudWatch::Alarm",
        {
            "name": "AlarmName",
            "alarmDescription": "AlarmDescription",
            "namespace": "Namespace",
            "metricName": "MetricName",
            "dimensions": Custom(_dimensions),
            "statistic": "Statistic",
            "extendedStatistic": "ExtendedStatistic",
            "unit": "Unit",
            "period": "Period",
            "evaluationPeriods": "EvaluationPeriods",
            "datapointsToAlarm": "DatapointsToAlarm",
            "comparisonOperator": "ComparisonOperator",
            "threshold": "Threshold",
            "treatMissingData": "TreatMissingData",
            "evaluateLowSampleCountPercentiles": "EvaluateLowSampleCountPercentile",
            "actionsEnabled": "ActionsEnabled",
            "alarmActions": "AlarmActions",
            "okActions": "OKActions",
            "insufficientDataActions": "InsufficientDataActions",
            "metricQueries": Items(
                "Metrics",
                {
                    "id": "Id",
                    "expression": "Expression",
                    "label": "Label",
                    "returnData": "ReturnData",
                    "period": "Period",
                    "metric": Block(
                        "MetricStat",
                        {
                            "namespace": "Metric/Namespace",
                            "metricName": "Metric/MetricName",
                            "dimensions": Custom(_metric_dimensions),
                            "stat": "Stat",
                            "period": "Period",
                            "unit": "Unit",
                        },
                    ),
                },
            ),
            "tags": tags(),
        },
        refs={"id": REF, "name": REF, "arn": "Arn"},
    ),
    TypeMap(
        "aws:cloudwatch/dashboard:Dashboard",
        "AWS::CloudWatch::Dashboard",
        {"dashboardName": "DashboardName", "dashboardBody": "DashboardBody"},
        refs={"id": REF, "dashboardName": REF},
    ),
)
