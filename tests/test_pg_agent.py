"""The PostgreSQL node agent: PostgreSQL runs only while the node is primary and holds the lease,
and the node reports its state to the cluster's table.

PostgreSQL itself is stood in for by real commands that create and remove a marker file, so the
agent's subprocess handling is exercised as on a node. The drill runs the agent with the real
`multitier-pg` and PostgreSQL; tests/test_host_python.py runs it on Python 3.9, and so does the
test of its reports through a slow start here.
"""

from __future__ import annotations

import contextlib
import datetime
import http.server
import itertools
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import boto3  # type: ignore[import-untyped]
import pytest
from botocore.auth import SigV4Auth  # type: ignore[import-untyped]
from botocore.awsrequest import AWSRequest  # type: ignore[import-untyped]
from botocore.credentials import Credentials  # type: ignore[import-untyped]
from moto.server import ThreadedMotoServer

from drill.machine import host_python
from functions.db_failover import decision
from functions.hosts import pg_agent
from functions.hosts.pg_agent import Agent, Commands, Lease, file_role
from tests.failover_world import create_lease_table

AGENT = Path(pg_agent.__file__)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def marker_commands(marker: Path, check: list[str] | None = None) -> Commands:
    return Commands(
        start=["touch", str(marker)],
        stop=["rm", "-f", str(marker)],
        status=["test", "-f", str(marker)],
        check=check or ["true"],
    )


@pytest.fixture
def node(tmp_path: Path):
    """An agent for node `a`, its role file, its 'PostgreSQL' marker and a shared lease."""
    role = tmp_path / "role"
    marker = tmp_path / "postgres-running"
    clock = Clock()
    lease = Lease(tmp_path / "lease", "a", stale_after=10, clock=clock)
    agent = Agent(
        role=file_role(role), postgres=marker_commands(marker), lease=lease, interval=0, clock=clock
    )
    return agent, role, marker, clock


def other_node_renews(lease: Lease, at: float) -> None:
    lease.path.write_text(json.dumps({"node": "b", "renewed_at": at}))


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


# --- Instance metadata ---------------------------------------------------------------------------


class FakeMetadata(http.server.BaseHTTPRequestHandler):
    """IMDSv2 for one node: a token for PUT /latest/api/token, then tags and ids with it."""

    tokens_issued = 0
    role: str | None = "primary"
    down = False

    def do_PUT(self) -> None:
        type(self).tokens_issued += 1
        self._answer(200, f"token-{type(self).tokens_issued}")

    def do_GET(self) -> None:
        if type(self).down:
            self._answer(500, "down")
        elif self.headers.get("X-aws-ec2-metadata-token") != f"token-{type(self).tokens_issued}":
            self._answer(401, "")
        elif self.path.endswith(pg_agent.ROLE_TAG):
            role = type(self).role
            self._answer(404, "") if role is None else self._answer(200, role)
        else:
            self._answer(404, "")

    def _answer(self, status: int, body: str) -> None:
        self.send_response(status)
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def imds():
    handler = type("Metadata", (FakeMetadata,), {"tokens_issued": 0, "role": "primary"})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield handler, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_the_metadata_token_is_kept_for_its_lifetime(imds):
    handler, endpoint = imds
    role = pg_agent.MetadataRole(pg_agent.Metadata(endpoint))
    assert [role() for _ in range(5)] == ["primary"] * 5
    assert handler.tokens_issued == 1


def test_a_rejected_token_is_replaced_once(imds):
    handler, endpoint = imds
    metadata = pg_agent.Metadata(endpoint)
    role = pg_agent.MetadataRole(metadata)
    assert role() == "primary"
    handler.tokens_issued += 1  # the service forgot our token (a restart)
    assert role() == "primary"
    assert handler.tokens_issued == 3


