"""The program as a whole: structure, tags, the offline plan command."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from policy.rules.network import EC2_DESCRIPTION
from policy.types import SG, VPC
from tests.conftest import plan
from tools.config_doc import END, README, RULES_END, RULES_START, START, reference, rules_reference
from tools.mockrun import Run

# Slow (the plan command, whole, as a subprocess): `make test` runs it, `make check` does not.
pytestmark = pytest.mark.slow

TAGGED_KEYS = {"Project", "Environment", "Component", "ManagedBy"}


def test_every_resource_is_a_child_of_a_component(stack):
    run = plan(stack)
    for resource in run.resources:
        if resource.custom:
            owner = run.component_of(resource)
            assert owner is not None, f"{resource.type} {resource.name} has no component"
        else:
            assert resource.type.startswith("multitier:"), resource.type


def test_every_taggable_resource_carries_the_common_tags(stack):
    run = plan(stack)
    taggable = [r for r in run.resources if r.custom and "tags" in r.inputs]
    assert len(taggable) > 20
    for resource in taggable:
        tags = resource["tags"]
        if isinstance(tags, list):  # Auto Scaling groups
            assert all(t["propagateAtLaunch"] for t in tags), resource.name
            tags = {t["key"]: t["value"] for t in tags}
        assert set(tags) >= TAGGED_KEYS, f"{resource.type} {resource.name}: {sorted(tags)}"
        assert tags["Environment"] == stack
        owner = run.component_of(resource)
        assert owner is not None
        assert tags["Component"] == owner.type.split(":")[1]


def test_plan_command_prints_components_and_outputs(stack):
    result = subprocess.run(
        [sys.executable, "-m", "tools.plan", stack], capture_output=True, text=True, check=True
    )
    assert f"Offline plan of stack '{stack}'" in result.stdout
    assert "multitier:network:VpcNetwork 'network'" in result.stdout
    assert "Outputs:" in result.stdout
    assert ("multitier:bastion:BastionHost" in result.stdout) == (stack == "dev")


def test_plan_command_prints_the_same_text_for_the_same_config():
    def run() -> str:
        command = [sys.executable, "-m", "tools.plan", "dev"]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout

    assert run() == run()


def test_plan_command_plans_another_program():
    result = subprocess.run(
        [sys.executable, "-m", "tools.plan", "example", "--program", "examples/web-on-existing-db"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "multitier:app:AppFleet 'app'" in result.stdout
    assert "PostgresHA" not in result.stdout


def test_plan_command_writes_json(tmp_path):
    target = tmp_path / "plan.json"
    subprocess.run(
        [sys.executable, "-m", "tools.plan", "dev", "--json", str(target)],
        check=True,
        capture_output=True,
    )
    document = json.loads(target.read_text())
    assert document["stack"] == "dev"
    assert any(r["type"] == VPC for r in document["resources"])


def test_readme_config_reference_matches_the_config_models():
    readme = README.read_text()
    assert f"{START}\n{reference()}{END}" in readme, "run: python -m tools.config_doc --write"


def test_readme_rule_table_matches_the_rules():
    readme = README.read_text()
    assert f"{RULES_START}\n{rules_reference()}{RULES_END}" in readme, (
        "run: python -m tools.config_doc --write"
    )


def _descriptions(run: Run) -> dict[str, str]:
    return {g.name: g["description"] for g in run.of_type(SG)}


def test_security_group_descriptions_hold_no_tunable():
    """AWS cannot update a description: a tunable in it would replace the group."""
    bastion = {"enabled": True, "allowedCidrs": ["203.0.113.0/24"]}
    before = _descriptions(plan("dev", bastion={**bastion, "sshPort": 2222}))
    after = _descriptions(plan("dev", bastion={**bastion, "sshPort": 2200}, app={"port": 8080}))
    assert before == after
    managed = _descriptions(plan("dev", database={"mode": "managed"}))
    assert managed["database"] == before["database"]


def test_security_group_descriptions_use_only_what_aws_allows(stack):
    for name, description in _descriptions(plan(stack)).items():
        assert EC2_DESCRIPTION.fullmatch(description), f"security group {name}: {description!r}"


def test_a_changed_description_never_replaces_a_deployed_group(stack):
    for group in plan(stack).of_type(SG):
        assert "description" in group.ignore_changes, group.name
