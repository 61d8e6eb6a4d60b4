"""Key and secret rules: KMS rotation, customer managed keys for topics and secrets."""

from __future__ import annotations

from collections.abc import Iterator

from policy.model import Res, Stack
from policy.props import truthy
from policy.rules.base import rule
from policy.types import (
    KMS_KEY,
    SECRET,
    TOPIC,
)


@rule("sns-encrypted", "Topics are encrypted with a KMS key (FSBP SNS.1).", TOPIC)
def _sns_encrypted(topic: Res, _: Stack) -> Iterator[str]:
    if not topic.get("kmsMasterKeyId"):
        yield "no kmsMasterKeyId"


@rule("kms-rotation", "Customer managed keys rotate yearly (FSBP KMS.4, CIS 3.6).", KMS_KEY)
def _kms_rotation(key: Res, _: Stack) -> Iterator[str]:
    spec = key.get("customerMasterKeySpec") or key.get("keySpec") or "SYMMETRIC_DEFAULT"
    if spec == "SYMMETRIC_DEFAULT" and not truthy(key.get("enableKeyRotation")):
        yield "enableKeyRotation is off"


@rule(
    "secrets-cmk",
    "Secrets are encrypted with a customer managed key whose use IAM controls, not the "
    "account-wide aws/secretsmanager key.",
    SECRET,
)
def _secrets_cmk(secret: Res, _: Stack) -> Iterator[str]:
    key = str(secret.get("kmsKeyId") or "")
    if not key or key.endswith("alias/aws/secretsmanager"):
        yield "encrypted with the AWS managed key aws/secretsmanager"


@rule(
    "secrets-recovery-window",
    "A deleted secret stays recoverable for at least 7 days (no immediate, irreversible delete).",
    SECRET,
)
def _secrets_recovery_window(secret: Res, _: Stack) -> Iterator[str]:
    days = secret.get("recoveryWindowInDays")
    if days is not None and int(days) < 7:
        yield f"recoveryWindowInDays is {days}"
