"""A validator that judges declared resources against AWS's own resource schemas, with cfn-lint.

    report = cfncheck.validate(run.resources, "eu-west-1")
    report.passed, report.errors, report.lines()

A CloudFormation template deploys to one region. A resource that names another region (its
`region` input: pulumi-aws 7 takes one on every resource) is rendered into a template of that
region and linted for it; references between the templates stay the values they are, as they
would be between two stacks.

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
    """Judge `resources` of a stack in `region`: one template per region they live in."""
    renderings = [(where, render(group, where)) for where, group in by_region(resources, region)]
    findings = [
        _named(f, rendering, ACCEPTED)
        for where, rendering in renderings
        for f in lint(rendering.template, where)
    ]
    used = {f.accepted for f in findings if f.accepted is not None}
    return Report(
        region=", ".join(where for where, _ in renderings),
        cfn_lint=VERSION,
        rendered=sum(r.rendered for _, r in renderings),
        not_rendered=[(d.type, d.name, why) for _, r in renderings for d, why in r.not_rendered],
        inputs_rendered=sum(r.inputs_rendered for _, r in renderings),
        no_equivalent={k: v for _, r in renderings for k, v in r.no_equivalent.items()},
        unmapped=sorted({u for _, r in renderings for u in r.unmapped}),
        findings=findings,
        unused=[a for a in ACCEPTED if a not in used],
    )


def by_region(resources: Sequence[Declared], region: str) -> list[tuple[str, list[Declared]]]:
    """The resources grouped by the region they live in, the stack's `region` first (components
    and every resource without a `region` input live there)."""
    groups: dict[str, list[Declared]] = {region: []}
    for resource in resources:
        where = resource.inputs.get("region") if resource.custom else None
        groups.setdefault(where if isinstance(where, str) and where else region, []).append(
            resource
        )
    return list(groups.items())


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
