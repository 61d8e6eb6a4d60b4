"""Rollback: `tools.rollback` puts back the release a stack ran before its last promotion, from
git history, refused as a promotion is refused, and never twice.

Each test works in a temporary git repository holding committed copies of the stack files; the
rollbacks run the real offline plan of the stack.
"""

from __future__ import annotations

import dataclasses
import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import cfncheck
from policy.types import VPC
from tests.release_repo import (
    NEW_RELEASE,
    commit,
    edit,
    git,
    make_repo,
    release_of,
    set_release,
    stack_file,
    without_release,
)
from tools import promote, rollback
from tools.mockrun import ROOT
from tools.release_git import PromotionError

pytestmark = pytest.mark.slow  # each rollback plans a stack and runs the schema check

PINNED = """\
    release:
      image: r.example/shop:{0}
      version: "{0}"
      ami: ami-0{1}
"""


def promoted(root: Path, source: str, target: str) -> str:
    """Promote, which commits; return the commit's id."""
    assert promote.main([source, target, "--root", str(root)]) == 0
    return git(root, "rev-parse", "HEAD").strip()


def roll_back(root: Path, stack: str) -> tuple[int, str, str]:
    out = io.StringIO()
    try:
        rollback.rollback(stack, root, out)
    except PromotionError as refusal:
        return 1, out.getvalue(), " ".join(str(refusal).split())
    return 0, out.getvalue(), ""


def refused(root: Path, stack: str) -> str:
    path = stack_file(root, stack)
    before = path.read_bytes() if path.exists() else None
    code, out, message = roll_back(root, stack)
    assert code == 1, f"rolling back {stack} was not refused:\n{out}"
    if before is not None:
        assert path.read_bytes() == before, f"{path.name} was written"
    assert message.startswith(f"refusing to roll back {stack}"), message
    return message


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


@pytest.fixture
def bad_in_staging(repo: Path) -> tuple[Path, str, str]:
    """dev's new release promoted to staging: the repository, staging's file before, the
    promotion's commit."""
    before = stack_file(repo, "staging").read_text()
    set_release(repo, "dev", NEW_RELEASE)
    return repo, before, promoted(repo, "dev", "staging")


def test_a_rollback_puts_back_the_release_from_before_the_promotion(bad_in_staging):
    repo, before, promotion = bad_in_staging
    code, out, _ = roll_back(repo, "staging")
    assert code == 0
    assert stack_file(repo, "staging").read_text() == before, "only the release changed back"
    assert "Rolling staging back to image public.ecr.aws/nginx/nginx:1.27" in out
    assert git(repo, "status", "--porcelain") == ""
    message = git(repo, "log", "-1", "--format=%B")
    assert message.startswith("Roll back staging to version 1.27\n")
    assert f"Rollback-of: {promotion}\n" in message
    assert "Passed: AWS schema check (cfn-lint " in message
    assert git(repo, "log", "-1", "--name-only", "--format=").split() == ["Pulumi.staging.yaml"]


def test_a_second_rollback_does_not_reapply_the_bad_release(bad_in_staging):
    repo, before, promotion = bad_in_staging
    assert roll_back(repo, "staging")[0] == 0
    message = refused(repo, "staging")
    assert "it already runs the release from before its last promotion" in message
    assert promotion[:12] in message
    assert "A second rollback would not go further back" in message
    assert stack_file(repo, "staging").read_text() == before


def test_a_rollback_after_a_new_promotion_goes_back_to_the_rolled_back_release(bad_in_staging):
    repo, before, _ = bad_in_staging
    assert roll_back(repo, "staging")[0] == 0
    set_release(repo, "dev", PINNED.format("3.0", "123456789abcdef0"))
    promoted(repo, "dev", "staging")
    assert roll_back(repo, "staging")[0] == 0
    assert release_of(stack_file(repo, "staging").read_text()) == release_of(before)


def test_a_pinned_image_comes_back_with_its_release(repo: Path):
    set_release(repo, "dev", PINNED.format("2.0", "123456789abcdef0"))
    promoted(repo, "dev", "staging")
    set_release(repo, "dev", PINNED.format("3.0", "fedcba987654321f"))
    promoted(repo, "dev", "staging")
    assert roll_back(repo, "staging")[0] == 0
    release = release_of(stack_file(repo, "staging").read_text())
    assert release == {
        "image": "r.example/shop:2.0",
        "version": "2.0",
        "ami": "ami-0123456789abcdef0",
    }


def test_a_release_set_by_hand_is_rolled_back_like_a_promotion(repo: Path):
    before = stack_file(repo, "dev").read_text()
    set_release(repo, "dev", NEW_RELEASE)
    edit(repo, "dev", "minSize: 1", "minSize: 2")
    commit(repo, "dev scales, release untouched")
    assert roll_back(repo, "dev")[0] == 0
    after = stack_file(repo, "dev").read_text()
    assert release_of(after) == release_of(before)
    assert without_release(after)["config"]["multitier:app"]["minSize"] == 2, "only the release"


def test_a_stack_never_promoted_is_refused(repo: Path):
    message = refused(repo, "prod")
    assert "no commit of Pulumi.prod.yaml changed its release after the file's first commit" in (
        message
    )


def test_an_unknown_stack_is_refused(repo: Path):
    message = refused(repo, "qa")
    assert "there is no stack 'qa'" in message and "the stacks are dev, prod, staging" in message


def test_uncommitted_changes_are_refused(bad_in_staging):
    repo, _, _ = bad_in_staging
    edit(repo, "staging", "minSize: 2", "minSize: 3")
    message = refused(repo, "staging")
    assert "Pulumi.staging.yaml has uncommitted changes" in message


def test_a_restored_release_that_fails_the_checks_is_refused(bad_in_staging, monkeypatch):
    repo, _, _ = bad_in_staging
    real = cfncheck.validate

    def failing(resources: Any, region: str) -> Any:
        return dataclasses.replace(real(resources, region), unmapped=[(VPC, "brandNewInput")])

    monkeypatch.setattr(cfncheck, "validate", failing)
    message = refused(repo, "staging")
    assert "Pulumi.staging.yaml with the restored release fails the AWS schema check" in message
    assert git(repo, "status", "--porcelain") == ""


def test_the_command_line_refuses_with_exit_1(repo: Path):
    result = subprocess.run(
        [sys.executable, "-m", "tools.rollback", "prod", "--root", str(repo)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: refusing to roll back prod: no commit of")
