"""The Lambda rules (policy/rules/functions.py).

Each case is a broken stack and its fixed twin (tests/policy_cases.py): the rule flags one
resource in the first and nothing in the second. tests/test_policy_rules_base.py fails for a rule
of the module without a case here.
"""

from __future__ import annotations

import pytest

from policy.types import FUNCTION
from tests.policy_cases import (
    Case,
    case_params,
    flags_the_broken_and_passes_the_fixed,
    flip,
    log_group,
    res,
)

function = res(FUNCTION, "failover", name="failover", runtime="python3.12")
function_without_group = res(
    FUNCTION, "custom", name="custom", loggingConfig={"logGroup": "/multitier/custom"}
)

CASES: list[Case] = [
    flip(
        "lambda-reserved-concurrency",
        FUNCTION,
        {"reservedConcurrentExecutions": None},
        {"reservedConcurrentExecutions": 2},
    ),
    flip(
        "lambda-reserved-concurrency",
        FUNCTION,
        {"reservedConcurrentExecutions": -1},
        {"reservedConcurrentExecutions": 2},
    ),
    Case(
        "lambda-log-group",
        "no log group",
        function,
        [function],
        [function, log_group("/aws/lambda/failover")],
    ),
    Case(
        "lambda-log-group",
        "log group kept forever",
        function,
        [function, log_group("/aws/lambda/failover", retention=None)],
        [function, log_group("/aws/lambda/failover")],
    ),
    Case(
        "lambda-log-group",
        "group named in loggingConfig",
        function_without_group,
        [function_without_group, log_group("/aws/lambda/custom")],
        [function_without_group, log_group("/multitier/custom")],
    ),
    flip("lambda-supported-runtime", FUNCTION, {"runtime": "python3.8"}, {"runtime": "python3.12"}),
    flip("lambda-supported-runtime", FUNCTION, {"runtime": "nodejs16.x"}, {"runtime": None}),
    flip(
        "lambda-in-vpc",
        FUNCTION,
        {"vpcConfig": None},
        {"vpcConfig": {"subnetIds": ["subnet-a"], "securityGroupIds": ["sg-fn"]}},
    ),
    flip(
        "lambda-in-vpc",
        FUNCTION,
        {"vpcConfig": {"subnetIds": [], "securityGroupIds": []}},
        {"vpcConfig": {"subnetIds": ["subnet-a"], "securityGroupIds": ["sg-fn"]}},
    ),
]


@pytest.mark.parametrize("case", case_params(CASES))
def test_rule_flags_the_broken_stack_and_passes_the_fixed_one(case: Case) -> None:
    flags_the_broken_and_passes_the_fixed(case)
