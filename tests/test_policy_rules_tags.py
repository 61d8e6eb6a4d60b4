"""The tagging rule (policy/rules/tags.py).

Each case is a broken stack and its fixed twin (tests/policy_cases.py): the rule flags one
resource in the first and nothing in the second. tests/test_policy_rules_base.py fails for a rule
of the module without a case here.
"""

from __future__ import annotations

import pytest

from policy.types import (
    ASG,
    ATTACHMENT,
    BUCKET_POLICY,
    RANDOM_PASSWORD,
    ROLE_POLICY,
    ROUTE,
    SG,
    VPC,
)
from tests.policy_cases import (
    ASG_OK,
    RULE,
    TAGS,
    Case,
    asg_tags,
    case_params,
    flags_the_broken_and_passes_the_fixed,
    flip,
    judge,
    res,
)

sg_without_tags = res(SG, "untagged", tags=None)

CASES: list[Case] = [
    flip(
        "tags-common",
        VPC,
        {"tags": {k: v for k, v in TAGS.items() if k != "Component"}},
        {"tags": TAGS},
        about="tag Component missing",
    ),
    Case(
        "tags-common", "no tags at all", sg_without_tags, [sg_without_tags], [res(SG, "untagged")]
    ),
    flip(
        "tags-common",
        ASG,
        {"tags": asg_tags({k: v for k, v in TAGS.items() if k != "ManagedBy"})},
        {"tags": asg_tags(TAGS)},
        base=ASG_OK,
        about="Auto Scaling group tag list",
    ),
]


@pytest.mark.parametrize("case", case_params(CASES))
def test_rule_flags_the_broken_stack_and_passes_the_fixed_one(case: Case) -> None:
    flags_the_broken_and_passes_the_fixed(case)


@pytest.mark.parametrize(
    "type_",
    [
        ROUTE,
        ROLE_POLICY,
        BUCKET_POLICY,
        ATTACHMENT,
        "multitier:app:AppFleet",
        RANDOM_PASSWORD,
    ],
)
def test_tags_common_skips_what_cannot_be_tagged(type_: str) -> None:
    judged, failures = judge(RULE["tags-common"], [res(type_, "untagged", tags=None)])
    assert (judged, failures) == (0, [])
