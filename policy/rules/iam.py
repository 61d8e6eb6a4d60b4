"""IAM rules: no administrator, PassRole, service-wide or broad managed policies."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from policy.model import Res, Stack
from policy.props import as_list, statements
from policy.rules.base import rule
from policy.types import (
    ATTACHMENT,
    MANAGED_POLICY,
    ROLE_POLICY,
)

BROAD_MANAGED_POLICIES = ("AdministratorAccess", "PowerUserAccess", "FullAccess")


def _allowed_statements(resource: Res) -> Iterator[Mapping[str, Any]]:
    for statement in statements(resource.get("policy")):
        if statement.get("Effect") == "Allow":
            yield statement


def _wildcard_resource(statement: Mapping[str, Any]) -> bool:
    return "*" in as_list(statement.get("Resource"))


@rule(
    "iam-no-admin",
    "No policy allows every action on every resource (FSBP IAM.1, CIS 1.16).",
    ROLE_POLICY,
    MANAGED_POLICY,
)
def _iam_no_admin(resource: Res, _: Stack) -> Iterator[str]:
    for statement in _allowed_statements(resource):
        if "*" in as_list(statement.get("Action")) and _wildcard_resource(statement):
            yield "allows Action * on Resource *"


@rule(
    "iam-no-passrole-wildcard",
    "No policy lets a principal pass any role (privilege escalation).",
    ROLE_POLICY,
    MANAGED_POLICY,
)
def _iam_no_passrole(resource: Res, _: Stack) -> Iterator[str]:
    for statement in _allowed_statements(resource):
        actions = {str(a).lower() for a in as_list(statement.get("Action"))}
        if actions & {"iam:passrole", "iam:*", "*"} and _wildcard_resource(statement):
            yield "allows iam:PassRole on Resource *"


@rule(
    "iam-no-service-wildcard",
    "No policy allows all of a service's actions on every resource (FSBP IAM.21).",
    ROLE_POLICY,
    MANAGED_POLICY,
)
def _iam_no_service_wildcard(resource: Res, _: Stack) -> Iterator[str]:
    for statement in _allowed_statements(resource):
        for action in as_list(statement.get("Action")):
            if str(action).endswith(":*") and _wildcard_resource(statement):
                yield f"allows {action} on Resource *"


@rule(
    "iam-no-broad-managed-policies",
    "Roles get no administrator, power-user or *FullAccess managed policy (CIS 1.16).",
    ATTACHMENT,
)
def _iam_no_broad_managed(attachment: Res, _: Stack) -> Iterator[str]:
    arn = str(attachment.get("policyArn") or "")
    if arn.startswith("arn:aws:iam::aws:policy/") and any(
        word in arn.rsplit("/", 1)[-1] for word in BROAD_MANAGED_POLICIES
    ):
        yield f"attaches {arn}"
