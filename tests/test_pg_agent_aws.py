"""The node agent's side of AWS: instance metadata (IMDSv2 tokens, the role tag, outages), the
SigV4 signature it computes by hand, its reports as DynamoDB accepts them, and the shipped agent on
the hosts' CPython 3.9 reporting all through a slow start."""

from __future__ import annotations

import contextlib
import datetime
import http.server
import json
import subprocess
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
from functions.hosts import pg_agent
from functions.hosts.pg_agent import Agent, Lease
from tests.agent_fixtures import AGENT, marker_commands
from tests.failover_world import create_lease_table


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
