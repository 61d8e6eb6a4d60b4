"""The node agent's lease and reports: the lease renewed on its own thread whatever the agent is
busy with, each state reported when it changes and every heartbeat, a failing primary reported
again when the function's bound passes, and the file server's clock that nodes agree on."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path

import pytest

from functions.db_failover import decision
from functions.hosts import pg_agent
from functions.hosts.pg_agent import Agent, Commands, Lease, file_role
from tests.agent_fixtures import AGENT, Clock, marker_commands, other_node_renews


def counting_renewals(lease: Lease) -> list[float]:
    renewals: list[float] = []
    real_renew = lease.renew

    def renew() -> None:
        renewals.append(time.monotonic())
        real_renew()

    lease.renew = renew  # type: ignore[method-assign]
    return renewals


def run_loops(agent: Agent, seconds: float) -> None:
    """The agent's three loops, for `seconds`."""
    halt = threading.Event()
    loops = threading.Thread(target=agent.run_forever, kwargs={"halt": halt})
    loops.start()
    time.sleep(seconds)
    halt.set()
    loops.join(timeout=10)


@pytest.mark.slow
def test_the_lease_is_renewed_while_postgres_starts(tmp_path: Path):
    """Crash recovery can take minutes: the second guard must not lapse meanwhile."""
    role, marker = tmp_path / "role", tmp_path / "running"
    role.write_text("primary")
    lease = Lease(tmp_path / "lease", "a", stale_after=10)
    renewals = counting_renewals(lease)
    slow_start = Commands(
        start=["sh", "-c", f"sleep 1 && touch {marker}"],
        stop=["rm", "-f", str(marker)],
        status=["test", "-f", str(marker)],
    )
    agent = Agent(role=file_role(role), postgres=slow_start, lease=lease, interval=0.1)
    run_loops(agent, 1.0)
    assert len(renewals) >= 6, renewals
    assert max(b - a for a, b in itertools.pairwise(renewals)) < 0.5


@pytest.mark.slow
def test_the_lease_is_renewed_while_a_hung_server_is_checked(tmp_path: Path):
    """A hung server still holds the data directory: the second guard must not lapse."""
    role, marker = tmp_path / "role", tmp_path / "running"
    role.write_text("primary")
    marker.touch()
    lease = Lease(tmp_path / "lease", "a", stale_after=10)
    renewals = counting_renewals(lease)
    hung = marker_commands(marker, check=["sleep", "5"])
    agent = Agent(role=file_role(role), postgres=hung, lease=lease, interval=0.1)
    run_loops(agent, 1.5)
    assert len(renewals) >= 10, renewals


def reports(agent: Agent) -> list[tuple[str, float]]:
    seen: list[tuple[str, float]] = []
    agent.report = lambda state, since: seen.append((state, since))
    return seen


def test_nothing_is_reported_before_the_role_loop_decided_a_state(node):
    agent, role, _, _ = node
    seen = reports(agent)
    assert not agent.publish()
    role.write_text("standby")
    agent.step()
    assert agent.publish()
    assert [state for state, _ in seen] == ["ready"]


def test_a_standby_reports_ready_and_a_serving_primary_serving(node):
    agent, role, _, clock = node
    seen = reports(agent)
    role.write_text("standby")
    agent.step()
    agent.publish()
    assert seen == [("ready", clock.now)]
    role.write_text("primary")
    clock.now += 1
    agent.step()  # started
    agent.publish()
    assert seen[-1] == ("starting", clock.now)
    clock.now += 1
    agent.step()  # its first write through the server
    agent.publish()
    assert seen[-1] == ("serving", clock.now)


def test_a_primary_whose_check_fails_reports_failing_since_its_last_write(tmp_path: Path):
    role, marker, ok = tmp_path / "role", tmp_path / "running", tmp_path / "ok"
    role.write_text("primary")
    ok.touch()
    clock = Clock()
    commands = marker_commands(marker, check=["test", "-f", str(ok)])
    agent = Agent(
        role=file_role(role),
        postgres=commands,
        lease=Lease(tmp_path / "l", "a", 10, clock),
        clock=clock,
    )
    seen = reports(agent)
    agent.step()
    agent.step()
    last_write = clock.now
    ok.unlink()  # the volume stalls
    clock.now += pg_agent.CHECK_EVERY_SECONDS
    assert agent.step() == "failing"
    agent.publish()
    assert seen[-1] == ("failing", last_write)


