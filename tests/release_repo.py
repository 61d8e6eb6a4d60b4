"""Temporary git repositories holding committed copies of the stack files, in which the tests of
`make promote` and `make rollback` move releases (tests/test_promote.py, tests/test_rollback.py)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tools.mockrun import ROOT

STACKS = ("dev", "staging", "prod")  # the chain a release travels
RELEASE_LINE = "    release:\n"
# A release with an inner comment and an env mapping, so the block is more than two scalars.
NEW_RELEASE = """\
    release:
      image: r.example/shop@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
      version: "2.0.0"
      # Feature flags of this release.
      env:
        FEATURE_CHECKOUT_V2: "on"
"""


def git(root: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-c", "user.name=test", "-c", "user.email=test@example.com", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def make_repo(root: Path) -> Path:
    """A git repository with the committed stack files of this one."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "--quiet")
    # The promotion commits itself, as whoever runs it: here, a test identity, unsigned.
    for key, value in (("user.name", "test"), ("user.email", "t@example.com")):
        git(root, "config", key, value)
    git(root, "config", "commit.gpgsign", "false")
    for stack in STACKS:
        shutil.copy(ROOT / f"Pulumi.{stack}.yaml", root)
    commit(root, "the stacks")
    return root


def commit(root: Path, message: str) -> None:
    git(root, "add", "--all")
    git(root, "commit", "--quiet", "--no-gpg-sign", "-m", message)


def stack_file(root: Path, stack: str) -> Path:
    return root / f"Pulumi.{stack}.yaml"


def release_block(text: str) -> tuple[int, int]:
    """The lines of the release mapping: its key to the line before `port:` (as committed)."""
    lines = text.splitlines(keepends=True)
    start = lines.index(RELEASE_LINE)
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith("      "))
    return start, end


def set_release(root: Path, stack: str, block: str) -> None:
    """Replace the release block of `stack` by `block` and commit it."""
    path = stack_file(root, stack)
    lines = path.read_text().splitlines(keepends=True)
    start, end = release_block(path.read_text())
    path.write_text("".join(lines[:start]) + block + "".join(lines[end:]))
    commit(root, f"{stack} gets a new release")


def edit(root: Path, stack: str, old: str, new: str) -> None:
    path = stack_file(root, stack)
    text = path.read_text()
    assert old in text, f"{path.name} has no {old!r}"
    path.write_text(text.replace(old, new, 1))


def without_release(text: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(text)
    del document["config"]["multitier:app"]["release"]
    return document


def release_of(text: str) -> dict[str, Any]:
    release: dict[str, Any] = yaml.safe_load(text)["config"]["multitier:app"]["release"]
    return release
