"""The PostgreSQL node agent: PostgreSQL runs only while the node is primary and holds the lease.

PostgreSQL itself is stood in for by real commands that create and remove a marker file, so the
agent's subprocess handling is exercised as on a node.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
from pathlib import Path

import pytest

from functions.hosts import pg_agent
from functions.hosts.pg_agent import Agent, Commands, Lease, file_role

AGENT = Path(pg_agent.__file__)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def marker_commands(marker: Path) -> Commands:
    return Commands(
        start=["touch", str(marker)],
        stop=["rm", "-f", str(marker)],
        status=["test", "-f", str(marker)],
    )


@pytest.fixture
def node(tmp_path: Path):
    """An agent for node `a`, its role file, its 'PostgreSQL' marker and a shared lease."""
    role = tmp_path / "role"
    marker = tmp_path / "postgres-running"
    clock = Clock()
    lease = Lease(tmp_path / "lease", "a", stale_after=10, clock=clock)
    agent = Agent(role=file_role(role), postgres=marker_commands(marker), lease=lease)
    return agent, role, marker, clock


def other_node_renews(lease: Lease, at: float) -> None:
    lease.path.write_text(json.dumps({"node": "b", "renewed_at": at}))


def test_a_standby_never_starts_postgres(node):
    agent, role, marker, _ = node
    role.write_text("standby")
    assert agent.step() == "idle"
    assert not marker.exists()


def test_a_primary_with_a_free_lease_starts_postgres_and_takes_the_lease(node):
    agent, role, marker, clock = node
    role.write_text("primary")
    assert agent.step() == "started"
    assert marker.exists()
    assert agent.lease.holder() == ("a", clock.now)


def test_a_running_primary_renews_its_lease(node):
    agent, role, _, clock = node
    role.write_text("primary")
    agent.step()
    clock.now += 1
    assert agent.step() == "renewed"
    assert agent.lease.holder() == ("a", clock.now)


def test_demotion_stops_postgres_at_once(node):
    agent, role, marker, _ = node
    role.write_text("primary")
    agent.step()
    role.write_text("fenced")
    assert agent.step() == "stopped"
    assert not marker.exists()


def test_a_node_without_a_role_stops_postgres(node):
    agent, role, marker, _ = node
    role.write_text("primary")
    agent.step()
    role.unlink()
    assert agent.step() == "stopped"
    assert not marker.exists()


def test_a_promoted_node_waits_while_the_old_primary_still_renews(node):
    agent, role, marker, clock = node
    role.write_text("primary")
    other_node_renews(agent.lease, at=clock.now - 3)
    assert agent.step() == "waiting_for_lease"
    assert not marker.exists()
    clock.now += 8  # eleven seconds since b's last renewal: stale
    assert agent.step() == "started"
    assert marker.exists()
    assert agent.lease.holder() == ("a", clock.now)


def test_a_primary_that_lost_its_lease_to_another_node_stops(node):
    agent, role, marker, clock = node
    role.write_text("primary")
    agent.step()
    other_node_renews(agent.lease, at=clock.now + 1)
    clock.now += 1
    assert agent.step() == "stopped_lost_lease"
    assert not marker.exists()


def test_a_primary_restarts_postgres_on_its_own_lease_after_a_crash(node):
    agent, role, marker, clock = node
    role.write_text("primary")
    agent.step()
    marker.unlink()  # PostgreSQL died
    clock.now += 1
    assert agent.step() == "started"
    assert marker.exists()


def test_a_failed_start_is_reported(tmp_path: Path):
    role = tmp_path / "role"
    role.write_text("primary")
    agent = Agent(
        role=file_role(role),
        postgres=Commands(start=["false"], stop=["true"], status=["false"]),
        lease=Lease(tmp_path / "lease", "a", stale_after=10),
    )
    assert agent.step() == "start_failed"


def test_an_unreadable_lease_counts_as_free(node):
    agent, role, marker, _ = node
    role.write_text("primary")
    agent.lease.path.write_text("not json")
    assert agent.step() == "started"
    assert marker.exists()


def test_metadata_role_is_none_when_metadata_cannot_be_read(monkeypatch):
    def unreachable(*args: object, **kwargs: object) -> str:
        raise urllib.error.URLError("no metadata service")

    monkeypatch.setattr(pg_agent, "_imds", unreachable)
    assert pg_agent.imds_role() is None


def test_run_forever_logs_each_change_of_action_once(node, capsys):
    agent, role, _, _ = node
    role.write_text("standby")
    steps = iter(["standby", "standby", "primary", "primary", "standby"])

    def sleep(_: float) -> None:
        try:
            role.write_text(next(steps))
        except StopIteration:
            raise KeyboardInterrupt from None

    with pytest.raises(KeyboardInterrupt):
        agent.run_forever(0, sleep=sleep)
    actions = [json.loads(line)["action"] for line in capsys.readouterr().out.splitlines()]
    assert actions == ["idle", "started", "renewed", "stopped"]


def test_the_agent_program_starts_and_stops_postgres_as_its_role_changes(tmp_path: Path):
    """The shipped file, run as a program, with injected commands and a role file."""
    role, marker = tmp_path / "role", tmp_path / "running"
    role.write_text("standby")
    commands = marker_commands(marker)
    process = subprocess.Popen(
        [
            sys.executable,
            str(AGENT),
            "--lease",
            str(tmp_path / "lease"),
            "--node-id",
            "a",
            "--role-file",
            str(role),
            "--interval",
            "0.05",
            "--start",
            " ".join(commands.start),
            "--stop",
            " ".join(commands.stop),
            "--status",
            " ".join(commands.status),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(0.3)
        assert not marker.exists()
        role.write_text("primary")
        assert _eventually(marker.exists)
        role.write_text("standby")
        assert _eventually(lambda: not marker.exists())
    finally:
        process.terminate()
        process.wait(timeout=5)


def _eventually(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False
