"""Observability: where the stack's alerts and logs go. The alert topic (KMS-encrypted) and its
e-mail subscriptions, the key every log group of the stack is encrypted with, the app hosts' log
group, and the CloudWatch agent config they fetch from Parameter Store. The alarms and the
dashboard are the monitoring component's (components/observability/monitoring.py), built last
from the tiers' records.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.config import ObservabilityConfig
from components.shared import iam

# Parameter names the CloudWatchAgentServerPolicy lets instances read.
AGENT_PARAMETER_PREFIX = "AmazonCloudWatch-"


@dataclass(frozen=True)
class ObservabilityArgs:
    config: ObservabilityConfig
    """`multitier:observability`: the alert addresses and the logs' retention."""
    stack_label: str
    """Names the app hosts' log group and the agent config's parameter."""


class Observability(pulumi.ComponentResource):
    """Where the stack's alerts and logs go; built first, since every tier logs."""

    topic_arn: pulumi.Output[str]
    """The alert topic (KMS-encrypted), with the configured e-mail subscriptions."""
    log_key_arn: pulumi.Output[str]
    """The key the stack's log groups are encrypted with."""
    app_log_group_name: pulumi.Output[str]
    """The app hosts' log group."""
    agent_config_parameter: pulumi.Output[str]
    """The SSM parameter holding the app hosts' CloudWatch agent config."""

    def __init__(
        self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("multitier:observability:Observability", name, None, opts)
        config, stack_label = args.config, args.stack_label
        self._child = pulumi.ResourceOptions(parent=self)

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
