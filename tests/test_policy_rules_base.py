"""What the registry of rules promises across the rule modules: every rule has cases in the tests
of its module (tests/test_policy_rules_<module>.py); a rule judges one resource alone unless it
says `needs_stack`, and then it needs the stack; the production rules hold production stacks only.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator

import pytest

from policy.model import Res, Stack
from policy.rules import RULES, Rule
from policy.types import LB, RDS
from tests.policy_cases import (
    DB_OK,
    LB_OK,
    RULE,
    Case,
    case_params,
    flagged,
    judge,
    key,
    log_group,
    messages,
    res,
    stack,
)


def module_of(rule: Rule) -> str:
    """`network` for a rule of policy/rules/network.py."""
    return rule.check.__module__.rsplit(".", maxsplit=1)[-1]


MODULES = sorted({module_of(r) for r in RULES})


def cases(module: str) -> list[Case]:
    """The cases of the rules of policy/rules/<module>.py."""
    found: list[Case] = importlib.import_module(f"tests.test_policy_rules_{module}").CASES
    return found


def test_every_rule_has_a_case() -> None:
    missing = sorted(r.id for r in RULES if r.id not in {c.rule for c in cases(module_of(r))})
    assert not missing, f"rules without a case in their module's tests: {missing}"


def test_cases_name_only_known_rules() -> None:
    unknown = sorted(
        f"{module}: {c.rule}"
        for module in MODULES
        for c in cases(module)
        if c.rule not in RULE or module_of(RULE[c.rule]) != module
    )
    assert not unknown, f"cases of rules that their module does not define: {unknown}"


def all_cases() -> list[Case]:
    return [c for module in MODULES for c in cases(module)]


@pytest.mark.parametrize(
    "case", case_params([c for c in all_cases() if not RULE[c.rule].needs_stack])
)
def test_resource_rules_need_only_the_resource(case: Case) -> None:
    """The policy pack runs these before anything else exists: the stack must not matter."""
    rule = RULE[case.rule]
    for resources in (case.broken, case.fixed):
        whole = stack(case.stack, resources)
        for resource in whole:
            if rule.judges(resource):
                alone = Stack(case.stack, [resource])
                assert list(rule.check(resource, alone)) == list(rule.check(resource, whole))


@pytest.mark.parametrize("rule_id", sorted(r.id for r in RULES if r.needs_stack))
def test_stack_rules_look_beyond_the_resource(rule_id: str) -> None:
    """Some case of each stack rule is judged differently without the rest of the stack."""
    rule = RULE[rule_id]

    def verdicts(case: Case) -> Iterator[bool]:
        for resources in (case.broken, case.fixed):
            whole = stack(case.stack, resources)
            for resource in whole:
                if rule.judges(resource):
                    alone = Stack(case.stack, [resource])
                    yield list(rule.check(resource, alone)) != list(rule.check(resource, whole))

    assert any(any(verdicts(c)) for c in cases(module_of(rule)) if c.rule == rule_id)


# Production stacks

LAX_IN_DEV = [
    (
        "alb-deletion-protection-prod",
        res(LB, "app", **{**LB_OK, "enableDeletionProtection": False}),
    ),
    ("alb-access-logs-prod", res(LB, "app", **{**LB_OK, "accessLogs": {"enabled": False}})),
    ("rds-backups", res(RDS, "db", **{**DB_OK, "backupRetentionPeriod": 1})),
    ("rds-deletion-protection-prod", res(RDS, "db", **{**DB_OK, "deletionProtection": False})),
    ("rds-multi-az-prod", res(RDS, "db", **{**DB_OK, "multiAz": False})),
    ("logs-retention", log_group("/multitier/app", retention=30)),
]


@pytest.mark.parametrize("stack_name", ["dev", "staging", "preprod", "production2"])
@pytest.mark.parametrize(("rule_id", "lax"), LAX_IN_DEV, ids=[r for r, _ in LAX_IN_DEV])
def test_production_rules_accept_the_lax_setting_elsewhere(
    rule_id: str, lax: Res, stack_name: str
) -> None:
    judged, failures = judge(RULE[rule_id], [lax], stack_name)
    assert judged
    assert not failures, messages(failures)


@pytest.mark.parametrize("stack_name", ["prod", "production", "prod-eu"])
@pytest.mark.parametrize(("rule_id", "lax"), LAX_IN_DEV, ids=[r for r, _ in LAX_IN_DEV])
def test_production_rules_refuse_the_lax_setting_in_production(
    rule_id: str, lax: Res, stack_name: str
) -> None:
    _, failures = judge(RULE[rule_id], [lax], stack_name)
    assert flagged(failures) == {key(lax)}
