"""The app's side of the drill: one client writing numbered rows through the VIP without pause,
as the app connects: with the credentials in the database secret, over TLS, verifying the
cluster's certificate against the CA in that secret for the VIP's address (`verify-full`).

A write counts as acknowledged only when its COMMIT returned. When the connection breaks, the
client resolves the VIP again and reconnects; a write whose COMMIT never answered is in doubt and
its number is not reused, so every number is written at most once. Each acknowledged write keeps
the moment it was sent: only a write sent after a fault shows that the service is back.
"""

from __future__ import annotations

import bisect
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import boto3  # type: ignore[import-untyped]
import psycopg

TABLE = "drill_writes"
CHECKS = "drill_app_checks"
RETRY_SECONDS = 0.05
Connection = psycopg.Connection[tuple[object, ...]]


@dataclass(frozen=True)
class AppCredentials:
    """What the app reads from the database secret: where, who, and the CA to verify against."""

    host: str
    port: int
    dbname: str
    username: str
    password: str = field(repr=False)
    ca_file: Path


def app_credentials(secret_arn: str, directory: Path) -> AppCredentials:
    """The secret as the app reads it (GetSecretValue), its CA written where libpq reads it."""
    secret = json.loads(
        boto3.client("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"]
    )
    ca_file = directory / "database-ca.pem"
    ca_file.write_text(secret["ca_certificate"])
    return AppCredentials(
        secret["host"],
        int(secret["port"]),
        secret["dbname"],
        secret["username"],
        secret["password"],
        ca_file,
    )


def connect(credentials: AppCredentials, address: str) -> Connection:
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


def create_table(credentials: AppCredentials, address: str) -> None:
    with connect(credentials, address) as connection:
        connection.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (id bigint PRIMARY KEY)")
        connection.execute(f"CREATE TABLE IF NOT EXISTS {CHECKS} (at timestamptz NOT NULL)")


def stored_ids(credentials: AppCredentials, address: str) -> set[int]:
    with connect(credentials, address) as connection:
        return {int(row[0]) for row in connection.execute(f"SELECT id FROM {TABLE}")}  # type: ignore[call-overload]


def verify_app(secret_arn: str, directory: Path, address: str) -> str | None:
    """The app's own connection, afresh: read the secret, connect with verify-full, write a row.
    None when it worked, else why not."""
    try:
        credentials = app_credentials(secret_arn, directory)
        with connect(credentials, address) as connection:
            connection.execute(f"INSERT INTO {CHECKS} VALUES (now())")
            encrypted = connection.pgconn.ssl_in_use
        return None if encrypted else "the connection was not encrypted"
    except Exception as error:  # the reason is the result
        return f"{type(error).__name__}: {error}"


class Writer(threading.Thread):
    """Writes row 1, 2, 3, ... through the VIP until stopped; records every acknowledged one."""

    def __init__(self, resolve: Callable[[], str | None], credentials: AppCredentials) -> None:
        super().__init__(name="writer", daemon=True)
        self._resolve = resolve
        self._credentials = credentials
        self._halt = threading.Event()
        self._lock = threading.Lock()
        self.acked: list[int] = []
        self.sent_at: list[float] = []
        self.acked_at: list[float] = []
        self.in_doubt: list[int] = []

    def run(self) -> None:
        connection: Connection | None = None
        number = 0
        while not self._halt.is_set():
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
        try:
            address = self._resolve()
            if address is not None:
                return connect(self._credentials, address)
        except Exception:  # the VIP unreachable, whatever the cause, is a retry
            pass
        self._halt.wait(RETRY_SECONDS)
        return None

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
