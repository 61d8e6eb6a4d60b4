"""One emulated database node: the project's real node agent, its role read from the EC2 API.

On a node the agent reads its role tag from instance metadata; here the tag is read from the
emulated EC2 API (boto3, pointed at the emulator by `AWS_ENDPOINT_URL`), and PostgreSQL is
started, stopped and probed by the drill's `multitier-pg` (drill/pgctl.py). Everything else is
`functions/hosts/pg_agent.py` as deployed: the same loop, lease and defaults.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import boto3  # type: ignore[import-untyped]

from drill import emulator
from drill.pgctl import Layout, die_with_parent
from functions.hosts.pg_agent import Agent, Commands, Lease, RoleSource


def ec2_role(instance_id: str) -> RoleSource:
    """This instance's role tag, as the EC2 API reports it (None when it has none)."""
    ec2 = boto3.client("ec2")
    return lambda: emulator.role_of(ec2, instance_id)


def pg_commands(root: Path, node_id: str, port: int) -> Commands:
    def command(verb: str) -> list[str]:
        return [sys.executable, "-m", "drill.pgctl", verb, "--root", str(root), "--node", node_id]

    return Commands(
        start=[*command("start"), "--port", str(port)],
        stop=command("stop"),
        status=command("status"),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the node agent of one emulated node")
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--instance-id", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--interval", type=float, required=True)
    parser.add_argument("--stale-after", type=float, required=True)
    args = parser.parse_args(argv)
    die_with_parent()  # a node does not outlive the drill
    agent = Agent(
        role=ec2_role(args.instance_id),
        postgres=pg_commands(args.root, args.instance_id, args.port),
        lease=Lease(Layout(args.root).lease, args.instance_id, args.stale_after),
    )
    agent.run_forever(args.interval)
    return 0


if __name__ == "__main__":
    sys.exit(main())