def test_a_primary_whose_role_loop_is_stuck_reports_failing_since_its_last_write(node):
    """Whatever the role loop is blocked in (a hung volume, a slow metadata read), a primary
    that has not written for a while no longer says it serves."""
    agent, role, _, clock = node
    seen = reports(agent)
    role.write_text("primary")
    agent.step()
    agent.step()
    last_write = clock.now
    agent.publish()
    clock.now += pg_agent.SERVING_FOR_SECONDS + 0.1  # no step meanwhile
    agent.publish()
    assert [state for state, _ in seen] == ["serving", "failing"]
    assert seen[-1] == ("failing", last_write)


def test_a_failing_primary_reports_again_when_the_functions_bound_passes(node):
    """The stream runs the function on each `failing` report: one more report when the
    hysteresis ends makes the function fence then, not at the next heartbeat."""
    agent, role, _, clock = node
    seen = reports(agent)
    role.write_text("primary")
    agent.step()
    agent.step()
    agent.publish()
    clock.now += pg_agent.SERVING_FOR_SECONDS + 0.1
    agent.publish()  # failing, within the bound
    clock.now += 0.5
    assert not agent.publish()
    clock.now = seen[-1][1] + pg_agent.FAIL_AFTER_SECONDS
    assert agent.publish()
    assert [state for state, _ in seen] == ["serving", "failing", "failing"]


def test_a_start_that_outlasts_the_grace_reports_failing(node):
    agent, role, _, clock = node
    seen = reports(agent)
    role.write_text("primary")
    other_node_renews(agent.lease, at=clock.now + 10_000)  # the lease never frees
    agent.step()
    started_starting = clock.now
    agent.publish()
    clock.now += pg_agent.START_GRACE_SECONDS + 1
    agent.publish()
    assert seen == [("starting", started_starting), ("failing", started_starting)]


def test_a_promoted_node_reports_starting_while_it_waits_for_the_lease(node):
    agent, role, _, clock = node
    seen = reports(agent)
    role.write_text("primary")
    other_node_renews(agent.lease, at=clock.now)
    assert agent.step() == "waiting_for_lease"
    agent.publish()
    assert seen == [("starting", clock.now)]


def test_reports_repeat_every_heartbeat_and_at_once_on_a_change(node):
    agent, role, _, clock = node
    seen = reports(agent)
    role.write_text("standby")
    agent.step()
    agent.publish()
    clock.now += 1
    agent.step()
    agent.publish()  # not due, unchanged: nothing
    assert len(seen) == 1
    clock.now += pg_agent.HEARTBEAT_SECONDS
    agent.publish()
    assert len(seen) == 2
    role.write_text("primary")
    clock.now += 0.5
    agent.step()
    agent.publish()
    assert [state for state, _ in seen] == ["ready", "ready", "starting"]


def test_a_failed_report_is_retried_a_second_later_and_logged_once(node, capsys):
    agent, role, _, clock = node
    attempts: list[float] = []

    def unreachable(state: str, since: float) -> None:
        attempts.append(clock.now)
        raise OSError("timed out")

    agent.report = unreachable
    role.write_text("standby")
    agent.step()
    for _ in range(30):
        agent.publish()
        clock.now += 0.1
    assert len(attempts) == 3
    assert capsys.readouterr().out.count("report_failed") == 1


@pytest.mark.slow
def test_reports_keep_flowing_while_postgres_starts(tmp_path: Path):
    """The defect the drill could not show: a start (crash recovery on EFS) that outlasts the
    reports' staleness must not silence the node, or the function fences it mid-recovery."""
    role, marker = tmp_path / "role", tmp_path / "running"
    role.write_text("primary")
    seen: list[tuple[str, bool]] = []
    slow_start = Commands(
        start=["sh", "-c", f"sleep 2 && touch {marker}"],
        stop=["rm", "-f", str(marker)],
        status=["test", "-f", str(marker)],
    )
    agent = Agent(
        role=file_role(role),
        postgres=slow_start,
        lease=Lease(tmp_path / "lease", "a", 10),
        report=lambda state, since: seen.append((state, marker.exists())),
        interval=0.05,
        heartbeat=0.3,
    )
    run_loops(agent, 1.8)
    during = [state for state, started in seen if not started]
    assert during == ["starting"] * len(during)
    assert len(during) >= 4, seen


