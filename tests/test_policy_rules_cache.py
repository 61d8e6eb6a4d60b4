"""The Redis rules (policy/rules/cache.py).

Each case is a broken stack and its fixed twin (tests/policy_cases.py): the rule flags one
resource in the first and nothing in the second. tests/test_policy_rules_base.py fails for a rule
of the module without a case here.
"""

from __future__ import annotations

import pytest

from policy.types import CACHE
from tests.policy_cases import (
    Case,
    Props,
    case_params,
    flags_the_broken_and_passes_the_fixed,
    flip,
)

CACHE_OK: Props = {
    "engine": "redis",
    "numCacheClusters": 2,
    "atRestEncryptionEnabled": True,
    "transitEncryptionEnabled": True,
    "authToken": "secret",
    "automaticFailoverEnabled": True,
    "multiAzEnabled": True,
    "snapshotRetentionLimit": 1,
}

CASES: list[Case] = [
    flip("cache-encrypted", CACHE, {"atRestEncryptionEnabled": False}, {}, base=CACHE_OK),
    flip("cache-encrypted", CACHE, {"transitEncryptionEnabled": None}, {}, base=CACHE_OK),
    flip("cache-auth", CACHE, {"authToken": None}, {}, base=CACHE_OK),
    flip(
        "cache-auth",
        CACHE,
        {"authToken": None},
        {"authToken": None, "userGroupIds": ["app"]},
        base=CACHE_OK,
        about="a user group instead of an AUTH token",
    ),
    flip("cache-failover", CACHE, {"automaticFailoverEnabled": False}, {}, base=CACHE_OK),
    flip("cache-failover", CACHE, {"multiAzEnabled": False}, {}, base=CACHE_OK),
    flip(
        "cache-failover",
        CACHE,
        {"automaticFailoverEnabled": False, "multiAzEnabled": False},
        {"automaticFailoverEnabled": False, "multiAzEnabled": False, "numCacheClusters": 1},
        base=CACHE_OK,
        about="a single node needs no failover",
    ),
    flip("cache-backups", CACHE, {"snapshotRetentionLimit": 0}, {}, base=CACHE_OK),
]


@pytest.mark.parametrize("case", case_params(CASES))
def test_rule_flags_the_broken_stack_and_passes_the_fixed_one(case: Case) -> None:
    flags_the_broken_and_passes_the_fixed(case)
