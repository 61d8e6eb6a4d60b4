#!/usr/bin/env python3
"""multitier PostgreSQL node agent: run PostgreSQL on this node only while it is the primary.

Every `--interval` seconds the agent reads this node's `multitier:db-role` tag, which the failover
Lambda sets, and:
- role `primary`, PostgreSQL running: renews the lease file on the shared volume;
- role `primary`, PostgreSQL stopped: starts it, but only once the lease is free (ours, or not
  renewed for `--stale-after` seconds). This is the second guard behind the Lambda's fencing:
  PostgreSQL takes no lock that works across hosts on NFS, so a promoted node must never start
  while the old primary still renews its lease;
- role `primary`, PostgreSQL running but the lease renewed by another node: stops at once;
- any other role, or none: stops PostgreSQL at once.

Where the role comes from and the commands that start, stop and probe PostgreSQL are injected,
so the agent runs anywhere: on a node it reads instance metadata and calls `multitier-pg`.
Standard library only: it runs on the node's system Python.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROLE_TAG = "multitier:db-role"
PRIMARY = "primary"
IMDS = "http://169.254.169.254/latest"
# How often the agent looks, and how long an unrenewed lease still counts as held.
INTERVAL_SECONDS = 1.0
STALE_AFTER_SECONDS = 10.0

# A string annotation inside the alias: `str | None` would be evaluated, and fail, on Python 3.9.
RoleSource = Callable[[], "str | None"]
Clock = Callable[[], float]


@dataclass(frozen=True)
class Commands:
    """How to start, stop and probe PostgreSQL; `status` exits 0 while it runs on this host."""

    start: Sequence[str]
    stop: Sequence[str]
    status: Sequence[str]

    def running(self) -> bool:
        return subprocess.run(list(self.status), check=False, capture_output=True).returncode == 0

    def run(self, command: Sequence[str]) -> bool:
        return subprocess.run(list(command), check=False).returncode == 0


@dataclass
class Lease:
    """A file on the shared volume naming the node that runs PostgreSQL and when it last said so."""

    path: Path
    node_id: str
    stale_after: float
    clock: Clock = time.time

    def holder(self) -> tuple[str, float] | None:
        try:
            content = json.loads(self.path.read_text())
            return str(content["node"]), float(content["renewed_at"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def held_by_another(self) -> bool:
        """Another node renewed the lease less than `stale_after` seconds ago."""
        current = self.holder()
        if current is None:
            return False
        node, renewed_at = current
        return node != self.node_id and self.clock() - renewed_at < self.stale_after

    def renew(self) -> None:
        temporary = self.path.with_name(f".{self.path.name}.{self.node_id}")
        temporary.write_text(json.dumps({"node": self.node_id, "renewed_at": self.clock()}))
        temporary.replace(self.path)


@dataclass
class Agent:
    role: RoleSource
    postgres: Commands
    lease: Lease

    def step(self) -> str:
        """One look at the world, one action; returns what it did."""
        running = self.postgres.running()
        if self.role() != PRIMARY:
            if running:
                self.postgres.run(self.postgres.stop)
                return "stopped"
            return "idle"
        if running:
            if self.lease.held_by_another():
                self.postgres.run(self.postgres.stop)
                return "stopped_lost_lease"
            self.lease.renew()
            return "renewed"
        if self.lease.held_by_another():
            return "waiting_for_lease"
        self.lease.renew()
        return "started" if self.postgres.run(self.postgres.start) else "start_failed"

    def run_forever(self, interval: float, sleep: Callable[[float], None] = time.sleep) -> None:
        last = None
        while True:
            try:
                action = self.step()
            except Exception as error:  # a bad step must not kill the agent; the next one retries
                action = f"error: {error}"
            if action != last:
                print(json.dumps({"agent": "multitier-pg", "action": action}), flush=True)
                last = action
            sleep(interval)


def imds_role(timeout: float = 2.0) -> str | None:
    """This instance's role tag from instance metadata (IMDSv2), or None if it has none."""
    try:
        token = _imds("/api/token", method="PUT", timeout=timeout)
        return _imds(f"/meta-data/tags/instance/{ROLE_TAG}", token=token, timeout=timeout)
    except (urllib.error.URLError, OSError):
        return None


def imds_instance_id(timeout: float = 2.0) -> str:
    token = _imds("/api/token", method="PUT", timeout=timeout)
    return _imds("/meta-data/instance-id", token=token, timeout=timeout)


def _imds(path: str, method: str = "GET", token: str | None = None, timeout: float = 2.0) -> str:
    headers = (
        {"X-aws-ec2-metadata-token": token}
        if token
        else {"X-aws-ec2-metadata-token-ttl-seconds": "300"}
    )
    request = urllib.request.Request(f"{IMDS}{path}", method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return str(response.read().decode()).strip()


def file_role(path: Path) -> RoleSource:
    """A role read from a file: for running the agent off EC2."""
    return lambda: path.read_text().strip() if path.exists() else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run PostgreSQL only while this node is primary.")
    parser.add_argument("--lease", type=Path, required=True, help="lease file on the shared volume")
    parser.add_argument("--node-id", help="this node's id (default: EC2 instance id)")
    parser.add_argument("--role-file", type=Path, help="read the role from a file, not metadata")
    parser.add_argument("--interval", type=float, default=INTERVAL_SECONDS)
    parser.add_argument("--stale-after", type=float, default=STALE_AFTER_SECONDS)
    parser.add_argument("--start", default="/usr/local/sbin/multitier-pg start")
    parser.add_argument("--stop", default="/usr/local/sbin/multitier-pg stop")
    parser.add_argument("--status", default="/usr/local/sbin/multitier-pg status")
    args = parser.parse_args(argv)

    agent = Agent(
        role=file_role(args.role_file) if args.role_file else imds_role,
        postgres=Commands(
            shlex.split(args.start), shlex.split(args.stop), shlex.split(args.status)
        ),
        lease=Lease(args.lease, args.node_id or imds_instance_id(), args.stale_after),
    )
    agent.run_forever(args.interval)
    return 0


if __name__ == "__main__":
    sys.exit(main())
