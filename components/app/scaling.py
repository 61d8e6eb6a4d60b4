"""The app hosts' Auto Scaling group: how it rolls out a release and how it scales.

- A new release (image, version, AMI, user data) changes the launch template; the group's instance
  refresh then replaces hosts while keeping `minHealthyPercentage` in service behind the ALB (new
  hosts first, by default), pausing at its checkpoints and stopped by the app tier's alarms
  (components/app/refresh.py). AWS rolls it back only when config asks and the image is pinned;
  otherwise rolling back is `make rollback`.
- Once the group exists its desired capacity belongs to the scaling policies: `pulumi up` never
  resets it. Pulumi waits for healthy hosts when it creates the group, and on an update only when
  `minSize` changes (then for as many hosts as the state records: refresh a scaled-out stack first).
- It scales by target tracking on average CPU, or by the seed's step policy (one host more above
  `scaleUpCpu` for two minutes, one fewer below `scaleDownCpu`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.app import refresh as refresh_guard
from components.config import AppConfig, ScalingConfig


@dataclass(frozen=True)
class ScalingArgs:
    config: AppConfig
    """`multitier:app`: sizes, health check grace, instance refresh, scaling."""
    subnet_ids: Sequence[pulumi.Input[str]]
    """The private tier's subnets."""
    template: aws.ec2.LaunchTemplate
    """What the hosts are launched from."""
    target_group: aws.lb.TargetGroup
    """What the hosts register with, and whose health checks replace them."""
    first_boot: Sequence[pulumi.Resource] = ()
    """What the hosts' first boot needs (the tier's way out, the groups' rules): the group waits
    for it."""
    guard: Sequence[aws.cloudwatch.MetricAlarm] = ()
    """The alarms whose ALARM state stops an instance refresh; none: nothing stops it."""


@dataclass(frozen=True)
class Scaling:
    group: aws.autoscaling.Group
    """The hosts' group (its name for alarms, the dashboard and the stack outputs)."""


def build(name: str, args: ScalingArgs, opts: pulumi.ResourceOptions) -> Scaling:
    """Declare the hosts' group and its scaling policies (and, for steps, their alarms)."""
    group = host_group(
        name,
        args.config,
        subnet_ids=args.subnet_ids,
        template=args.template,
        target_group=args.target_group,
        alarms=[alarm.name for alarm in args.guard],
        opts=pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(depends_on=[*args.first_boot, *args.guard])
        ),
    )
    scale_on_cpu(name, group.name, args.config.scaling, opts)
    return Scaling(group)


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


def host_group(
    name: str,
    config: AppConfig,
    *,
    subnet_ids: Sequence[pulumi.Input[str]],
    template: aws.ec2.LaunchTemplate,
    target_group: aws.lb.TargetGroup,
    alarms: Sequence[pulumi.Input[str]] = (),
    opts: pulumi.ResourceOptions,
) -> aws.autoscaling.Group:
    """Declare the hosts' group behind `target_group`, launched from `template`, its refresh
    stopped by `alarms`. `opts` carry the parent and what the first boot waits for."""
    refresh = config.instance_refresh
    return aws.autoscaling.Group(
        name,
        vpc_zone_identifiers=subnet_ids,
        min_size=config.min_size,
        max_size=config.max_size,
        # Only when the group is created: afterwards scaling owns it (ignore_changes below).
        desired_capacity=config.desired_capacity
        if config.desired_capacity is not None
        else config.min_size,
        health_check_type="ELB",
        health_check_grace_period=config.health_check_grace_seconds,
        target_group_arns=[target_group.arn],
        # A numbered version, not $Latest: instance refresh can only roll back to a number.
        launch_template=aws.autoscaling.GroupLaunchTemplateArgs(
            id=template.id, version=template.latest_version.apply(str)
        ),
        instance_refresh=aws.autoscaling.GroupInstanceRefreshArgs(
            strategy="Rolling",
            preferences=refresh_guard.preferences(refresh, alarms),
        ),
        default_instance_warmup=refresh.warmup_seconds,
        # Healthy targets to wait for on creation. `wait_for_elb_capacity` would make every
        # later update wait for exactly that many, which a scaled-out fleet never has.
        min_elb_capacity=config.min_size,
        enabled_metrics=[
            aws.autoscaling.Metric.GROUP_MIN_SIZE,
            aws.autoscaling.Metric.GROUP_MAX_SIZE,
            aws.autoscaling.Metric.GROUP_DESIRED_CAPACITY,
            aws.autoscaling.Metric.GROUP_IN_SERVICE_INSTANCES,
            aws.autoscaling.Metric.GROUP_TOTAL_INSTANCES,
        ],
        tags=[
            aws.autoscaling.GroupTagArgs(
                key="Name", value=f"{name}-host", propagate_at_launch=True
            ),
            aws.autoscaling.GroupTagArgs(
                key="Release", value=config.release.version, propagate_at_launch=True
            ),
        ],
        opts=pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(ignore_changes=["desiredCapacity"])
        ),
    )
