"""The validator's verdict: findings named by the program's resources, counts, and its text form.

A finding reads `<type> '<name>' <input> (<CloudFormation property>): <rule> <message>`, e.g.
`SecurityGroup 'app-alb' description (GroupDescription): E3031 "it's" does not match ...`.
Errors fail the plan and the tests; warnings are printed; accepted findings are listed with the
reason from `cfncheck/accepted.py`.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from cfncheck.accepted import Accepted
from cfncheck.model import Declared, short_type


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    message: str
    resource: Declared | None
    """None for a finding about the template as a whole."""
    input: str
    """The Pulumi input path it is about; "" when about the resource as a whole."""
    cfn: str
    """Where in CloudFormation: `GroupDescription`, `VPCGatewayAttachment VpcId`."""
    accepted: Accepted | None = None

    @property
    def where(self) -> str:
        if self.resource is None:
            return self.cfn
        subject = f"{short_type(self.resource.type)} '{self.resource.name}'"
        if not self.input and self.cfn == "Properties":  # a rule across several properties
            return f"{subject} (properties)"
        return f"{subject} {self.input or '(resource)'} ({self.cfn})"

    def __str__(self) -> str:
        return f"{self.where}: {self.rule} {self.message}"


@dataclass
class Report:
    region: str
    cfn_lint: str
    """cfn-lint's version, which carries the schemas."""
    rendered: int
    not_rendered: list[tuple[str, str, str]]
    """(type, name, why) of each declared resource with no CloudFormation equivalent."""
    inputs_rendered: int
    no_equivalent: dict[tuple[str, str], str]
    unmapped: list[tuple[str, str]]
    findings: list[Finding]
    unused: list[Accepted] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error" and f.accepted is None]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity != "error" and f.accepted is None]

    @property
    def accepted(self) -> list[Finding]:
        return [f for f in self.findings if f.accepted is not None]

    @property
    def passed(self) -> bool:
        return not self.errors and not self.unmapped

    def lines(self) -> list[str]:
        lines = [
            f"AWS schema check (cfn-lint {self.cfn_lint}, {self.region}): {self.rendered} "
            f"resources and {self.inputs_rendered} inputs rendered as CloudFormation; "
            f"{len(self.errors)} errors, {len(self.warnings)} warnings, "
            f"{len(self.accepted)} accepted",
        ]
        not_rendered = Counter((type_, why) for type_, _, why in self.not_rendered)
        lines.append(f"  Not rendered ({len(self.not_rendered)}; no CloudFormation equivalent):")
        lines += [f"    {n} x {t}: {why}" for (t, why), n in sorted(not_rendered.items())]
        lines.append("  Inputs with no CloudFormation equivalent:")
        lines += [
            f"    {t} {where}: {why}" for (t, where), why in sorted(self.no_equivalent.items())
        ]
        if self.unmapped:
            lines.append("  Not judged (the table in cfncheck/types has no entry):")
            lines += [f"    {t} {where}" for t, where in self.unmapped]
        for title, findings in (("Errors", self.errors), ("Warnings", self.warnings)):
            if findings:
                lines += [f"  {title}:", *(f"    {f}" for f in findings)]
        if self.accepted:
            lines.append("  Accepted (cfncheck/accepted.py):")
            for finding in self.accepted:
                assert finding.accepted is not None
                lines += [f"    {finding}", f"        reason: {finding.accepted.reason}"]
        if self.unused:
            lines.append("  Acceptances that matched nothing in this stack:")
            lines += [f"    {a.rule}: {short_type(a.type)} '{a.name}'" for a in self.unused]
        return lines

    def as_dict(self) -> dict[str, Any]:
        return {
            "cfnLint": self.cfn_lint,
            "region": self.region,
            "passed": self.passed,
            "resourcesRendered": self.rendered,
            "inputsRendered": self.inputs_rendered,
            "notRendered": [{"type": t, "name": n, "reason": w} for t, n, w in self.not_rendered],
            "inputsWithNoEquivalent": [
                {"type": t, "input": i, "reason": w}
                for (t, i), w in sorted(self.no_equivalent.items())
            ],
            "unmapped": [{"type": t, "input": i} for t, i in self.unmapped],
            "findings": [_finding(f) for f in self.findings],
        }


def _finding(finding: Finding) -> dict[str, Any]:
    found: dict[str, Any] = {
        "rule": finding.rule,
        "severity": finding.severity,
        "input": finding.input,
        "cfn": finding.cfn,
        "message": finding.message,
    }
    if finding.resource is not None:
        found |= {"type": finding.resource.type, "name": finding.resource.name}
    if finding.accepted is not None:
        found["accepted"] = finding.accepted.reason
    return found


_LONG_LIST = re.compile(r"\[(?:'[^']*', ){8,}'[^']*'\]")


def shorten(message: str) -> str:
    """cfn-lint lists every allowed value (900 instance types); say how many instead."""
    return _LONG_LIST.sub(lambda m: f"[{m.group(0).count(', ') + 1} allowed values]", message)
