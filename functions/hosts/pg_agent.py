#!/usr/bin/env python3
"""multitier PostgreSQL node agent: run PostgreSQL on this node only while it is the primary, and
tell the failover function how the node is doing, whatever the node is busy with.

Three loops and the clock's probe, each on its own thread, so that no blocking step silences
another:
- the role loop (every `--interval`) reads this node's `multitier:db-role` tag, which the failover
  function sets. Role `primary`: start PostgreSQL once the lease on the shared volume is free
  (ours, or not renewed for `--stale-after` seconds), then write through it every
  `CHECK_EVERY_SECONDS` (`multitier-pg check`, bounded at 4 s); another role: stop it. A failed
  metadata read is not a role: the last role read holds until `--role-failures` reads in a row
  failed. A start (crash recovery) may take minutes: the other loops go on meanwhile;
- the lease loop renews the lease every `--interval` while PostgreSQL runs or starts here, and
  stops PostgreSQL's side of it when another node holds it; beside it, the clock's probe keeps the
  node's clock on the file server's time (`ServerClock`);
- the report loop puts the node's state into the cluster's DynamoDB table (item
  `node#<role id>:<instance id>`, its `${aws:userid}`) every `--heartbeat` seconds and at once
  when it changes: `ready` (a standby whose boot finished, the agent starting last, and whose
  shared volume answers),
  `starting` (waiting for the lease, or PostgreSQL starting; for at most `START_GRACE_SECONDS`),
  `serving` (a write through its own server succeeded within the last `SERVING_FOR_SECONDS`),
  `failing` (no write succeeded since `since`; a standby: its volume does not answer). The
  function keeps a `failing` primary until `FAIL_AFTER_SECONDS` have passed since its last write
  (a latency spike fences nobody), and hears of it at once: a `failing` report runs it through
  the table's stream. The report loop sends one more report when that bound passes.

Times are the file server's (`ServerClock`): the lease is judged by one clock whatever the nodes'
clocks say, and the reports' times are comparable with the function's.

Standard library only, Python 3.9: it runs on Amazon Linux 2023's system Python. The AWS request
(DynamoDB PutItem, signed with Signature V4 from the instance role's credentials) is written here
for that reason. Seams for the drill: MULTITIER_ROOT, IMDS_ENDPOINT, AWS_ENDPOINT_URL.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import hashlib
import hmac
import json
import os
import shlex
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

ROLE_TAG = "multitier:db-role"
PRIMARY = "primary"
READY, STARTING, SERVING, FAILING = "ready", "starting", "serving", "failing"
STOPPING = "stopping"
"""A demoted primary stopping PostgreSQL cleanly (a switchover): checkpoint, then a fast stop.
Not `ready` until the stop is done, so that nobody takes the data directory before."""
# How often the agent reads its role and renews the lease, and how long an unrenewed lease still
# counts as held. The lease is the second guard, after EC2 has confirmed the fence: it must
# outlast a renewal delayed by EFS write latency, not a whole failover. Renewals run on their own
# thread, so nothing else the agent does delays them; six missed renewals make it stale.
INTERVAL_SECONDS = 0.5
STALE_AFTER_SECONDS = 3.0
# Reports: at least this often, and at once on a change of state.
HEARTBEAT_SECONDS = 5.0
# A serving primary writes through its own server this often (`multitier-pg check`, bounded at
# CHECK_TIMEOUT_SECONDS); it reports `serving` while its last write is at most
# SERVING_FOR_SECONDS old, then `failing` since that write.
CHECK_EVERY_SECONDS = 2.0
CHECK_TIMEOUT_SECONDS = 4.0
SERVING_FOR_SECONDS = CHECK_EVERY_SECONDS + CHECK_TIMEOUT_SECONDS
# The failover function's bounds, which the agent's reports are timed for (functions/db_failover/
# decision.py holds the same values; a test ties them): a failing primary is fenced once its last
# write is this old, and a primary may report `starting` for this long.
FAIL_AFTER_SECONDS = 8.0
START_GRACE_SECONDS = 300.0
ROLE_FAILURES = 20  # failed metadata reads in a row before a primary stops: 10 s if refused,
# up to about 50 s if each read times out (2 s)
CLOCK_PROBE_SECONDS = 5.0
# A probe slower than this says nothing of the offset: the server stamped it anywhere within.
MAX_PROBE_SECONDS = 0.25
# A standby whose shared volume has not answered a probe for this long is no candidate.
VOLUME_SILENT_SECONDS = 15.0
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
    handover: Sequence[str] = ()
    """A demoted primary's clean stop (checkpoint, then `stop`); empty: `stop`."""

    def running(self) -> bool:
        return self._succeeds(self.status)

    def run(self, command: Sequence[str]) -> bool:
        """Run `start` or `stop` to its end, its output in the agent's log. A start may replay
        WAL for minutes: the agent's other loops renew the lease and report meanwhile."""
        try:
            return subprocess.run(list(command), check=False).returncode == 0
        except OSError:  # no such program: a failed command, not a dead loop
            return False

    def healthy(self) -> bool:
        """A write through this node's own server succeeded (`check`, bounded by the script)."""
        return self._succeeds(self.check)

    @staticmethod
    def _succeeds(command: Sequence[str]) -> bool:
        return subprocess.run(list(command), check=False, capture_output=True).returncode == 0


