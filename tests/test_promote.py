"""Promotion: `tools.promote` copies `multitier:app.release` between stack files, and nothing else.

Each test works in a temporary git repository holding committed copies of the stack files; the
promotions run the real offline plan, so the chain is run once and shared by the tests that read
its results.
"""

from __future__ import annotations

import dataclasses
import io
import shutil
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

import cfncheck
from policy.types import VPC
from tests.release_repo import (
    NEW_RELEASE,
    commit,
    edit,
    git,
    make_repo,
    release_block,
    release_of,
    set_release,
    stack_file,
    without_release,
)
from tools import promote
from tools.mockrun import ROOT

# Slow (promotions plan both stacks and run the schema check): in `make test`, not `make check`.
pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Step:
    """One promotion: the target file before and after, and what the command printed."""

    source: str
    target: str
    code: int
    before: str
    after: str
    out: str
    err: str
    commit: str = ""
    """`git log -1` after it: id, message and the files the commit changed."""


@dataclass(frozen=True)
class Chain:
    dev: str
    """dev's file, whose release travels."""
    steps: list[Step]


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Chain:
    """dev gets a new release; it is promoted to staging (from the command line), which commits
    it, then from staging to prod (in-process)."""
    root = make_repo(tmp_path_factory.mktemp("chain"))
    set_release(root, "dev", NEW_RELEASE)
    steps = []
    for source, target in (("dev", "staging"), ("staging", "prod")):
        before = stack_file(root, target).read_text()
        if source == "dev":
            result = subprocess.run(
                [sys.executable, "-m", "tools.promote", source, target, "--root", str(root)],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=False,
            )
            code, out, err = result.returncode, result.stdout, result.stderr
        else:
            printed, complained = io.StringIO(), io.StringIO()
            with redirect_stdout(printed), redirect_stderr(complained):
                code = promote.main([source, target, "--root", str(root)])
            out, err = printed.getvalue(), complained.getvalue()
        steps.append(
            Step(source, target, code, before, stack_file(root, target).read_text(), out, err)
        )
        head = git(root, "log", "-1", "--format=%H%x00%B", "--name-only")
        steps[-1] = dataclasses.replace(steps[-1], commit=head)
    return Chain(stack_file(root, "dev").read_text(), steps)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


def refuse(root: Path, capsys: pytest.CaptureFixture[str], source: str, target: str) -> str:
    """Run a promotion that must be refused; return its one-paragraph message.

    The target file, when there is one, must come out byte for byte as it went in.
    """
    target_file = stack_file(root, target)
    before = target_file.read_bytes() if target_file.exists() else None
    code = promote.main([source, target, "--root", str(root)])
    out, err = capsys.readouterr()
    assert code != 0, f"promoting {source} to {target} was not refused:\n{out}"
    if before is not None:
        assert target_file.read_bytes() == before, f"{target_file.name} was written"
    assert err.startswith("error: refusing to promote"), err
    assert "Wrote " not in out
    return " ".join(err.split())


def test_each_promotion_of_the_chain_succeeds(chain: Chain) -> None:
    for step in chain.steps:
        assert step.code == 0, f"{step.source} -> {step.target}:\n{step.out}\n{step.err}"
        assert step.err == ""


def test_the_chain_carries_the_dev_release_to_prod(chain: Chain) -> None:
    released = release_of(chain.dev)
    assert released["version"] == "2.0.0"
    for step in chain.steps:
        assert release_of(step.after) == released, step.target


def test_promotion_changes_only_the_release_mapping(chain: Chain) -> None:
    for step in chain.steps:
        assert without_release(step.after) == without_release(step.before), step.target


def test_promotion_changes_only_the_lines_of_the_release_block(chain: Chain) -> None:
    source_start, source_end = release_block(chain.dev)
    copied = chain.dev.splitlines(keepends=True)[source_start:source_end]
    for step in chain.steps:
        before, after = step.before.splitlines(keepends=True), step.after.splitlines(keepends=True)
        start, end = release_block(step.before)
        new_end = start + len(copied)
        assert after[:start] == before[:start], f"{step.target}: lines above the release changed"
        assert after[new_end:] == before[end:], f"{step.target}: lines below the release changed"
        assert after[start:new_end] == copied, f"{step.target}: the block is not the source's"


def test_promotion_keeps_every_comment_of_the_target(chain: Chain) -> None:
    for step in chain.steps:
        comments = [line for line in step.before.splitlines() if line.strip().startswith("#")]
        assert len(comments) >= 2, f"{step.target}: the committed file should have comments"
        kept = step.after.splitlines()
        for comment in comments:
            assert comment in kept, f"{step.target}: lost the comment {comment.strip()!r}"
        # The target's own comment on its release block stays: it says where releases come from.
        assert "    # The release: promoted from " in step.after


