"""How long the program takes to evaluate under mocks, and how that grows with the stack."""

from __future__ import annotations

import statistics
import time
from collections.abc import Mapping
from typing import Any

from policy.evaluate import evaluate
from policy.model import from_declared
from tools import mockrun

REPEAT = 3

# (label, stack, config overrides): the stacks, then one dimension changed at a time.
SCENARIOS: list[tuple[str, str, Mapping[str, Any]]] = [
    ("dev", "dev", {}),
    ("staging", "staging", {}),
    ("prod", "prod", {}),
    ("dev, 3 AZs", "dev", {"multitier:network": {"azCount": 3}}),
    ("prod, 2 AZs", "prod", {"multitier:network": {"azCount": 2}}),
    ("prod, app ASG 10-50", "prod", {"multitier:app": {"minSize": 10, "maxSize": 50}}),
    ("prod, app ASG 100-500", "prod", {"multitier:app": {"minSize": 100, "maxSize": 500}}),
    ("prod, vip database, 2 nodes", "prod", {"multitier:database": {"mode": "vip"}}),
    (
        "prod, vip database, 5 nodes",
        "prod",
        {"multitier:database": {"mode": "vip", "vip": {"nodeCount": 5}}},
    ),
]


def _timed(stack: str, overrides: Mapping[str, Any]) -> tuple[int, float, float]:
    """Resources declared, seconds to run the program, seconds to evaluate the policy."""
    started = time.perf_counter()
    run = mockrun.run(stack, overrides)
    declared = time.perf_counter()
    evaluate(from_declared(run))
    return len(run.resources), declared - started, time.perf_counter() - declared


def main() -> None:
    print("## The program under mocks")
    print(f"(median of {REPEAT} runs each, after one warm-up run of dev)\n")
    _, cold, _ = _timed("dev", {})
    print(f"first run in a fresh process (imports, provider schema): {cold:.2f} s\n")
    print(f"{'scenario':<32}{'resources':>10}{'program s':>11}{'policy s':>10}")
    for label, stack, overrides in SCENARIOS:
        runs = [_timed(stack, overrides) for _ in range(REPEAT)]
        program = statistics.median(run[1] for run in runs)
        policy = statistics.median(run[2] for run in runs)
        print(f"{label:<32}{runs[0][0]:>10}{program:>11.2f}{policy:>10.2f}")
    print()