def test_a_failed_metadata_read_keeps_the_last_role_for_a_bounded_run(imds):
    handler, endpoint = imds
    role = pg_agent.MetadataRole(pg_agent.Metadata(endpoint, timeout=0.5), max_failures=3)
    assert role() == "primary"
    handler.down = True
    assert [role(), role(), role()] == ["primary", "primary", None]
    handler.down = False
    assert role() == "primary"


def test_a_node_without_a_role_tag_has_no_role_at_once(imds):
    handler, endpoint = imds
    role = pg_agent.MetadataRole(pg_agent.Metadata(endpoint))
    assert role() == "primary"
    handler.role = None
    assert role() is None


def test_a_primary_keeps_serving_through_a_metadata_outage(tmp_path: Path, imds):
    handler, endpoint = imds
    marker = tmp_path / "running"
    agent = Agent(
        role=pg_agent.MetadataRole(pg_agent.Metadata(endpoint, timeout=0.5), max_failures=3),
        postgres=marker_commands(marker),
        lease=Lease(tmp_path / "lease", "a", stale_after=10),
        interval=0,
    )
    assert agent.step() == "started"
    handler.down = True
    assert [agent.step(), agent.step()] == ["serving", "serving"]
    assert agent.step() == "stopped"  # the third failure in a row: no role any more
    assert not marker.exists()


# --- Lease and reports ---------------------------------------------------------------------------


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


# --- The file server's clock ---------------------------------------------------------------------


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


# --- What the agent and the failover function agree on -------------------------------------------


def test_the_agents_bounds_are_the_failover_functions():
    assert pg_agent.FAIL_AFTER_SECONDS == decision.FAIL_AFTER_SECONDS
    assert pg_agent.START_GRACE_SECONDS == decision.START_GRACE_SECONDS
    assert pg_agent.HEARTBEAT_SECONDS * 4 == decision.REPORT_STALE_SECONDS
    assert pg_agent.SERVING_FOR_SECONDS < pg_agent.FAIL_AFTER_SECONDS


def test_the_check_timeout_is_the_service_scripts():
    script = (AGENT.parent / "pg_service.sh").read_text()
    assert f"CHECK_TIMEOUT=${{CHECK_TIMEOUT:-{pg_agent.CHECK_TIMEOUT_SECONDS:.0f}}}" in script


def test_the_signature_is_the_one_botocore_computes():
    """The agent signs by hand (no boto3 on the hosts' Python): compare with botocore."""
    when = datetime.datetime(2026, 12, 1, 12, 0, 0, tzinfo=datetime.UTC)
    body = b'{"TableName": "t", "Item": {}}'
    url = "https://dynamodb.eu-west-1.amazonaws.com/"
    headers = {"content-type": "application/x-amz-json-1.0", "x-amz-target": "X.PutItem"}
    ours = pg_agent.signed_request(
        method="POST",
        url=url,
        body=body,
        headers=headers,
        credentials=pg_agent.Credentials("AKIDEXAMPLE", "secret", "session-token", 0),
        region="eu-west-1",
        service="dynamodb",
        now=when,
    )
    request = AWSRequest(method="POST", url=url, data=body, headers=dict(headers))
    signer = SigV4Auth(
        Credentials("AKIDEXAMPLE", "secret", "session-token"), "dynamodb", "eu-west-1"
    )
    with mock.patch("botocore.auth.get_current_datetime", return_value=when):
        signer.add_auth(request)
    assert ours["authorization"] == request.headers["Authorization"]


def test_a_report_is_an_item_dynamodb_accepts(tmp_path: Path):
    """The hand-made PutItem against moto's DynamoDB over HTTP, as the agent sends it."""
    with moto_dynamodb() as (endpoint, dynamodb):
        reporter = pg_agent.Reporter(
            table="cluster",
            region="eu-west-1",
            node_id="i-0123456789abcdef0",
            credentials=lambda: pg_agent.Credentials("test", "test", "token", 0),
            endpoint=endpoint + "/",
            clock=lambda: 1_000.0,
        )
        reporter.report("serving", 990.0)
        item = dynamodb.get_item(TableName="cluster", Key={"id": {"S": "node#i-0123456789abcdef0"}})
        assert item["Item"]["state"] == {"S": "serving"}
        times = float(item["Item"]["since"]["N"]), float(item["Item"]["at"]["N"])
        assert times == (990.0, 1000.0)


