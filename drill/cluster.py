"""The drill's nodes as processes: each launched into the emulated EC2, booted from its real user
data, its agent started from its unit; and EC2's side of a stop, which kills them.

A node's address is a loopback address of its own (127.0.1.N), which its metadata service gives
as its `local-ipv4`: every node's PostgreSQL listens there, on the one port the cluster uses. Its
agent reaches DynamoDB through a gate of its own (drill/gate.py); the drill can cut the node off
from DynamoDB and its metadata service together.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]

from drill import emulator, machine, restore
from drill.gate import Gate
from drill.hosts import Layout, events, kill_node, postgres_of, serving_nodes
from drill.imds import Metadata
from drill.machine import Machine
from functions.db_credentials import roles
from functions.db_failover import contract

AGENT_UNIT = Path(machine.AGENT_UNIT).name


def settings(estate: emulator.Estate) -> dict[str, str]:
    """A node's settings, as the program writes them into /etc/multitier/pg.env
    (components/database/vip.py: the same keys)."""
    return {
        "REGION": emulator.REGION,
        "CLUSTER": emulator.CLUSTER,
        "VIP": emulator.VIP,
        "PG_MAJOR": "16",
        "OWNER_ROLE": roles.OWNER,
        "APP_LOGIN": roles.APP,
        "READER_LOGIN": roles.READER,
        "APP_CIDRS": "127.0.0.0/8",
        "SHARED_DIR": "/var/lib/multitier-pg",
        "PGDATA": "/var/lib/multitier-pg/data",
        "EFS_ID": "fs-0123456789abcdef0",
        "SECRET_ARN": estate.master_secret_arn,
        "TLS_SECRET_ARN": estate.certificate_secret_arn,
        "LEASE_TABLE": emulator.LEASE_TABLE,
        "NODE_ROLE_ID": emulator.NODE_ROLE_ID,
        "APP_SECRET_ARN": estate.app_secret_arn,
        "READONLY_SECRET_ARN": estate.readonly_secret_arn,
        **restore.settings(),
    }


class BootFailedError(RuntimeError):
    """A node's boot script failed: its log says which step."""


class Cluster:
    """The node processes: one agent each, PostgreSQL when the agent starts it."""

    def __init__(
        self,
        layout: Layout,
        ec2: Any,
        estate: emulator.Estate,
        port: int,
        agent_arguments: list[str],
    ) -> None:
        self.layout, self.ec2, self.estate, self.port = layout, ec2, estate, port
        self._agent_arguments = agent_arguments
        self.addresses: dict[str, str] = {}
        self._machines: dict[str, Machine] = {}
        self._metadata: dict[str, Metadata] = {}
        self._agents: dict[str, subprocess.Popen[bytes]] = {}
        self._gates: dict[str, Gate] = {}
        self._lock = threading.Lock()
        self.killed_at: dict[str, float] = {}
        """When each node's instance last stopped (its processes killed)."""

    def launch(self, skew: float = 0.0) -> str:
        """A node as the Auto Scaling group launches it: the instance, then its first boot; its
        clock `skew` seconds off the machine's."""
        subnets = self.estate.data_subnets
        node = emulator.launch_node(self.ec2, subnets[len(self.addresses) % len(subnets)])
        address = f"127.0.1.{len(self.addresses) + 2}"
        self.addresses[node] = address
        moto = urllib.parse.urlparse(os.environ["AWS_ENDPOINT_URL"]).port
        assert moto is not None
        self._gates[node] = Gate(moto)
        machine = Machine(self.layout, node, address, self.port, settings(self.estate), skew=skew)
        self._machines[node] = machine
        machine.install()
        metadata = self._start_metadata(node)
        result = machine.boot(metadata.endpoint)
        if result.returncode != 0 or not machine.enabled(AGENT_UNIT):
            raise BootFailedError(
                f"{node}'s boot failed (exit {result.returncode}): see "
                f"{self.layout.node(node) / 'boot.log'}"
            )
        self.start_agent(node)
        return node

    def _start_metadata(self, node: str) -> Metadata:
        metadata = Metadata(node, self.addresses[node])
        metadata.start()
        self._metadata[node] = metadata
        return metadata

    def start_agent(self, node: str) -> None:
        """What systemd does for an enabled unit at boot, and after a restart of the instance."""
        machine = self._machines[node]
        metadata = self._metadata.get(node) or self._start_metadata(node)
        with (self.layout.node(node) / "agent.log").open("ab") as log:
            agent = subprocess.Popen(
                machine.agent_command(self._agent_arguments),
                env=machine.agent_environment(metadata.endpoint, self._gates[node].endpoint),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        with self._lock:
            self._agents[node] = agent

    def run(
        self, node: str, command: list[str], overrides: dict[str, str]
    ) -> subprocess.CompletedProcess[str]:
        """A command on the node, as root, with what the node's own processes see (and
        `overrides`: the drill's restore runs another host's files on it)."""
        machine = self._machines[node]
        metadata = self._metadata.get(node) or self._start_metadata(node)
        environment = machine.agent_environment(metadata.endpoint, self._gates[node].endpoint)
        return subprocess.run(
            command,
            env={**environment, **overrides},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
            timeout=600,
        )

    def kill(self, node: str) -> None:
        """The instance stops: its agent and PostgreSQL go, with SIGKILL, then its metadata
        service."""
        with self._lock:
            agent = self._agents.pop(node, None)
            metadata = self._metadata.pop(node, None)
        if agent is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(agent.pid, signal.SIGKILL)
            agent.wait()
        kill_node(self.layout, node)
        self.killed_at[node] = time.time()
        if metadata is not None:
            metadata.stop()

    def cut(self, node: str, cut: bool = True) -> None:
        """Cut the node off from DynamoDB and its metadata service (or join it back), while
        everything on it runs on."""
        switches = [self._gates[node].cut]
        if node in self._metadata:  # a stopped node's metadata service is gone, not cut
            switches.append(self._metadata[node].cut)
        for switch in switches:
            switch.set() if cut else switch.clear()

    def terminate(self, node: str) -> None:
        """The node group terminates the node: everything on it dies, and the instance goes."""
        self.kill(node)
        emulator.terminate_node(self.ec2, node)

    def hang(self, node: str, hung: bool = True) -> None:
        """The node's PostgreSQL hangs, as on a stuck volume: the postmaster and every backend
        stopped (SIGSTOP), while the instance, its agent and its metadata run on; or resumes."""
        for pid in postgres_of(self.layout, node):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP if hung else signal.SIGCONT)

    def crash(self, node: str) -> None:
        """The node's postmaster dies (SIGKILL), its backends with it; the node runs on."""
        for pid in postgres_of(self.layout, node):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def alive(self) -> set[str]:
        """Nodes with an agent or a PostgreSQL running."""
        with self._lock:
            agents = set(self._agents)
        return agents | set(serving_nodes(self.layout))

    def kill_all(self) -> None:
        for node in list(self.addresses):
            self.kill(node)
        for gate in self._gates.values():
            gate.close()

    def actions(self, node: str) -> list[str]:
        """What the node's agent reported doing, in order."""
        log = self.layout.node(node) / "agent.log"
        if not log.exists():
            return []
        found = []
        for line in log.read_text().splitlines():
            # The agent's line may follow a partial line from a PostgreSQL command the agent ran
            # in its previous life, cut short when its instance stopped (`psql:{"agent": ...`).
            start = line.find('{"agent"')
            with contextlib.suppress(ValueError):
                record = json.loads(line[start:]) if start >= 0 else {}
                if "action" in record:
                    found.append(str(record["action"]))
        return found

    def postgres_log(self, node: str) -> list[str]:
        """The node's PostgreSQL log, as lines (none yet: empty)."""
        log = self.layout.host(node) / "var" / "log" / "multitier" / "postgresql.log"
        return log.read_text(errors="replace").splitlines() if log.exists() else []

    def starts(self, node: str, since: float) -> list[dict[str, Any]]:
        return [
            event
            for event in events(self.layout)
            if event["event"] == "start" and event["node"] == node and float(event["t"]) >= since  # type: ignore[arg-type]
        ]


