"""The PostgreSQL node agent: PostgreSQL runs only while the node is primary and holds the lease,
and the node reports its state to the cluster's table.

PostgreSQL itself is stood in for by real commands that create and remove a marker file, so the
agent's subprocess handling is exercised as on a node. The drill runs the agent with the real
`multitier-pg` and PostgreSQL; tests/test_host_python.py runs it on Python 3.9.
"""

from __future__ import annotations

import datetime
import http.server
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from unittest import mock

import boto3  # type: ignore[import-untyped]
import pytest
from botocore.auth import SigV4Auth  # type: ignore[import-untyped]
from botocore.awsrequest import AWSRequest  # type: ignore[import-untyped]
from botocore.credentials import Credentials  # type: ignore[import-untyped]
from moto.server import ThreadedMotoServer

from functions.hosts import pg_agent
from functions.hosts.pg_agent import Agent, Commands, Lease, file_role
from tests.failover_world import create_lease_table

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
    agent = Agent(
        role=file_role(role), postgres=marker_commands(marker), lease=lease, interval=0, clock=clock
    )
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
        interval=0,
    )
    assert agent.step() == "start_failed"


def test_an_unreadable_lease_counts_as_free(node):
    agent, role, marker, _ = node
    role.write_text("primary")
    agent.lease.path.write_text("not json")
    assert agent.step() == "started"
    assert marker.exists()


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
        agent.run_forever(sleep=sleep)
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
    assert [agent.step(), agent.step()] == ["renewed", "renewed"]
    assert agent.step() == "stopped"  # the third failure in a row: no role any more
    assert not marker.exists()


# --- Lease and reports ---------------------------------------------------------------------------


def test_the_lease_is_renewed_while_postgres_starts(tmp_path: Path):
    """Crash recovery can take minutes: the second guard must not lapse meanwhile."""
    role, marker = tmp_path / "role", tmp_path / "running"
    role.write_text("primary")
    renewals: list[float] = []
    lease = Lease(tmp_path / "lease", "a", stale_after=10)
    real_renew = lease.renew

    def renew() -> None:
        renewals.append(time.monotonic())
        real_renew()

    lease.renew = renew  # type: ignore[method-assign]
    slow_start = Commands(
        start=["sh", "-c", f"sleep 1 && touch {marker}"],
        stop=["rm", "-f", str(marker)],
        status=["test", "-f", str(marker)],
    )
    agent = Agent(role=file_role(role), postgres=slow_start, lease=lease, interval=0.1)
    assert agent.step() == "started"
    assert len(renewals) >= 5, renewals


def reports(agent: Agent) -> list[tuple[str, float]]:
    seen: list[tuple[str, float]] = []
    agent.report = lambda state, since: seen.append((state, since))
    return seen


def test_a_standby_reports_ready_and_a_serving_primary_serving(node):
    agent, role, _, clock = node
    seen = reports(agent)
    role.write_text("standby")
    agent.step()
    assert seen == [("ready", clock.now)]
    role.write_text("primary")
    clock.now += 1
    agent.step()
    assert seen[-1] == ("serving", clock.now)


def test_a_primary_whose_check_fails_reports_failing(tmp_path: Path):
    role, marker = tmp_path / "role", tmp_path / "running"
    role.write_text("primary")
    base = marker_commands(marker)
    commands = Commands(base.start, base.stop, base.status, check=["false"])
    agent = Agent(role=file_role(role), postgres=commands, lease=Lease(tmp_path / "l", "a", 10))
    seen = reports(agent)
    agent.step()
    assert seen[-1][0] == "failing"


def test_a_promoted_node_reports_starting_while_it_waits_for_the_lease(node):
    agent, role, _, clock = node
    seen = reports(agent)
    role.write_text("primary")
    other_node_renews(agent.lease, at=clock.now)
    assert agent.step() == "waiting_for_lease"
    assert seen == [("starting", clock.now)]


def test_reports_repeat_every_heartbeat_and_at_once_on_a_change(node):
    agent, role, _, clock = node
    seen = reports(agent)
    role.write_text("standby")
    agent.step()
    clock.now += 1
    agent.step()  # not due, unchanged: nothing
    assert len(seen) == 1
    clock.now += pg_agent.HEARTBEAT_SECONDS
    agent.step()
    assert len(seen) == 2
    role.write_text("primary")
    clock.now += 0.5
    agent.step()
    assert [state for state, _ in seen] == ["ready", "ready", "serving"]


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
        create_lease_table(dynamodb, "cluster")
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
    finally:
        server.stop()


def test_the_lease_is_renewed_while_a_hung_server_is_checked(tmp_path: Path):
    """A hung server still holds the data directory: the second guard must not lapse."""
    role, marker = tmp_path / "role", tmp_path / "running"
    role.write_text("primary")
    marker.touch()
    renewals: list[float] = []
    lease = Lease(tmp_path / "lease", "a", stale_after=10)
    real_renew = lease.renew

    def renew() -> None:
        renewals.append(time.monotonic())
        real_renew()

    lease.renew = renew  # type: ignore[method-assign]
    base = marker_commands(marker)
    hung = Commands(base.start, base.stop, base.status, check=["sleep", "1"])
    agent = Agent(role=file_role(role), postgres=hung, lease=lease, interval=0.1)
    agent.report = lambda state, since: None
    assert agent.step() == "renewed"
    assert len(renewals) >= 6, renewals
