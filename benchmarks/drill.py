"""The drill's recovery times: with the event trigger, with the schedule alone, and of a hung
PostgreSQL."""

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

# (nodes, faults with the event trigger, with the schedule alone, of a hung PostgreSQL)
RUNS = ((2, 10, 10, 3), (3, 5, 0, 0))


def run(nodes: int, faults: int, schedule_faults: int, hang_faults: int) -> dict[str, Any]:
    """One drill (its own report goes to the console); returns the figures it wrote."""
    with tempfile.TemporaryDirectory() as scratch:
        figures = Path(scratch) / "drill.json"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "drill",
                *("--nodes", str(nodes), "--faults", str(faults)),
                *("--schedule-faults", str(schedule_faults), "--hang-faults", str(hang_faults)),
                *("--json", str(figures)),
            ],
            cwd=REPO,
            check=True,
        )
        return dict(json.loads(figures.read_text()))


def main() -> None:
    print("## The failover drill (real PostgreSQL, moto server)\n", flush=True)
    rows = []
    for nodes, faults, schedule_faults, hang_faults in RUNS:
        figures = run(nodes, faults, schedule_faults, hang_faults)
        for trigger in TRIGGERS:
            values = figures[f"recovery_{trigger}"]
            if values:
                rows.append((nodes, trigger, values, figures["acknowledged"], figures["missing"]))
        print(flush=True)
    print("recovery, fault to first acknowledged write through the VIP (s):")
    for nodes, trigger, values, acknowledged, missing in rows:
        each = " ".join(f"{value:.1f}" for value in values)
        print(
            f"  {nodes} nodes, {trigger:<8} median {statistics.median(values):5.1f}  "
            f"max {max(values):5.1f}  ({each}); {acknowledged} writes acknowledged, "
            f"{missing} missing"
        )
    print()
