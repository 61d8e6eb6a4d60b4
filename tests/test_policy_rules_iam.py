"""The IAM rules (policy/rules/iam.py).

Each case is a broken stack and its fixed twin (tests/policy_cases.py): the rule flags one
resource in the first and nothing in the second. tests/test_policy_rules_base.py fails for a rule
of the module without a case here.
"""

from __future__ import annotations

import pytest

from policy.types import ATTACHMENT, MANAGED_POLICY, ROLE_POLICY
from tests.policy_cases import (
    Case,
    allow,
    case_params,
    document,
    flags_the_broken_and_passes_the_fixed,
    flip,
)

CASES: list[Case] = [
    flip(
        "iam-no-admin",
        ROLE_POLICY,
        {"policy": document(allow("*", "*"))},
        {"policy": document(allow("ec2:DescribeInstances", "*"))},
        about="Action * on Resource *",
    ),
    flip(
        "iam-no-admin",
        MANAGED_POLICY,
        {"policy": document(allow(["*"], ["*"]))},
        {"policy": document({"Effect": "Deny", "Action": ["*"], "Resource": ["*"]})},
        about="deny statements are not grants",
    ),
    flip(
        "iam-no-passrole-wildcard",
        ROLE_POLICY,
        {"policy": document(allow("iam:PassRole", "*"))},
        {"policy": document(allow("iam:PassRole", "arn:aws:iam::123456789012:role/app"))},
        about="iam:PassRole on Resource *",
    ),
    flip(
        "iam-no-passrole-wildcard",
        MANAGED_POLICY,
        {"policy": document(allow(["ec2:RunInstances", "IAM:passrole"], "*"))},
        {"policy": document(allow(["ec2:RunInstances"], "*"))},
        about="case-insensitive action",
    ),
    flip(
        "iam-no-service-wildcard",
        ROLE_POLICY,
        {"policy": document(allow("s3:*", "*"))},
        {"policy": document(allow("s3:*", "arn:aws:s3:::logs/*"))},
        about="s3:* on Resource *",
    ),
    flip(
        "iam-no-broad-managed-policies",
        ATTACHMENT,
        {"policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
        {"policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"},
        base={"role": "app"},
    ),
    flip(
        "iam-no-broad-managed-policies",
        ATTACHMENT,
        {"policyArn": "arn:aws:iam::aws:policy/AmazonS3FullAccess"},
        {"policyArn": "arn:aws:iam::123456789012:policy/AmazonS3FullAccess"},
        base={"role": "app"},
        about="a customer policy may have any name",
    ),
]


@pytest.mark.parametrize("case", case_params(CASES))
def test_rule_flags_the_broken_stack_and_passes_the_fixed_one(case: Case) -> None:
    flags_the_broken_and_passes_the_fixed(case)
