"""The PostgreSQL node agent: PostgreSQL runs only while the node is primary and holds the lease,
and the node reports its state to the cluster's table.

PostgreSQL itself is stood in for by real commands that create and remove a marker file, so the
agent's subprocess handling is exercised as on a node. The drill runs the agent with the real
`multitier-pg` and PostgreSQL; tests/test_host_python.py runs it on Python 3.9, and so does the
test of its reports through a slow start here.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from functions.hosts import pg_agent
from functions.hosts.pg_agent import Agent, Commands, Lease, file_role
from tests.agent_fixtures import AGENT, Clock, marker_commands, other_node_renews

# --- The role loop -------------------------------------------------------------------------------


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
    assert agent.holding


def test_a_started_primary_writes_through_its_server_every_few_seconds(tmp_path: Path):
    role, marker, checks = tmp_path / "role", tmp_path / "running", tmp_path / "checks"
    role.write_text("primary")
    clock = Clock()
    commands = marker_commands(marker, check=["sh", "-c", f"echo >> {checks}"])
    agent = Agent(
        role=file_role(role),
        postgres=commands,
        lease=Lease(tmp_path / "lease", "a", 10, clock),
        clock=clock,
    )
    assert agent.step() == "started"
    assert [agent.step(), agent.step()] == ["serving", "serving"]  # checked once: not due again
    clock.now += pg_agent.CHECK_EVERY_SECONDS
    assert agent.step() == "serving"
    assert len(checks.read_text().splitlines()) == 2


def test_demotion_stops_postgres_at_once_and_leaves_the_lease(node):
    agent, role, marker, clock = node
    role.write_text("primary")
    agent.step()
    role.write_text("fenced")
    assert agent.step() == "stopped"
    assert not marker.exists()
    renewed = agent.lease.holder()
    clock.now += 1
    agent.keep_lease()
    assert agent.lease.holder() == renewed


def test_a_demoted_primary_hands_over_then_reports_ready_and_frees_the_lease_at_once(
    tmp_path: Path,
):
    """A switchover: the handover (checkpoint, clean stop) runs, not the plain stop; the node is
    `stopping` meanwhile, `ready` after, and a promoted node need not wait for staleness."""
    role, marker, handed = tmp_path / "role", tmp_path / "running", tmp_path / "handed-over"
    clock = Clock()
    states: list[str] = []
    commands = marker_commands(marker)
    agent = Agent(
        role=file_role(role),
        postgres=Commands(
            commands.start,
            ["false"],  # the plain stop is not what a demotion runs
            commands.status,
            handover=["sh", "-c", f"touch {handed} && rm -f {marker}"],
        ),
        lease=Lease(tmp_path / "lease", "a", 10, clock),
        clock=clock,
    )
    agent._become = lambda state, since=None: states.append(state)  # type: ignore[method-assign]
    role.write_text("primary")
    agent.step()
    role.write_text("standby")
    assert agent.step() == "stopped"
    assert handed.exists() and not marker.exists()
    assert states[-2:] == ["stopping", "ready"]
    assert not Lease(tmp_path / "lease", "b", 10, clock).held_by_another()


def test_a_demoted_primary_whose_server_does_not_stop_is_never_ready(node):
    agent, role, marker, _ = node
    role.write_text("primary")
    agent.step()
    agent.postgres = Commands(["true"], ["true"], ["test", "-f", str(marker)])  # stops nothing
    role.write_text("standby")
    assert agent.step() == "stop_failed"
    assert agent.state == "failing"
    assert agent.lease.holder() is not None and agent.lease.holder()[1] > 0


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


def test_no_lease_is_judged_before_the_clock_is_on_the_file_servers_time(node):
    agent, role, marker, _ = node
    ready = False
    agent.clock_ready = lambda: ready
    role.write_text("primary")
    assert agent.step() == "waiting_for_clock"
    assert not marker.exists()
    ready = True
    assert agent.step() == "started"


def test_a_primary_that_lost_its_lease_to_another_node_stops(node):
    agent, role, marker, clock = node
    role.write_text("primary")
    agent.step()
    other_node_renews(agent.lease, at=clock.now + 1)
    clock.now += 1
    assert agent.step() == "stopped_lost_lease"
    assert not marker.exists()


def test_the_lease_loop_leaves_a_lease_another_node_took_and_the_role_loop_stops(node):
    agent, role, marker, clock = node
    role.write_text("primary")
    agent.step()
    other_node_renews(agent.lease, at=clock.now)
    agent.keep_lease()
    assert agent.lease.holder() == ("b", clock.now), "never overwrite another node's lease"
    clock.now += 20  # b is gone meanwhile; the role loop must stop anyway
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
        interval=0,
    )
    assert agent.step() == "start_failed"


def test_an_unreadable_lease_counts_as_free(node):
    agent, role, marker, _ = node
    role.write_text("primary")
    agent.lease.path.write_text("not json")
    assert agent.step() == "started"
    assert marker.exists()


def test_the_agent_logs_each_change_of_action_once(tmp_path: Path, capsys):
    role, marker = tmp_path / "role", tmp_path / "running"
    role.write_text("standby")
    agent = Agent(
        role=file_role(role),
        postgres=marker_commands(marker),
        lease=Lease(tmp_path / "lease", "a", 10),
        interval=0.02,
    )
    halt = threading.Event()
    loops = threading.Thread(target=agent.run_forever, kwargs={"halt": halt})
    loops.start()
    try:
        time.sleep(0.2)
        role.write_text("primary")
        assert _eventually(marker.exists)
        time.sleep(0.2)
        role.write_text("standby")
        assert _eventually(lambda: not marker.exists())
        time.sleep(0.2)
    finally:
        halt.set()
        loops.join(timeout=5)
    actions = [
        json.loads(line)["action"]
        for line in capsys.readouterr().out.splitlines()
        if '"action"' in line
    ]
    assert actions == ["idle", "started", "serving", "stopped", "idle"]


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
