"""Builders for the rules' cases: hand-made resources and stacks, and running one rule on them.

`res` makes a resource whose `deps` name, per property, the resources its value came from, and
whose `waits_for` names what the engine creates first; `Case` is a broken stack and its fixed
twin, in which one rule flags exactly one resource, then nothing: they differ only in what the
rule is about, and resources carry the common tags unless the case is about tags, so each case
fails one rule for one reason. The check every rule module's table of cases runs
(tests/test_policy_rules_<module>.py) is here, and the resources several of them share.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pytest

from policy.evaluate import Finding, evaluate
from policy.model import Res, Stack
from policy.rules import RULES, Rule
from policy.taggable import is_taggable
from policy.types import ASG, INGRESS, LB, LOG_GROUP, SG, VPC

Props = dict[str, Any]

RULE: dict[str, Rule] = {r.id: r for r in RULES}
TAGS = {"Project": "multitier", "Environment": "test", "ManagedBy": "pulumi", "Component": "test"}
_STACK = "any"  # the stack segment of URNs built by `res`; `stack` rewrites it


def res(
    type_: str,
    name: str,
    /,
    deps: Mapping[str, Sequence[Res]] | None = None,
    *,
    after: Sequence[Res] = (),
    **props: Any,
) -> Res:
    """A resource whose `deps` name, per property, the resources its value came from. Taggable
    resources get the common tags unless `tags` is given."""
    if "tags" not in props and is_taggable(type_):
        props["tags"] = asg_tags(TAGS) if type_ == ASG else dict(TAGS)
    return Res(
        urn=f"urn:pulumi:{_STACK}::multitier::{type_}::{name}",
        type=type_,
        name=name,
        props=props,
        deps={prop: tuple(r.urn for r in refs) for prop, refs in (deps or {}).items()},
        # What the engine waits for: the input dependencies, and `after` (depends_on).
        waits_for=tuple(
            sorted({r.urn for refs in (deps or {}).values() for r in refs} | {r.urn for r in after})
        ),
    )


def stack(name: str, resources: Sequence[Res]) -> Stack:
    """The resources as stack `name` declares them: their URNs, and those in deps, name it."""

    def move(urn: str) -> str:
        return urn.replace(f"urn:pulumi:{_STACK}::", f"urn:pulumi:{name}::", 1)

    return Stack(
        name,
        [
            replace(
                r,
                urn=move(r.urn),
                deps={p: tuple(map(move, u)) for p, u in r.deps.items()},
                waits_for=tuple(map(move, r.waits_for)),
            )
            for r in resources
        ],
    )


def asg_tags(tags: Mapping[str, str]) -> list[Props]:
    """Tags as Auto Scaling groups take them."""
    return [{"key": k, "value": v, "propagateAtLaunch": True} for k, v in tags.items()]


def ingress(name: str, group: Res, port: int, source: str | Res, **props: Any) -> Res:
    """A separate tcp ingress rule on `group` from a CIDR or from another group."""
    deps: dict[str, list[Res]] = {"securityGroupId": [group]}
    if isinstance(source, Res):
        deps["referencedSecurityGroupId"] = [source]
    else:
        props["cidrIpv6" if ":" in source else "cidrIpv4"] = source
    props = {"ipProtocol": "tcp", "fromPort": port, "toPort": port, **props}
    props.setdefault("description", f"{name} on {port}")
    return res(INGRESS, name, deps, **props)


def document(*statements: Props) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: str | list[str], resource: str | list[str]) -> Props:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


@dataclass(frozen=True)
class Case:
    rule: str
    about: str
    flags: Res
    """The one resource the rule flags in the broken stack; the fixed stack has it too."""
    broken: Sequence[Res]
    fixed: Sequence[Res]
    stack: str = "dev"

    @property
    def id(self) -> str:
        where = "" if self.stack == "dev" else f" ({self.stack})"
        return f"{self.rule}: {self.about}{where}"


def flip(
    rule: str,
    type_: str,
    bad: Props,
    good: Props,
    *,
    base: Props | None = None,
    stack: str = "dev",
    about: str | None = None,
) -> Case:
    """A case about one resource's own properties: `base` with `bad`, then with `good`. A None
    in `bad` or `good` leaves that property of `base` out."""

    def build(change: Props) -> Res:
        props = {k: v for k, v in {**(base or {}), **change}.items() if v is not None}
        return res(type_, "subject", **props)

    broken = build(bad)
    about = about or f"{type_.rsplit(':', 1)[-1]} " + ", ".join(f"{k}={v}" for k, v in bad.items())
    return Case(rule, about, broken, [broken], [build(good)], stack)


def judge(
    rule: Rule, resources: Sequence[Res], stack_name: str = "dev"
) -> tuple[int, list[Finding]]:
    """How many resources `rule` judged in the stack, and what it found."""
    result = evaluate(stack(stack_name, resources), rules=[rule], exceptions=()).results[0]
    return result.judged, result.failures


def key(resource: Res) -> tuple[str, str]:
    return resource.type, resource.name


def flagged(findings: Sequence[Finding]) -> set[tuple[str, str]]:
    return {key(f.resource) for f in findings}


def messages(findings: Sequence[Finding]) -> list[str]:
    return [f"{f.where}: {f.message}" for f in findings]


# The check every module's table of cases runs


def case_params(cases: Sequence[Case]) -> list[Any]:
    """The cases as test parameters named by `Case.id`."""
    return [pytest.param(c, id=c.id) for c in cases]


def flags_the_broken_and_passes_the_fixed(case: Case) -> None:
    """The case's rule flags exactly its resource in the broken stack and nothing in the fixed."""
    rule = RULE[case.rule]
    assert rule.judges(case.flags), f"{case.rule} does not judge {case.flags.type}"
    assert key(case.flags) in {key(r) for r in case.fixed}, "the fixed stack lacks the resource"

    _, failures = judge(rule, case.broken, case.stack)
    assert failures, f"{case.rule} passes the broken stack"
    assert flagged(failures) == {key(case.flags)}, messages(failures)
    assert all(f.message for f in failures)

    judged, failures = judge(rule, case.fixed, case.stack)
    assert judged
    assert not failures, messages(failures)


