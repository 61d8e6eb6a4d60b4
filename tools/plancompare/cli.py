"""The command: parse the revisions, compare, print, write the JSON, exit 0, 1 or 2."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tools import mockrun
from tools.plancompare import report
from tools.plancompare.revisions import WORKTREE, PlanningError, UsageError, compare_revisions

SAME, DIFFERENT, BAD_USAGE = 0, 1, 2


def main(argv: list[str] | None = None) -> int:
    """Exit 0 when the two revisions plan the same, 1 when they differ, 2 on bad usage."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.plancompare",
        description="Plan two revisions under the mocks and compare them per URN.",
    )
    parser.add_argument("old", metavar="FROM", help=f"a git revision, or {WORKTREE}")
    parser.add_argument(
        "new", metavar="TO", nargs="?", default=WORKTREE, help=f"default: {WORKTREE}"
    )
    parser.add_argument("--stack", help="compare this stack's variants only")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the result as JSON")
    parser.add_argument("--repo", type=Path, default=mockrun.ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        comparison = compare_revisions(args.repo, args.old, args.new, args.stack)
    except (UsageError, PlanningError) as error:
        print(f"plancompare: {error}", file=sys.stderr)
        return BAD_USAGE
    sys.stdout.write(report.text(comparison))
    if args.json:
        args.json.write_text(
            json.dumps(report.to_json(comparison), indent=1, sort_keys=True) + "\n"
        )
    return DIFFERENT if comparison.different else SAME
