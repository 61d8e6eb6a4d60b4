"""The rules as Pulumi policies, for `pulumi preview --policy-pack build/policy-pack`.

Rules that judge one resource become resource policies: the engine runs them on each resource's
inputs before it is created or updated. Rules that look across resources become stack policies,
run on the whole stack. Both honour the same exceptions as the offline plan.

During a preview, values that only AWS knows (ids, ARNs) are unknown; a rule that needs one for a
resource skips that resource in the preview and judges it on `pulumi up`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from policy.exceptions import EXCEPTIONS, PolicyException
from policy.model import Res, Stack, stack_of_urn
from policy.rules import RULES, Rule

PACK_NAME = "multitier-security"


def policies(
    rules: Sequence[Rule] = RULES, exceptions: Sequence[PolicyException] = EXCEPTIONS
) -> list[Policy]:
    built: list[Policy] = []
    for rule in rules:
        kind = StackValidationPolicy if rule.needs_stack else ResourceValidationPolicy
        validate = (_stack_validation if rule.needs_stack else _resource_validation)(
            rule, exceptions
        )
        built.append(
            kind(
                name=rule.id,
                description=rule.reason,
                validate=validate,
                enforcement_level=EnforcementLevel.MANDATORY,
            )
        )
    return built


def _report(
    rule: Rule,
    resource: Res,
    stack: Stack,
    exceptions: Sequence[PolicyException],
    report_violation: ReportViolation,
) -> None:
    if not rule.judges(resource):
        return
    if any(e.covers(rule.id, resource, stack.name) for e in exceptions):
        return
    try:
        messages = list(rule.check(resource, stack))
    except UnknownValueError:
        return  # judged on `pulumi up`, once the values are known
    for message in messages:
        report_violation(f"{resource.name}: {message}", resource.urn)


def _resource_validation(rule: Rule, exceptions: Sequence[PolicyException]) -> Any:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        resource = Res(urn=args.urn, type=args.resource_type, name=args.name, props=args.props)
        stack = Stack(stack_of_urn(args.urn), [resource])
        _report(rule, resource, stack, exceptions, report_violation)

    return validate


def _stack_validation(rule: Rule, exceptions: Sequence[PolicyException]) -> Any:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        if not args.resources:
            return
        stack = Stack(stack_of_urn(args.resources[0].urn), [_res(r) for r in args.resources])
        for resource in stack:
            _report(rule, resource, stack, exceptions, report_violation)

    return validate


def _res(resource: PolicyResource) -> Res:
    deps: Mapping[str, Sequence[str]] = {
        key: tuple(d.urn for d in found) for key, found in resource.property_dependencies.items()
    }
    return Res(
        urn=resource.urn,
        type=resource.resource_type,
        name=resource.name,
        props=resource.props,
        parent=resource.parent.urn if resource.parent else None,
        deps=deps,
        waits_for=tuple(d.urn for d in resource.dependencies),
    )