# Resources and settings the tests of several rule modules share

vpc = res(VPC, "main", cidrBlock="10.0.0.0/16")
alb_sg = res(SG, "alb", deps={"vpcId": [vpc]}, tags={**TAGS, "multitier:tier": "alb"})
app_sg = res(SG, "app", deps={"vpcId": [vpc]}, tags={**TAGS, "multitier:tier": "app"})
bastion_sg = res(SG, "bastion", deps={"vpcId": [vpc]}, tags={**TAGS, "multitier:tier": "bastion"})
alb = res(
    LB,
    "app",
    deps={"securityGroups": [alb_sg]},
    loadBalancerType="application",
    securityGroups=["sg-alb"],
)
ASG_OK: Props = {
    "launchTemplate": {"id": "lt-1", "version": "$Latest"},
    "vpcZoneIdentifiers": ["subnet-a", "subnet-b"],
    "targetGroupArns": ["arn:tg"],
    "healthCheckType": "ELB",
}
KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
DB_OK: Props = {
    "engine": "postgres",
    "instanceClass": "db.t4g.micro",
    "storageEncrypted": True,
    "publiclyAccessible": False,
    "backupRetentionPeriod": 7,
    "deletionProtection": True,
    "multiAz": True,
    "monitoringInterval": 60,
    "enabledCloudwatchLogsExports": ["postgresql", "upgrade"],
    "copyTagsToSnapshot": True,
    "autoMinorVersionUpgrade": True,
    "deleteAutomatedBackups": False,
    "skipFinalSnapshot": False,
    "finalSnapshotIdentifier": "db-final",
}
LB_OK: Props = {
    "loadBalancerType": "application",
    "dropInvalidHeaderFields": True,
    "enableDeletionProtection": True,
    "accessLogs": {"enabled": True, "bucket": "logs"},
}


def log_group(name: str, retention: int | None = 30) -> Res:
    resource_name = name.rsplit("/", 1)[-1]
    return res(LOG_GROUP, resource_name, name=name, retentionInDays=retention, kmsKeyId="arn:key")
