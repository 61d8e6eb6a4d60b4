"""The key rules (policy/rules/keys.py): KMS keys, encrypted topics and secrets.

Each case is a broken stack and its fixed twin (tests/policy_cases.py): the rule flags one
resource in the first and nothing in the second. tests/test_policy_rules_base.py fails for a rule
of the module without a case here.
"""

from __future__ import annotations

import pytest

from policy.types import KMS_KEY, SECRET, TOPIC
from tests.policy_cases import (
    KEY_ARN,
    Case,
    case_params,
    flags_the_broken_and_passes_the_fixed,
    flip,
)

CASES: list[Case] = [
    flip("sns-encrypted", TOPIC, {"kmsMasterKeyId": None}, {"kmsMasterKeyId": "arn:key"}),
    flip("kms-rotation", KMS_KEY, {"enableKeyRotation": False}, {"enableKeyRotation": True}),
    flip(
        "kms-rotation",
        KMS_KEY,
        {"customerMasterKeySpec": "SYMMETRIC_DEFAULT"},
        {"customerMasterKeySpec": "RSA_2048"},
        base={"enableKeyRotation": False},
        about="rotation off; asymmetric keys are exempt",
    ),
    flip(
        "secrets-recovery-window", SECRET, {"recoveryWindowInDays": 0}, {"recoveryWindowInDays": 7}
    ),
    flip("secrets-cmk", SECRET, {"kmsKeyId": None}, {"kmsKeyId": KEY_ARN}),
    flip("secrets-cmk", SECRET, {"kmsKeyId": "alias/aws/secretsmanager"}, {"kmsKeyId": KEY_ARN}),
    flip(
        "secrets-recovery-window",
        SECRET,
        {"recoveryWindowInDays": 6},
        {"recoveryWindowInDays": None},
    ),
]


@pytest.mark.parametrize("case", case_params(CASES))
def test_rule_flags_the_broken_stack_and_passes_the_fixed_one(case: Case) -> None:
    flags_the_broken_and_passes_the_fixed(case)
