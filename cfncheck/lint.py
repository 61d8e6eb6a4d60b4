"""Runs cfn-lint over a template, through its Python API, and returns its findings typed.

cfn-lint carries AWS's published resource schemas (allowed characters and patterns, enums such as
instance types per region, ranges) and its own rules across properties. Its errors are what AWS
would refuse; its warnings are what AWS accepts but is likely a mistake.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

import cfnlint.api  # type: ignore[import-untyped]  # cfn-lint ships no type information

VERSION = version("cfn-lint")

_SEVERITY = {"E": "error", "W": "warning", "I": "informational"}


@dataclass(frozen=True)
class LintFinding:
    rule: str
    """cfn-lint's rule id, `E3031`."""
    severity: str
    """error, warning or informational, from the rule id's letter."""
    path: tuple[str | int, ...]
    """Where in the template: `("Resources", "AppAlbSecurityGroup", "Properties", ...)`."""
    message: str


def lint(template: Mapping[str, Any], region: str) -> list[LintFinding]:
    matches = cfnlint.api.lint(
        json.dumps(template), config=cfnlint.api.ManualArgs(regions=[region])
    )
    return [
        LintFinding(
            rule=match.rule.id,
            severity=_SEVERITY.get(match.rule.id[:1], "error"),
            path=tuple(match.path or ()),
            message=match.message,
        )
        for match in matches
    ]
