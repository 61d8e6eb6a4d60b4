"""The database credentials function's entry point. Lambda runs it as
`db_credentials.handler.handler`, with pg8000 packaged beside it.

- A Secrets Manager rotation event (`Step`, `SecretId`, `ClientRequestToken`) runs that step:
  the cache's secret (`CACHE_SECRET_ARN`) through `cache.py`, the database's through
  `rotation.py`.
- `{"bootstrap": true}` (at deployment, and whenever an operator runs it) creates the app's
  roles with the master credentials (`MASTER_SECRET_ARN`), each login with the password its
  secret holds now (`APP_SECRET_ARN`, `READONLY_SECRET_ARN`): running it again changes nothing.
  With `"unreachable": "skip"` (vip mode: a new cluster's nodes create the roles themselves, and
  its first primary serves minutes after the deployment) a database that does not answer is
  not a failure.
- `{"check": {"host": ..., "port": ...}}` (the restore check, tools/restore_check.py) logs in
  to a restored copy of the database with the app's login, as the app would, and counts the
  tables the app can see: the function runs where the app does, and the database's group
  admits it. Only a check's copy in the deployed instance's RDS domain is asked.

Environment: DB_HOST and DB_PORT (where the database is) and the secrets' ARNs; in managed
mode DB_INSTANCE, the RDS instance (a replaced or restored one refusing the master secret's
password is given it); CACHE_GROUP with the cache's. Every connection is TLS: verified against
the CA a vip secret carries (`ca_certificate`), encrypted but unverified with RDS (its CA bundle
is not shipped here).
"""

from __future__ import annotations

import json
import os
import ssl
import time
from collections.abc import Callable
from typing import Any

import boto3  # type: ignore[import-untyped]
import pg8000.exceptions  # type: ignore[import-untyped]
import pg8000.native  # type: ignore[import-untyped]

from . import cache, roles, rotation
from .rotation import CURRENT, PREVIOUS, Database, Step, Target

CONNECT_TIMEOUT_SECONDS = 10
SOCKET_TIMEOUT_SECONDS = 30
"""pg8000 keeps its connect timeout as the socket's for every statement: longer than the
server's own statement and lock timeouts (rotation.SESSION), so the server gives up first."""
LOCK_ATTEMPTS = 3
"""The bootstrap runs again (it is idempotent) when a statement timed out waiting for a lock."""
INVALID_PASSWORD = "28P01"
"""PostgreSQL's SQLSTATE for a refused password."""
DB_INSTANCE = "DB_INSTANCE"
"""managed mode: the RDS instance's identifier, whose master password the bootstrap may set."""
# How long the bootstrap waits for the database to answer: well inside the Invoke call of a
# deployment, whose connection an idle timeout of the network path (350 s) would cut.
REACH_SECONDS = 180
REACH_PAUSE_SECONDS = 10


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    secrets = boto3.client("secretsmanager")
    if event.get("bootstrap"):
        skip = event.get("unreachable") == "skip"
        return bootstrap(secrets, target(secrets), connect, skip_unreachable=skip)
    if "check" in event:
        host, port = str(event["check"]["host"]), int(event["check"]["port"])
        refused = check_refused(host, os.environ["DB_HOST"])
        if refused:
            return {"check": "refused", "why": refused}
        return check(secrets, connect_at(host, port))
    step = Step.of(event)
    log = {"step": step.name, "secret": step.secret_id, "version": step.token}
    print(json.dumps(log), flush=True)
    if step.secret_id == os.environ.get("CACHE_SECRET_ARN"):
        elasticache = boto3.client("elasticache")
        cache.rotate(secrets, elasticache, step, os.environ["CACHE_GROUP"])
    else:
        rotation.rotate(secrets, step, target(secrets), connect)
    return {"step": step.name, "done": True}


def target(secrets: Any) -> Target:
    """Where the database is: its host and port as deployed (they follow a replaced RDS
    instance); the app's database as the master secret names it, which is fixed when the
    database is created (a vip cluster keeps its names whatever the config says later)."""
    master = rotation.value(secrets, os.environ["MASTER_SECRET_ARN"], CURRENT)
    return Target(os.environ["DB_HOST"], int(os.environ["DB_PORT"]), master["dbname"])