def test_promotion_keeps_the_key_order(chain: Chain) -> None:
    def keys(value: Any, path: str = "") -> list[str]:
        if not isinstance(value, dict):
            return []
        return [k for key, v in value.items() for k in [f"{path}/{key}", *keys(v, f"{path}/{key}")]]

    for step in chain.steps:
        before, after = keys(yaml.safe_load(step.before)), keys(yaml.safe_load(step.after))
        assert [k for k in after if "/release" not in k] == [
            k for k in before if "/release" not in k
        ], step.target


def test_promotion_prints_the_diff_of_the_target_and_the_plans_it_passed(chain: Chain) -> None:
    for step in chain.steps:
        name = f"Pulumi.{step.target}.yaml"
        assert f"--- a/{name}\n+++ b/{name}\n" in step.out
        assert '-      version: "1.27"\n' in step.out
        assert '+      version: "2.0.0"\n' in step.out
        assert '+        FEATURE_CHECKOUT_V2: "on"\n' in step.out
        assert f"  {step.source}: the offline plan passes the security policy" in step.out
        assert f"Committed {name}" in step.out


def test_each_promotion_is_committed_alone_with_the_checks_it_passed(chain: Chain) -> None:
    for step in chain.steps:
        message, _, files = step.commit.partition("\x00")[2].strip().rpartition("\n\n")
        assert message.startswith(f"Promote {step.source} to {step.target}: version 2.0.0\n")
        assert f"Promoted-from: {step.source}\n" in message
        assert "Passed: stack config\n" in message
        assert "Passed: AWS schema check (cfn-lint " in message
        assert "Passed: security policy (" in message and "Failed:" not in message
        assert files.split() == [f"Pulumi.{step.target}.yaml"]