@contextlib.contextmanager
def moto_dynamodb() -> Iterator[tuple[str, Any]]:
    """moto's DynamoDB over HTTP, with the cluster's table `cluster` (new: moto's servers in
    one process share their state)."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        dynamodb = boto3.client(
            "dynamodb",
            endpoint_url=endpoint,
            region_name="eu-west-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        with contextlib.suppress(dynamodb.exceptions.ResourceNotFoundException):
            dynamodb.delete_table(TableName="cluster")
        create_lease_table(dynamodb, "cluster")
        yield endpoint, dynamodb
    finally:
        server.stop()


class CredentialsOnly(http.server.BaseHTTPRequestHandler):
    """Instance metadata as far as the agent's reports need it: a token and role credentials."""

    def do_PUT(self) -> None:
        self._answer("token")

    def do_GET(self) -> None:
        if self.path.endswith("/security-credentials/"):
            self._answer("node-role")
        elif self.path.endswith("/security-credentials/node-role"):
            self._answer(
                json.dumps(
                    {
                        "AccessKeyId": "test",
                        "SecretAccessKey": "test",
                        "Token": "test",
                        "Expiration": "2099-01-01T00:00:00Z",
                    }
                )
            )
        else:
            self.send_response(404)
            self.end_headers()

    def _answer(self, body: str) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.slow
def test_the_real_agent_on_python_3_9_reports_all_through_a_slow_start(tmp_path: Path):
    """The shipped agent on the hosts' interpreter, reporting to DynamoDB over HTTP as on a
    node, while PostgreSQL's start (crash recovery) takes 6 s: it reports `starting` before the
    start and keeps reporting during it. Before the agent's loops had threads of their own it
    said nothing for the whole start, and the function fenced the node mid-recovery."""
    role, marker = tmp_path / "role", tmp_path / "running"
    role.write_text("primary")
    imds = http.server.ThreadingHTTPServer(("127.0.0.1", 0), CredentialsOnly)
    threading.Thread(target=imds.serve_forever, daemon=True).start()
    with moto_dynamodb() as (endpoint, dynamodb):
        process = subprocess.Popen(
            [
                str(host_python()),
                str(AGENT),
                "--lease",
                str(tmp_path / "lease"),
                "--node-id",
                "i-0123456789abcdef0",
                "--role-file",
                str(role),
                "--table",
                "cluster",
                "--region",
                "eu-west-1",
                "--heartbeat",
                "1",
                "--start",
                f"sh -c 'sleep 6 && touch {marker}'",
                "--stop",
                f"rm -f {marker}",
                "--status",
                f"test -f {marker}",
                "--check",
                "true",
            ],
            env={
                "PATH": "/usr/bin:/bin",
                "IMDS_ENDPOINT": f"http://127.0.0.1:{imds.server_address[1]}",
                "AWS_ENDPOINT_URL": endpoint,
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        seen: dict[float, str] = {}
        started = time.monotonic()
        try:
            while not marker.exists() and time.monotonic() - started < 15:
                item = dynamodb.get_item(
                    TableName="cluster", Key={"id": {"S": "node#i-0123456789abcdef0"}}
                ).get("Item")
                if item:
                    seen[float(item["at"]["N"])] = item["state"]["S"]
                time.sleep(0.2)
        finally:
            process.terminate()
            output = process.communicate(timeout=10)[0]
        imds.shutdown()
    assert marker.exists(), output
    states = [seen[at] for at in sorted(seen)]
    assert states and set(states) == {"starting"}, (states, output)
    assert len(states) >= 5, f"reports during a 6 s start: {states}\n{output}"
