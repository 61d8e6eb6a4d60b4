"""Monitoring rules: log group encryption and retention, alarm actions."""

from __future__ import annotations

from collections.abc import Iterator

from policy.model import Res, Stack
from policy.props import as_list
from policy.rules.base import rule
from policy.types import (
    ALARM,
    LOG_GROUP,
)


@rule("logs-encrypted", "Log groups are encrypted with a KMS key (AWSGuard).", LOG_GROUP)
def _logs_encrypted(group: Res, _: Stack) -> Iterator[str]:
    if not group.get("kmsKeyId"):
        yield "no kmsKeyId"


@rule(
    "logs-retention",
    "Log groups expire, and keep at least 90 days in production (FSBP CloudWatch.16).",
    LOG_GROUP,
)
def _logs_retention(group: Res, stack: Stack) -> Iterator[str]:
    days = int(group.get("retentionInDays") or 0)
    if not days:
        yield "no retention: logs are kept forever"
    elif stack.production and days < 90:
        yield f"retention of {days} days in a production stack"


@rule(
    "alarm-has-actions",
    "Every alarm notifies someone or does something (FSBP CloudWatch.15).",
    ALARM,
)
def _alarm_has_actions(alarm: Res, _: Stack) -> Iterator[str]:
    if alarm.get("actionsEnabled") is False:
        yield "actions are disabled"
    elif not as_list(alarm.get("alarmActions")):
        yield "no alarm action"
