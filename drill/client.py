"""The app's side of the drill: one client writing numbered rows through the VIP without pause.

A write counts as acknowledged only when its COMMIT returned. When the connection breaks, the
client resolves the VIP again and reconnects; a write whose COMMIT never answered is in doubt and
its number is not reused, so every number is written at most once. Each acknowledged write keeps
the moment it was sent: only a write sent after a fault shows that the service is back.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable

import psycopg

from drill.pgctl import SUPERUSER

TABLE = "drill_writes"
RETRY_SECONDS = 0.05


def connect(port: int) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(
        host="127.0.0.1", port=port, user=SUPERUSER, dbname="postgres", connect_timeout=2
    )


def create_table(port: int) -> None:
    with connect(port) as connection:
        connection.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (id bigint PRIMARY KEY)")


def stored_ids(port: int) -> set[int]:
    with connect(port) as connection:
        return {int(row[0]) for row in connection.execute(f"SELECT id FROM {TABLE}")}  # type: ignore[call-overload]


class Writer(threading.Thread):
    """Writes row 1, 2, 3, ... through the VIP until stopped; records every acknowledged one."""

    def __init__(self, resolve: Callable[[], int | None]) -> None:
        super().__init__(name="writer", daemon=True)
        self._resolve = resolve
        self._halt = threading.Event()
        self._lock = threading.Lock()
        self.acked: list[int] = []
        self.sent_at: list[float] = []
        self.acked_at: list[float] = []
        self.in_doubt: list[int] = []

    def run(self) -> None:
        connection: psycopg.Connection[tuple[object, ...]] | None = None
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

    def _connect(self) -> psycopg.Connection[tuple[object, ...]] | None:
        try:
            port = self._resolve()
            if port is not None:
                return connect(port)
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

    def last_ack(self) -> float | None:
        with self._lock:
            return self.acked_at[-1] if self.acked_at else None
