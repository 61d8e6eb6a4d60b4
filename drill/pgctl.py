"""The drill's `multitier-pg start|stop|status`: PostgreSQL for one emulated node.

It does on one machine what `functions/hosts/pg_service.sh` does on a node: start PostgreSQL
on the shared data directory (running initdb on the very first start, and removing a leftover
`postmaster.pid` of a fenced node, as the node's script does), stop it, and say whether it runs on
"this host". Every node listens on its own loopback port and keeps the pid of the postmaster it
started in its own directory, since all nodes share one kernel here.

The drill watches for the fault the fence and the lease exist to prevent: at every start it
records which other nodes still run a postmaster. Across hosts (EFS) nothing else would stop a
second postmaster on the same directory; on one machine PostgreSQL's own shared-memory check
would refuse it, so the start attempt itself is what the drill counts.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "drill"
READY_TIMEOUT = 60.0


@dataclass(frozen=True)
class Layout:
    """Where things live under the drill's root directory."""

    root: Path

    @property
    def shared(self) -> Path:
        """The stand-in for the EFS volume all nodes mount."""
        return self.root / "shared"

    @property
    def data(self) -> Path:
        return self.shared / "pgdata"

    @property
    def lease(self) -> Path:
        return self.shared / "lease"

    @property
    def events(self) -> Path:
        return self.root / "events.jsonl"

    def node(self, node_id: str) -> Path:
        return self.root / "nodes" / node_id

    def pid_file(self, node_id: str) -> Path:
        return self.node(node_id) / "postmaster.pid.local"

    def nodes(self) -> list[str]:
        parent = self.root / "nodes"
        return sorted(path.name for path in parent.iterdir()) if parent.exists() else []


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name, or None if there is no such pid."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def alive(pid: int) -> bool:
    """The process exists and is not a zombie (a killed postmaster waiting to be reaped is dead)."""
    fields = _stat(pid)
    return fields is not None and fields[0] not in {"Z", "X"}


def identity(pid: int) -> str | None:
    """The pid with its start time: a pid the kernel reuses for another process differs."""
    fields = _stat(pid)
    return None if fields is None else f"{pid}:{fields[19]}"


def postmaster_pid(layout: Layout, node_id: str) -> int | None:
    """The pid of the postmaster this node started, while that same process runs."""
    try:
        recorded = layout.pid_file(node_id).read_text().strip()
        pid = int(recorded.split(":")[0])
    except (OSError, ValueError):
        return None
    return pid if alive(pid) and identity(pid) == recorded else None


def running_nodes(layout: Layout) -> list[str]:
    return [node for node in layout.nodes() if postmaster_pid(layout, node) is not None]


def die_with_parent() -> None:
    """Ask the kernel to SIGKILL this process when the one that started it dies, so that a
    drill that is killed leaves no agent or emulator behind. Called first thing in the child."""
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def kill_strays(layout: Layout) -> None:
    """SIGKILL the process group of anything still running from the drill's directory, such as
    a postmaster whose start was cut short before its pid was recorded."""
    marker = str(layout.root).encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if marker in (proc / "cmdline").read_bytes():
                os.killpg(os.getpgid(int(proc.name)), signal.SIGKILL)


def record(layout: Layout, event: dict[str, object]) -> None:
    """Append one event line; O_APPEND keeps concurrent writers' lines whole."""
    line = json.dumps({"t": time.time(), **event}) + "\n"
    fd = os.open(layout.events, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def bin_dir() -> Path:
    """PostgreSQL's server programs: Debian keeps them out of PATH, under /usr/lib/postgresql."""
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    if versions:
        return versions[-1].parent
    found = shutil.which("postgres")
    if found:
        return Path(found).parent
    raise FileNotFoundError(
        "PostgreSQL's server programs (postgres, initdb) were not found: install the Debian "
        "package `postgresql` (apt-get install postgresql), which .ci/run does when missing"
    )


def server_user() -> str | None:
    """PostgreSQL refuses to run as root: as root, run it as the `postgres` user."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError as error:
        raise RuntimeError(
            "running as root, PostgreSQL needs the `postgres` user, which the Debian package "
            "`postgresql` creates"
        ) from error
    return "postgres"


def own(path: Path, user: str | None) -> None:
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def initdb(layout: Layout) -> None:
    """The very first start of the cluster creates the data directory, as the node script does."""
    user = server_user()
    layout.data.mkdir(mode=0o700, exist_ok=True)
    own(layout.data, user)
    subprocess.run(
        [
            str(bin_dir() / "initdb"),
            f"--pgdata={layout.data}",
            f"--username={SUPERUSER}",
            "--auth=trust",
            "--no-instructions",
        ],
        check=True,
        capture_output=True,
        user=user,
    )


def start(layout: Layout, node_id: str, port: int) -> int:
    others = [node for node in running_nodes(layout) if node != node_id]
    record(layout, {"event": "start", "node": node_id, "others_running": others})
    if not (layout.data / "PG_VERSION").exists():
        initdb(layout)
    # As on a node: the lease says nobody else runs here, so a pid file is a fenced node's leftover.
    (layout.data / "postmaster.pid").unlink(missing_ok=True)
    user = server_user()
    sockets = layout.node(node_id) / "sockets"
    sockets.mkdir(exist_ok=True)
    own(sockets, user)
    with (layout.node(node_id) / "postgres.log").open("ab") as log:
        server = subprocess.Popen(
            [
                str(bin_dir() / "postgres"),
                "-D",
                str(layout.data),
                "-p",
                str(port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                f"unix_socket_directories={sockets}",
                "-c",
                "shared_buffers=32MB",
                "-c",
                "max_connections=20",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            user=user,
            start_new_session=True,
        )
    layout.pid_file(node_id).write_text(identity(server.pid) or str(server.pid))
    return 0 if _wait_ready(server, port) else 1


def _wait_ready(server: subprocess.Popen[bytes], port: int) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            return False
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            probe = subprocess.run(
                [str(bin_dir() / "pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-q"],
                check=False,
            )
            if probe.returncode == 0:
                return True
        time.sleep(0.05)
    return False


def stop(layout: Layout, node_id: str) -> int:
    """Fast shutdown, then immediate, then SIGKILL to the server's process group."""
    pid = postmaster_pid(layout, node_id)
    record(layout, {"event": "stop", "node": node_id, "pid": pid})
    if pid is None:
        return 0
    for sig, wait in ((signal.SIGINT, 10.0), (signal.SIGQUIT, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        if _wait_dead(pid, wait):
            return 0
    kill_group(pid)
    return 0


def kill_group(pid: int) -> None:
    """SIGKILL the postmaster and its backends (they share its process group), and wait."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    _wait_dead(pid, 10.0)


def _wait_dead(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.02)
    return not alive(pid)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="PostgreSQL for one node of the drill")
    parser.add_argument("command", choices=["start", "stop", "status"])
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--node", required=True)
    parser.add_argument("--port", type=int, help="the node's port (start only)")
    args = parser.parse_args(argv)
    layout = Layout(args.root)
    if args.command == "start":
        if args.port is None:
            parser.error("start needs --port")
        return start(layout, args.node, args.port)
    if args.command == "stop":
        return stop(layout, args.node)
    return 0 if postmaster_pid(layout, args.node) is not None else 1


if __name__ == "__main__":
    sys.exit(main())