class ServerClock:
    """Time as the file server of the shared volume keeps it: this node's clock, corrected by the
    offset between it and the modification time the server gives a file this node writes (NFS
    servers stamp a WRITE with their own time). Nodes whose clocks differ, within Amazon Time
    Sync's bounds or far beyond them, then agree on the lease's age, and their reports' times are
    comparable with the failover function's. Until a first measurement, and while the volume does
    not answer or answers slowly, the last offset holds (0 at first): the server's stamp lies
    anywhere within the probe, so only a quick probe measures (within MAX_PROBE_SECONDS)."""

    def __init__(
        self, probe: Path, local: Clock = time.time, monotonic: Clock = time.monotonic
    ) -> None:
        self._probe, self._local, self._monotonic = probe, local, monotonic
        self.offset = 0.0
        self.measured = False
        self._answered_at = monotonic()  # the volume is taken to answer until a probe hangs

    def __call__(self) -> float:
        return self._local() + self.offset

    def measure(self) -> bool:
        """Write the probe file and take the offset from its modification time; returns whether
        the probe was quick enough to. Raises OSError when the volume refuses the write."""
        started, before = self._monotonic(), self._local()
        with self._probe.open("w") as probe:
            probe.write(f"{before:.6f}\n")
            probe.flush()
            os.fsync(probe.fileno())
        mtime = self._probe.stat().st_mtime
        after, self._answered_at = self._local(), self._monotonic()
        if self._answered_at - started > MAX_PROBE_SECONDS:
            return False
        self.offset = mtime - (before + after) / 2
        self.measured = True
        return True

    def volume_answers(self) -> bool:
        """The shared volume answered a probe within the last VOLUME_SILENT_SECONDS."""
        return self._monotonic() - self._answered_at <= VOLUME_SILENT_SECONDS


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
        self._write(self.clock())

    def release(self) -> None:
        """Leave the lease stale at once, if it is this node's: only once this node's server
        stopped, so that a promoted node starts without waiting `stale_after` seconds."""
        current = self.holder()
        if current is not None and current[0] == self.node_id:
            self._write(0.0)

    def _write(self, renewed_at: float) -> None:
        temporary = self.path.with_name(f".{self.path.name}.{self.node_id}")
        temporary.write_text(json.dumps({"node": self.node_id, "renewed_at": renewed_at}))
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


