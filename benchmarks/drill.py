"""The drill's recovery times: with the event trigger, and with the schedule alone."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run(nodes: int, faults: int, schedule_faults: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as scratch:
        figures = Path(scratch) / "drill.json"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "drill",
                *("--nodes", str(nodes), "--faults", str(faults)),
                *("--schedule-faults", str(schedule_faults), "--json", str(figures)),
            ],
            cwd=REPO,
            check=True,
        )
        return dict(json.loads(figures.read_text()))


def main() -> None:
    print("## The failover drill (real PostgreSQL, moto server)\n", flush=True)
    for nodes, faults, schedule_faults in ((2, 5, 5), (3, 5, 0)):
        run(nodes, faults, schedule_faults)
        print(flush=True)