def bootstrap(
    secrets: Any,
    where: Target,
    connect_as: rotation.Connect,
    *,
    skip_unreachable: bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """The app's roles, with the passwords the secrets hold now. The database may not answer
    yet: tried for `REACH_SECONDS`, then a failure, or with `skip_unreachable` (vip mode, whose
    nodes make the roles when they create the cluster) a result that says so."""
    master = rotation.value(secrets, os.environ["MASTER_SECRET_ARN"], CURRENT)
    app = rotation.value(secrets, os.environ["APP_SECRET_ARN"], CURRENT)
    readonly = rotation.value(secrets, os.environ["READONLY_SECRET_ARN"], CURRENT)
    logins = roles.Logins(where.dbname, app["owner"], master["username"])
    statements = roles.bootstrap(
        logins, (app["username"], app["password"]), (readonly["username"], readonly["password"])
    )
    for attempt in range(1, LOCK_ATTEMPTS + 1):
        try:
            database = _reach(connect_as, master, where, sleep, heal=attempt == 1)
        except UnreachableError as error:
            if not skip_unreachable:
                raise
            skipped = {"bootstrap": "skipped", "why": str(error)}
            print(json.dumps(skipped), flush=True)
            return skipped
        try:
            rotation.run(database, statements)
            break
        except pg8000.exceptions.DatabaseError as error:
            if _sqlstate(error) != rotation.LOCK_TIMEOUT or attempt == LOCK_ATTEMPTS:
                raise
            print(json.dumps({"bootstrap": "lock timeout, again", "attempt": attempt}), flush=True)
            sleep(REACH_PAUSE_SECONDS)
    made = [logins.owner, app["username"], readonly["username"]]
    result: dict[str, Any] = {"bootstrap": "done", "roles": made}
    print(json.dumps(result), flush=True)
    return result


def _reach(
    connect_as: rotation.Connect,
    master: dict[str, Any],
    where: Target,
    sleep: Callable[[float], None],
    *,
    heal: bool = False,
) -> Database:
    """A connection as the master user, tried for `REACH_SECONDS`. With `heal`, an RDS
    instance that refuses the master secret's password is given it (`heal_master`) once."""
    deadline = time.monotonic() + REACH_SECONDS
    healed = not heal
    while True:
        try:
            return connect_as({**master, "host": where.host, "port": where.port}, where.dbname)
        except pg8000.exceptions.DatabaseError as error:
            if _sqlstate(error) != INVALID_PASSWORD or healed or not os.environ.get(DB_INSTANCE):
                raise
            heal_master(os.environ[DB_INSTANCE], master["password"])
            healed = True
            deadline = time.monotonic() + REACH_SECONDS
        except (OSError, pg8000.exceptions.InterfaceError) as error:  # not answering yet
            print(json.dumps({"bootstrap": "waiting", "why": str(error)}), flush=True)
            if time.monotonic() >= deadline:
                raise UnreachableError(f"{where.host} does not answer: {error}") from error
        sleep(REACH_PAUSE_SECONDS)


def heal_master(instance: str, password: str) -> None:
    """Give an RDS instance the master secret's password. A replaced or restored instance has
    the password Pulumi generated (or the snapshot's), not the one rotation set since; RDS
    applies a new master password within a minute or so, whatever the maintenance window."""
    print(json.dumps({"bootstrap": "master password refused: setting it", "instance": instance}))
    rds().modify_db_instance(
        DBInstanceIdentifier=instance, MasterUserPassword=password, ApplyImmediately=True
    )


def rds() -> Any:
    """The RDS client (a seam for the tests)."""
    return boto3.client("rds")


class UnreachableError(OSError):
    """The database did not answer within `REACH_SECONDS`."""


def _sqlstate(error: Exception) -> str | None:
    """The SQLSTATE of a server error (pg8000 gives the server's fields as a dict)."""
    fields = error.args[0] if error.args else None
    return fields.get("C") if isinstance(fields, dict) else None


RDS_DOMAIN = ".rds.amazonaws.com"
# What the restore check asks a restored copy: who it is, and how many tables the app sees.
CHECK_QUERY = (
    "SELECT current_user, count(*) FROM information_schema.tables "
    "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
)


def check_refused(host: str, deployed: str) -> str | None:
    """Why the check will not send the app's password to `host`, or None. Only to a restore
    check's copy (`<...>-check-<n>`) under the deployed instance's RDS domain, which names the
    account and region: whoever may invoke the function must not learn the password by naming a
    host of their own."""
    name, _, domain = host.partition(".")
    _, _, ours = deployed.partition(".")
    if not deployed.endswith(RDS_DOMAIN):
        return f"the database at {deployed} is not RDS: the restore check is for managed mode"
    if domain != ours or "-check-" not in name:
        return f"{host} is not a restore check's copy (<identifier>-check-<n>.{ours})"
    return None


def check(secrets: Any, connect_as: rotation.Connect) -> dict[str, Any]:
    """Log in to a copy (`connect_as` reaches it) with the app's login and run `CHECK_QUERY`.
    The copy has the passwords of its backup's time: the app's current login, or after a
    rotation since then, the previous one (the logins alternate)."""
    app_arn = os.environ["APP_SECRET_ARN"]
    tried = []
    for stage in (CURRENT, PREVIOUS):
        try:
            login = rotation.value(secrets, app_arn, stage)
        except secrets.exceptions.ResourceNotFoundException:  # never rotated: no previous
            continue
        try:
            database = connect_as(login, login["dbname"])
        except (OSError, pg8000.exceptions.Error) as error:
            tried.append(f"{login['username']} ({stage}): {error}")
            continue
        try:
            (user, tables), *_ = database.run(CHECK_QUERY)
        finally:
            database.close()
        result = {"check": "answered", "login": user, "stage": stage, "tables": tables}
        print(json.dumps(result), flush=True)
        return result
    failed = {"check": "failed", "why": "; ".join(tried) or "no login to try"}
    print(json.dumps(failed), flush=True)
    return failed


def connect(credentials: dict[str, Any], database: str) -> Database:
    """pg8000 over TLS to where `DB_HOST` is, as `credentials` say."""
    return connect_at(os.environ["DB_HOST"], int(os.environ["DB_PORT"]))(credentials, database)


def connect_at(host: str, port: int) -> rotation.Connect:
    """Connect to the server at `host`, as `connect` does to `DB_HOST`."""

    def connect_there(credentials: dict[str, Any], database: str) -> Database:
        connection: Database = pg8000.native.Connection(
            user=credentials["username"],
            password=credentials["password"],
            database=database,
            ssl_context=tls(credentials.get("ca_certificate")),
            timeout=SOCKET_TIMEOUT_SECONDS,
            **route(host, port),
        )
        return connection

    return connect_there


def route(host: str, port: int) -> dict[str, Any]:
    """How to reach the database: by its host (the drill gives the VIP's current node instead,
    keeping `host` as the name TLS checks)."""
    return {"host": host, "port": port}


def tls(ca_certificate: str | None) -> ssl.SSLContext:
    if ca_certificate:
        context = ssl.create_default_context(cadata=ca_certificate)
        return context
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
