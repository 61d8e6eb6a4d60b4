"""What a rule is, and the one registry every rule module adds its rules to."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from policy.model import Res, Stack
from policy.taggable import is_taggable

Check = Callable[[Res, Stack], Iterable[str]]
ANY_TYPE = "*"


@dataclass(frozen=True)
class Rule:
    id: str
    reason: str
    types: tuple[str, ...]
    check: Check
    needs_stack: bool = False

    def judges(self, resource: Res) -> bool:
        if ANY_TYPE in self.types:
            return is_taggable(resource.type)
        return resource.type in self.types


RULES: list[Rule] = []


def rule(id_: str, reason: str, *types: str, needs_stack: bool = False) -> Callable[[Check], Check]:
    """Register the decorated check as rule `id_`, judging resources of `types`. A rule that
    looks at other resources of the stack says `needs_stack=True`."""

    def register(check: Check) -> Check:
        if any(r.id == id_ for r in RULES):
            raise ValueError(f"duplicate rule id {id_}")
        RULES.append(Rule(id_, reason, types, check, needs_stack))
        return check

    return register
