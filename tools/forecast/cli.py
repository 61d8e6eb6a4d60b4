"""The command: compare the two revisions once, classify, print, write the JSON, exit 0, 1 or 2."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tools import mockrun
from tools.forecast import report, requirements
from tools.forecast.classify import forecast_variant
from tools.forecast.model import Forecast
from tools.plancompare.revisions import WORKTREE, PlanningError, UsageError, compare_revisions

SAFE, LOSES_STATE, BAD_USAGE = 0, 1, 2


def forecast(repo: Path, old: str, new: str = WORKTREE, stack: str | None = None) -> Forecast:
    """Plan both revisions (tools/plancompare, one comparison) and class every resource."""
    comparison = compare_revisions(repo, old, new, stack)
    return Forecast(
        comparison.old.title,
        comparison.new.title,
        tuple(forecast_variant(v) for v in comparison.variants),
        pins=requirements.changes(repo, comparison.old, comparison.new),
        seconds=comparison.seconds,
        uncovered=comparison.uncovered,
    )


def main(argv: list[str] | None = None) -> int:
    """Exit 0 when no stateful resource is replaced or deleted, 1 when one is, 2 on bad usage."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.forecast",
        description="Say what `pulumi up` of TO over a stack deployed from FROM replaces.",
    )
    parser.add_argument("old", metavar="FROM", help=f"a git revision, or {WORKTREE}")
    parser.add_argument(
        "new", metavar="TO", nargs="?", default=WORKTREE, help=f"default: {WORKTREE}"
    )
    parser.add_argument("--stack", help="forecast this stack's variants only")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the forecast as JSON")
    parser.add_argument("--repo", type=Path, default=mockrun.ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        found = forecast(args.repo, args.old, args.new, args.stack)
    except (UsageError, PlanningError) as error:
        print(f"forecast: {error}", file=sys.stderr)
        return BAD_USAGE
    sys.stdout.write(report.text(found))
    if args.json:
        args.json.write_text(json.dumps(report.to_json(found), indent=1, sort_keys=True) + "\n")
    return LOSES_STATE if found.losing_state else SAFE
