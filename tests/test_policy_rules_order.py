"""The deploy-order rules (policy/rules/order.py). Their cases are in tests/policy_order_cases.py,
which tests/test_user_data.py shares.

Each case is a broken stack and its fixed twin (tests/policy_cases.py): the rule flags one
resource in the first and nothing in the second. tests/test_policy_rules_base.py fails for a rule
of the module without a case here.
"""

from __future__ import annotations

import pytest

from tests.policy_cases import (
    Case,
    case_params,
    flags_the_broken_and_passes_the_fixed,
)
from tests.policy_order_cases import ORDER_CASES

CASES = ORDER_CASES


@pytest.mark.parametrize("case", case_params(CASES))
def test_rule_flags_the_broken_stack_and_passes_the_fixed_one(case: Case) -> None:
    flags_the_broken_and_passes_the_fixed(case)
