"""Prints a stack's monthly cost estimate, with the Elastic IPs of the repository's other stacks
in the same region counted against the quota.

    python -m tools.cost STACK
"""

from __future__ import annotations

import argparse
import sys

from policy.types import EIP
from tools import mockrun
from tools.cost.report import section


def neighbours(run: mockrun.Run) -> dict[str, int]:
    """The Elastic IPs each other stack of this repository declares in `run`'s region."""
    found = {}
    for stack in mockrun.stacks():
        if stack == run.stack:
            continue
        region = mockrun.stack_config(stack).get("aws:region", mockrun.DEFAULT_REGION)
        if region == run.region:
            found[stack] = len(mockrun.run(stack).of_type(EIP))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack")
    args = parser.parse_args(argv)
    run = mockrun.run(args.stack)
    sys.stdout.write("\n".join(section(run, neighbours(run))) + "\n")
    return 0
