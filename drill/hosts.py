"""The drill's hosts: where each node's files live, and the processes that run on it.

Every node is a directory laid out as its host would be (`nodes/<id>/root/etc/multitier/…`),
written from the real user data the program renders, with the shared data volume (the EFS
stand-in) linked at its mount point. Its processes carry `DRILL_NODE=<id>` in their environment,
which is how the hypervisor finds them when EC2 stops the node (on one machine every node's
PostgreSQL runs as the same user); PostgreSQL overwrites its own environment with its process
titles, so its processes are found from the node's own postmaster pid instead.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

NODE_VARIABLE = "DRILL_NODE"


@dataclass(frozen=True)
class Layout:
    """Where things live under the drill's root directory."""

    root: Path

    @property
    def shared(self) -> Path:
        """The stand-in for the EFS volume all nodes mount."""
        return self.root / "shared"

    @property
    def events(self) -> Path:
        """Every `pg_ctl start`, with the nodes whose server ran at that moment."""
        return self.root / "events.jsonl"

    @property
    def stop_seconds(self) -> Path:
        """How long the emulated EC2 takes to stop an instance (drill/slow_ec2.py)."""
        return self.root / "stop-seconds"

    @property
    def start_delay(self) -> Path:
        """How much longer PostgreSQL's starts take (the drill's pg_ctl)."""
        return self.root / "start-delay"

    @property
    def shims(self) -> Path:
        return self.root / "shims"

    @property
    def host_commands(self) -> Path:
        """Commands a node has that this machine has in another version (`python3`)."""
        return self.shims / "host"

    def node(self, node_id: str) -> Path:
        return self.root / "nodes" / node_id

    def host(self, node_id: str) -> Path:
        """The node's file system root (its MULTITIER_ROOT)."""
        return self.node(node_id) / "root"

    def own_pid(self, node_id: str) -> Path:
        """Where `multitier-pg` records the pid and start time of the node's own postmaster."""
        return self.host(node_id) / "run" / "multitier" / "postmaster.pid"

    def nodes(self) -> list[str]:
        parent = self.root / "nodes"
        return sorted(path.name for path in parent.iterdir()) if parent.exists() else []


def started_at(pid: int) -> str | None:
    """The start time of a live process (clock ticks since boot), None if there is none."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] in {"Z", "X"} else fields[19]


def postmaster(layout: Layout, node_id: str) -> int | None:
    """The node's own postmaster while it runs: the recorded pid, with the same start time."""
    try:
        pid, started = layout.own_pid(node_id).read_text().split()
    except (OSError, ValueError):
        return None
    return int(pid) if started_at(int(pid)) == started else None


def serving_nodes(layout: Layout) -> list[str]:
    return [node for node in layout.nodes() if postmaster(layout, node) is not None]


def postgres_of(layout: Layout, node_id: str) -> list[int]:
    """The node's own postmaster and its children (backends, background workers)."""
    pid = postmaster(layout, node_id)
    if pid is None:
        return []
    children = []
    for proc in Path("/proc").iterdir():
        with contextlib.suppress(OSError, IndexError):
            if proc.name.isdigit() and _parent(proc) == pid:
                children.append(int(proc.name))
    return [pid, *children]


def _parent(proc: Path) -> int:
    return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])


def processes_of(node_id: str) -> list[int]:
    """Every process that runs for the node and whose environment names it."""
    marker = f"{NODE_VARIABLE}={node_id}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) != os.getpid():
            with contextlib.suppress(OSError):
                if marker in (proc / "environ").read_bytes().split(b"\0"):
                    found.append(int(proc.name))
    return found


def kill_node(layout: Layout, node_id: str) -> None:
    """What EC2 does to a stopped instance's processes: all of them die."""
    for _ in range(3):  # a process may fork while we look
        pids = postgres_of(layout, node_id) + processes_of(node_id)
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)


def kill_strays(layout: Layout) -> None:
    """SIGKILL anything still running for any node of the drill."""
    for node in layout.nodes():
        kill_node(layout, node)


def die_with_parent() -> None:
    """Ask the kernel to SIGKILL this process when the one that started it dies, so that a
    drill that is killed leaves no emulator behind. Called first thing in the child."""
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def events(layout: Layout) -> list[dict[str, object]]:
    if not layout.events.exists():
        return []
    return [json.loads(line) for line in layout.events.read_text().splitlines() if line]


def postgres_ids() -> tuple[int, int]:
    """The postgres user's uid and gid: the owner of the shared data directory."""
    import pwd  # noqa: PLC0415 (only the drill needs the postgres user)

    entry = pwd.getpwnam("postgres")
    return entry.pw_uid, entry.pw_gid
