"""Secrets Manager's four rotation steps, for the three kinds of secret this stack rotates:

- `alternating` (the app's login): two logins, `<app>` and `<app>_clone`; each rotation gives the
  one not in use a new password and makes it current. Hosts still holding the previous login's
  password keep working until the next rotation, so a host that re-reads the secret when a login
  fails never sees a refusal it cannot recover from, and none during the rotation itself.
- `single` (the read-only login, the master user): one login gets a new password. Between
  `setSecret` and `finishSecret` the old password no longer works while the secret still holds
  it: clients retry (the read-only login's are operators' tools; the master's are this function,
  the nodes' boot and operators).
- the cache's AUTH token (`cache.py`).

The logins' passwords are set by the master user (the secret's `masterarn`), connecting as
`connect` says; the master's own password by itself. Where the database is comes from the
function's environment (`DB_HOST`, `DB_PORT`, `DB_NAME`), which follows the active instance, and
is written into every new version.

A step is idempotent: Secrets Manager retries a failed rotation from its failed step.
"""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from . import roles

PENDING, CURRENT, PREVIOUS = "AWSPENDING", "AWSCURRENT", "AWSPREVIOUS"
FIRST = "MULTITIER_FIRST"
"""The label of the version the program wrote (components/database/credentials.py)."""
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
PASSWORD_ALPHABET = string.ascii_letters + string.digits + "-_=+."
PASSWORD_LENGTH = 32


class RotationError(RuntimeError):
    """A step cannot go on: the rotation fails, and the function's error alarm fires."""


class Database(Protocol):
    """A connection that runs statements (pg8000's, or the tests')."""

    def run(self, sql: str, **params: Any) -> Any: ...
    def close(self) -> None: ...


Connect = Callable[[dict[str, Any], str], Database]
"""Connect with a secret's credentials to one of the server's databases."""


@dataclass(frozen=True)
class Target:
    """Where the database is, as this function was deployed to find it."""

    host: str
    port: int
    dbname: str


def password() -> str:
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))


@dataclass(frozen=True)
class Step:
    """A rotation event: the step, the secret, and the version it rotates to."""

    name: str
    secret_id: str
    token: str

    @staticmethod
    def of(event: dict[str, Any]) -> Step:
        return Step(event["Step"], event["SecretId"], event["ClientRequestToken"])


def rotate(client: Any, step: Step, target: Target, connect: Connect) -> None:
    """Run one step of a database secret's rotation (`client`: Secrets Manager's)."""
    if step.name not in STEPS:
        raise RotationError(f"unknown step {step.name!r}")
    if not _pending_is_ours(client, step.secret_id, step.token):
        return  # the token's version is current already: a retried finish
    {
        "createSecret": _create,
        "setSecret": _set,
        "testSecret": _test,
        "finishSecret": _finish,
    }[step.name](client, step.secret_id, step.token, target, connect)


def _pending_is_ours(client: Any, secret_id: str, token: str) -> bool:
    described = client.describe_secret(SecretId=secret_id)
    if not described.get("RotationEnabled"):
        raise RotationError(f"{secret_id} is not set up for rotation")
    stages = described.get("VersionIdsToStages", {}).get(token)
    if stages is None:
        raise RotationError(f"{token} is no version of {secret_id}")
    if CURRENT in stages:
        return False
    if PENDING not in stages:
        raise RotationError(f"{token} of {secret_id} is not pending rotation")
    return True


def value(client: Any, secret_id: str, stage: str, token: str | None = None) -> dict[str, Any]:
    args: dict[str, Any] = {"SecretId": secret_id, "VersionStage": stage}
    if token is not None:
        args["VersionId"] = token
    return dict(json.loads(client.get_secret_value(**args)["SecretString"]))


def _create(client: Any, secret_id: str, token: str, target: Target, connect: Connect) -> None:
    try:
        value(client, secret_id, PENDING, token)
        return  # made by an earlier attempt
    except client.exceptions.ResourceNotFoundException:
        pass
    current = value(client, secret_id, CURRENT)
    pending = {**current, "host": target.host, "port": target.port, "dbname": target.dbname}
    pending["password"] = password()
    if current.get("rotation") == "alternating":
        pending["username"] = other_login(current["username"])
    client.put_secret_value(
        SecretId=secret_id,
        ClientRequestToken=token,
        SecretString=json.dumps(pending),
        VersionStages=[PENDING],
    )


