"""The comparison core: two plans in, a difference per variant and per URN out. Pure: no git, no
processes, so it is tested on hand-built plans.

A resource whose URN changed is the same resource when its new declaration names the old URN as
an alias, its own or one inherited from an aliased parent, which the engine computes as
`inheritedChildAlias` does: for each alias of the parent, the child's URN under that alias, its
name's prefix renamed when it starts with the parent's name.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from tools.plancompare.model import (
    ABSENT,
    JSON_STEP,
    Change,
    Declared,
    Path_,
    Plan,
    ResourceDiff,
    Status,
    VariantDiff,
    VariantPlan,
)

STACK_TYPE = "pulumi:pulumi:Stack"
_MOVE_OPTIONS = ("parent", "aliases")
"""The options a move changes by its nature: reported as the move, not as changes."""


def compare(old: Plan, new: Plan) -> tuple[VariantDiff, ...]:
    """Every variant either side planned, compared."""
    names = sorted(set(old.variants) | set(new.variants))
    return tuple(compare_variant(n, old.variants.get(n), new.variants.get(n)) for n in names)


def compare_variant(name: str, old: VariantPlan | None, new: VariantPlan | None) -> VariantDiff:
    """One variant's resources matched by URN or alias, and their inputs and options compared."""
    if old is None or new is None:
        return VariantDiff(name, only_in="to" if old is None else "from")
    errors = {
        side: problem for side, plan in (("from", old), ("to", new)) if (problem := _problem(plan))
    }
    if errors:
        return VariantDiff(name, errors=errors)
    matched = match(old.resources, new.resources)
    renamed = {old_urn: urn for urn, old_urn in matched.items()}
    diffs = [
        _kept(old.resources[matched[urn]], declared, renamed)
        if urn in matched
        else ResourceDiff(urn, declared.type, Status.ADDED, new=declared)
        for urn, declared in new.resources.items()
    ]
    diffs += [
        ResourceDiff(urn, declared.type, Status.REMOVED, old=declared)
        for urn, declared in old.resources.items()
        if urn not in renamed
    ]
    secret = old.secret_outputs | new.secret_outputs
    return VariantDiff(
        name,
        resources=tuple(sorted(diffs, key=lambda d: d.urn)),
        outputs=tuple(diff_keyed(old.outputs, new.outputs, secret)),
    )


def _problem(plan: VariantPlan) -> str | None:
    if plan.error:
        return plan.error
    if plan.duplicates:
        return f"declares a URN twice, which the engine refuses: {', '.join(plan.duplicates)}"
    return None


def match(old: Mapping[str, Declared], new: Mapping[str, Declared]) -> dict[str, str]:
    """For each resource of `new` that `old` declared, its URN in `old`: its own, or the first of
    its aliases that `old` declared and no resource of `new` keeps under its own URN."""
    matched = {urn: urn for urn in new if urn in old}
    claimed = set(matched)
    aliases = alias_sets(new)
    for urn in sorted(set(new) - set(matched)):
        found = next((a for a in sorted(aliases[urn]) if a in old and a not in claimed), None)
        if found is not None:
            matched[urn] = found
            claimed.add(found)
    return matched


def alias_sets(resources: Mapping[str, Declared]) -> dict[str, frozenset[str]]:
    """Every URN the engine knows each resource by besides its own: its aliases, and those it
    inherits from each alias of its parent (the parent's own or inherited ones)."""
    found: dict[str, frozenset[str]] = {}

    def of(urn: str) -> frozenset[str]:
        if urn not in found:
            found[urn] = frozenset()  # a parent cycle, which the engine refuses, ends here
            resource = resources[urn]
            parent = resources.get(resource.parent or "")
            inherited = of(parent.urn) if parent else frozenset()
            found[urn] = _aliases(resource, parent, inherited)
        return found[urn]

    return {urn: of(urn) for urn in resources}


def _aliases(
    resource: Declared, parent: Declared | None, parent_aliases: frozenset[str]
) -> frozenset[str]:
    if parent is None or not parent_aliases:
        return frozenset(resource.aliases)
    child = _child_rule(parent.urn, resource)
    names = [(resource.type, resource.name)]
    names += [(urn_type(alias), urn_name(alias)) for alias in resource.aliases]
    inherited = {
        child(parent_alias, type_, _renamed(name, parent.name, urn_name(parent_alias)))
        for parent_alias in parent_aliases
        for type_, name in names
    }
    return frozenset(resource.aliases) | inherited


def _renamed(name: str, parent_name: str, parent_alias_name: str) -> str:
    """A child named after its parent (`{parent}-x`) had the parent's old name in its own."""
    if name.startswith(parent_name):
        return parent_alias_name + name.removeprefix(parent_name)
    return name


