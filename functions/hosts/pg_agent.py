#!/usr/bin/env python3
"""multitier PostgreSQL node agent: run PostgreSQL on this node only while it is the primary, and
tell the failover Lambda how the node is doing.

Every `--interval` seconds the agent reads this node's `multitier:db-role` tag, which the failover
Lambda sets, and:
- role `primary`, PostgreSQL running: renews the lease file on the shared volume;
- role `primary`, PostgreSQL stopped: starts it, but only once the lease is free (ours, or not
  renewed for `--stale-after` seconds), and keeps renewing the lease while it starts. The lease is
  the second guard behind the Lambda's fence: PostgreSQL takes no lock that works across hosts on
  NFS, so a promoted node must never start while the old primary still renews it;
- role `primary`, PostgreSQL running but the lease renewed by another node: stops at once;
- another role: stops PostgreSQL. A failed or slow metadata read is not a role: the agent keeps
  the last role it read, and only after `--role-failures` reads in a row fail does it stop.

Every `--heartbeat` seconds it publishes the node's state to the cluster's DynamoDB table (item
`node#<instance id>`): `serving` when a real write through its own PostgreSQL just succeeded
(`multitier-pg check`), `starting` while a primary waits for the lease or for PostgreSQL,
`failing` when the check failed, `ready` for a standby whose boot finished (the agent starts last).
The Lambda promotes only a `ready` standby and fences a primary that stops serving.

Standard library only, Python 3.9: it runs on Amazon Linux 2023's system Python. The AWS request
(DynamoDB PutItem, signed with Signature V4 from the instance role's credentials) is written here
for that reason. Seams for the drill: MULTITIER_ROOT, IMDS_ENDPOINT, AWS_ENDPOINT_URL.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import hmac
import json
import os
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

ROLE_TAG = "multitier:db-role"
PRIMARY = "primary"
# How often the agent looks and renews the lease, how long an unrenewed lease still counts as
# held, and how often it reports. The lease is the second guard, after EC2 has confirmed the
# fence: it must outlast a renewal delayed by EFS write latency (milliseconds, seconds at worst)
# and the clock difference between nodes (Amazon Time Sync keeps it under a millisecond), not a
# whole failover. Six missed renewals is ample for both.
INTERVAL_SECONDS = 0.5
STALE_AFTER_SECONDS = 3.0
HEARTBEAT_SECONDS = 5.0
ROLE_FAILURES = 20  # failed metadata reads in a row before a primary stops: 10 s if refused,
# up to about 50 s if each read times out (2 s)
TOKEN_TTL_SECONDS = 21600

Clock = Callable[[], float]
# Typing aliases spelt so Python 3.9 can evaluate them.
RoleSource = Callable[[], Optional[str]]


def root() -> str:
    return os.environ.get("MULTITIER_ROOT", "")


class Metadata:
    """IMDSv2, with one token kept for its lifetime."""

    def __init__(self, endpoint: str, timeout: float = 2.0, clock: Clock = time.time) -> None:
        self._endpoint, self._timeout, self._clock = endpoint.rstrip("/"), timeout, clock
        self._token: str | None = None
        self._expires = 0.0

    def get(self, path: str) -> str:
        """A value below /latest/ (`meta-data/instance-id`); raises on failure."""
        try:
            return self._request(path, {"X-aws-ec2-metadata-token": self._current_token()})
        except urllib.error.HTTPError as error:
            if error.code != 401:
                raise
            self._token = None  # expired or revoked early: one more try with a new one
            return self._request(path, {"X-aws-ec2-metadata-token": self._current_token()})

    def _current_token(self) -> str:
        if self._token is None or self._clock() > self._expires:
            self._token = self._request(
                "api/token",
                {"X-aws-ec2-metadata-token-ttl-seconds": str(TOKEN_TTL_SECONDS)},
                method="PUT",
            )
            self._expires = self._clock() + TOKEN_TTL_SECONDS - 60
        return self._token

    def _request(self, path: str, headers: dict[str, str], method: str = "GET") -> str:
        request = urllib.request.Request(
            f"{self._endpoint}/latest/{path}", method=method, headers=headers
        )
        with urllib.request.urlopen(request, timeout=self._timeout) as response:
            return str(response.read().decode()).strip()


class MetadataRole:
    """The node's role tag. A failed read returns the last role read, until `max_failures` reads
    in a row have failed: then None (no role), so a primary cut off from metadata stops."""

    def __init__(self, metadata: Metadata, max_failures: int = ROLE_FAILURES) -> None:
        self._metadata, self._max_failures = metadata, max_failures
        self._last: str | None = None
        self._failures = 0

    def __call__(self) -> str | None:
        try:
            role: str | None = self._metadata.get(f"meta-data/tags/instance/{ROLE_TAG}")
        except urllib.error.HTTPError as error:
            if error.code != 404:  # 404 is an answer: the node has no role tag
                return self._failed()
            role = None
        except (urllib.error.URLError, OSError, ValueError):
            return self._failed()
        self._failures, self._last = 0, role
        return role

    def _failed(self) -> str | None:
        self._failures += 1
        return None if self._failures >= self._max_failures else self._last


def file_role(path: Path) -> RoleSource:
    """A role read from a file: for running the agent off EC2."""
    return lambda: path.read_text().strip() if path.exists() else None


@dataclass(frozen=True)
class Commands:
    """How to start, stop, probe and check PostgreSQL (`multitier-pg start|stop|status|check`):
    `status` exits 0 while this node's own server runs, `check` after a real write through it."""

    start: Sequence[str]
    stop: Sequence[str]
    status: Sequence[str]
    check: Sequence[str] = ("true",)

    def running(self) -> bool:
        return self._succeeds(self.status)

    def run(self, command: Sequence[str], meanwhile: Callable[[], None], interval: float) -> bool:
        """Run a long command (a start may replay WAL for minutes), calling `meanwhile` every
        `interval` seconds until it ends."""
        process = subprocess.Popen(list(command))
        while True:
            try:
                return process.wait(timeout=interval) == 0
            except subprocess.TimeoutExpired:
                meanwhile()

    @staticmethod
    def _succeeds(command: Sequence[str]) -> bool:
        return subprocess.run(list(command), check=False, capture_output=True).returncode == 0


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


