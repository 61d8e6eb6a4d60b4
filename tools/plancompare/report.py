"""A comparison as text for a reviewer and as JSON for tools, secret values masked in both."""

from __future__ import annotations

import json
from typing import Any

from tools.plancompare.compare import urn_name
from tools.plancompare.model import (
    ABSENT,
    JSON_STEP,
    Change,
    Comparison,
    ResourceDiff,
    Side,
    Status,
    VariantDiff,
)

SECRET = "[secret]"
_WIDTH = 120


def text(comparison: Comparison) -> str:
    """Per variant, what differs; then the totals and the time planning took."""
    lines = [f"FROM {comparison.old.title}  ->  TO {comparison.new.title}"]
    for variant in comparison.variants:
        lines += _variant(variant)
    for side, stacks in comparison.uncovered.items():
        lines.append(f"stacks not compared, no variant plans them ({side}): {', '.join(stacks)}")
    lines.append(_summary(comparison))
    return "\n".join(lines) + "\n"


def _variant(variant: VariantDiff) -> list[str]:
    if variant.only_in:
        return [f"{variant.name}: planned by {variant.only_in.upper()} only"]
    if variant.errors:
        return [
            f"{variant.name}: {side.upper()} could not be planned: {error}"
            for side, error in sorted(variant.errors.items())
        ]
    added, shown = (
        variant.of_status(Status.ADDED),
        [r for r in variant.resources if r.different or r.moved],
    )
    lines = [f"{variant.name}: {_counts(variant)}"]
    for resource in shown:
        lines += _resource(resource, added)
    lines += [f"  ~ output   {_change(c)}" for c in variant.outputs]
    return lines


def _counts(variant: VariantDiff) -> str:
    """The verdict, then how many of each kind: `differs: 1 added, 2 changed of 137 resources`."""
    counts = {
        "added": len(variant.of_status(Status.ADDED)),
        "removed": len(variant.of_status(Status.REMOVED)),
        "moved (aliased)": len(variant.moved),
        "changed": len(variant.changed),
        "outputs changed": len({c.key for c in variant.outputs}),
    }
    kinds = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n)
    verdict = "differs" if variant.different else "no difference"
    total = f"{len(variant.resources)} resources"
    return f"{verdict}: {kinds} of {total}" if kinds else f"{verdict} ({total})"


def _resource(resource: ResourceDiff, added: list[ResourceDiff]) -> list[str]:
    if resource.status is Status.ADDED:
        return [f"  + added    {short(resource.urn)}"]
    if resource.status is Status.REMOVED:
        return [f"  - removed  {short(resource.urn)}{_alias_hint(resource, added)}"]
    head = (
        f"  > moved (aliased)  {short(resource.old_urn or '')}  ->  {short(resource.urn)}"
        if resource.moved
        else f"  ~ changed  {short(resource.urn)}"
    )
    return [
        head,
        *(f"      input  {_change(c)}" for c in resource.inputs),
        *(f"      option {_change(c)}" for c in resource.options),
    ]


def _alias_hint(removed: ResourceDiff, added: list[ResourceDiff]) -> str:
    """A removal with an addition of the same type and name is likely a move without an alias."""
    twin = next(
        (a for a in added if a.type == removed.type and urn_name(a.urn) == urn_name(removed.urn)),
        None,
    )
    return f"  (added as {short(twin.urn)}: an alias would keep it)" if twin else ""


def short(urn: str) -> str:
    """A URN without its stack and project, the same on every line of a variant."""
    return "::".join(urn.split("::", 3)[2:]) or urn


def _change(change: Change) -> str:
    return f"{path_text(change)}: {_shown(change.old, change)} -> {_shown(change.new, change)}"


def path_text(change: Change) -> str:
    text = ""
    for step in change.path:
        text += f"[{step}]" if isinstance(step, int) else f"{'.' if text else ''}{step}"
    return text.replace(f".{JSON_STEP}", f" {JSON_STEP} ")


def _shown(value: Any, change: Change) -> str:
    if value is ABSENT:
        return "(absent)"
    if change.secret:
        return SECRET
    shown = json.dumps(value, sort_keys=True)
    return shown if len(shown) <= _WIDTH else shown[: _WIDTH - 1] + "…"


def _summary(comparison: Comparison) -> str:
    variants = comparison.variants
    differing = sum(v.different for v in variants)
    return (
        f"{len(variants)} variants compared, {differing} with differences; planned "
        f"FROM in {comparison.old.seconds:.1f} s and TO in {comparison.new.seconds:.1f} s "
        f"in parallel, {comparison.seconds:.1f} s in all"
    )


def to_json(comparison: Comparison) -> dict[str, Any]:
    """The whole result, unchanged resources included, for a classifier to read."""
    return {
        "different": comparison.different,
        "from": _side(comparison.old),
        "to": _side(comparison.new),
        "seconds": round(comparison.seconds, 1),
        "uncovered": {side: list(stacks) for side, stacks in comparison.uncovered.items()},
        "variants": {v.name: _variant_json(v) for v in comparison.variants},
    }


def _side(side: Side) -> dict[str, Any]:
    return {"label": side.label, "commit": side.commit, "seconds": round(side.seconds, 1)}


def _variant_json(variant: VariantDiff) -> dict[str, Any]:
    return {
        "different": variant.different,
        "only_in": variant.only_in,
        "errors": variant.errors,
        "outputs": [_change_json(c) for c in variant.outputs],
        "resources": [_resource_json(r) for r in variant.resources],
    }


def _resource_json(resource: ResourceDiff) -> dict[str, Any]:
    return {
        "urn": resource.urn,
        "old_urn": resource.old_urn,
        "type": resource.type,
        "status": str(resource.status),
        "moved": resource.moved,
        "changed_inputs": list(resource.changed_inputs),
        "inputs": [_change_json(c) for c in resource.inputs],
        "options": [_change_json(c) for c in resource.options],
    }


def _change_json(change: Change) -> dict[str, Any]:
    found: dict[str, Any] = {"path": list(change.path), "secret": change.secret}
    for key, value in (("old", change.old), ("new", change.new)):
        if value is not ABSENT:
            found[key] = SECRET if change.secret else value
    return found
