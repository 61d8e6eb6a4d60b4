"""Roll a stack back: put back the release (and pinned image) it ran before its last promotion.

    python -m tools.rollback prod [--root DIR]
    make rollback STACK=prod

The last promotion is the newest commit of `Pulumi.<stack>.yaml` that changed
`multitier:app.release` and is no rollback itself (a rollback's commit carries `Rollback-of:`);
the release before it is the one that commit's parent holds. So a second rollback finds the same
promotion, sees the stack already runs what came before it, and refuses: it never re-applies the
bad release, nor walks further back. After AWS rolled a refresh back by itself, the same command
brings git in line, so that the next `pulumi up` does not roll the bad release out again.

Refused, with nothing written, as `make promote` refuses: an unknown stack, a stack file with
uncommitted changes, nothing to roll back (no promotion in its history, or already rolled back),
or the stack's offline plan with the restored release failing (config, AWS schema check,
security policy). Otherwise the file is written and committed alone, with the checks it passed.
"""

from __future__ import annotations

import argparse
import difflib
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import yaml

from tools import mockrun, release_git
from tools.promote import (
    KEY,
    check_text,
    describe,
    failures,
    release_of,
    short,
    splice,
    summary,
)
from tools.release_git import ROLLBACK_TRAILER, Change, PromotionError


@dataclass(frozen=True)
class LastPromotion:
    change: Change
    """The commit that brought the release the stack runs (or ran, before a rollback)."""
    before: str
    """The stack file as that commit's parent held it."""


def rollback(stack: str, root: Path, out: TextIO) -> None:
    """Put back `stack`'s release from before its last promotion, printing the diff to `out`.

    Raises `PromotionError`, having written nothing, when the rollback must not happen.
    """
    known = mockrun.stacks(root)
    refusing = f"refusing to roll back {stack}"
    if stack not in known:
        raise PromotionError(
            f"{refusing}: there is no stack {stack!r} (no Pulumi.{stack}.yaml in {root}); the "
            f"stacks are {', '.join(known)}."
        )
    path = root / f"Pulumi.{stack}.yaml"
    release_git.require_committed(
        path, refusing, "so that the rollback is the file's only change and can be reviewed"
    )
    text = path.read_bytes().decode()
    current = release_of(text, path)
    last = last_promotion(path, refusing)
    previous = release_of(last.before, path)
    if previous == current:
        raise PromotionError(
            f"{refusing}: it already runs the release from before its last promotion "
            f"({last.change.sha[:12]} {last.change.subject!r}): {describe(current)}. A second "
            "rollback would not go further back; to run an older release, set "
            f"{KEY} in {path.name} by hand and commit it, or promote a fixed one."
        )
    restored = splice(last.before, path, text, path)
    print(f"Rolling {stack} back to {describe(previous)} (runs {describe(current)})", file=out)
    out.writelines(
        difflib.unified_diff(
            text.splitlines(keepends=True),
            restored.splitlines(keepends=True),
            f"a/{path.name}",
            f"b/{path.name}",
        )
    )
    checked = check_text(stack, restored, path, refusing, f"{path.name} with the restored release")
    if not checked.policy.passed:
        raise PromotionError(
            f"{refusing}: with the restored release, the offline plan of {stack} "
            f"{failures(checked.policy)}. {path.name} is unchanged; fix it (`make plan "
            f"STACK={stack}` shows the plan), commit, then roll back again."
        )
    print(
        f"  {stack} with the restored release: the offline plan passes the security policy "
        f"({summary(checked.policy)})",
        file=out,
    )
    path.write_bytes(restored.encode())
    sha = release_git.commit(
        path,
        f"Roll back {stack} to {short(previous)}",
        f"{stack} ran {describe(current)}, brought by {last.change.sha[:12]} "
        f"({last.change.subject}); it runs {describe(previous)} again, the release from "
        "before that commit. Checked offline before this commit:",
        [(ROLLBACK_TRAILER, last.change.sha), *checked.trailers()],
    )
    print(
        f"Committed {path.name} ({sha[:12]}): {stack} runs {describe(previous)} again. "
        f"`pulumi up -s {stack}` rolls it out (it cancels a refresh still running).",
        file=out,
    )


def last_promotion(path: Path, refusing: str) -> LastPromotion:
    """The newest commit of `path` that changed its release and is no rollback."""
    for change in release_git.history(path):
        if ROLLBACK_TRAILER in change.trailers:
            continue
        after = release_git.text_at(path, change.sha)
        before = release_git.text_at(path, f"{change.sha}^")
        if after is None or before is None:
            break  # the file's first commit: no release came before it
        if _plain_release(after) != _plain_release(before):
            return LastPromotion(change, before)
    raise PromotionError(
        f"{refusing}: no commit of {path.name} changed its release after the file's first "
        f"commit, so there is no release to go back to. Set {KEY} by hand and commit it."
    )


def _plain_release(text: str) -> Any:
    """The release a stack file holds, or None when it has none (or is not YAML)."""
    try:
        document = yaml.safe_load(text)
        return document["config"]["multitier:app"]["release"]
    except (yaml.YAMLError, KeyError, TypeError):
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack", help="the stack to roll back")
    parser.add_argument(
        "--root",
        type=Path,
        default=mockrun.ROOT,
        help="the git work tree holding the Pulumi.<stack>.yaml files (default: this repository)",
    )
    args = parser.parse_args(argv)
    try:
        rollback(args.stack, args.root.resolve(), sys.stdout)
    except PromotionError as refusal:
        sys.stdout.flush()
        message = textwrap.fill(
            f"error: {refusal}", width=100, break_long_words=False, break_on_hyphens=False
        )
        print(message, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