def certificate_expiry(path: Path) -> float | None:
    """When the certificate in `path` (PEM) expires, epoch s; None when it cannot be read. Read
    from its DER (Certificate, TBSCertificate, then its fields up to Validity's notAfter), since
    the standard library has no parser of its own outside `ssl`'s private one."""
    try:
        pem = path.read_text()
        body = pem.split("-----BEGIN CERTIFICATE-----")[1].split("-----END CERTIFICATE-----")[0]
        der = base64.b64decode("".join(body.split()))
        tbs = _der_children(_der_children(der)[0][1])[0][1]
        fields = _der_children(tbs)
        if fields[0][0] == 0xA0:  # [0] version, present from v2 on
            fields = fields[1:]
        validity = _der_children(fields[3][1])  # serial, signature, issuer, validity
        tag, value = validity[1]
        text = value.decode("ascii")
        pattern = "%y%m%d%H%M%SZ" if tag == 0x17 else "%Y%m%d%H%M%SZ"  # UTCTime, GeneralizedTime
        moment = datetime.datetime.strptime(text, pattern).replace(tzinfo=datetime.timezone.utc)
        return moment.timestamp()
    except (OSError, ValueError, IndexError):
        return None


def _der_children(der: bytes) -> list[tuple[int, bytes]]:
    """The (tag, content) of each element in `der`, one level deep."""
    children, at = [], 0
    while at < len(der):
        tag, length, at = der[at], der[at + 1], at + 2
        if length & 0x80:
            octets = length & 0x7F
            length, at = int.from_bytes(der[at : at + octets], "big"), at + octets
        children.append((tag, der[at : at + length]))
        at += length
    return children


class Reporter:
    """Puts this node's state into the cluster's table, item `node#<role id>:<instance id>`, with
    when the
    certificate it serves expires (the failover function's `CertificateDaysLeft`)."""

    def __init__(
        self,
        *,
        table: str,
        region: str,
        node_id: str,
        credentials: Callable[[], Credentials],
        endpoint: str | None = None,
        clock: Clock = time.time,
        certificate: Path | None = None,
        role_id: str = "",
    ) -> None:
        self._table, self._region, self._node = table, region, node_id
        self._role_id = role_id
        """The instance role's unique id: the key is then `node#${aws:userid}`, which the
        node's policy holds it to (dynamodb:LeadingKeys)."""
        self._credentials, self._clock = credentials, clock
        self._certificate = certificate
        self._url = endpoint or f"https://dynamodb.{region}.amazonaws.com/"

    def item(self, state: str, since: float) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": {
                "S": f"node#{self._role_id}:{self._node}" if self._role_id else f"node#{self._node}"
            },
            "node": {"S": self._node},
            "state": {"S": state},
            "since": {"N": f"{since:.3f}"},
            "at": {"N": f"{self._clock():.3f}"},
        }
        expires = None if self._certificate is None else certificate_expiry(self._certificate)
        if expires is not None:
            item["cert_expires"] = {"N": f"{expires:.0f}"}
        return item

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

VERBS = ("start", "stop", "status", "check", "handover")


def _no_report(state: str, since: float) -> None:
    """Off EC2, with no table: nothing to tell."""


