"""Auto Scaling groups and scaling policies as CloudFormation's AutoScaling types.

CloudFormation waits for instances and rolls them through resource attributes (`CreationPolicy`,
`UpdatePolicy`), not properties; the provider's waiting and instance-refresh inputs are listed as
having no equivalent, with that reason.
"""

from __future__ import annotations

from typing import Any

from cfncheck.fields import NAME_PREFIX, Block, Ctx, Custom, Drop, Emitted, Items, To, text
from cfncheck.model import REF
from cfncheck.table import TypeMap

_WAIT = (
    "Pulumi waits after creating the group until {what}; CloudFormation waits through the "
    "resource's CreationPolicy attribute, not a property."
)


def _metrics(value: Any, ctx: Ctx) -> list[Emitted]:
    granularity = ctx.inputs.get("metricsGranularity") or "1Minute"  # the provider's default
    return [
        *ctx.emit("MetricsCollection/0/Granularity", granularity),
        *ctx.emit("MetricsCollection/0/Metrics", value),
    ]


TYPES = (
    TypeMap(
        "aws:autoscaling/group:Group",
        "AWS::AutoScaling::AutoScalingGroup",
        {
            "name": "AutoScalingGroupName",
            "namePrefix": NAME_PREFIX,
            "minSize": To("MinSize", text),
            "maxSize": To("MaxSize", text),
            "desiredCapacity": To("DesiredCapacity", text),
            "defaultInstanceWarmup": "DefaultInstanceWarmup",
            "healthCheckType": "HealthCheckType",
            "healthCheckGracePeriod": "HealthCheckGracePeriod",
            "launchTemplate": Block(
                "LaunchTemplate",
                {
                    "id": "LaunchTemplateId",
                    "name": "LaunchTemplateName",
                    "version": To("Version", text),
                },
            ),
            "vpcZoneIdentifiers": "VPCZoneIdentifier",
            "targetGroupArns": "TargetGroupARNs",
            "enabledMetrics": Custom(_metrics),
            "metricsGranularity": Drop("Rendered with enabledMetrics, as MetricsCollection."),
            "protectFromScaleIn": "NewInstancesProtectedFromScaleIn",
            "terminationPolicies": "TerminationPolicies",
            "tags": Items(
                "Tags", {"key": "Key", "value": "Value", "propagateAtLaunch": "PropagateAtLaunch"}
            ),
            "minElbCapacity": Drop(_WAIT.format(what="this many instances pass the ELB check")),
            "waitForElbCapacity": Drop(_WAIT.format(what="this many instances pass the ELB check")),
            "waitForCapacityTimeout": Drop(_WAIT.format(what="capacity is in service, this long")),
            "instanceRefresh": Drop(
                "Pulumi starts an instance refresh when the launch template changes; "
                "CloudFormation rolls instances through the UpdatePolicy attribute "
                "(AutoScalingRollingUpdate)."
            ),
            "forceDelete": Drop(
                "Provider behaviour on delete: terminate instances without waiting."
            ),
            "suspendedProcesses": Drop(
                "The provider suspends them with SuspendProcesses after creating the group; "
                "CloudFormation suspends processes only during its own updates "
                "(UpdatePolicy's SuspendProcesses). The names are the provider's enum."
            ),
        },
        refs={"id": REF, "name": REF, "arn": "AutoScalingGroupARN"},
    ),
    TypeMap(
        "aws:autoscaling/policy:Policy",
        "AWS::AutoScaling::ScalingPolicy",
        {
            "name": Drop("CloudFormation names scaling policies itself (PolicyName is read-only)."),
            "autoscalingGroupName": "AutoScalingGroupName",
            "policyType": "PolicyType",
            "adjustmentType": "AdjustmentType",
            "scalingAdjustment": "ScalingAdjustment",
            "cooldown": To("Cooldown", text),
            "estimatedInstanceWarmup": "EstimatedInstanceWarmup",
            "metricAggregationType": "MetricAggregationType",
            "minAdjustmentMagnitude": "MinAdjustmentMagnitude",
            "targetTrackingConfiguration": Block(
                "TargetTrackingConfiguration",
                {
                    "targetValue": "TargetValue",
                    "disableScaleIn": "DisableScaleIn",
                    "predefinedMetricSpecification": Block(
                        "PredefinedMetricSpecification",
                        {
                            "predefinedMetricType": "PredefinedMetricType",
                            "resourceLabel": "ResourceLabel",
                        },
                    ),
                },
            ),
        },
        refs={"arn": REF, "id": "PolicyName", "name": "PolicyName"},
    ),
)