class Hypervisor(threading.Thread):
    """EC2's side of a stop or a termination: everything on the instance dies with it. So when
    the failover function fences a node, the node's agent and PostgreSQL are killed, as on AWS."""

    def __init__(self, cluster: Cluster) -> None:
        super().__init__(name="hypervisor", daemon=True)
        self._cluster = cluster
        self._halt = threading.Event()

    def run(self) -> None:
        ec2 = boto3.client("ec2")
        filters = [
            {"Name": f"tag:{contract.CLUSTER_TAG}", "Values": [emulator.CLUSTER]},
            # Not at `stopping`: an instance may run on until EC2 says it stopped.
            {"Name": "instance-state-name", "Values": ["stopped", "terminated"]},
        ]
        while not self._halt.wait(0.2):
            try:
                reservations = ec2.describe_instances(Filters=filters)["Reservations"]
            except Exception:  # the emulator busy or going away: look again
                continue
            down = {i["InstanceId"] for r in reservations for i in r["Instances"]}
            for node in down & self._cluster.alive():
                self._cluster.kill(node)

    def stop(self) -> None:
        self._halt.set()
        self.join()


class OverlapWatch(threading.Thread):
    """Samples every 20 ms how many nodes run their own postmaster (two at once is an overlap,
    recorded with its moment), and the lease: the longest gap between two renewals by the same
    holder, which is what the lease's staleness must outlast."""

    def __init__(self, layout: Layout) -> None:
        super().__init__(name="overlap-watch", daemon=True)
        self._layout = layout
        self._halt = threading.Event()
        self.overlaps: list[float] = []
        self.longest_renewal_gap = 0.0
        self._last: tuple[str, float] | None = None

    def run(self) -> None:
        while not self._halt.wait(0.02):
            if len(serving_nodes(self._layout)) > 1:
                self.overlaps.append(time.time())
            self._watch_lease()

    def _watch_lease(self) -> None:
        try:
            lease = json.loads((self._layout.shared / "lease").read_text())
            holder, renewed = str(lease["node"]), float(lease["renewed_at"])
        except (OSError, ValueError, KeyError, TypeError):
            return
        if self._last is not None and self._last[0] == holder and renewed > self._last[1]:
            self.longest_renewal_gap = max(self.longest_renewal_gap, renewed - self._last[1])
        self._last = (holder, renewed)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def say(message: str) -> None:
    """Progress goes to the real stdout: the handler's decision lines are captured meanwhile."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.__stdout__, flush=True)


def wait_for(check: Any, timeout: float, step: float = 0.1) -> Any:
    """The first truthy value of `check()` within `timeout` seconds, else None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(step)
    return None