@dataclass
class Agent:
    """The node's three loops (`step`, `keep_lease`, `publish`); `run_forever` runs each on its
    own thread. Each is a method the tests call one at a time."""

    role: RoleSource
    postgres: Commands
    lease: Lease
    report: Callable[[str, float], None] = _no_report
    interval: float = INTERVAL_SECONDS
    heartbeat: float = HEARTBEAT_SECONDS
    clock: Clock = time.time
    clock_ready: Callable[[], bool] = lambda: True
    """Whether the clock is on the file server's time yet: no lease is judged before."""
    volume_answers: Callable[[], bool] = lambda: True
    """Whether the shared volume answers: a standby whose volume does not is no candidate."""
    check_every: float = CHECK_EVERY_SECONDS
    serving_for: float = SERVING_FOR_SECONDS
    fail_after: float = FAIL_AFTER_SECONDS
    start_grace: float = START_GRACE_SECONDS
    state: str = READY
    since: float = 0.0
    holding: bool = False
    """The lease is this node's: PostgreSQL runs here, or may be starting."""
    last_write: float = float("-inf")
    """When a write through this node's server last succeeded (or its start finished)."""
    _checked_at: float = float("-inf")
    _lost_lease: bool = False
    _reported_at: float = float("-inf")
    _reported: tuple[str, float] = ("", 0.0)
    _retry_at: float = float("-inf")
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _lease_lock: threading.Lock = field(default_factory=threading.Lock)
    """Held while the lease is renewed or released: a renewal never follows a release."""
    changed: threading.Event = field(default_factory=threading.Event)
    """Set when the state changes, so that the report loop reports at once."""
    decided: threading.Event = field(default_factory=threading.Event)
    """Set once the role loop has decided a state: nothing is reported before (a restarted
    primary's agent must not report `ready` while it is about to start)."""

    # --- the role loop ---

    def step(self) -> str:
        """One look at the role and at PostgreSQL, one action; returns what it did."""
        running = self.postgres.running()
        if self.role() != PRIMARY:
            return self._stand_by(running)
        if running:
            return self._serve()
        if self.state not in (STARTING, FAILING):
            self._become(STARTING)  # promoted, or our own server died: it starts again
        if not self.clock_ready():
            return "waiting_for_clock"
        if self.lease.held_by_another():
            return "waiting_for_lease"
        self.lease.renew()
        self.holding, self._lost_lease = True, False
        if not self.postgres.run(self.postgres.start):
            return "start_failed"
        with self._lock:
            self.last_write, self._checked_at = self.clock(), float("-inf")
        return "started"

    def _stand_by(self, running: bool) -> str:
        """Not the primary: stop this node's server if it runs, and say whether it could serve."""
        if running:
            # Demoted (a switchover): `ready` only once the server stopped, checkpointed.
            self._become(STOPPING)
            handed_over = self.postgres.handover and self.postgres.run(self.postgres.handover)
            if not handed_over and self.postgres.running():
                self.postgres.run(self.postgres.stop)
            if self.postgres.running():
                self._become(FAILING)  # never `ready` while its server runs
                return "stop_failed"
            with self._lease_lock:
                self.holding = False
                self.lease.release()  # stopped: the next primary need not wait for staleness
        self.holding = False
        # A standby on a volume that does not answer could not start PostgreSQL on it.
        self._become(READY if self.volume_answers() else FAILING)
        return "stopped" if running else "idle"

    def _serve(self) -> str:
        """A running primary: stop when another node holds the lease, else write through the
        server every `check_every` seconds."""
        if self._lost_lease or self.lease.held_by_another():
            self.postgres.run(self.postgres.stop)
            self.holding = False
            self._become(FAILING)
            return "stopped_lost_lease"
        self.holding = True
        now = self.clock()
        if now - self._checked_at < self.check_every:
            return "serving" if self.state == SERVING else "failing"
        self._checked_at = now
        if self.postgres.healthy():
            with self._lock:
                self.last_write = self.clock()
            self._become(SERVING)
            return "serving"
        self._become(FAILING, self.last_write if self.last_write > float("-inf") else now)
        return "failing"

    def _become(self, state: str, since: float | None = None) -> None:
        with self._lock:
            if state != self.state or not self.since:
                self.state, self.since = state, self.clock() if since is None else since
                self.changed.set()
        self.decided.set()

    # --- the lease loop ---

    def keep_lease(self) -> None:
        """Renew the lease while it is this node's; when another node holds it, leave it to
        that node and let the role loop stop PostgreSQL."""
        with self._lease_lock:
            if not self.holding:
                return
            if self.lease.held_by_another():
                self._lost_lease = True
                self.changed.set()
                return
            self.lease.renew()

    # --- the report loop ---

    def observed(self) -> tuple[str, float]:
        """The state to report now: a serving primary whose last write is older than
        `serving_for` is failing since that write, whatever the role loop is stuck in; a start
        that outlasts the grace is failing too."""
        now = self.clock()
        with self._lock:
            state, since, last_write = self.state, self.since, self.last_write
        if state == SERVING and now - last_write > self.serving_for:
            return FAILING, last_write
        if state == STARTING and now - since > self.start_grace:
            return FAILING, since
        return state, since

    def publish(self) -> bool:
        """Report when a heartbeat is due, the state changed, or a failing primary has just
        passed the function's bound (so that the function runs then); returns whether it did."""
        if not self.decided.is_set():
            return False
        self.changed.clear()
        state, since = self.observed()
        now = self.clock()
        due = now - self._reported_at >= self.heartbeat
        changed = (state, since) != self._reported
        crossed = state == FAILING and self._reported_at - since < self.fail_after <= now - since
        if not (due or changed or crossed) or now < self._retry_at:
            return False
        try:
            self.report(state, since)
        except Exception as error:  # retried a second later, logged once per outage
            if self._retry_at <= self._reported_at:
                _log(report_failed=str(error))
            self._retry_at = now + 1.0
            return False
        self._reported_at, self._reported = now, (state, since)
        return True

    # --- running it ---

    def run_forever(
        self, measure: Callable[[], object] | None = None, halt: threading.Event | None = None
    ) -> None:
        """The three loops, and `measure` (the clock's probe) on a fourth, until `halt` is set
        (never, on a node)."""
        halt = halt or threading.Event()
        threads = [
            threading.Thread(target=self._lease_loop, args=(halt,), daemon=True),
            threading.Thread(target=self._report_loop, args=(halt,), daemon=True),
        ]
        if measure is not None:
            threads.append(
                threading.Thread(target=self._clock_loop, args=(measure, halt), daemon=True)
            )
        for thread in threads:
            thread.start()
        self._role_loop(halt)
        for thread in threads:
            thread.join()

    def _role_loop(self, halt: threading.Event) -> None:
        last = None
        while not halt.is_set():
            try:
                action = self.step()
            except Exception as error:  # a bad step must not kill the agent; the next one retries
                action = f"error: {error}"
            if action != last:
                _log(action=action, at=round(self.clock(), 3))
                last = action
            halt.wait(self.interval)

    def _lease_loop(self, halt: threading.Event) -> None:
        while not halt.is_set():
            try:
                self.keep_lease()
            except Exception as error:  # the volume refused a write: again at the next turn
                _log(lease_failed=str(error))
            halt.wait(self.interval)

    def _clock_loop(self, measure: Callable[[], object], halt: threading.Event) -> None:
        """The clock's probe, on a thread of its own: a slow volume delays no renewal."""
        while not halt.is_set():
            try:
                measure()
            except Exception as error:  # the volume refused the write: again at the next turn
                _log(clock_failed=str(error))
            halt.wait(CLOCK_PROBE_SECONDS)

    def _report_loop(self, halt: threading.Event) -> None:
        while not halt.is_set():
            try:
                self.publish()
            except Exception as error:  # nothing may end the reports: a silent node is fenced
                _log(publish_failed=str(error))
            self.changed.wait(0.2)