def _split(urn: str) -> tuple[str, str, str]:
    """`urn:pulumi:<stack>::<project>`, the qualified type, the name."""
    stack, project, qualified, name = urn.split("::", 3)
    return f"{stack}::{project}", qualified, name


def urn_type(urn: str) -> str:
    return _split(urn)[1].split("$")[-1]


def urn_name(urn: str) -> str:
    return _split(urn)[2]


def engine_child_urn(parent_urn: str, type_: str, name: str) -> str:
    """A child's URN as the engine makes it: the parent's whole type chain, the stack's left out."""
    prefix, qualified, _ = _split(parent_urn)
    chain = type_ if qualified == STACK_TYPE else f"{qualified}${type_}"
    return f"{prefix}::{chain}::{name}"


def mock_child_urn(parent_urn: str, type_: str, name: str) -> str:
    """A child's URN as Pulumi's mock monitor makes it: the last type of the parent's chain."""
    prefix, qualified, _ = _split(parent_urn)
    return f"{prefix}::{qualified.split('$')[-1]}${type_}::{name}"


def _child_rule(parent_urn: str, resource: Declared) -> Callable[[str, str, str], str]:
    """The rule that made this resource's URN from its parent's, to apply to the parent's
    aliases as well: the mocks' and the engine's differ."""
    for rule in (engine_child_urn, mock_child_urn):
        if rule(parent_urn, resource.type, resource.name) == resource.urn:
            return rule
    return engine_child_urn


def _kept(old: Declared, new: Declared, renamed: Mapping[str, str]) -> ResourceDiff:
    return ResourceDiff(
        new.urn,
        new.type,
        Status.KEPT,
        old_urn=old.urn,
        inputs=tuple(diff_keyed(old.inputs, new.inputs, old.secrets | new.secrets)),
        options=tuple(_option_changes(old, new, renamed)),
        old=old,
        new=new,
    )


def _option_changes(old: Declared, new: Declared, renamed: Mapping[str, str]) -> list[Change]:
    """Options both sides record, old URNs read as the new ones of the resources they name."""
    before, after = old.all_options(), new.all_options()
    skipped = _MOVE_OPTIONS if old.urn != new.urn else ()
    keys = sorted((set(before) & set(after)) - set(skipped))
    return [
        change
        for key in keys
        for change in diff_values(
            _canonical(_follow(before[key], renamed)), _canonical(after[key]), (key,)
        )
    ]


def _follow(value: Any, renamed: Mapping[str, str]) -> Any:
    """`value` with each URN of a kept resource (alone, or in a `urn::id` provider reference)
    replaced by its URN on the new side."""
    if isinstance(value, str):
        head, separator, tail = value.rpartition("::")
        if value not in renamed and head in renamed:
            return renamed[head] + separator + tail
        return renamed.get(value, value)
    if isinstance(value, list):
        return [_follow(v, renamed) for v in value]
    if isinstance(value, dict):
        return {k: _follow(v, renamed) for k, v in value.items()}
    return value


def _canonical(value: Any) -> Any:
    """Option lists are sets (dependencies, aliases, ignored inputs): compared sorted."""
    if isinstance(value, list):
        return sorted((_canonical(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    return value


def diff_keyed(
    old: Mapping[str, Any], new: Mapping[str, Any], secret: frozenset[str]
) -> list[Change]:
    """Inputs or outputs compared key by key, a secret key's changes marked secret."""
    return [
        change
        for key in sorted(set(old) | set(new))
        for change in diff_values(old.get(key, ABSENT), new.get(key, ABSENT), (key,), key in secret)
    ]


def diff_values(old: Any, new: Any, path: Path_ = (), secret: bool = False) -> list[Change]:
    """The leaves that differ, down through mappings, equal-length lists and JSON documents held
    in strings; `True` and `1`, `1` and `1.0` differ as they do to the provider."""
    if isinstance(old, dict) and isinstance(new, dict):
        return [
            change
            for key in sorted(set(old) | set(new))
            for change in diff_values(
                old.get(key, ABSENT), new.get(key, ABSENT), (*path, key), secret
            )
        ]
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [
            change
            for index, (a, b) in enumerate(zip(old, new, strict=True))
            for change in diff_values(a, b, (*path, index), secret)
        ]
    if type(old) is type(new) and old == new:
        return []
    documents = _documents(old, new)
    if documents is not None:
        return diff_values(*documents, (*path, JSON_STEP), secret)
    return [Change(path, old, new, secret)]


def _documents(old: Any, new: Any) -> tuple[Any, Any] | None:
    """Both strings parsed, when both hold a JSON object or array."""
    if not (isinstance(old, str) and isinstance(new, str)):
        return None
    try:
        parsed = json.loads(old), json.loads(new)
    except ValueError:
        return None
    return parsed if all(isinstance(p, dict | list) for p in parsed) else None