def other_login(username: str) -> str:
    """The alternating login that is not `username`."""
    if username.endswith(roles.CLONE_SUFFIX):
        return username.removesuffix(roles.CLONE_SUFFIX)
    return username + roles.CLONE_SUFFIX


def _set(client: Any, secret_id: str, token: str, target: Target, connect: Connect) -> None:
    pending = value(client, secret_id, PENDING, token)
    kind = kind_of(pending)
    if kind == "master":
        _set_master(client, secret_id, pending, target, connect)
        return
    if kind not in ("alternating", "single"):
        raise RotationError(f"{secret_id} says rotation {kind!r}: not alternating or single")
    master = value(client, pending["masterarn"], CURRENT)
    run(
        connect(master, target.dbname),
        roles.login_statements(
            pending["username"],
            pending["password"],
            database=target.dbname,
            owner=pending["owner"],
            read_only=kind == "single",
        ),
    )


def kind_of(secret: dict[str, Any]) -> str | None:
    """How the secret rotates: its `rotation` key. A master secret written by a release before
    rotation has none, and Pulumi no longer writes it (rotation owns the value): without a
    `masterarn` (every login's secret names its master), it is the master's."""
    kind = secret.get("rotation")
    if kind is None and "masterarn" not in secret:
        return "master"
    return None if kind is None else str(kind)


SESSION = ["SET lock_timeout = '10s'", "SET statement_timeout = '25s'"]
"""Set first on every connection: a statement that waits for a lock (an ALTER ... OWNER while
the app holds its table) gives up on the server, cleanly, before the client's socket timeout
(handler.SOCKET_TIMEOUT_SECONDS) could leave it queued there, blocking the app behind it."""
LOCK_TIMEOUT = "55P03"
"""PostgreSQL's SQLSTATE for `lock_timeout`."""


def run(database: Database, statements: list[str]) -> None:
    """Run the statements in order on one connection, then close it."""
    try:
        for sql in [*SESSION, *statements]:
            database.run(sql)
    finally:
        database.close()


def _set_master(
    client: Any, secret_id: str, pending: dict[str, Any], target: Target, connect: Connect
) -> None:
    """The master changes its own password; when the current password fails, an earlier attempt
    may have set the pending one already."""
    current = value(client, secret_id, CURRENT)
    for credentials in (current, pending):
        try:
            database = connect(credentials, target.dbname)
        except Exception:  # that password no longer works: try the next
            continue
        run(database, roles.set_password(pending["username"], pending["password"]))
        return
    raise RotationError(f"neither the current nor the pending master password of {secret_id} works")


def _test(client: Any, secret_id: str, token: str, target: Target, connect: Connect) -> None:
    try:
        credentials = value(client, secret_id, PENDING, token)
    except client.exceptions.ResourceNotFoundException:
        # Enabling rotation without rotating at once (the program's schedules) runs testSecret
        # alone, on a pending version that holds no value, at deployment: when a new vip
        # cluster may not serve yet and its roles may not exist. It checks what the function
        # will need (the secrets, readable and decryptable), not the database: the bootstrap
        # proves that, and each rotation tests the pending login before it becomes current.
        current = value(client, secret_id, CURRENT)
        if "masterarn" in current:
            value(client, current["masterarn"], CURRENT)
        return
    run(connect(credentials, target.dbname), ["SELECT 1"])


def _finish(client: Any, secret_id: str, token: str, target: Target, connect: Connect) -> None:
    finish(client, secret_id, token)


def finish(client: Any, secret_id: str, token: str) -> None:
    """Make the token's version current (and the current one previous). The first time, the
    version the program wrote (the current one, then) gets the program's own label, which keeps
    Secrets Manager from deleting it once it has no other: a stack deployed before its versions
    carried the label gets it here."""
    described = client.describe_secret(SecretId=secret_id)
    versions = described["VersionIdsToStages"]
    current = next((v for v, stages in versions.items() if CURRENT in stages), None)
    if current == token:
        return
    if current is not None and not any(FIRST in stages for stages in versions.values()):
        client.update_secret_version_stage(
            SecretId=secret_id, VersionStage=FIRST, MoveToVersionId=current
        )
    client.update_secret_version_stage(
        SecretId=secret_id,
        VersionStage=CURRENT,
        MoveToVersionId=token,
        RemoveFromVersionId=current,
    )
