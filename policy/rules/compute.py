"""Compute rules: instances, launch templates and Auto Scaling groups."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policy.model import Res, Stack
from policy.props import as_list, truthy
from policy.rules.base import rule
from policy.types import (
    ASG,
    EBS_VOLUME,
    INSTANCE,
    LAUNCH_TEMPLATE,
)


def _metadata(resource: Res) -> Mapping[str, Any]:
    value = resource.get("metadataOptions")
    return value if isinstance(value, Mapping) else {}


@rule(
    "ec2-imdsv2",
    "Instances require IMDSv2 session tokens (FSBP EC2.8, AutoScaling.3).",
    INSTANCE,
    LAUNCH_TEMPLATE,
)
def _ec2_imdsv2(resource: Res, _: Stack) -> Iterator[str]:
    if _metadata(resource).get("httpTokens") != "required":
        yield "metadataOptions.httpTokens is not 'required'"


@rule(
    "ec2-imds-hop-limit",
    "The metadata service answers the host only (hop limit 1), so containers cannot take the "
    "instance role (FSBP AutoScaling.4).",
    INSTANCE,
    LAUNCH_TEMPLATE,
)
def _ec2_imds_hop_limit(resource: Res, _: Stack) -> Iterator[str]:
    limit = _metadata(resource).get("httpPutResponseHopLimit")
    if limit is None or int(limit) > 1:
        yield f"metadataOptions.httpPutResponseHopLimit is {limit}, not 1"


@rule(
    "ebs-encrypted",
    "Every EBS volume is encrypted (FSBP EC2.3, EC2.7, CIS 2.2.1).",
    INSTANCE,
    LAUNCH_TEMPLATE,
    EBS_VOLUME,
)
def _ebs_encrypted(resource: Res, _: Stack) -> Iterator[str]:
    if resource.type == EBS_VOLUME:
        volumes = [resource.props]
    elif resource.type == INSTANCE:
        volumes = [resource.get("rootBlockDevice") or {}, *as_list(resource.get("ebsBlockDevices"))]
    else:
        mappings = as_list(resource.get("blockDeviceMappings"))
        volumes = [{**(m.get("ebs") or {}), "deviceName": m.get("deviceName")} for m in mappings]
        if not volumes:
            yield "no block device mapping declares the root volume's encryption"
    for volume in volumes:
        if not truthy(volume.get("encrypted")):
            device = volume.get("deviceName")
            yield f"volume {device} is not encrypted" if device else "a volume is not encrypted"


@rule(
    "ec2-detailed-monitoring",
    "Instances report metrics every minute (AWSGuard ec2-instance-detailed-monitoring).",
    INSTANCE,
    LAUNCH_TEMPLATE,
)
def _ec2_detailed_monitoring(resource: Res, _: Stack) -> Iterator[str]:
    monitoring = resource.get("monitoring")
    enabled = monitoring.get("enabled") if isinstance(monitoring, Mapping) else monitoring
    if not truthy(enabled):
        yield "detailed monitoring is off"


@rule(
    "ec2-instance-profile",
    "Instances act through an instance profile, never stored keys (AWSGuard; SSM needs it).",
    INSTANCE,
    LAUNCH_TEMPLATE,
)
def _ec2_instance_profile(resource: Res, _: Stack) -> Iterator[str]:
    if not resource.get("iamInstanceProfile"):
        yield "no IAM instance profile"


@rule(
    "asg-elb-health-check",
    "Groups behind a load balancer replace instances that fail its health check (FSBP "
    "AutoScaling.1).",
    ASG,
)
def _asg_elb_health_check(group: Res, _: Stack) -> Iterator[str]:
    behind_lb = as_list(group.get("targetGroupArns")) or as_list(group.get("loadBalancers"))
    if behind_lb and group.get("healthCheckType") != "ELB":
        yield f"healthCheckType is {group.get('healthCheckType')}, not ELB"


@rule(
    "asg-multi-az",
    "Auto Scaling groups span at least two Availability Zones (FSBP AutoScaling.2).",
    ASG,
)
def _asg_multi_az(group: Res, _: Stack) -> Iterator[str]:
    subnets = as_list(group.get("vpcZoneIdentifiers"))
    zones = as_list(group.get("availabilityZones"))
    if max(len(subnets), len(zones)) < 2:
        yield "spans fewer than two subnets or zones"


@rule(
    "asg-launch-template",
    "Auto Scaling groups launch from launch templates, not launch configurations (FSBP "
    "AutoScaling.9).",
    ASG,
)
def _asg_launch_template(group: Res, _: Stack) -> Iterator[str]:
    if not (group.get("launchTemplate") or group.get("mixedInstancesPolicy")):
        yield "no launch template"
