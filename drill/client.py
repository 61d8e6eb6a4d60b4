"""The app's side of the drill: one client writing numbered rows through the VIP without pause,
as the app connects: with its own login, from the app's secret (never the master's), over TLS,
verifying the cluster's certificate against the CA in that secret for the VIP's address
(`verify-full`).

A write counts as acknowledged only when its COMMIT returned. When the connection breaks, the
client resolves the VIP again and reconnects; a write whose COMMIT never answered is in doubt and
its number is not reused, so every number is written at most once. Each acknowledged write keeps
the moment it was sent: only a write sent after a fault shows that the service is back.

The app's login rotates with alternating users: when a login is refused (password authentication
failed), the client reads its secret again (AWSCURRENT) and connects with that; each re-read is
recorded. Like a pool whose connections reach their maximum lifetime, it can be told to connect
afresh (`Writer.reconnect`): that is how a rotation reaches a running app.

The tables are the app's: its login creates them acting as the owner role (`SET role` on login),
so they belong to the owner, as whatever either alternating login creates. The drill's own look
at the rows stored reads them as the master user, apart from the app.
"""

from __future__ import annotations

import bisect
import itertools
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import boto3  # type: ignore[import-untyped]
import psycopg

from functions.db_credentials import roles

TABLE = "drill_writes"
CHECKS = "drill_app_checks"
RETRY_SECONDS = 0.05
RECONNECT_SECONDS = 10.0
"""How long `Writer.reconnect` waits for the writer to have connected afresh."""
REFUSED = "password authentication failed"
"""What PostgreSQL says to a login whose password is not (or no longer) the role's."""
Connection = psycopg.Connection[tuple[object, ...]]


@dataclass(frozen=True)
class Credentials:
    """What a client reads from a database secret: where, who, and the CA to verify against."""

    host: str
    port: int
    dbname: str
    username: str
    password: str = field(repr=False)
    ca_file: Path


Read = Callable[[], Credentials]
"""Reads a secret's current credentials."""


def read_secret(secret_arn: str, directory: Path) -> Credentials:
    """The secret as a client reads it (GetSecretValue, AWSCURRENT), its CA written where libpq
    reads it."""
    secret = json.loads(
        boto3.client("secretsmanager").get_secret_value(
            SecretId=secret_arn, VersionStage="AWSCURRENT"
        )["SecretString"]
    )
    ca_file = directory / "database-ca.pem"
    _replace(ca_file, secret["ca_certificate"])
    return Credentials(
        secret["host"],
        int(secret["port"]),
        secret["dbname"],
        secret["username"],
        secret["password"],
        ca_file,
    )


def _replace(path: Path, text: str) -> None:
    """Write `path` whole at once: another thread's connection may be reading it."""
    descriptor, scratch = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    Path(scratch).replace(path)


def refused(error: Exception) -> bool:
    """The server refused the login's password."""
    return isinstance(error, psycopg.OperationalError) and REFUSED in str(error)


def connect(credentials: Credentials, address: str) -> Connection:
    """Through the VIP: `address` is where its route leads; the certificate must name the VIP."""
    return psycopg.connect(
        host=credentials.host,
        hostaddr=address,
        port=credentials.port,
        dbname=credentials.dbname,
        user=credentials.username,
        password=credentials.password,
        sslmode="verify-full",
        sslrootcert=str(credentials.ca_file),
        connect_timeout=2,
    )


def create_tables(app: Credentials, address: str) -> None:
    """The app's tables, created by the app's login (so owned by the owner role it acts as)."""
    with connect(app, address) as connection:
        connection.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (id bigint PRIMARY KEY)")
        connection.execute(f"CREATE TABLE IF NOT EXISTS {CHECKS} (at timestamptz NOT NULL)")


def stored_ids(master: Credentials, address: str) -> set[int]:
    with connect(master, address) as connection:
        return {int(row[0]) for row in connection.execute(f"SELECT id FROM {TABLE}")}  # type: ignore[call-overload]


def verify_app(read: Read, address: str) -> str | None:
    """The app's own connection, afresh: read the secret, connect with verify-full, write a row.
    None when it worked, else why not."""
    try:
        with connect(read(), address) as connection:
            connection.execute(f"INSERT INTO {CHECKS} VALUES (now())")
            encrypted = connection.pgconn.ssl_in_use
        return None if encrypted else "the connection was not encrypted"
    except Exception as error:  # the reason is the result
        return f"{type(error).__name__}: {error}"


