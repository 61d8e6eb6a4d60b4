"""The classifier: a compared variant in, each resource's class out. Pure: no git, no processes,
so it is tested on hand-built plans (tests/test_forecast.py).

A kept resource's changed inputs, less those its `ignore_changes` names, are judged one by one:
`replace_on_changes` replaces; so does an input the provider table (provider.py) says replaces,
or, where the table says nothing, one that writes a create-only CloudFormation property
(schemas.py). Then replacements spread: an input that takes a value of a replaced resource
changes with it (an id, an ARN), and the same judgement decides whether that replaces its
resource too. Last, a launch template's new version reaches the instances of each Auto Scaling
group that launches from it: they roll.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cfncheck.model import short_type
from cfncheck.types import TYPES
from policy.types import ASG, INSTANCE, LAUNCH_TEMPLATE
from tools.forecast import provider, schemas
from tools.forecast.model import Kind, Reason, VariantForecast, Verdict
from tools.plancompare.model import JSON_STEP, Declared, ResourceDiff, Status, VariantDiff

TEMPLATE_META = frozenset({"tags", "description", "updateDefaultVersion", "defaultVersion"})
"""A launch template's inputs that make no new version: the template's own, not its data."""


@dataclass
class _Draft:
    diff: ResourceDiff
    kind: Kind
    reasons: list[Reason] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    """Top-level inputs that differ, then those that take a value of a replaced resource."""
    direct: frozenset[str] = frozenset()
    """Those that differ in the two plans."""
    note: str = ""

    @property
    def declared(self) -> Declared:
        found = self.diff.new or self.diff.old
        assert found is not None
        return found

    def verdict(self) -> Verdict:
        return Verdict(
            self.diff.urn,
            self.diff.type,
            self.declared.name,
            self.kind,
            tuple(dict.fromkeys(self.reasons)),
            tuple(dict.fromkeys(self.changed)),
            old_urn=self.diff.old_urn,
            note=self.note,
        )


def forecast_variant(diff: VariantDiff) -> VariantForecast:
    """Every custom resource of the variant with its class; components are left out."""
    if diff.only_in:
        return VariantForecast(diff.name, problem=f"planned by {diff.only_in.upper()} only")
    if diff.errors:
        problem = "; ".join(f"{side.upper()}: {e}" for side, e in sorted(diff.errors.items()))
        return VariantForecast(diff.name, problem=f"could not be planned: {problem}")
    drafts = {
        r.urn: _judged(r) for r in diff.resources if (r.new or r.old) and _custom(r.new or r.old)
    }
    _spread(drafts)
    _roll(drafts)
    order = list(Kind)
    verdicts = sorted(
        (d.verdict() for d in drafts.values()), key=lambda v: (order.index(v.kind), v.urn)
    )
    return VariantForecast(diff.name, tuple(verdicts))


def _custom(declared: Declared | None) -> bool:
    return declared is not None and declared.custom


def _judged(diff: ResourceDiff) -> _Draft:
    if diff.status is Status.ADDED:
        return _Draft(diff, Kind.CREATED)
    if diff.status is Status.REMOVED:
        return _Draft(diff, Kind.DELETED)
    assert diff.old is not None and diff.new is not None
    old, new = diff.old, diff.new
    ignored = _option(new, "ignore_changes")
    paths = list(dict.fromkeys(schemas.input_path(c.path, JSON_STEP) for c in diff.inputs))
    judged = [p for p in paths if not _ignored(p, ignored)]
    tops = [p.split(".", maxsplit=1)[0] for p in judged]
    draft = _Draft(diff, Kind.UNCHANGED, changed=tops, direct=frozenset(tops))
    if not judged:
        if paths:
            draft.note = f"changes ignored (ignore_changes): {', '.join(paths)}"
        return draft
    create_only = (
        schemas.changed_create_only(new.type, new.name, old.inputs, new.inputs)
        if schemas.rendered(new.type)
        else []
    )
    draft.kind = Kind.UPDATED
    for path in judged:
        replaces, why, source = _effect(new, path, old.inputs, create_only)
        if replaces:
            draft.kind = Kind.REPLACED
            draft.reasons.append(Reason(path, why, source))
    if draft.kind is Kind.REPLACED and new.type == INSTANCE and _only_user_data(draft.reasons):
        draft.kind = Kind.ROLLED
    return draft


def _effect(
    new: Declared,
    path: str,
    old_inputs: Mapping[str, Any],
    create_only: Sequence[schemas.CreateOnly] | None,
) -> tuple[bool, str, str]:
    """Whether a change of the input at `path` replaces the resource, why, and the provider's
    word for it. `create_only` None: the input takes a new value of a replaced resource, so
    every property it writes changes."""
    top = path.split(".", maxsplit=1)[0]
    on_change = _option(new, "replace_on_changes")
    if top in on_change or "*" in on_change:
        return True, "the replace_on_changes option names it", ""
    rule = provider.rule_for(new.type, path, old_inputs, new.inputs)
    if rule is not None:
        return rule.effect is provider.Effect.REPLACES, rule.reason(), rule.source
    if schemas.self_contained(new.type):
        return False, "no CloudFormation resource of its own: updated in place", ""
    if not schemas.rendered(new.type):
        return False, "a type the schema check does not know: assumed updated in place", ""
    if create_only is None:
        props = schemas.replacing_sources(new.type, new.name, new.inputs, path)
        cfn = TYPES[new.type].cfn
        return bool(props), f"create-only in CloudFormation ({cfn} {', '.join(props)})", ""
    hits = [c for c in create_only if schemas.related(c.source, path)]
    return bool(hits), str(hits[0]) if hits else "", ""


def _only_user_data(reasons: Sequence[Reason]) -> bool:
    return all(r.input.split(".")[0] in ("userData", "userDataBase64") for r in reasons)


def _spread(drafts: dict[str, _Draft]) -> None:
    """Replacements reach the resources that take a value of a replaced one, until none does."""
    while True:
        replaced = {urn for urn, d in drafts.items() if _replaces(d)}
        spread = False
        for draft in drafts.values():
            if draft.diff.status is not Status.KEPT or _replaces(draft):
                continue
            spread |= _follow(draft, replaced, drafts)
        if not spread:
            return


def _replaces(draft: _Draft) -> bool:
    return draft.kind is Kind.REPLACED or (
        draft.kind is Kind.ROLLED and draft.diff.type == INSTANCE
    )


def _follow(draft: _Draft, replaced: set[str], drafts: Mapping[str, _Draft]) -> bool:
    """Judge each input that takes a value of a replaced resource; True when it replaces."""
    new = draft.diff.new
    assert new is not None
    ignored = _option(new, "ignore_changes")
    dependencies: Mapping[str, Sequence[str]] = new.options.get("dependencies") or {}
    for key, urns in sorted(dependencies.items()):
        hits = [u for u in urns if u in replaced]
        if not hits or _ignored(key, ignored):
            continue
        origin = drafts[hits[0]].declared
        takes = f"takes a value of replaced {short_type(origin.type)} '{origin.name}'"
        replaces, why, source = _effect(new, key, new.inputs, None)
        why = why if replaces else "changes if the value it takes does (preview shows it unknown)"
        reason = Reason(key, f"{takes}; {why}", source)
        if reason in draft.reasons:
            continue
        draft.reasons.append(reason)
        draft.changed.append(key)
        if replaces:
            draft.kind = Kind.REPLACED
            return True
        if draft.kind is Kind.UNCHANGED:
            draft.kind = Kind.UPDATED
    return False


def _roll(drafts: Mapping[str, _Draft]) -> None:
    """A launch template whose data differs makes a new version; each group that launches from
    it moves to that version (updated) and its instances roll, by instance refresh or later. A
    value taken from a replaced resource may come out the same (a secret's ARN outlives its
    version): that alone rolls nothing, and the template's reason says so."""
    for template in drafts.values():
        if template.diff.type != LAUNCH_TEMPLATE or template.kind is not Kind.UPDATED:
            continue
        if not template.direct - TEMPLATE_META:
            continue
        groups = [
            d
            for d in drafts.values()
            if d.diff.type == ASG
            and d.diff.new is not None
            and template.diff.urn
            in (d.diff.new.options.get("dependencies") or {}).get("launchTemplate", ())
        ]
        if not groups:
            continue
        template.kind = Kind.ROLLED
        template.note = "; ".join(_how_rolled(g.declared) for g in groups)
        for group in groups:
            if group.kind in (Kind.UNCHANGED, Kind.UPDATED):
                group.kind = Kind.UPDATED
                group.changed.append("launchTemplate")
                name = template.declared.name
                group.reasons.append(Reason("launchTemplate", f"template '{name}': new version"))


def _how_rolled(group: Declared) -> str:
    if group.inputs.get("instanceRefresh"):
        return f"group '{group.name}' replaces its instances by instance refresh"
    return (
        f"group '{group.name}' has no instance refresh: its running instances keep the old "
        "version until replaced"
    )


def _option(declared: Declared, key: str) -> list[str]:
    return [str(v) for v in declared.options.get(key) or ()]


def _ignored(path: str, ignored: Sequence[str]) -> bool:
    return any(path == i or path.startswith(f"{i}.") for i in ignored)
