"""Each side planned by its own revision's code: a revision is unpacked into a temporary directory
with `git archive` (the repository's .git is not touched), the working tree is planned where it
is, and each runs extract.py in its own process with the checkout as cwd and PYTHONPATH, both at
once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools import mockrun, urns
from tools.plancompare.compare import compare
from tools.plancompare.model import Comparison, Plan, Side

WORKTREE = "WORKTREE"
"""The side that is the working tree as it is, uncommitted and untracked files included."""
EXTRACT = Path(__file__).with_name("extract.py")
_STDERR_TAIL = 3000


class UsageError(Exception):
    """A revision git does not know or a stack no variant plans: the command exits 2."""


class PlanningError(Exception):
    """A side could not be planned at all (not one variant's program failing): exits 2."""


@dataclass(frozen=True)
class VariantSpec:
    """A stack of a program, with config overrides merged into its stack file."""

    name: str
    stack: str
    overrides: dict[str, Any]
    program: str | None = None
    """The program's directory in the checkout (`examples/…`); None for the repository's."""


def variants(stack: str | None = None) -> list[VariantSpec]:
    """tools/urns' variants and every example program's stacks, or those of one stack: this
    tree's list, given to both sides so that both plan the same config."""
    found = [VariantSpec(n, n.split("/")[0], o) for n, o in urns.variants().items()]
    for project in sorted(mockrun.ROOT.glob("examples/*/Pulumi.yaml")):
        program = project.parent.relative_to(mockrun.ROOT).as_posix()
        found += [
            VariantSpec(f"{program}/{s}", s, {}, program) for s in mockrun.stacks(project.parent)
        ]
    chosen = [v for v in found if stack in (None, v.stack)]
    if not chosen:
        known = ", ".join(sorted({v.stack for v in found}))
        raise UsageError(f"no variant plans the stack {stack!r}; stacks: {known}")
    return chosen


def resolve(repo: Path, revision: str) -> Side:
    """The side for a revision name, its commit resolved now so both sides stay fixed."""
    if revision == WORKTREE:
        return Side(WORKTREE)
    found = _git(repo, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    if found.returncode != 0:
        raise UsageError(f"{revision!r} is not a revision of {repo}")
    return Side(revision, found.stdout.decode().strip())


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=False)


@contextlib.contextmanager
def checkout(repo: Path, side: Side) -> Iterator[Path]:
    """The directory holding the side's files, removed afterwards if it was made for it."""
    if side.commit is None:
        yield repo
        return
    with tempfile.TemporaryDirectory(prefix="plancompare-") as tmp:
        archive = _git(repo, "archive", "--format=tar", side.commit)
        if archive.returncode != 0:
            raise PlanningError(f"git archive {side.commit}: {archive.stderr.decode().strip()}")
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(tmp, filter="data")
        yield Path(tmp)


def extract(root: Path, specs: Sequence[VariantSpec]) -> dict[str, Any]:
    """What the checkout at `root` declares for each variant, planned by its own code."""
    result = subprocess.run(
        [sys.executable, "-P", str(EXTRACT)],
        input=json.dumps([dataclasses.asdict(s) for s in specs]),
        capture_output=True,
        text=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        check=False,
    )
    if result.returncode != 0:
        raise PlanningError(f"planning {root} failed:\n{result.stderr[-_STDERR_TAIL:]}")
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def _timed_extract(root: Path, specs: Sequence[VariantSpec]) -> tuple[dict[str, Any], float]:
    start = time.monotonic()
    return extract(root, specs), time.monotonic() - start


def compare_revisions(
    repo: Path, old: str, new: str = WORKTREE, stack: str | None = None
) -> Comparison:
    """Plan both revisions of the repository's program, each by its own code, and compare."""
    start = time.monotonic()
    specs = variants(stack)
    sides = [resolve(repo, old), resolve(repo, new)]
    with contextlib.ExitStack() as stack_:
        roots = [stack_.enter_context(checkout(repo, side)) for side in sides]
        with ThreadPoolExecutor(max_workers=len(roots)) as pool:
            (old_json, old_s), (new_json, new_s) = pool.map(_timed_extract, roots, [specs] * 2)
    old_plan, new_plan = Plan.from_json(old_json), Plan.from_json(new_json)
    covered = {s.stack for s in specs if s.program is None}
    uncovered = {
        label: tuple(s for s in plan.stacks if s not in covered)
        for label, plan in (("from", old_plan), ("to", new_plan))
    }
    return Comparison(
        dataclasses.replace(sides[0], seconds=old_s),
        dataclasses.replace(sides[1], seconds=new_s),
        compare(old_plan, new_plan),
        uncovered={label: found for label, found in uncovered.items() if found and stack is None},
        seconds=time.monotonic() - start,
    )
