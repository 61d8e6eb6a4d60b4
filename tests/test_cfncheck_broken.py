"""The schema check fails a deliberately broken resource and names its resource and input."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

import cfncheck
from policy.types import LAUNCH_TEMPLATE, SG
from tests.conftest import plan
from tools import mockrun
from tools import plan as plan_command
from tools.mockrun import Resource

# Slow (the AWS schema check): in `make test`, not `make check`.
pytestmark = pytest.mark.slow

SECURITY_GROUP = SG


def broken(type_: str, name: str, **inputs: Any) -> list[Resource]:
    """The dev stack's resources, with these inputs of one resource replaced."""
    return [
        dataclasses.replace(r, inputs={**r.inputs, **inputs})
        if (r.type, r.name) == (type_, name)
        else r
        for r in plan("dev").resources
    ]


def errors(resources: list[Resource]) -> list[str]:
    return [str(finding) for finding in cfncheck.validate(resources, "eu-west-1").errors]


def test_an_apostrophe_in_a_group_description_is_an_error_naming_group_and_input():
    found = errors(broken(SECURITY_GROUP, "app-alb", description="The ALB's group"))
    expected = "SecurityGroup 'app-alb' description (GroupDescription): E3031"
    assert [e for e in found if e.startswith(expected)], found


def test_an_instance_type_the_region_lacks_is_an_error_naming_template_and_input():
    found = errors(broken(LAUNCH_TEMPLATE, "app", instanceType="t3.mega"))
    expected = "LaunchTemplate 'app' instanceType (LaunchTemplateData.InstanceType): E3628"
    assert [e for e in found if e.startswith(expected)], found


def test_an_input_the_table_does_not_know_fails_the_check():
    report = cfncheck.validate(broken(SECURITY_GROUP, "app-alb", fancyNewInput=True), "eu-west-1")
    assert report.unmapped == [(SECURITY_GROUP, "fancyNewInput")]
    assert not report.passed


def test_a_type_the_table_does_not_know_fails_the_check():
    resources = [
        dataclasses.replace(r, type="aws:ec2/fancy:Fancy") if r.name == "app-alb" else r
        for r in plan("dev").resources
        if r.type == SECURITY_GROUP
    ]
    report = cfncheck.validate(resources, "eu-west-1")
    assert ("aws:ec2/fancy:Fancy", "*") in report.unmapped
    assert not report.passed


def test_the_plan_exits_1_and_names_the_error(tmp_path: Path, capsys: Any):
    config = yaml.safe_load((mockrun.ROOT / "Pulumi.dev.yaml").read_text())
    config["config"]["multitier:app"]["instanceType"] = "t3.mega"  # passes the config's pattern
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text(yaml.safe_dump(config))
    assert plan_command.main(["dev", "--stack-file", str(stack_file)]) == 1
    out = capsys.readouterr()
    assert "LaunchTemplate 'app' instanceType (LaunchTemplateData.InstanceType): E3628" in out.out
    assert "AWS schema check errors" in out.err


def test_a_finding_on_a_secret_input_does_not_print_the_secret():
    resources = [
        dataclasses.replace(
            r, inputs={**r.inputs, "description": "it's secret"}, secrets=frozenset({"description"})
        )
        if (r.type, r.name) == (SECURITY_GROUP, "app-alb")
        else r
        for r in plan("dev").resources
    ]
    found = errors(resources)
    assert [e for e in found if e.startswith("SecurityGroup 'app-alb' description")], found
    assert not [e for e in found if "it's secret" in e]
