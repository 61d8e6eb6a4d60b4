"""Monitoring: one CloudWatch alarm per condition of the tiers this stack has
(components/observability/conditions.py), each with ALARM and OK actions on the alert topic, and
one dashboard whose widgets follow the same tiers (components/observability/dashboard.py). Built
last, from the tiers' records, and complete when its constructor returns."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.config import ObservabilityConfig
from components.observability import conditions
from components.observability.conditions import Condition
from components.observability.dashboard import dashboard_body, each
from components.shared.contracts import AppMonitoring, DatabaseMonitoring, NetworkMonitoring

# Until this component existed, the alarms and the dashboard were children of the Observability
# component of the same name. Their aliases carry a deployed stack's resources over: a move,
# never a replacement (tests/test_urns.py).
_FORMER_PARENT_TYPE = "multitier:observability:Observability"


@dataclass(frozen=True)
class MonitoringArgs:
    config: ObservabilityConfig
    """`multitier:observability`: the thresholds."""
    stack_label: str
    """Prefixes each alarm's description and names the dashboard (`<label>-overview`)."""
    topic_arn: pulumi.Input[str]
    """Where the alarms send ALARM and OK."""
    app: AppMonitoring
    """The app tier (`AppFleet.monitoring`)."""
    database: DatabaseMonitoring
    """The database (`PostgresHA.monitoring`)."""
    network: NetworkMonitoring
    """The network (`VpcNetwork.monitoring`)."""
    bastion_group_name: pulumi.Input[str] | None = None
    """The bastion's group; None: no bastion."""


class Monitoring(pulumi.ComponentResource):
    """The stack's alarms and dashboard."""

    alarm_names: list[pulumi.Output[str]]
    """Every alarm's name."""
    dashboard_url: pulumi.Output[str]
    """The dashboard in the CloudWatch console."""

    def __init__(
        self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("multitier:observability:Monitoring", name, None, opts)
        self._name = name
        self._args = args
        moved = pulumi.Alias(parent=pulumi.create_urn(name, _FORMER_PARENT_TYPE))
        self._child = pulumi.ResourceOptions(parent=self, aliases=[moved])
        self.alarm_names = []

        thresholds = args.config.thresholds
        found = (
            conditions.app_conditions(args.app, thresholds)
            + conditions.database_conditions(args.database, thresholds)
            + conditions.network_conditions(args.network)
        )
        if args.bastion_group_name is not None:
            found.append(
                conditions.status_check("bastion-status", "Bastion", args.bastion_group_name)
            )
        for condition in found:
            self._alarm(condition)
        if args.app.cache_rotation_function_name is not None:
            self._alarm(
                conditions.function_errors(
                    "cache-rotation-errors",
                    "A rotation of the cache's AUTH token failed (RUNBOOKS.md, Roll back a "
                    "failed rotation)",
                    args.app.cache_rotation_function_name,
                )
            )
        if args.app.cache_member_clusters is not None:
            clusters = each(args.app.cache_member_clusters, args.app.cache_node_count)
            for index, cluster in enumerate(clusters):
                for condition in conditions.cache_conditions(index, cluster, thresholds):
                    self._alarm(condition)

        region = aws.get_region().region
        dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=f"{args.stack_label}-overview",
            dashboard_body=pulumi.Output.json_dumps(
                dashboard_body(args.app, args.database, region)
            ),
            opts=self._child,
        )
        self.dashboard_url = dashboard.dashboard_name.apply(
            lambda n: (
                f"https://{region}.console.aws.amazon.com/cloudwatch/home"
                f"?region={region}#dashboards:name={n}"
            )
        )
        self.register_outputs({"alarmNames": self.alarm_names, "dashboardUrl": self.dashboard_url})

    def _alarm(self, condition: Condition) -> None:
        metric = {
            "namespace": condition.namespace,
            "metric_name": condition.metric,
            "dimensions": condition.dimensions,
            "statistic": condition.statistic,
            "extended_statistic": condition.extended_statistic,
            "period": condition.period_seconds,
        }
        alarm = aws.cloudwatch.MetricAlarm(
            f"{self._name}-{condition.label}",
            alarm_description=f"{self._args.stack_label}: {condition.description}",
            **({"metric_queries": _sum(condition)} if condition.plus else metric),
            evaluation_periods=condition.periods,
            datapoints_to_alarm=condition.periods,
            comparison_operator=condition.comparison,
            threshold=condition.threshold,
            treat_missing_data=condition.missing,
            alarm_actions=[self._args.topic_arn],
            ok_actions=[self._args.topic_arn],
            opts=pulumi.ResourceOptions.merge(
                self._child, pulumi.ResourceOptions(depends_on=list(condition.after))
            ),
        )
        self.alarm_names.append(alarm.name)


def _sum(condition: Condition) -> list[aws.cloudwatch.MetricAlarmMetricQueryArgs]:
    """The condition's metric plus its `plus` metrics, as one metric-math expression."""
    names = (condition.metric, *condition.plus)
    ids = [f"m{index}" for index in range(len(names))]
    return [
        *(
            aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id=id_,
                metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                    namespace=condition.namespace,
                    metric_name=name,
                    dimensions=condition.dimensions,
                    stat=condition.statistic or "Average",
                    period=condition.period_seconds,
                ),
                return_data=False,
            )
            for id_, name in zip(ids, names, strict=True)
        ),
        aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id="total", expression=" + ".join(ids), label=condition.metric, return_data=True
        ),
    ]
