"""A validator that judges declared resources against AWS's own resource schemas, with cfn-lint.

    report = cfncheck.validate(run.resources, "eu-west-1")
    report.passed, report.errors, report.lines()

Every resource is rendered as its CloudFormation equivalent (`cfncheck.render`, with the table in
`cfncheck.types`), references between resources become `Ref` / `Fn::GetAtt` (`cfncheck.refs`),
cfn-lint judges the template (`cfncheck.lint`), and each finding is named by the Pulumi resource and
input it came from, unless `cfncheck.accepted` accepts it with a reason.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from cfncheck.accepted import ACCEPTED, Accepted
from cfncheck.lint import VERSION, LintFinding, lint
from cfncheck.model import Declared
from cfncheck.render import Rendering, render
from cfncheck.report import Finding, Report, shorten
from cfncheck.types import TYPES

__all__ = ["ACCEPTED", "Accepted", "Declared", "Finding", "Report", "render", "validate"]


def validate(resources: Sequence[Declared], region: str) -> Report:
    rendering = render(resources, region)
    findings = [_named(f, rendering, ACCEPTED) for f in lint(rendering.template, region)]
    used = {f.accepted for f in findings if f.accepted is not None}
    return Report(
        region=region,
        cfn_lint=VERSION,
        rendered=rendering.rendered,
        not_rendered=[(r.type, r.name, why) for r, why in rendering.not_rendered],
        inputs_rendered=rendering.inputs_rendered,
        no_equivalent=rendering.no_equivalent,
        unmapped=sorted(rendering.unmapped),
        findings=findings,
        unused=[a for a in ACCEPTED if a not in used],
    )


def _named(found: LintFinding, rendering: Rendering, accepted: Sequence[Accepted]) -> Finding:
    """The finding named by the Pulumi resource and input its value came from."""
    source = rendering.source(found.path)
    message = shorten(found.message)
    if source is None:
        where = "/".join(str(p) for p in found.path) or "template"
        return Finding(found.rule, found.severity, message, None, "", where)
    resource, logical = source.resource, str(found.path[1])
    properties = ".".join(str(p) for p in found.path[3:]) or "Properties"
    cfn_type = rendering.template["Resources"][logical]["Type"]
    owner = rendering.sources[("Resources", logical)].resource
    if owner is not resource or cfn_type != TYPES[resource.type].cfn:  # host, or companion
        properties = f"{cfn_type.split('::')[-1]} {properties}"
    top = source.input.split(".")[0].split("[")[0]
    if top in resource.secrets and isinstance(resource.inputs.get(top), str):
        message = message.replace(resource.inputs[top], "[secret]")
    finding = Finding(found.rule, found.severity, message, resource, source.input, properties)
    waiver = next((a for a in accepted if a.covers(finding)), None)
    return dataclasses.replace(finding, accepted=waiver) if waiver else finding
