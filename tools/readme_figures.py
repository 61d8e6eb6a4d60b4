"""The README's figures that follow the program: counted from the plan, not typed in, so that a
test fails when one goes stale.

In README.md each such figure stands between two markers, which Markdown does not show:
`<!-- figure:bench-resources-dev -->123<!-- /figure -->`. `FIGURES` computes each one.

    python -m tools.readme_figures            # exit 1 and name each stale figure
    python -m tools.readme_figures --write    # put the current figures into README.md

Measured times (seconds, recoveries) are not here: they are one run of a benchmark, dated in the
README, and differ between runs.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from benchmarks.program import SCENARIOS
from components.shared import cloud_init
from policy.types import INSTANCE, LAUNCH_TEMPLATE
from tools import mockrun
from tools.cost.report import section as cost_section
from tools.deployer import document as deployer
from tools.plan import user_data

README = Path(__file__).resolve().parent.parent / "README.md"
_EXAMPLE_ITEMS = re.compile(r"RDS|NAT gateway")
"""The items the cost example shows beside each component's total."""
MARKER = re.compile(r"<!-- figure:([a-z0-9-]+) -->(.*?)<!-- /figure -->", re.S)


@functools.cache
def _run(stack: str, overrides: str = "{}") -> mockrun.Run:
    return mockrun.run(stack, json.loads(overrides))


def _count(stack: str, overrides: object) -> int:
    return len(_run(stack, json.dumps(overrides, sort_keys=True)).resources)


def _scenario_figures() -> dict[str, Callable[[], str]]:
    found: dict[str, Callable[[], str]] = {}
    for label, stack, overrides in SCENARIOS:
        slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
        found[f"bench-resources-{slug}"] = functools.partial(_counted, stack, overrides)
    return found


def _counted(stack: str, overrides: object) -> str:
    return str(_count(stack, overrides))


def _az_adds(stack: str) -> str:
    """Resources one more AZ adds: dev (a NAT instance), prod (a NAT gateway per AZ)."""
    zones = 3 if stack == "dev" else 2
    other = _count(stack, {"multitier:network": {"azCount": zones}})
    return str(abs(other - _count(stack, {})))


def _user_data(stack: str, name: str) -> tuple[int, int]:
    """(bytes EC2 stores, bytes cloud-init reads) of one host's user data."""
    run = _run(stack)
    [host] = [r for r in run.resources if r.type in (LAUNCH_TEMPLATE, INSTANCE) and r.name == name]
    raw = user_data(host)
    assert raw is not None, f"{name} has no user data"
    return len(raw), len(cloud_init.decode(raw).encode())


def _kb(size: int) -> str:
    return f"{size / 1000:.1f}"


def _largest_user_data() -> str:
    run = _run("dev")
    hosts = [r for r in run.resources if r.type in (LAUNCH_TEMPLATE, INSTANCE)]
    sizes = sorted(len(raw) for r in hosts if (raw := user_data(r)) is not None)
    sent = sizes[-1]
    return f"{sent:,} bytes sent, {cloud_init.USER_DATA_LIMIT - sent:,} free"


def _policy_size(stack: str) -> str:
    return f"{round(deployer.size(deployer.build(_run(stack)).document), -2):,}"


def _cost_total(stack: str) -> str:
    total = next(line for line in cost_section(_run(stack)) if line.strip().startswith("total"))
    return f"{round(float(total.split()[-1])):,}"


def _cost_example() -> str:
    """prod's estimate as the README shows it: the components, a few items, the total, and the
    Elastic IPs against the quota."""
    lines = cost_section(_run("prod"))
    shown = [lines[0]]
    items = lines[1 : lines.index("")]
    shown += [line for line in items if not line.startswith("    ") or _EXAMPLE_ITEMS.search(line)]
    shown += [line for line in lines if line.startswith("Elastic IPs")]
    return "\n```\n" + "\n".join(shown) + "\n```\n"


def _fast_tier_tests() -> str:
    """How many tests `make check` runs: those not marked slow, as pytest collects them."""
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "not slow"],
        cwd=README.parent,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    per_file = re.findall(r"^tests/\S+\.py: (\d+)$", collected, re.M)  # pytest -qq's listing
    assert per_file, collected[-500:]
    return f"{sum(map(int, per_file)):,}"


FIGURES: dict[str, Callable[[], str]] = {
    "fast-tier-tests": _fast_tier_tests,
    **_scenario_figures(),
    "az-adds-nat-instance": lambda: _az_adds("dev"),
    "az-adds-nat-per-az": lambda: _az_adds("prod"),
    "user-data-largest": _largest_user_data,
    "user-data-nodes-text": lambda: _kb(_user_data("dev", "database-node")[1]),
    "user-data-nodes-gzip": lambda: _kb(_user_data("dev", "database-node")[0]),
    "user-data-app": lambda: "{} KB of {}".format(*(_kb(n) for n in _user_data("dev", "app"))),
    "user-data-bastion": lambda: "{} of {}".format(*(_kb(n) for n in _user_data("dev", "bastion"))),
    "user-data-nat": lambda: _kb(_user_data("dev", "network-nat")[0]),
    "deployer-size-dev": lambda: _policy_size("dev"),
    "deployer-size-prod": lambda: _policy_size("prod"),
    "cost-total-dev": lambda: _cost_total("dev"),
    "cost-total-prod": lambda: _cost_total("prod"),
    "cost-example-prod": _cost_example,
}


def stale(text: str) -> list[tuple[str, str, str]]:
    """(figure, as written, as computed) for each marked figure that differs, or is unknown."""
    found = []
    for match in MARKER.finditer(text):
        name, written = match[1], match[2]
        compute = FIGURES.get(name)
        current = compute() if compute else "(no such figure in tools/readme_figures.py)"
        if written != current:
            found.append((name, written, current))
    return found


def rewrite(text: str) -> str:
    return MARKER.sub(lambda m: f"<!-- figure:{m[1]} -->{FIGURES[m[1]]()}<!-- /figure -->", text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update README.md in place")
    args = parser.parse_args(argv)
    text = README.read_text()
    if args.write:
        README.write_text(rewrite(text))
        return 0
    for name, written, current in stale(text):
        print(f"README.md figure {name}: {written!r}, now {current!r}")
    return 1 if stale(text) else 0


if __name__ == "__main__":
    sys.exit(main())