def test_the_same_stack_is_refused(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    message = refuse(repo, capsys, "prod", "prod")
    assert "name two different stacks" in message
    assert "dev, prod, staging" in message


@pytest.mark.parametrize(("source", "target"), [("qa", "prod"), ("dev", "qa")])
def test_an_unknown_stack_is_refused_naming_the_stacks_that_exist(
    repo: Path, capsys: pytest.CaptureFixture[str], source: str, target: str
) -> None:
    message = refuse(repo, capsys, source, target)
    assert "there is no stack 'qa' (no Pulumi.qa.yaml in" in message
    assert "the stacks are dev, prod, staging" in message


def test_an_unchanged_release_is_refused(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    message = refuse(repo, capsys, "staging", "prod")
    assert "Pulumi.prod.yaml already runs the release of Pulumi.staging.yaml" in message
    assert "nothing to promote" in message


def test_the_same_release_written_differently_is_unchanged(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(repo, "staging", 'version: "1.27"', "version: '1.27'")
    commit(repo, "staging quotes differently")
    assert "nothing to promote" in refuse(repo, capsys, "staging", "prod")


def test_promoting_past_a_stack_of_the_chain_is_refused_naming_it(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    set_release(repo, "dev", NEW_RELEASE)
    message = refuse(repo, capsys, "dev", "prod")
    assert "prod is promoted from staging (multitier:promotion.from in Pulumi.prod.yaml)" in (
        message
    )
    assert "`make promote FROM=staging TO=prod`" in message


def test_a_stack_promoted_from_no_stack_is_refused(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    set_release(repo, "staging", NEW_RELEASE)
    message = refuse(repo, capsys, "staging", "dev")
    assert "Pulumi.dev.yaml names no stack that dev is promoted from" in message


@pytest.mark.parametrize(
    ("change", "state"),
    [
        ("modified", "has uncommitted changes"),
        ("staged", "has staged, uncommitted changes"),
    ],
)
def test_a_target_with_uncommitted_edits_is_refused(
    repo: Path, capsys: pytest.CaptureFixture[str], change: str, state: str
) -> None:
    set_release(repo, "dev", NEW_RELEASE)
    edit(repo, "prod", "minSize: 2", "minSize: 3")
    if change == "staged":
        git(repo, "add", "Pulumi.prod.yaml")
    message = refuse(repo, capsys, "dev", "prod")
    assert f"refusing to promote dev to prod: Pulumi.prod.yaml {state}" in message
    assert "Commit or discard the changes first" in message


def test_an_uncommitted_source_release_is_refused(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    set_release(repo, "dev", NEW_RELEASE)
    edit(repo, "dev", "2.0.0", "2.0.1")  # tried in dev, never committed
    message = refuse(repo, capsys, "dev", "staging")
    assert "Pulumi.dev.yaml has uncommitted changes" in message
    assert "only a release that was committed, and reviewed, moves on" in message


def test_an_untracked_target_is_refused(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    set_release(repo, "dev", NEW_RELEASE)
    shutil.copy(stack_file(repo, "staging"), stack_file(repo, "qa"))
    message = refuse(repo, capsys, "dev", "qa")
    assert "Pulumi.qa.yaml is not tracked by git. Commit it first" in message


def test_a_source_that_fails_the_security_policy_is_refused(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # prod is a production stack: its load balancer must have deletion protection.
    set_release(repo, "prod", NEW_RELEASE)
    edit(repo, "prod", "    loadBalancer:\n      deletionProtection: true", "    loadBalancer:")
    edit(repo, "staging", "from: dev", "from: prod")
    commit(repo, "prod without ALB deletion protection; staging takes prod's releases")
    message = refuse(repo, capsys, "prod", "staging")
    assert "the offline plan of prod (Pulumi.prod.yaml) fails 1 security rule" in message
    assert "alb-deletion-protection-prod: LoadBalancer 'app'" in message
    assert "fix Pulumi.prod.yaml (`make plan STACK=prod` shows the plan)" in message
    assert "Pulumi.staging.yaml is unchanged" in message


def test_a_source_with_bad_config_is_refused(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    set_release(repo, "dev", NEW_RELEASE)
    edit(repo, "dev", "natMode: instance", "natMode: dual")
    commit(repo, "dev with a bad NAT mode")
    message = refuse(repo, capsys, "dev", "staging")
    assert "Pulumi.dev.yaml is not valid stack config: multitier:network.natMode = 'dual'" in (
        message
    )


def test_a_source_that_fails_the_aws_schema_check_is_refused(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # No valid release makes the schema check fail today: a stand-in gap in its table does.
    real = cfncheck.validate

    def failing(resources: Any, region: str) -> Any:
        report = real(resources, region)
        return dataclasses.replace(report, unmapped=[(VPC, "brandNewInput")])

    monkeypatch.setattr(cfncheck, "validate", failing)
    set_release(repo, "dev", NEW_RELEASE)
    message = refuse(repo, capsys, "dev", "staging")
    assert "Pulumi.dev.yaml fails the AWS schema check:" in message
    assert "Nothing was written" in message


def test_a_target_whose_plan_would_fail_is_refused(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    set_release(repo, "staging", NEW_RELEASE)
    edit(repo, "prod", "    multiAz: true\n", "")
    commit(repo, "prod's database single-AZ")
    message = refuse(repo, capsys, "staging", "prod")
    assert "with staging's release, the offline plan of prod fails 1 security rule" in message
    assert "rds-multi-az-prod: Instance 'database'" in message
    assert "Pulumi.prod.yaml is unchanged" in message
    assert git(repo, "status", "--porcelain") == ""


def test_a_target_that_would_fail_the_aws_schema_check_is_refused(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real, calls = cfncheck.validate, []

    def failing_second(resources: Any, region: str) -> Any:  # the source passes, the target not
        calls.append(region)
        report = real(resources, region)
        return dataclasses.replace(report, unmapped=[(VPC, "brandNewInput")] * (len(calls) > 1))

    monkeypatch.setattr(cfncheck, "validate", failing_second)
    set_release(repo, "dev", NEW_RELEASE)
    message = refuse(repo, capsys, "dev", "staging")
    assert "Pulumi.staging.yaml with dev's release fails the AWS schema check:" in message
    assert git(repo, "status", "--porcelain") == ""


def test_a_target_without_a_release_block_is_refused(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    set_release(repo, "dev", NEW_RELEASE)
    set_release(repo, "staging", "")
    message = refuse(repo, capsys, "dev", "staging")
    assert "Pulumi.staging.yaml has no multitier:app.release mapping" in message


@pytest.mark.parametrize(
    ("release", "kept"),
    [
        ("  release:  # what runs\n    image: old\n    version: old\n", "  release:  # what runs"),
        ("      release:\n          image: old\n          version: old\n", "      release:"),
        ("  release: {image: old, version: old}\n", None),
    ],
    ids=["indent-2", "indent-6", "flow"],
)
def test_the_block_is_reindented_to_the_layout_of_the_target(release: str, kept: str | None):
    source = stack_file(ROOT, "dev").read_text().replace("1.27", "2.0")
    column = len(release) - len(release.lstrip())
    target = (
        "# laid out differently\n"
        "config:\n"
        f"{' ' * (column // 2)}multitier:app:\n"
        f"{release}"
        f"{' ' * column}port: 80\n"
    )
    promoted = promote.splice(source, Path("Pulumi.dev.yaml"), target, Path("Pulumi.x.yaml"))
    assert release_of(promoted) == release_of(source)
    lines = promoted.splitlines()
    assert lines[:3] == target.splitlines()[:3]
    assert lines[3] == (kept or f"{' ' * column}release:")
    assert lines[4] == f"{' ' * (column + 2)}image: public.ecr.aws/nginx/nginx:2.0"
    assert lines[5:] == [f'{" " * (column + 2)}version: "2.0"', f"{' ' * column}port: 80"]


def test_comments_after_the_last_release_line_stay_with_the_file_they_are_in() -> None:
    block = "    release:\n      image: {0}\n      version: {0}\n      # about {1}'s next key\n"
    source = f"config:\n  multitier:app:\n{block.format('new', 'source')}    port: 80\n"
    target = f"config:\n  multitier:app:\n{block.format('old', 'target')}    port: 80\n"
    promoted = promote.splice(source, Path("Pulumi.a.yaml"), target, Path("Pulumi.b.yaml"))
    assert promoted == target.replace("old", "new")
