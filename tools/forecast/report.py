"""A forecast as text for the operator, stateful losses first and loudly, and as JSON for tools."""

from __future__ import annotations

from typing import Any

from tools.forecast.model import STATEFUL, Forecast, Kind, PinChange, VariantForecast, Verdict

_MARK = {
    Kind.REPLACED: "+- replaced",
    Kind.DELETED: "-  deleted ",
    Kind.CREATED: "+  created ",
    Kind.ROLLED: "~> rolled  ",
    Kind.UPDATED: "~  updated ",
}


def label(verdict: Verdict) -> str:
    """`LaunchTemplate 'app'`: the type's last word and the logical name."""
    return f"{verdict.type.rsplit(':', 1)[-1]} '{verdict.name}'"


def text(forecast: Forecast) -> str:
    lines = [f"FROM {forecast.old}  ->  TO {forecast.new}"]
    lines += _pins(forecast.pins)
    lines += _losses(forecast)
    for variant in forecast.variants:
        lines += _variant(variant)
    for side, stacks in forecast.uncovered.items():
        lines.append(f"stacks not forecast, no variant plans them ({side}): {', '.join(stacks)}")
    lines.append(
        f"{len(forecast.variants)} variants forecast in {forecast.seconds:.1f} s; "
        "what this cannot know: README.md, 'The replacement forecast'"
    )
    return "\n".join(lines) + "\n"


def _pins(pins: tuple[PinChange, ...]) -> list[str]:
    if not pins:
        return ["requirements: both revisions pin the same packages"]
    return [
        "requirements DIFFER: the provider and libraries decide what a diff does, and both "
        "sides were planned with this environment's packages (TO's):",
        *(f"  {pin}" for pin in pins),
    ]


def _losses(forecast: Forecast) -> list[str]:
    losing = forecast.losing_state
    if not losing:
        return ["no stateful resource is replaced or deleted"]
    lines = [f"!! {len(losing)} STATEFUL RESOURCE(S) REPLACED OR DELETED: what they hold is lost"]
    for variant, verdict in losing:
        why = "; ".join(str(r) for r in verdict.reasons) or verdict.note
        kind = "deleted" if verdict.kind is Kind.DELETED else "replaced"
        lines.append(
            f"!!   {variant}: {kind} {label(verdict)} ({STATEFUL[verdict.type]})"
            + (f": {why}" if why else "")
        )
    return lines


def _variant(variant: VariantForecast) -> list[str]:
    if variant.problem:
        return [f"{variant.name}: {variant.problem}"]
    counts = [
        f"{len(variant.of(kind))} {'rolled' if kind is Kind.ROLLED else kind}"
        for kind in Kind
        if variant.of(kind)
    ]
    lines = [f"{variant.name}: {', '.join(counts)} ({len(variant.verdicts)} resources)"]
    for verdict in variant.verdicts:
        lines += _verdict(verdict)
    return lines


def _verdict(verdict: Verdict) -> list[str]:
    moved = ""
    if verdict.moved and verdict.old_urn:
        moved = f" (moved from {verdict.old_urn.split('::')[-1]}, kept by alias)"
    if verdict.kind is Kind.UNCHANGED:
        if verdict.note:
            return [f"  =  ignored  {label(verdict)}: {verdict.note}"]
        return [f"  >  moved    {label(verdict)}{moved}"] if verdict.moved else []
    head = f"  {_MARK[verdict.kind]} {label(verdict)}{moved}"
    if verdict.changed and verdict.kind is not Kind.REPLACED:
        head += f": {', '.join(verdict.changed)}"
    lines = [head]
    lines += [f"        {reason}" for reason in verdict.reasons if reason.why]
    if verdict.note:
        lines.append(f"        {verdict.note}")
    return lines


def to_json(forecast: Forecast) -> dict[str, Any]:
    return {
        "from": forecast.old,
        "to": forecast.new,
        "pins": [
            {"file": p.file, "name": p.name, "old": p.old, "new": p.new} for p in forecast.pins
        ],
        "losing_state": [
            {"variant": name, "urn": v.urn, "kind": str(v.kind)}
            for name, v in forecast.losing_state
        ],
        "variants": {
            v.name: {"problem": v.problem, "verdicts": [_verdict_json(x) for x in v.verdicts]}
            for v in forecast.variants
        },
    }


def _verdict_json(verdict: Verdict) -> dict[str, Any]:
    return {
        "urn": verdict.urn,
        "old_urn": verdict.old_urn,
        "type": verdict.type,
        "name": verdict.name,
        "kind": str(verdict.kind),
        "stateful": verdict.stateful,
        "changed": list(verdict.changed),
        "reasons": [{"input": r.input, "why": r.why, "source": r.source} for r in verdict.reasons],
        "note": verdict.note,
    }
