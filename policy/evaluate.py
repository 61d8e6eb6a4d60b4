"""Runs the rules over a stack and reports passes, failures and applied exceptions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from policy.exceptions import EXCEPTIONS, PolicyException
from policy.model import Res, Stack
from policy.rules import RULES, Rule


@dataclass(frozen=True)
class Finding:
    rule: str
    resource: Res
    message: str
    exception: PolicyException | None = None

    @property
    def where(self) -> str:
        return f"{self.resource.type.split(':')[-1]} '{self.resource.name}'"


@dataclass
class RuleResult:
    rule: Rule
    judged: int = 0
    failures: list[Finding] = field(default_factory=list)
    excepted: list[Finding] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.failures:
            return "FAIL"
        if self.excepted:
            return "pass*"
        return "pass" if self.judged else "n/a"


@dataclass
class Report:
    stack: str
    results: list[RuleResult]
    unused_exceptions: list[PolicyException]

    @property
    def failures(self) -> list[Finding]:
        return [f for r in self.results for f in r.failures]

    @property
    def excepted(self) -> list[Finding]:
        return [f for r in self.results for f in r.excepted]

    @property
    def passed(self) -> bool:
        return not self.failures


def evaluate(
    stack: Stack,
    rules: Sequence[Rule] = RULES,
    exceptions: Sequence[PolicyException] = EXCEPTIONS,
) -> Report:
    used: set[PolicyException] = set()
    results = []
    for rule in rules:
        result = RuleResult(rule)
        for resource in stack:
            if not rule.judges(resource):
                continue
            result.judged += 1
            for message in rule.check(resource, stack):
                waiver = next(
                    (e for e in exceptions if e.covers(rule.id, resource, stack.name)), None
                )
                finding = Finding(rule.id, resource, message, waiver)
                if waiver:
                    used.add(waiver)
                    result.excepted.append(finding)
                else:
                    result.failures.append(finding)
        results.append(result)
    unused = [e for e in exceptions if e not in used and (not e.stacks or stack.name in e.stacks)]
    return Report(stack.name, results, unused)
