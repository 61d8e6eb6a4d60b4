"""The policy pack as it is published: built by tools/policy_pack.py, copied away from the
repository and run with nothing of it on the path, it judges the real program as the rules do here.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import yaml

from policy.evaluate import evaluate
from policy.model import from_declared
from policy.rules import RULES
from tests import policy_pack_probe
from tests.conftest import plan
from tools import policy_pack
from tools.mockrun import Run

PROBE = Path(policy_pack_probe.__file__)


def _runs() -> dict[str, Run]:
    return {
        "dev": plan("dev"),
        "prod, vip": plan("prod", database={"mode": "vip"}),
        "prod, unprotected": plan(
            "prod",
            app={"loadBalancer": {"deletionProtection": False}},
            database={"deletionProtection": False},
        ),
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return policy_pack.build(tmp_path_factory.mktemp("build") / "policy-pack")


@pytest.fixture(scope="module")
def probed(built: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The pack run from a copy of its directory alone, over the stacks of `_runs`."""
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    copy = shutil.copytree(built, elsewhere / "pack")
    probe = shutil.copy(PROBE, elsewhere / PROBE.name)
    stacks = elsewhere / "stacks.json"
    records = {
        s: [policy_pack_probe.record(r) for r in run.resources] for s, run in _runs().items()
    }
    stacks.write_text(json.dumps(records))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-I", str(probe), str(copy), str(stacks)],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    found: dict[str, Any] = json.loads(done.stdout)
    found["copy"] = copy
    return found


def test_the_built_pack_holds_its_files_a_copy_of_the_rules_and_pinned_requirements(
    built: Path,
) -> None:
    assert sorted(p.name for p in built.iterdir()) == [
        ".gitignore",
        "PulumiPolicy.yaml",
        "__main__.py",
        "policy",
        "requirements.txt",
    ]
    assert (built / "policy" / "rules" / "network.py").is_file()
    assert not (built / "policy" / "pack").exists()
    assert yaml.safe_load((built / "PulumiPolicy.yaml").read_text())["runtime"]["name"] == "python"
    assert f"{policy_pack.VENV}/" in (built / ".gitignore").read_text().splitlines()


def test_the_packs_requirements_are_the_repositorys_pins(built: Path) -> None:
    repository = {
        line
        for path in policy_pack.PINNED
        for line in path.read_text().splitlines()
        if "==" in line
    }
    requirements = policy_pack.names(built / "requirements.txt")
    assert [r.split("==")[0] for r in requirements] == policy_pack.names(policy_pack.WANTED)
    assert set(requirements) <= repository
    assert "pulumi-policy==1.21.0" in requirements


def test_the_build_refuses_a_requirement_the_repository_does_not_pin() -> None:
    with pytest.raises(policy_pack.PackError, match="names left-pad, which no"):
        policy_pack.pinned(["pulumi", "left-pad"], {"pulumi": "3.0.0"})


def test_a_rebuild_keeps_the_venv_only_while_the_requirements_stay(tmp_path: Path) -> None:
    earlier = policy_pack.build(tmp_path / "pack")
    (earlier / policy_pack.VENV).mkdir()
    (earlier / "policy" / "stale.py").write_text("")
    again = policy_pack.build(earlier)
    assert (again / policy_pack.VENV).is_dir()
    assert not (again / "policy" / "stale.py").exists()
    (again / "requirements.txt").write_text("pulumi-policy==1.0.0\n")  # built from older pins
    assert not (policy_pack.build(again) / policy_pack.VENV).exists()


def test_the_build_replaces_an_earlier_build_but_nothing_else(tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(policy_pack.PackError, match="is not a policy pack"):
        policy_pack.build(tmp_path / "other")
    assert (tmp_path / "other" / "notes.txt").read_text() == "mine"


def test_the_copied_pack_imports_the_rules_from_its_own_directory(probed: dict[str, Any]) -> None:
    assert Path(probed["policy"]).is_relative_to(probed["copy"])
    assert probed["name"] == "multitier-security"
    assert probed["policies"] == [r.id for r in RULES]


@pytest.mark.parametrize("stack", list(_runs()))
def test_the_copied_pack_agrees_with_the_rules_on_the_real_program(
    probed: dict[str, Any], stack: str
) -> None:
    run = _runs()[stack]
    from_rules = {(f.rule, f.resource.urn) for f in evaluate(from_declared(run)).failures}
    from_pack = {(rule, urn) for rule, _, urn in probed["violations"][stack]}
    assert from_pack == from_rules
    if stack == "prod, unprotected":
        assert {rule for rule, _ in from_pack} == {
            "alb-deletion-protection-prod",
            "rds-deletion-protection-prod",
        }


def test_what_the_copied_pack_loads_its_requirements_install(
    probed: dict[str, Any], built: Path
) -> None:
    installed = _closure(policy_pack.names(built / "requirements.txt"))
    providers = metadata.packages_distributions()
    outside = {
        module: providers.get(module, ["no distribution"])
        for module in probed["modules"]
        if not {policy_pack.normalise(d) for d in providers.get(module, [])} & installed
    }
    assert outside == {}


def _closure(requirements: list[str]) -> set[str]:
    """The distributions `requirements` install: them and, transitively, what they require."""
    pending = [r.split("==")[0] for r in requirements]
    found: set[str] = set()
    while pending:
        name = policy_pack.normalise(pending.pop())
        if name in found:
            continue
        found.add(name)
        for requirement in metadata.requires(name) or []:
            if "extra ==" not in requirement:
                pending.append(re.split(r"[^A-Za-z0-9._-]", requirement, maxsplit=1)[0])
    return found
