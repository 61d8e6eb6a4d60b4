"""The offline plan's first lines: whether the production rules apply to the stack and what
decided it, then every placeholder still in its stack file (components/config/placeholders.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.config import NAMESPACE, PRODUCTION, PRODUCTION_STACKS, placeholders
from tools.mockrun import Run


def production_line(run: Run, config: Mapping[str, Any]) -> str:
    """Whether the production rules apply to the stack, and what decided it."""
    applies = run.view.production
    given = config.get(f"{NAMESPACE}:{PRODUCTION}")
    if given is not None:
        why = f"{NAMESPACE}:{PRODUCTION}: {str(given).lower()} in its stack file"
    else:
        names = ", ".join([*PRODUCTION_STACKS, *(f"{n}-*" for n in PRODUCTION_STACKS)])
        verdict = "is one of" if applies else "is none of"
        why = f"{NAMESPACE}:{PRODUCTION} unset, and '{run.stack}' {verdict} {names}"
    return f"Production rules: {'apply' if applies else 'do not apply'} ({why})"


def placeholder_lines(found: list[placeholders.Placeholder], production: bool) -> list[str]:
    """The plan's own section: every placeholder still in the stack file."""
    if not found:
        return ["Placeholders: none"]
    consequence = (
        "`pulumi preview` and `pulumi up` refuse this production stack until each is replaced"
        if production
        else "replace each before this stack serves anyone"
    )
    return [
        f"Placeholders still in the stack file ({len(found)}; {consequence}):",
        *(f"  {p}" for p in found),
    ]


def preamble_lines(run: Run, config: Mapping[str, Any]) -> list[str]:
    """The lines after the plan's title: production, a blank line, placeholders, a blank line."""
    found = placeholders.find(config)
    return [production_line(run, config), "", *placeholder_lines(found, run.view.production), ""]


def preamble_json(run: Run, config: Mapping[str, Any]) -> dict[str, Any]:
    """The same, for the plan's JSON."""
    found = placeholders.find(config)
    return {
        "production": run.view.production,
        "placeholders": [{"key": p.key, "value": p.value, "why": p.why} for p in found],
    }