def privileges(app: Credentials, address: str) -> str:
    """What the app's login may do beyond its data: `ok` when its session user is no superuser,
    every relation in the app's schema belongs to the owner role, and `COPY ... FROM PROGRAM` is
    refused (permission denied); else what is wrong."""
    found = []
    try:
        with connect(app, address) as connection:
            row = connection.execute(
                "SELECT rolsuper FROM pg_roles WHERE rolname = session_user"
            ).fetchone()
            if row is None or row[0] is not False:
                found.append(f"its session user {app.username} is a superuser")
            owners = connection.execute(
                "SELECT c.relname, pg_get_userbyid(c.relowner) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'"
            ).fetchall()
            others = sorted(f"{name} ({owner})" for name, owner in owners if owner != roles.OWNER)
            if others:
                found.append(f"not owned by {roles.OWNER}: {', '.join(others)}")
            if missing := sorted({TABLE, CHECKS} - {str(name) for name, _ in owners}):
                found.append(f"the app's tables are missing: {', '.join(missing)}")
            try:
                connection.execute(f"COPY {CHECKS} FROM PROGRAM 'true'")
                found.append("COPY ... FROM PROGRAM was allowed")
            except psycopg.errors.InsufficientPrivilege:
                pass  # permission denied: what it must say
            connection.rollback()
    except psycopg.Error as error:
        found.append(f"{type(error).__name__}: {error}")
    return "; ".join(found) or "ok"


class Writer(threading.Thread):
    """Writes row 1, 2, 3, ... through the VIP until stopped; records every acknowledged one, and
    every time a refused login made it read its secret again."""

    def __init__(self, resolve: Callable[[], str | None], read: Read) -> None:
        super().__init__(name="writer", daemon=True)
        self._resolve = resolve
        self._read = read
        self._credentials: Credentials | None = None
        self._halt = threading.Event()
        self._lock = threading.Lock()
        self._fresh = threading.Condition()
        self._asked = 0  # how many fresh connections were asked for
        self._opened = 0  # how many of them the connection in use answers
        self.acked: list[int] = []
        self.sent_at: list[float] = []
        self.acked_at: list[float] = []
        self.in_doubt: list[int] = []
        self.reread_at: list[float] = []
        """When a refused login made the writer read its secret again."""

    def run(self) -> None:
        connection: Connection | None = None
        number = 0
        while not self._halt.is_set():
            if connection is not None and self._retired():
                connection.close()
                connection = None
            if connection is None:
                connection = self._connect()
                continue
            number += 1
            sent = time.time()
            try:
                connection.execute(f"INSERT INTO {TABLE} (id) VALUES (%s)", (number,))
                connection.commit()
            except psycopg.Error:
                self.in_doubt.append(number)
                connection.close()
                connection = None
                continue
            with self._lock:
                self.acked.append(number)
                self.sent_at.append(sent)
                self.acked_at.append(time.time())
        if connection is not None:
            connection.close()

    def _connect(self) -> Connection | None:
        with self._fresh:
            asked = self._asked
        try:
            address = self._resolve()
            if address is not None:
                if self._credentials is None:
                    self._credentials = self._read()
                connection = connect(self._credentials, address)
                with self._fresh:
                    self._opened = asked
                    self._fresh.notify_all()
                return connection
        except psycopg.OperationalError as error:
            if refused(error) and self._reread():
                return None  # try the secret's login at once
        except Exception:  # the VIP unreachable, whatever the cause, is a retry
            pass
        self._halt.wait(RETRY_SECONDS)
        return None

    def _reread(self) -> bool:
        """Read the secret again after a refused login; False when it could not be read."""
        try:
            self._credentials = self._read()
        except Exception:  # Secrets Manager unreachable: the login is tried again as it is
            return False
        with self._lock:
            self.reread_at.append(time.time())
        return True

    def _retired(self) -> bool:
        with self._fresh:
            return self._opened < self._asked

    def reconnect(self, timeout: float = RECONNECT_SECONDS) -> bool:
        """Retire the connection in use, as a pool does at a connection's maximum lifetime: the
        writer connects afresh with the login it holds, reading its secret again if that is
        refused. True once it has, False when it has not within `timeout` seconds."""
        with self._fresh:
            self._asked += 1
            asked = self._asked
            return self._fresh.wait_for(lambda: self._opened >= asked, timeout)

    def stop(self) -> None:
        self._halt.set()
        self.join()

    def first_ack_after(self, moment: float) -> float | None:
        """When the first write sent after `moment` was acknowledged."""
        with self._lock:
            index = bisect.bisect_right(self.sent_at, moment)
            return self.acked_at[index] if index < len(self.acked_at) else None

    def last_ack_before(self, moment: float) -> float | None:
        """When the last write acknowledged before `moment` was."""
        with self._lock:
            index = bisect.bisect_left(self.acked_at, moment)
            return self.acked_at[index - 1] if index > 0 else None

    def last_ack(self) -> float | None:
        with self._lock:
            return self.acked_at[-1] if self.acked_at else None

    def longest_gap(self, since: float, until: float) -> float | None:
        """The longest time between two acknowledged writes, from the last acknowledged before
        `since` to the first acknowledged at or after `until`; None without both."""
        with self._lock:
            first = bisect.bisect_left(self.acked_at, since) - 1
            last = bisect.bisect_left(self.acked_at, until)
            if first < 0 or last >= len(self.acked_at):
                return None
            window = self.acked_at[first : last + 1]
        return max(later - earlier for earlier, later in itertools.pairwise(window))

    def rereads(self, since: float, until: float) -> int:
        """How many times the writer read its secret again between `since` and `until`."""
        with self._lock:
            return sum(since <= moment <= until for moment in self.reread_at)
