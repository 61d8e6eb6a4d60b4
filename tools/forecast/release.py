"""The last release, and whether the changelog names what it will replace.

The last release is the commit of the prod stack file's last promotion: `make promote` changes
`multitier:app.release` in `Pulumi.prod.yaml` and nothing else of it, and the operator commits
that (tools/promote.py). A commit that creates the file, or changes anything else of it, is
no promotion. The changelog gains, between the release and now, an entry naming (in backticks,
as `network-nat`) every stateful resource that a stack deployed from the release would see
replaced or deleted.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from tools.forecast.model import Verdict

PROD_FILE = "Pulumi.prod.yaml"
CHANGELOG = "CHANGELOG.md"
APP = "multitier:app"


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
    )


def last_release(repo: Path, stack_file: str = PROD_FILE) -> str | None:
    """The newest commit that promoted a release into the stack file, or None: a repository
    with no promotion yet, or a shallow clone that holds none."""
    log = _git(repo, "log", "--format=%H", "--", stack_file)
    for commit in log.stdout.split():
        before = _git(repo, "show", f"{commit}^:{stack_file}")
        after = _git(repo, "show", f"{commit}:{stack_file}")
        if (
            before.returncode == 0
            and after.returncode == 0
            and promotes(before.stdout, after.stdout)
        ):
            return commit
    return None


def promotes(before: str, after: str) -> bool:
    """Whether `after` is `before` with another release and nothing else changed."""
    try:
        old, new = yaml.safe_load(before) or {}, yaml.safe_load(after) or {}
    except yaml.YAMLError:
        return False
    (old_release, old_rest), (new_release, new_rest) = _split(old), _split(new)
    return old_release is not None and old_release != new_release and old_rest == new_rest


def _split(document: Any) -> tuple[Any, Any]:
    """The release, and the document without it."""
    if not isinstance(document, dict):
        return None, document
    config = dict(document.get("config") or {})
    app = dict(config.get(APP) or {})
    release = app.pop("release", None)
    config[APP] = app
    return release, {**document, "config": config}


def changelog_since(repo: Path, commit: str) -> str:
    """The lines CHANGELOG.md gained from `commit` to the working tree."""
    diff = _git(repo, "diff", "--unified=0", commit, "--", CHANGELOG)
    return "\n".join(
        line[1:]
        for line in diff.stdout.splitlines()
        if line.startswith("+") and not line.startswith("+++")
    )


def unnamed(losing: Iterable[tuple[str, Verdict]], text: str) -> list[str]:
    """Each stateful replacement or deletion whose resource the text does not name."""
    return sorted(
        {
            f"{variant}: {verdict.kind} {verdict.type} '{verdict.name}'"
            for variant, verdict in losing
            if f"`{verdict.name}`" not in text
        }
    )
