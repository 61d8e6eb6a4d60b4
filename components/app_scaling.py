"""How the app's Auto Scaling group scales: target tracking on average CPU, or the seed's step
policy (one host more above `scaleUpCpu` for two minutes, one fewer below `scaleDownCpu`)."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.config import ScalingConfig


def scale_on_cpu(
    name: str,
    group_name: pulumi.Input[str],
    scaling: ScalingConfig,
    opts: pulumi.ResourceOptions,
) -> None:
    """Declare the scaling policies (and, for steps, their alarms) of the group."""
    if scaling.policy == "target_tracking":
        aws.autoscaling.Policy(
            f"{name}-cpu",
            autoscaling_group_name=group_name,
            policy_type="TargetTrackingScaling",
            target_tracking_configuration=aws.autoscaling.PolicyTargetTrackingConfigurationArgs(
                predefined_metric_specification=aws.autoscaling.PolicyTargetTrackingConfigurationPredefinedMetricSpecificationArgs(
                    predefined_metric_type="ASGAverageCPUUtilization"
                ),
                target_value=scaling.cpu_target,
            ),
            opts=opts,
        )
        return
    for direction, adjustment, threshold, operator in (
        ("up", 1, scaling.scale_up_cpu, "GreaterThanThreshold"),
        ("down", -1, scaling.scale_down_cpu, "LessThanThreshold"),
    ):
        policy = aws.autoscaling.Policy(
            f"{name}-scale-{direction}",
            autoscaling_group_name=group_name,
            policy_type="SimpleScaling",
            adjustment_type="ChangeInCapacity",
            scaling_adjustment=adjustment,
            cooldown=120,
            opts=opts,
        )
        aws.cloudwatch.MetricAlarm(
            f"{name}-cpu-{direction}",
            alarm_description=f"Scale the app {direction}: average CPU {operator} {threshold}%",
            namespace="AWS/EC2",
            metric_name="CPUUtilization",
            dimensions={"AutoScalingGroupName": group_name},
            statistic="Average",
            period=60,
            evaluation_periods=2,
            comparison_operator=operator,
            threshold=threshold,
            treat_missing_data="notBreaching",
            alarm_actions=[policy.arn],
            opts=opts,
        )