# --- Reporting to the cluster's table ------------------------------------------------------------


@dataclass
class Credentials:
    access_key: str
    secret_key: str
    token: str
    expires: float


class InstanceCredentials:
    """The instance role's credentials from instance metadata, renewed before they expire."""

    def __init__(self, metadata: Metadata, clock: Clock = time.time) -> None:
        self._metadata, self._clock = metadata, clock
        self._current: Credentials | None = None

    def __call__(self) -> Credentials:
        if self._current is None or self._clock() > self._current.expires - 300:
            base = "meta-data/iam/security-credentials/"
            role = self._metadata.get(base).splitlines()[0]
            document = json.loads(self._metadata.get(base + role))
            expires = datetime.datetime.strptime(document["Expiration"], "%Y-%m-%dT%H:%M:%SZ")
            self._current = Credentials(
                document["AccessKeyId"],
                document["SecretAccessKey"],
                document["Token"],
                expires.replace(tzinfo=datetime.timezone.utc).timestamp(),
            )
        return self._current


def signed_request(
    *,
    method: str,
    url: str,
    body: bytes,
    headers: dict[str, str],
    credentials: Credentials,
    region: str,
    service: str,
    now: datetime.datetime,
) -> dict[str, str]:
    """The headers of an AWS Signature Version 4 request (with `headers`, signed)."""
    parsed = urllib.parse.urlparse(url)
    stamp, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    signed: dict[str, str] = {
        **{k.lower(): v for k, v in headers.items()},
        "host": parsed.netloc,
        "x-amz-date": stamp,
        "x-amz-security-token": credentials.token,
    }
    names = ";".join(sorted(signed))
    canonical = "\n".join(
        [
            method,
            parsed.path or "/",
            parsed.query,
            "".join(f"{k}:{signed[k].strip()}\n" for k in sorted(signed)),
            names,
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = f"AWS4{credentials.secret_key}".encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    signed["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={credentials.access_key}/{scope}, "
        f"SignedHeaders={names}, Signature={signature}"
    )
    return signed


class Reporter:
    """Puts this node's state into the cluster's table, item `node#<instance id>`."""

    def __init__(
        self,
        *,
        table: str,
        region: str,
        node_id: str,
        credentials: Callable[[], Credentials],
        endpoint: str | None = None,
        clock: Clock = time.time,
    ) -> None:
        self._table, self._region, self._node = table, region, node_id
        self._credentials, self._clock = credentials, clock
        self._url = endpoint or f"https://dynamodb.{region}.amazonaws.com/"

    def item(self, state: str, since: float) -> dict[str, Any]:
        return {
            "id": {"S": f"node#{self._node}"},
            "node": {"S": self._node},
            "state": {"S": state},
            "since": {"N": f"{since:.3f}"},
            "at": {"N": f"{self._clock():.3f}"},
        }

    def report(self, state: str, since: float) -> None:
        body = json.dumps({"TableName": self._table, "Item": self.item(state, since)}).encode()
        headers = signed_request(
            method="POST",
            url=self._url,
            body=body,
            headers={
                "content-type": "application/x-amz-json-1.0",
                "x-amz-target": "DynamoDB_20120810.PutItem",
            },
            credentials=self._credentials(),
            region=self._region,
            service="dynamodb",
            now=datetime.datetime.fromtimestamp(self._clock(), datetime.timezone.utc),
        )
        request = urllib.request.Request(self._url, data=body, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=2.0) as response:
            response.read()


# --- The agent -----------------------------------------------------------------------------------

VERBS = ("start", "stop", "status", "check")


def _no_report(state: str, since: float) -> None:
    """Off EC2, with no table: nothing to tell."""


@dataclass
class Agent:
    role: RoleSource
    postgres: Commands
    lease: Lease
    report: Callable[[str, float], None] = _no_report
    interval: float = INTERVAL_SECONDS
    heartbeat: float = HEARTBEAT_SECONDS
    clock: Clock = time.time
    state: str = "ready"
    since: float = 0.0
    _reported_at: float = float("-inf")
    _reported_state: str = ""

    def step(self) -> str:
        """One look at the world, one action; returns what it did."""
        action = self._act()
        self._publish(action)
        return action

    def _act(self) -> str:
        running = self.postgres.running()
        if self.role() != PRIMARY:
            self._become("ready")
            if running:
                self.postgres.run(self.postgres.stop, lambda: None, self.interval)
                return "stopped"
            return "idle"
        if running:
            if self.lease.held_by_another():
                self.postgres.run(self.postgres.stop, lambda: None, self.interval)
                self._become("failing")
                return "stopped_lost_lease"
            self.lease.renew()
            return "renewed"
        self._become("starting")
        if self.lease.held_by_another():
            return "waiting_for_lease"
        self.lease.renew()
        started = self.postgres.run(self.postgres.start, self.lease.renew, self.interval)
        return "started" if started else "start_failed"

    def _publish(self, action: str) -> None:
        """Report every `heartbeat` seconds, and at once when the state changes. A primary's
        state is decided by a real write through its server, made just before the report."""
        due = self.clock() - self._reported_at >= self.heartbeat
        if action in {"renewed", "started"} and (due or self.state != "serving"):
            # The lease is renewed while the check runs: a hung server still holds the data
            # directory (it may resume), so the second guard must not lapse because of it.
            healthy = self.postgres.run(self.postgres.check, self.lease.renew, self.interval)
            self._become("serving" if healthy else "failing")
            due = True
        changed = self._reported_state != self.state
        if due or changed:
            try:
                self.report(self.state, self.since)
                self._reported_at, self._reported_state = self.clock(), self.state
            except Exception as error:  # reporting is retried at the next step
                print(json.dumps({"agent": "multitier-pg", "report_failed": str(error)}))

    def _become(self, state: str) -> None:
        if state != self.state or not self.since:
            self.state, self.since = state, self.clock()

    def run_forever(self, sleep: Callable[[float], None] = time.sleep) -> None:
        last = None
        while True:
            try:
                action = self.step()
            except Exception as error:  # a bad step must not kill the agent; the next one retries
                action = f"error: {error}"
            if action != last:
                record = {"agent": "multitier-pg", "action": action, "at": round(self.clock(), 3)}
                print(json.dumps(record), flush=True)
                last = action
            sleep(self.interval)


def main(argv: Sequence[str] | None = None) -> int:
    prefix = root()
    service = f"{prefix}/usr/local/sbin/multitier-pg"
    parser = argparse.ArgumentParser(description="Run PostgreSQL only while this node is primary.")
    parser.add_argument("--lease", type=Path, required=True, help="lease file on the shared volume")
    parser.add_argument("--node-id", help="this node's id (default: EC2 instance id)")
    parser.add_argument("--role-file", type=Path, help="read the role from a file, not metadata")
    parser.add_argument("--table", default=os.environ.get("LEASE_TABLE"), help="cluster table")
    parser.add_argument("--region", default=os.environ.get("REGION"))
    parser.add_argument("--interval", type=float, default=INTERVAL_SECONDS)
    parser.add_argument("--stale-after", type=float, default=STALE_AFTER_SECONDS)
    parser.add_argument("--heartbeat", type=float, default=HEARTBEAT_SECONDS)
    parser.add_argument("--role-failures", type=int, default=ROLE_FAILURES)
    for verb in VERBS:
        parser.add_argument(f"--{verb}", default=f"{service} {verb}")
    args = parser.parse_args(argv)

    metadata = Metadata(os.environ.get("IMDS_ENDPOINT", "http://169.254.169.254"))
    node_id = args.node_id or metadata.get("meta-data/instance-id")
    report = _no_report
    if args.table and args.region:
        report = Reporter(
            table=args.table,
            region=args.region,
            node_id=node_id,
            credentials=InstanceCredentials(metadata),
            endpoint=os.environ.get("AWS_ENDPOINT_URL"),
        ).report
    agent = Agent(
        role=file_role(args.role_file)
        if args.role_file
        else MetadataRole(metadata, args.role_failures),
        postgres=Commands(*(shlex.split(getattr(args, v)) for v in VERBS)),
        lease=Lease(Path(prefix + str(args.lease)), node_id, args.stale_after),
        report=report,
        interval=args.interval,
        heartbeat=args.heartbeat,
    )
    agent.run_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