def test_the_server_clock_takes_the_offset_from_the_files_modification_time(tmp_path: Path):
    """The shared volume's server stamps each write with its own time: a node whose clock is
    30 s ahead reads the server's time once it has written there (here the server is this
    machine's file system, and the node's clock is skewed by hand)."""
    skewed = pg_agent.ServerClock(tmp_path / ".clock.a", local=lambda: time.time() + 30)
    assert skewed() == pytest.approx(time.time() + 30, abs=0.1)
    skewed.measure()
    assert skewed.measured
    assert skewed() == pytest.approx(time.time(), abs=0.1)


def test_a_slow_probe_leaves_the_offset_as_it_was(tmp_path: Path):
    """The server stamps the write anywhere within the probe: a probe that took 3 s could put
    the clock 1.5 s off, half the lease's staleness."""
    ticks = iter([0.0, 0.0, 0.05, 10.0, 13.0])  # construction, then two probes
    clock = pg_agent.ServerClock(
        tmp_path / ".clock.a", local=lambda: time.time() + 30, monotonic=lambda: next(ticks)
    )
    assert clock.measure() is True
    offset = clock.offset
    assert clock.measure() is False
    assert clock.offset == offset


def test_a_standby_whose_volume_does_not_answer_is_no_candidate(node):
    """A volume-wide stall must not fence a healthy primary to promote a node that cannot write
    either: a standby reports `ready` only while its own probe of the volume answers."""
    agent, role, _, clock = node
    seen = reports(agent)
    answers = True
    agent.volume_answers = lambda: answers
    role.write_text("standby")
    agent.step()
    agent.publish()
    answers = False
    clock.now += 1
    agent.step()
    agent.publish()
    assert [state for state, _ in seen] == ["ready", "failing"]


@pytest.mark.slow
def test_a_volume_that_stalls_the_clocks_probe_delays_no_renewal(tmp_path: Path):
    role, marker = tmp_path / "role", tmp_path / "running"
    role.write_text("primary")
    lease = Lease(tmp_path / "lease", "a", stale_after=10)
    renewals = counting_renewals(lease)
    agent = Agent(role=file_role(role), postgres=marker_commands(marker), lease=lease, interval=0.1)
    halt = threading.Event()
    loops = threading.Thread(
        target=agent.run_forever, kwargs={"halt": halt, "measure": lambda: time.sleep(2)}
    )
    loops.start()
    time.sleep(1.5)
    halt.set()
    loops.join(timeout=10)
    assert len(renewals) >= 8, renewals


def test_nodes_with_skewed_clocks_agree_on_the_leases_age(tmp_path: Path):
    """A clock 5 s behind would make b's live lease look 5 s older, and stale (3 s), to a node
    whose clock is ahead: on the file server's time both see it fresh."""
    ahead = pg_agent.ServerClock(tmp_path / ".clock.a", local=lambda: time.time() + 5)
    behind = pg_agent.ServerClock(tmp_path / ".clock.b", local=lambda: time.time() - 5)
    for clock in (ahead, behind):
        clock.measure()
    holder = Lease(tmp_path / "lease", "b", stale_after=3, clock=behind)
    holder.renew()
    assert Lease(tmp_path / "lease", "a", stale_after=3, clock=ahead).held_by_another()
    unskewed = Lease(tmp_path / "lease", "a", stale_after=3, clock=lambda: time.time() + 5)
    other = Lease(tmp_path / "lease", "b", stale_after=3, clock=lambda: time.time() - 5)
    other.renew()
    assert not unskewed.held_by_another(), "without the server's time the lease looks stale"


def test_the_agents_bounds_are_the_failover_functions():
    assert pg_agent.FAIL_AFTER_SECONDS == decision.FAIL_AFTER_SECONDS
    assert pg_agent.START_GRACE_SECONDS == decision.START_GRACE_SECONDS
    assert pg_agent.HEARTBEAT_SECONDS * 4 == decision.REPORT_STALE_SECONDS
    assert pg_agent.SERVING_FOR_SECONDS < pg_agent.FAIL_AFTER_SECONDS


def test_the_check_timeout_is_the_service_scripts():
    script = (AGENT.parent / "pg_service.sh").read_text()
    assert f"CHECK_TIMEOUT=${{CHECK_TIMEOUT:-{pg_agent.CHECK_TIMEOUT_SECONDS:.0f}}}" in script
