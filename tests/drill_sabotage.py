"""The drill with a broken safety net, to show that its checks catch what they are for.

`python -m tests.drill_sabotage unfenced ...`: the Lambda stops the old primary but never tags it
`fenced`, so it is a primary again when it comes back. `python -m tests.drill_sabotage no-fence`:
the Lambda neither stops nor tags the old primary and the agents ignore the lease, so the old
primary starts PostgreSQL again beside the new one when it comes back.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Sequence
from typing import Any

import drill.run
from functions.db_failover import handler
from functions.db_failover.decision import Node


def _stop_without_tag(
    ec2: Any, nodes: Sequence[Node], renew: Callable[[], None] = lambda: None
) -> None:
    running = [node.instance_id for node in nodes if node.state in handler.STOPPABLE_STATES]
    if running:
        ec2.stop_instances(InstanceIds=running, Force=True)


def _nothing(ec2: Any, nodes: Sequence[Node], renew: Callable[[], None] = lambda: None) -> None:
    return None


def main(argv: list[str]) -> int:
    mode, rest = argv[0], argv[1:]
    parse = drill.run.parse
    if mode == "unfenced":
        handler.fence = _stop_without_tag
    elif mode == "no-fence":
        handler.fence = _nothing
        drill.run.parse = lambda args: dataclasses.replace(parse(args), stale_after=0.0)  # type: ignore[assignment]
    else:
        raise SystemExit(f"unknown sabotage {mode!r}: unfenced or no-fence")
    return drill.run.main(rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
