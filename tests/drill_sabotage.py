"""The drill with a broken safety net, to show that its checks catch what they are for.

`python -m tests.drill_sabotage unfenced ...`: the Lambda stops the old primary but never tags it
`fenced`, so it is a primary again when it comes back. `python -m tests.drill_sabotage no-fence`:
the Lambda neither stops nor tags the old primary and the agents ignore the lease, so the old
primary starts PostgreSQL again beside the new one when it comes back.
`python -m tests.drill_sabotage local-clock`: the agents keep their own clock instead of the
file server's, so a node whose clock is far behind reports times the function finds stale.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Sequence
from typing import Any

import drill.run
from components.database import vip as vip_cluster
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


MEASURE = "self.offset = mtime - (before + after) / 2"


def _agents_on_their_own_clocks() -> None:
    render = vip_cluster.node_user_data

    def node_user_data(settings: dict[str, str]) -> dict[str, Any]:
        document = render(settings)
        for item in document["write_files"]:
            if item["path"].endswith("multitier-pg-agent"):
                # As shipped: python-minifier drops the spaces (components/shared/cloud_init.py).
                shipped = MEASURE.replace(" ", "")
                assert shipped in item["content"], "the agent no longer measures its offset so"
                item["content"] = item["content"].replace(shipped, "self.offset=0.0")
        return document

    vip_cluster.node_user_data = node_user_data


def main(argv: list[str]) -> int:
    mode, rest = argv[0], argv[1:]
    parse = drill.run.parse
    if mode == "unfenced":
        handler.fence = _stop_without_tag
    elif mode == "no-fence":
        handler.fence = _nothing
        drill.run.parse = lambda args: dataclasses.replace(parse(args), stale_after=0.0)  # type: ignore[assignment]
    elif mode == "local-clock":
        _agents_on_their_own_clocks()
    else:
        raise SystemExit(f"unknown sabotage {mode!r}: unfenced, no-fence or local-clock")
    return drill.run.main(rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
