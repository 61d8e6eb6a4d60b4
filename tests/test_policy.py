"""The security policy over the real program, the exceptions, the plan's gate and the policy pack.

Each rule's own pass and fail cases are in test_policy_rules_<module>.py, one per module of
policy/rules/; the pack as it is published, built and run from a copy of its directory, in
test_policy_pack.py.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi_policy import (
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationPolicy,
)
from pulumi_policy.proxy import unknown_checking_proxy

from policy import pulumi_pack
from policy.evaluate import Report, evaluate
from policy.exceptions import EXCEPTIONS
from policy.model import Res, Stack, from_declared
from policy.props import COMPONENT_TAG, SECRET_TAG
from policy.rules import RULES
from policy.types import FUNCTION, LAUNCH_TEMPLATE, ROLE, ROLE_POLICY, SECRET
from tests import policy_pack_probe
from tests.conftest import plan
from tools import mockrun
from tools import plan as plan_cli
from tools.mockrun import Resource, Run

STACKS = [
    ("dev", "vip"),
    ("dev", "managed"),
    ("prod", "managed"),
    ("prod", "vip"),
    ("staging", "managed"),
    ("staging", "vip"),
]
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's unknown string in a preview


def report(stack: str, mode: str) -> Report:
    return evaluate(from_declared(plan(stack, database={"mode": mode})))


def test_the_rule_set_is_large_and_well_formed() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) >= 30
    assert len(set(ids)) == len(ids)
    for rule in RULES:
        assert rule.reason.endswith("."), rule.id
        assert rule.types, rule.id


@pytest.mark.parametrize(("stack", "mode"), STACKS)
def test_every_stack_and_mode_passes_every_rule(stack: str, mode: str) -> None:
    found = report(stack, mode)
    assert [(f.rule, f.where, f.message) for f in found.failures] == []


def test_every_exception_is_used_names_a_rule_and_gives_a_reason() -> None:
    used = {f.exception for s, m in STACKS for f in report(s, m).excepted}
    assert set(EXCEPTIONS) == used, "an exception no stack needs any more: remove it"
    ids = {r.id for r in RULES}
    for exception in EXCEPTIONS:
        assert exception.rule in ids
        assert len(exception.reason) > 40, exception


def test_an_exception_covers_only_its_resource_and_rule() -> None:
    run = plan("dev")
    found = evaluate(from_declared(run), exceptions=())
    excepted = {(f.rule, f.resource.name) for f in report("dev", "vip").excepted}
    assert {(f.rule, f.resource.name) for f in found.failures} == excepted


def _stack_file(tmp_path: Path, stack: str, **sections: Mapping[str, Any]) -> Path:
    overrides = {f"multitier:{section}": values for section, values in sections.items()}
    path = tmp_path / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump({"config": mockrun.stack_config(stack, overrides)}))
    return path


@pytest.mark.slow
def test_the_plan_fails_on_a_violation_and_says_which(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _stack_file(tmp_path, "prod", app={"loadBalancer": {"deletionProtection": False}})
    assert plan_cli.main(["prod", "--stack-file", str(path)]) == 1
    out, err = capsys.readouterr()
    assert "FAIL  alb-deletion-protection-prod" in out
    assert "alb-deletion-protection-prod: LoadBalancer 'app': deletion protection is off" in out
    assert "1 policy violations" in err


def test_the_plan_prints_results_exceptions_with_reasons_and_reachability(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "plan.json"
    assert plan_cli.main(["dev", "--json", str(target)]) == 0
    out = capsys.readouterr().out
    policy = out.index("Policy: ")
    assert out.index(" resources in ") < policy < out.index("Reachability") < out.index("Outputs:")
    assert f"Policy: {len(RULES)} rules; " in out
    assert ", 0 failed," in out
    applied = {f.exception for f in evaluate(from_declared(plan("dev"))).excepted}
    assert applied
    for exception in applied:
        assert exception is not None
        assert f"reason: {exception.reason}" in out
    assert "internet          -> alb tcp/80; bastion tcp/2222 from 203.0.113.10/32" in out

    written = json.loads(target.read_text())
    assert written["policy"]["passed"] is True
    assert {r["id"] for r in written["policy"]["rules"]} == {r.id for r in RULES}
    excepted = [e for r in written["policy"]["rules"] for e in r["exceptions"]]
    assert excepted
    assert all(e["reason"] for e in excepted)
    assert written["reachability"]["alb"] == {"app": ["tcp/80"]}


# The policy pack: the same rules and exceptions, through pulumi-policy's own types.


def _violations(policy: Any, args: Any) -> list[tuple[str, str | None]]:
    found: list[tuple[str, str | None]] = []
    policy.validate(args, lambda message, urn=None: found.append((message, urn)))
    return found


def _policy(rule_id: str) -> Any:
    return next(p for p in pulumi_pack.policies() if p.name == rule_id)


def _resource_args(type_: str, name: str, props: Mapping[str, Any]) -> ResourceValidationArgs:
    urn = f"urn:pulumi:prod::multitier::{type_}::{name}"
    return ResourceValidationArgs(
        type_, unknown_checking_proxy(dict(props)), urn, name, policy_pack_probe.options(), None
    )


def test_the_pack_has_one_policy_per_rule_of_the_right_kind() -> None:
    built = {p.name: p for p in pulumi_pack.policies()}
    assert set(built) == {r.id for r in RULES}
    for rule in RULES:
        kind = StackValidationPolicy if rule.needs_stack else ResourceValidationPolicy
        assert isinstance(built[rule.id], kind), rule.id
        assert built[rule.id].description == rule.reason


def test_a_resource_policy_reports_violations_and_honours_exceptions() -> None:
    imds = _policy("ec2-imdsv2")
    template = LAUNCH_TEMPLATE
    broken = _resource_args(template, "app", {"metadataOptions": {"httpTokens": "optional"}})
    assert _violations(imds, broken) == [
        ("app: metadataOptions.httpTokens is not 'required'", broken.urn)
    ]
    fixed = _resource_args(template, "app", {"metadataOptions": {"httpTokens": "required"}})
    assert _violations(imds, fixed) == []

    in_vpc = _policy("lambda-in-vpc")
    function = FUNCTION
    assert _violations(in_vpc, _resource_args(function, "other", {"runtime": "python3.13"}))
    assert not _violations(in_vpc, _resource_args(function, "database-failover", {}))


def test_a_value_unknown_in_a_preview_is_judged_later_not_failed() -> None:
    imds = _policy("ec2-imdsv2")
    args = _resource_args(LAUNCH_TEMPLATE, "app", {"metadataOptions": UNKNOWN})
    assert _violations(imds, args) == []


def _pack_violations(run: Run) -> list[tuple[str, str, str | None]]:
    records = [policy_pack_probe.record(r) for r in run.resources]
    return policy_pack_probe.violations(pulumi_pack.policies(), records)


@pytest.mark.parametrize(("stack", "mode"), STACKS)
def test_the_pack_agrees_with_the_plan_on_the_real_program(stack: str, mode: str) -> None:
    assert _pack_violations(plan(stack, database={"mode": mode})) == []


# The app's roles and the master secret, on the real program

MASTER_SECRET_RULE = next(r for r in RULES if r.id == "iam-app-no-master-secret")
WITH_CACHE = [("dev", "vip"), ("staging", "managed"), ("prod", "vip")]


def _state(run: Run, urn: str) -> dict[str, object]:
    resource = run.by_urn(urn)
    assert resource is not None, urn
    return resource.state


def _master(run: Run) -> Resource:
    (master,) = [r for r in run.of_type(SECRET) if r.inputs["tags"].get(SECRET_TAG) == "master"]
    return master


def _hosts_reading_the_master(run: Run) -> list[Resource]:
    """The run's resources, the app hosts' policy made from the master secret too."""
    master = _master(run).urn

    def worse(r: Resource) -> Resource:
        deps = {**r.dependencies, "policy": (*r.dependencies["policy"], master)}
        return dataclasses.replace(r, dependencies=deps)

    return [
        worse(r) if (r.type, r.name) == (ROLE_POLICY, "app-hosts") else r for r in run.resources
    ]


def _master_rule_findings(stack: Stack) -> list[tuple[str, str]]:
    result = evaluate(stack, rules=[MASTER_SECRET_RULE], exceptions=()).results[0]
    assert result.judged
    return [(f.resource.name, f.message) for f in result.failures]


@pytest.mark.parametrize(("stack", "mode"), WITH_CACHE)
def test_the_app_hosts_role_reading_the_master_secret_fails(stack: str, mode: str) -> None:
    run = plan(stack, database={"mode": mode}, app={"cache": {"enabled": True}})
    worse = dataclasses.replace(run, resources=_hosts_reading_the_master(run))
    assert [name for name, _ in _master_rule_findings(from_declared(worse))] == ["app-hosts"]


def test_the_app_hosts_role_is_found_through_their_launch_template_without_its_tag() -> None:
    run = plan("staging")
    worse = from_declared(dataclasses.replace(run, resources=_hosts_reading_the_master(run)))

    def untagged(r: Res) -> Res:
        tags = {k: v for k, v in r.tags.items() if k != COMPONENT_TAG}
        return dataclasses.replace(r, props={**r.props, "tags": tags})

    stack = Stack(worse.name, [untagged(r) if r.type == ROLE else r for r in worse])
    assert [name for name, _ in _master_rule_findings(stack)] == ["app-hosts"]


def test_once_aws_gives_the_arns_the_rule_judges_them() -> None:
    """The engine's outputs, as a stack policy sees them on `pulumi up`: the secrets' ARNs are
    known, and the hosts' document is judged by the ARNs it names."""
    run = plan("staging")
    deployed = Stack(
        run.stack, [dataclasses.replace(r, props=_state(run, r.urn)) for r in run.view]
    )
    assert _master_rule_findings(deployed) == []
    master_arn = _master(run).state["arn"]

    def worse(r: Res) -> Res:
        document = json.loads(r.props["policy"])
        document["Statement"][0]["Resource"].append(master_arn)
        return dataclasses.replace(r, props={**r.props, "policy": json.dumps(document)})

    hosts = [worse(r) if (r.type, r.name) == (ROLE_POLICY, "app-hosts") else r for r in deployed]
    assert _master_rule_findings(Stack(run.stack, hosts)) == [
        (
            "app-hosts",
            "lets app role 'app-hosts' read the master secret 'database-master': "
            f"secretsmanager:GetSecretValue on {master_arn}",
        )
    ]


def test_the_pack_flags_the_app_hosts_role_reading_the_master_secret() -> None:
    run = plan("staging")
    records = [policy_pack_probe.record(r) for r in _hosts_reading_the_master(run)]
    found = policy_pack_probe.violations(pulumi_pack.policies(), records)
    assert [(policy, message.split(":")[0]) for policy, message, _ in found] == [
        ("iam-app-no-master-secret", "app-hosts")
    ]
