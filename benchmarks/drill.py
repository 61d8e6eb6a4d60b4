"""The drill's recovery times, per kind of fault: longer drills than `make drill`."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from drill.report import TRIGGERS

REPO = Path(__file__).resolve().parent.parent

# (nodes, the faults played: `--only` of `make drill`)
RUNS = (
    (2, "event=10,schedule=10,hang=10,spike=5,crash=2,slow-start=2,slow-stop=2,cutoff=2"),
    (3, "event=5,hang=3,skew-large=2"),
)


def run(nodes: int, plays: str) -> dict[str, Any]:
    """One drill (its own report goes to the console); returns the figures it wrote."""
    with tempfile.TemporaryDirectory() as scratch:
        figures = Path(scratch) / "drill.json"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "drill",
                *("--nodes", str(nodes), "--only", plays),
                *("--json", str(figures)),
            ],
            cwd=REPO,
            check=True,
        )
        return dict(json.loads(figures.read_text()))


def main() -> None:
    print("## The failover drill (real PostgreSQL, moto server)\n", flush=True)
    rows = []
    for nodes, plays in RUNS:
        figures = run(nodes, plays)
        for trigger in TRIGGERS:
            values = figures[f"recovery_{trigger}"]
            if values:
                rows.append((nodes, trigger, values, figures["acknowledged"], figures["missing"]))
        print(flush=True)
    print("recovery, fault to first acknowledged write through the VIP (s):")
    for nodes, trigger, values, acknowledged, missing in rows:
        each = " ".join(f"{value:.1f}" for value in values)
        print(
            f"  {nodes} nodes, {trigger:<10} median {statistics.median(values):5.1f}  "
            f"max {max(values):5.1f}  ({each}); {acknowledged} writes acknowledged, "
            f"{missing} missing"
        )
    print()
