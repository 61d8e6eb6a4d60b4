"""The URN of every resource the program declares, per stack and database mode, as recorded in
tests/urns.json: a deployed stack knows its resources by URN, so a URN that changes is a
resource Pulumi would replace. tests/test_urns.py holds that every recorded URN is still declared
or named by an alias of the resource that took its place.

    python -m tools.urns            # print what the program declares now
    python -m tools.urns --write    # add it to the record (only in a commit that says why)

The record only grows: a URN once recorded stays, so that every later change is checked against
every URN a deployed stack may still hold.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from tools import mockrun

RECORD = Path(__file__).resolve().parent.parent / "tests" / "urns.json"
# Every option that adds resources, on, in each mode: what the stack files alone leave out.
EVERYTHING: dict[str, Any] = {
    "multitier:network": {"natMode": "per_az", "ipv6": True, "dataEgress": True},
    "multitier:bastion": {"enabled": True, "allowedCidrs": ["203.0.113.0/24"]},
    "multitier:app": {
        "cache": {"enabled": True},
        "efs": {"enabled": True},
        "loadBalancer": {"accessLogs": True},
        "scaling": {"policy": "step"},
    },
}


def variants() -> dict[str, dict[str, Any]]:
    """Every stack in both database modes, and the dev stack with every option on."""
    found: dict[str, dict[str, Any]] = {}
    for stack in mockrun.stacks():
        for mode in ("managed", "vip"):
            found[f"{stack}/{mode}"] = {
                "multitier:database": {"mode": mode},
                "multitier:network": {"dataEgress": True},
            }
    for mode, extra in (("managed", {"readReplicas": 1}), ("vip", {})):
        found[f"dev/{mode}/everything"] = {
            **EVERYTHING,
            "multitier:database": {"mode": mode, **extra},
        }
    return found


def current() -> dict[str, list[str]]:
    return {
        name: sorted(r.urn for r in mockrun.run(name.split("/")[0], overrides).resources)
        for name, overrides in variants().items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"record into {RECORD.name}")
    args = parser.parse_args(argv)
    urns = current()
    if args.write:
        recorded = json.loads(RECORD.read_text()) if RECORD.exists() else {}
        urns = {name: sorted(set(recorded.get(name, [])) | set(now)) for name, now in urns.items()}
        RECORD.write_text(json.dumps(urns, indent=1, sort_keys=True) + "\n")
    else:
        sys.stdout.write(json.dumps(urns, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
