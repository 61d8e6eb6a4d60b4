"""The git side of moving releases between stack files: refusing a file with uncommitted changes,
committing a promotion or rollback with the checks it passed as trailers, and reading a stack
file's history (tools/promote.py, tools/rollback.py)."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROLLBACK_TRAILER = "Rollback-of"
"""On a rollback's commit: the promotion it undid. Such commits are no promotion themselves."""


class PromotionError(Exception):
    """Why a promotion or rollback did not happen, in one paragraph for the operator."""


@dataclass(frozen=True)
class Change:
    """A commit of a stack file's history."""

    sha: str
    subject: str
    trailers: dict[str, list[str]]


def require_committed(path: Path, refusing: str, why: str) -> None:
    """Refuses unless git has `path` committed with no changes, staged or not."""
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all", "--ignored", "--", path.name],
        cwd=path.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    if status.returncode != 0:
        raise PromotionError(
            f"{refusing}: cannot tell whether {path.name} has uncommitted "
            f"changes, because `git status` failed in {path.parent}: {status.stderr.strip()}. "
            "Run it inside the repository's git work tree."
        )
    if status.stdout.strip():
        state = _git_state(status.stdout[:2])
        remedy = "commit it" if state.startswith("is ") else "commit or discard the changes"
        raise PromotionError(
            f"{refusing}: {path.name} {state}. {remedy.capitalize()} first, {why}."
        )


def _git_state(code: str) -> str:
    if code == "??":
        return "is not tracked by git"
    if code == "!!":
        return "is ignored by git, so it is not committed"
    staged, unstaged = code[0] not in " ?!", code[1] not in " ?!"
    if staged and unstaged:
        return "has staged and unstaged changes"
    return "has staged, uncommitted changes" if staged else "has uncommitted changes"


def commit(path: Path, subject: str, body: str, trailers: Sequence[tuple[str, str]]) -> str:
    """Commit `path` alone (whatever else is staged stays staged); return the commit's id."""
    message = f"{subject}\n\n{body}\n\n" + "".join(f"{k}: {v}\n" for k, v in trailers)
    _git(path.parent, "commit", "--quiet", "--only", "-F", "-", "--", path.name, stdin=message)
    return _git(path.parent, "rev-parse", "HEAD").strip()


def history(path: Path) -> list[Change]:
    """The commits that changed `path`, newest first."""
    out = _git(path.parent, "log", "--format=%H%x00%s%x00%(trailers:unfold)%x1e", "--", path.name)
    changes = []
    for record in filter(str.strip, out.split("\x1e")):
        sha, subject, trailer_text = record.strip("\n").split("\x00")
        trailers: dict[str, list[str]] = {}
        for line in trailer_text.splitlines():
            key, sep, value = line.partition(":")
            if sep:
                trailers.setdefault(key.strip(), []).append(value.strip())
        changes.append(Change(sha, subject, trailers))
    return changes


def text_at(path: Path, revision: str) -> str | None:
    """`path` as it was at `revision`; None: it did not exist there."""
    shown = subprocess.run(
        ["git", "show", f"{revision}:./{path.name}"],
        cwd=path.parent,
        capture_output=True,
        check=False,
    )
    return shown.stdout.decode() if shown.returncode == 0 else None


def _git(root: Path, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        ["git", *args], cwd=root, input=stdin, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise PromotionError(
            f"git {' '.join(args[:2])} failed in {root}: {done.stderr.strip()}. The stack file is "
            "written but not committed: review it, then commit it or `git checkout` it."
        )
    return done.stdout