def _log(**record: Any) -> None:
    print(json.dumps({"agent": "multitier-pg", **record}), flush=True)


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
    lease_path = Path(prefix + str(args.lease))
    clock = ServerClock(lease_path.with_name(f".clock.{node_id}"))  # measured by the lease loop
    report = _no_report
    if args.table and args.region:
        report = Reporter(
            table=args.table,
            region=args.region,
            node_id=node_id,
            credentials=InstanceCredentials(metadata),
            endpoint=os.environ.get("AWS_ENDPOINT_URL"),
            clock=clock,
            certificate=Path(f"{prefix}/etc/multitier/pg/server.crt"),
            role_id=os.environ.get("NODE_ROLE_ID", ""),
        ).report
    agent = Agent(
        role=file_role(args.role_file)
        if args.role_file
        else MetadataRole(metadata, args.role_failures),
        postgres=Commands(*(shlex.split(getattr(args, v)) for v in VERBS)),
        lease=Lease(lease_path, node_id, args.stale_after, clock),
        report=report,
        interval=args.interval,
        heartbeat=args.heartbeat,
        clock=clock,
        clock_ready=lambda: clock.measured,
        volume_answers=clock.volume_answers,
    )
    agent.run_forever(measure=clock.measure)
    return 0


if __name__ == "__main__":
    sys.exit(main())
