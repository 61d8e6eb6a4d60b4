"""The guard of the app hosts' instance refresh: the alarms that stop it, its checkpoints and
whether AWS rolls it back.

- The guard's alarms are the app tier's own (target 5xx, unhealthy hosts), declared here with
  physical names fixed from the stack's label, and dimensioned on the load balancer and the
  target group, never on the group: the group names them in its alarm specification and waits
  for them, and nothing of theirs waits for the group, so there is no cycle.
- They also tell the alert topic, in their own words: a refresh stopped (the observability
  component's alarms on the same metrics say what the users see).
- Automatic rollback is offered only with a pinned image (config refuses it otherwise): AWS
  cannot roll back a group whose template takes its image from an SSM parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.config import InstanceRefreshConfig

ELB = "AWS/ApplicationELB"
# CloudWatch alarm names are at most 255 characters; the stack label is at most 63.
ALARM_NAME_LENGTH = 255


@dataclass(frozen=True)
class GuardArgs:
    stack_label: str
    """Prefixes the alarms' names: `<label>-app-refresh-5xx`, `<label>-app-refresh-unhealthy`."""
    alb_arn_suffix: pulumi.Input[str]
    """The load balancer, as CloudWatch names it."""
    target_group_arn_suffix: pulumi.Input[str]
    """The hosts' target group, as CloudWatch names it."""
    errors_per_minute: int
    """Target 5xx responses a minute above which the refresh stops."""
    topic_arn: pulumi.Input[str] | None = None
    """Where ALARM and OK go; None: nowhere (a fleet alone, in tests)."""


def alarm_names(stack_label: str) -> tuple[str, str]:
    """The guard's alarm names, known before anything exists: 5xx, then unhealthy hosts."""
    names = (f"{stack_label}-app-refresh-5xx", f"{stack_label}-app-refresh-unhealthy")
    assert all(len(n) <= ALARM_NAME_LENGTH for n in names)
    return names


def guard_alarms(
    name: str, args: GuardArgs, opts: pulumi.ResourceOptions
) -> list[aws.cloudwatch.MetricAlarm]:
    """Declare the alarms whose ALARM state stops a refresh of the hosts' group."""
    five_xx, unhealthy = alarm_names(args.stack_label)
    target = {
        "LoadBalancer": args.alb_arn_suffix,
        "TargetGroup": args.target_group_arn_suffix,
    }
    actions = [args.topic_arn] if args.topic_arn is not None else None
    return [
        aws.cloudwatch.MetricAlarm(
            f"{name}-refresh-5xx",
            name=five_xx,
            alarm_description=f"{args.stack_label}: the app hosts answer 5xx; a running instance "
            "refresh stops (RUNBOOKS.md, When the new hosts are unhealthy)",
            namespace=ELB,
            metric_name="HTTPCode_Target_5XX_Count",
            dimensions=target,
            statistic="Sum",
            period=60,
            evaluation_periods=1,
            comparison_operator="GreaterThanThreshold",
            threshold=args.errors_per_minute,
            treat_missing_data="notBreaching",
            alarm_actions=actions,
            ok_actions=actions,
            opts=opts,
        ),
        aws.cloudwatch.MetricAlarm(
            f"{name}-refresh-unhealthy",
            name=unhealthy,
            alarm_description=f"{args.stack_label}: an app host fails its health check; a running "
            "instance refresh stops (RUNBOOKS.md, When the new hosts are unhealthy)",
            namespace=ELB,
            metric_name="UnHealthyHostCount",
            dimensions=target,
            statistic="Maximum",
            period=60,
            evaluation_periods=2,
            datapoints_to_alarm=2,
            comparison_operator="GreaterThanThreshold",
            threshold=0,
            treat_missing_data="notBreaching",
            alarm_actions=actions,
            ok_actions=actions,
            opts=opts,
        ),
    ]


def preferences(
    refresh: InstanceRefreshConfig, alarms: Sequence[pulumi.Input[str]]
) -> aws.autoscaling.GroupInstanceRefreshPreferencesArgs:
    """The refresh's preferences: capacity, warmup, checkpoints, the alarms that stop it and
    whether AWS rolls it back."""
    return aws.autoscaling.GroupInstanceRefreshPreferencesArgs(
        min_healthy_percentage=refresh.min_healthy_percentage,
        max_healthy_percentage=refresh.max_healthy_percentage,
        instance_warmup=str(refresh.warmup_seconds),
        checkpoint_percentages=list(refresh.checkpoints) or None,
        checkpoint_delay=str(refresh.checkpoint_delay_seconds) if refresh.checkpoints else None,
        alarm_specification=aws.autoscaling.GroupInstanceRefreshPreferencesAlarmSpecificationArgs(
            alarms=list(alarms)
        )
        if alarms
        else None,
        # Only with a pinned image (config refuses it otherwise). The provider points the group
        # at the new template version before it starts the refresh, so after AWS rolls back,
        # `make rollback` puts git (and the next `pulumi up`) back in line
        # (terraform-provider-aws#34189).
        auto_rollback=refresh.auto_rollback,
        skip_matching=True,
    )
