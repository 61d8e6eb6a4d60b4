"""The database credentials function in the drill, as Secrets Manager runs a rotation with it.

RotateSecret goes to the moto server, which does Secrets Manager's part (drill/secrets_rotation.py:
a version staged AWSPENDING with no value, rotation on, the token returned); then the project's
handler (functions/db_credentials/handler.py) runs in-process for each of the four steps, in
order, as Secrets Manager invokes the function. Its environment is the deployed one (DB_HOST is
the VIP); its way there is the VIP's route: `handler.route` gives pg8000 a socket connected to the
node the app tier's route leads to, and TLS still checks the VIP's certificate.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]

from components.config.database import RotationConfig
from drill import client, emulator
from drill.cluster import wait_for
from drill.events import ThreadOutput
from drill.report import Rotation
from functions.db_credentials import handler
from functions.db_credentials.rotation import STEPS

FUNCTION_ARN = (
    f"arn:aws:lambda:{emulator.REGION}:123456789012:function:{emulator.CLUSTER}-credentials"
)
RULES = {"AutomaticallyAfterDays": RotationConfig().app_days}
"""The app secret's schedule, as deployed by default (`multitier:database` rotation.appDays)."""


@dataclass
class RotationRun:
    """One rotation: its token, and how long each step that ran took, in order."""

    token: str | None = None
    steps: list[float] = field(default_factory=list)
    error: str | None = None
    """Why it stopped short (the step, the error); None when all four steps ran."""


class CredentialsFunction:
    """The function as deployed for the drill's cluster; `rotate` plays Secrets Manager."""

    def __init__(
        self,
        estate: emulator.Estate,
        port: int,
        vip: Callable[[], str | None],
        log: Path,
        output: ThreadOutput,
    ) -> None:
        os.environ.update(
            DB_HOST=emulator.VIP,
            DB_PORT=str(port),
            MASTER_SECRET_ARN=estate.master_secret_arn,
            APP_SECRET_ARN=estate.app_secret_arn,
            READONLY_SECRET_ARN=estate.readonly_secret_arn,
        )
        self._vip, self._log, self._output = vip, log, output
        handler.route = self.route

    def route(self, host: str, port: int) -> dict[str, Any]:
        """To `host` (the VIP) through its route: a socket to the node it leads to now; pg8000
        wraps it in TLS for `host`."""
        address = self._vip()
        if address is None:
            raise OSError(f"no route to the VIP {host}")
        connected = socket.create_connection((address, port), handler.CONNECT_TIMEOUT_SECONDS)
        return {"host": host, "port": port, "sock": connected}

    def rotate(self, secret_arn: str, after_step: Callable[[], object]) -> RotationRun:
        """RotateSecret, then the four steps; `after_step` runs after each step that succeeded
        (the app connecting afresh), outside the step's time."""
        run = RotationRun()
        try:
            run.token = boto3.client("secretsmanager").rotate_secret(
                SecretId=secret_arn, RotationLambdaARN=FUNCTION_ARN, RotationRules=RULES
            )["VersionId"]
        except Exception as refused:  # a refused rotation is data: the drill reports it
            run.error = f"RotateSecret: {type(refused).__name__}: {refused}"
            return run
        for step in STEPS:
            event = {"Step": step, "SecretId": secret_arn, "ClientRequestToken": run.token}
            started = time.monotonic()
            failed = self._invoke(event)
            if failed is not None:
                run.error = f"{step}: {failed}"
                return run
            run.steps.append(time.monotonic() - started)
            after_step()
        return run

    def rotate_while_writing(
        self, secret_arn: str, writer: client.Writer, read: client.Read, timeout: float
    ) -> tuple[Rotation, float | None]:
        """A rotation of `secret_arn` while `writer` writes, its pool connecting afresh after each
        step: with the login it holds or, refused, with the one it reads. The rotation, and the
        first write on a connection opened after it (None if none within `timeout`)."""
        before = read().username
        started = time.time()
        run = self.rotate(secret_arn, writer.reconnect)
        ended = time.time()
        first = wait_for(lambda: writer.first_ack_after(ended), timeout)
        after = read()
        address = self._vip()
        rotation = Rotation(
            login_before=before,
            login_after=after.username,
            steps=tuple(run.steps),
            error=run.error,
            longest_gap=None if first is None else writer.longest_gap(started, first),
            rereads=writer.rereads(started, first or time.time()),
            privileges="the VIP has no route"
            if address is None
            else client.privileges(after, address),
        )
        return rotation, first

    def _invoke(self, event: dict[str, Any]) -> str | None:
        """One invocation, its log lines kept in the function's log; the error, if it failed."""
        with self._output.capture() as captured:
            error: str | None = None
            try:
                handler.handler(event, None)
            except Exception as exc:  # a failed step is data: the drill reports it
                error = f"{type(exc).__name__}: {exc}"
        with self._log.open("a") as log:
            log.write(captured.getvalue())
            if error is not None:
                log.write(f"{event['Step']} failed: {error}\n")
        return error
