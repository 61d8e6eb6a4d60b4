"""The monitoring rules (policy/rules/monitoring.py): log groups and alarms.

Each case is a broken stack and its fixed twin (tests/policy_cases.py): the rule flags one
resource in the first and nothing in the second. tests/test_policy_rules_base.py fails for a rule
of the module without a case here.
"""

from __future__ import annotations

import pytest

from policy.types import ALARM, LOG_GROUP
from tests.policy_cases import (
    Case,
    case_params,
    flags_the_broken_and_passes_the_fixed,
    flip,
)

CASES: list[Case] = [
    flip(
        "logs-encrypted",
        LOG_GROUP,
        {"kmsKeyId": None},
        {"kmsKeyId": "arn:key"},
        base={"retentionInDays": 30},
    ),
    flip("logs-retention", LOG_GROUP, {"retentionInDays": None}, {"retentionInDays": 30}),
    flip(
        "logs-retention", LOG_GROUP, {"retentionInDays": 30}, {"retentionInDays": 90}, stack="prod"
    ),
    flip(
        "alarm-has-actions",
        ALARM,
        {"actionsEnabled": False},
        {"actionsEnabled": True},
        base={"alarmActions": ["arn:topic"]},
    ),
    flip("alarm-has-actions", ALARM, {"alarmActions": []}, {"alarmActions": ["arn:topic"]}),
]


@pytest.mark.parametrize("case", case_params(CASES))
def test_rule_flags_the_broken_stack_and_passes_the_fixed_one(case: Case) -> None:
    flags_the_broken_and_passes_the_fixed(case)
