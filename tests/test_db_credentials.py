"""The credentials function on a real PostgreSQL and moto's Secrets Manager: the bootstrap makes
the app's roles (an owner, the app's logins acting as it, a read-only login), none of them can
run programs on the server, running it again changes nothing, and each rotation's four steps
leave a client that re-reads the secret when a login fails working, across two rotations."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pg8000.exceptions  # type: ignore[import-untyped]
import pg8000.native  # type: ignore[import-untyped]
import pytest

from functions.db_credentials import handler, roles, rotation
from functions.db_credentials.rotation import other_login
from tests.credentials_world import Credentials


def roles_of(credentials: Credentials) -> list[str]:
    """Every role of this test with its attributes, memberships and settings."""
    names = f"'{credentials.owner}', '{credentials.app}', '{credentials.app}_clone', " + (
        f"'{credentials.readonly}'"
    )
    return credentials.server.psql(
        "SELECT r.rolname, r.rolsuper, r.rolcanlogin, r.rolcreaterole, r.rolcreatedb, "
        "coalesce(array_to_string(r.rolconfig, ','), ''), "
        "coalesce((SELECT string_agg(g.rolname, ',' ORDER BY g.rolname) FROM pg_auth_members m "
        "JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid), '') "
        f"FROM pg_roles r WHERE r.rolname IN ({names}) ORDER BY 1"
    ).splitlines()


def test_the_bootstrap_makes_an_owner_the_app_acting_as_it_and_a_reader(credentials):
    handler.handler({"bootstrap": True}, None)
    found = {line.split("|")[0]: line.split("|")[1:] for line in roles_of(credentials)}
    owner, app, reader = credentials.owner, credentials.app, credentials.readonly
    assert found[owner][:4] == ["f", "f", "f", "f"]  # no superuser, no login
    assert found[app][:4] == ["f", "t", "f", "f"]
    assert found[app][4] == f"role={owner}" and found[app][5] == owner
    assert found[reader][:4] == ["f", "t", "f", "f"]
    assert found[reader][4] == "default_transaction_read_only=on" and found[reader][5] == ""
    owner_of_database = credentials.server.psql(
        f"SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '{credentials.database}'"
    )
    assert owner_of_database == owner


def test_running_the_bootstrap_again_changes_nothing(credentials):
    handler.handler({"bootstrap": True}, None)
    before = roles_of(credentials)
    handler.handler({"bootstrap": True}, None)
    assert roles_of(credentials) == before
    app = credentials.current(os.environ["APP_SECRET_ARN"])
    credentials.connect(app).close()  # its password is still the secret's


def test_what_the_app_creates_belongs_to_the_owner_and_it_cannot_run_programs(credentials):
    handler.handler({"bootstrap": True}, None)
    app = credentials.connect(credentials.current(os.environ["APP_SECRET_ARN"]))
    app.run("CREATE TABLE orders (id int)")
    assert app.run("SELECT tableowner FROM pg_tables WHERE tablename = 'orders'") == [
        [credentials.owner]
    ]
    with pytest.raises(pg8000.native.DatabaseError, match=r"permission denied|must be superuser"):
        app.run("COPY orders FROM PROGRAM 'id'")
    app.close()
    app = credentials.connect(credentials.current(os.environ["APP_SECRET_ARN"]))
    app.run("CREATE SCHEMA billing")
    app.run("CREATE TABLE billing.invoices (id serial)")
    app.close()
    reader = credentials.connect(credentials.current(os.environ["READONLY_SECRET_ARN"]))
    assert reader.run("SELECT count(*) FROM orders") == [[0]]
    assert reader.run("SELECT count(*) FROM billing.invoices") == [[0]]
    with pytest.raises(pg8000.native.DatabaseError, match="read-only transaction"):
        reader.run("INSERT INTO orders VALUES (1)")
    reader.close()


def test_a_vip_node_makes_the_same_roles_through_psql(credentials):
    """The node's way (roles.py prints the SQL, psql runs it as the cluster's superuser) and the
    function's way agree: after the node's, the function's bootstrap changes nothing."""
    if credentials.master != "app_admin":
        pytest.skip("vip nodes bootstrap as the cluster's superuser")
    app = credentials.current(os.environ["APP_SECRET_ARN"])
    reader = credentials.current(os.environ["READONLY_SECRET_ARN"])
    given = {
        "database": credentials.database,
        "owner": credentials.owner,
        "master": credentials.master,
        "app": [app["username"], app["password"]],
        "readonly": [reader["username"], reader["password"]],
    }
    sql = subprocess.run(
        [sys.executable, roles.__file__],
        input=json.dumps(given),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    credentials.server.psql(sql, credentials.database, script=True)
    made_by_the_node = roles_of(credentials)
    handler.handler({"bootstrap": True}, None)
    assert roles_of(credentials) == made_by_the_node
    credentials.connect(app).close()


def test_a_database_that_does_not_answer_fails_the_bootstrap_unless_told_to_skip(
    credentials, monkeypatch
):
    monkeypatch.setattr(handler, "REACH_SECONDS", 0)
    monkeypatch.setenv("DB_PORT", "1")  # nothing listens there
    with pytest.raises(handler.UnreachableError, match=r"127\.0\.0\.1 does not answer"):
        handler.handler({"bootstrap": True}, None)
    result = handler.handler({"bootstrap": True, "unreachable": "skip"}, None)
    assert result["bootstrap"] == "skipped"


def test_a_table_the_old_app_holds_makes_the_bootstrap_wait_and_try_again(credentials, monkeypatch):
    """An app still connected as the master holds its table while the bootstrap hands it to the
    owner: the ALTER gives up on the server after its lock timeout (not the client's socket, which
    would leave it queued, blocking the app), and the bootstrap runs again."""
    master = credentials.current(os.environ["MASTER_SECRET_ARN"])
    old_app = credentials.connect(master)
    old_app.run("CREATE TABLE held (n int)")
    old_app.run("BEGIN")
    old_app.run("LOCK TABLE held IN ACCESS SHARE MODE")
    monkeypatch.setattr(rotation, "SESSION", ["SET lock_timeout = '200ms'"])
    sleeps: list[float] = []

    def release(seconds: float) -> None:
        sleeps.append(seconds)
        old_app.run("COMMIT")

    where = handler.target(credentials.client)
    result = handler.bootstrap(credentials.client, where, handler.connect, sleep=release)
    assert result["bootstrap"] == "done"
    assert sleeps == [handler.REACH_PAUSE_SECONDS]
    check = credentials.connect(master)
    owner = check.run("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'held'")
    assert owner == [[credentials.owner]]
    check.close()
    old_app.close()


def test_a_restored_instance_refusing_the_master_secret_is_given_its_password(
    credentials, monkeypatch
):
    """A replaced or restored RDS instance has Pulumi's generated (or the snapshot's) master
    password, not the one rotation set since: the bootstrap sets it through RDS, once, then
    makes the roles."""
    arn = os.environ["MASTER_SECRET_ARN"]
    restored = credentials.current(arn)  # what the instance has
    rotated = {**restored, "password": "rotated-since-the-snapshot"}
    credentials.client.put_secret_value(SecretId=arn, SecretString=json.dumps(rotated))
    calls: list[dict[str, object]] = []

    class Rds:
        def modify_db_instance(self, **args: object) -> None:
            calls.append(args)
            database = credentials.connect(restored)  # RDS applies it, a moment later
            database.run(
                f"ALTER ROLE {restored['username']} PASSWORD '{args['MasterUserPassword']}'"
            )
            database.close()

    monkeypatch.setenv(handler.DB_INSTANCE, "multitier-prod-db-restored")
    monkeypatch.setattr(handler, "rds", Rds)
    where = handler.target(credentials.client)
    result = handler.bootstrap(credentials.client, where, handler.connect, sleep=lambda _: None)
    assert result["bootstrap"] == "done"
    assert calls == [
        {
            "DBInstanceIdentifier": "multitier-prod-db-restored",
            "MasterUserPassword": "rotated-since-the-snapshot",
            "ApplyImmediately": True,
        }
    ]
    credentials.connect(rotated).close()


def test_without_an_instance_to_heal_a_refused_master_fails_the_bootstrap(credentials):
    """vip mode (no RDS instance): a refused master password is an error to see, not to mend."""
    arn = os.environ["MASTER_SECRET_ARN"]
    wrong = {**credentials.current(arn), "password": "not-the-masters"}
    credentials.client.put_secret_value(SecretId=arn, SecretString=json.dumps(wrong))
    with pytest.raises(pg8000.exceptions.DatabaseError, match="28P01"):
        handler.handler({"bootstrap": True}, None)


def test_what_the_master_made_before_the_logins_is_handed_to_the_owner(credentials):
    """A deployed stack whose app wrote as the master: the bootstrap gives the owner its tables
    (and their sequences, with them), functions, types and domains, so the app's new login keeps
    working on them; what lies in a schema the owner may not create in stays the master's."""
    master = credentials.connect(credentials.current(os.environ["MASTER_SECRET_ARN"]))
    outsider = f"{credentials.owner}_outsider"
    master.run("CREATE SCHEMA legacy")
    master.run("CREATE TYPE legacy.mood AS ENUM ('ok', 'sad')")
    master.run("CREATE DOMAIN legacy.positive AS int CHECK (VALUE > 0)")
    master.run("CREATE TYPE legacy.pair AS (a int, b int)")
    master.run("CREATE TABLE legacy.customers (id serial PRIMARY KEY, name text, m legacy.mood)")
    master.run("CREATE TABLE accounts (id bigint GENERATED ALWAYS AS IDENTITY)")
    master.run("CREATE VIEW named AS SELECT name FROM legacy.customers")
    master.run("CREATE FUNCTION legacy.twice(n int) RETURNS int LANGUAGE sql AS 'SELECT 2 * n'")
    master.run(f"CREATE ROLE {outsider} NOLOGIN")
    master.run(f"GRANT {outsider} TO CURRENT_USER")
    master.run(f"CREATE SCHEMA elsewhere AUTHORIZATION {outsider}")
    master.run(f"SET ROLE {outsider}")
    master.run(f"GRANT USAGE, CREATE ON SCHEMA elsewhere TO {credentials.master}")
    master.run("RESET ROLE")
    master.run("CREATE TABLE elsewhere.kept (n int)")
    master.close()
    handler.handler({"bootstrap": True}, None)
    app = credentials.connect(credentials.current(os.environ["APP_SECRET_ARN"]))
    app.run("INSERT INTO legacy.customers (name, m) VALUES ('a', 'ok')")
    app.run("INSERT INTO accounts DEFAULT VALUES")
    assert app.run("SELECT name FROM named") == [["a"]]
    app.run("CREATE OR REPLACE FUNCTION legacy.twice(n int) RETURNS int LANGUAGE sql AS 'SELECT n'")
    app.run("ALTER TYPE legacy.mood ADD VALUE 'glad'")
    app.run("ALTER DOMAIN legacy.positive DROP CONSTRAINT IF EXISTS none_such")
    owners = app.run(
        "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class c JOIN pg_namespace n "
        "ON n.oid = c.relnamespace WHERE nspname IN ('public', 'legacy')"
    )
    assert owners == [[credentials.owner]]
    types = app.run(
        "SELECT DISTINCT pg_get_userbyid(typowner) FROM pg_type t JOIN pg_namespace n "
        "ON n.oid = t.typnamespace WHERE nspname = 'legacy'"
    )
    assert types == [[credentials.owner]]
    kept = app.run("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'kept'")
    assert kept == [[credentials.master]]
    app.close()


def test_no_statement_carries_a_password_only_its_verifier():
    """PostgreSQL logs a slow or failed statement with its text (on RDS, into CloudWatch)."""
    logins = roles.Logins("app", "owner", "master")
    statements = roles.bootstrap(logins, ("app_user", "s3cret-App"), ("app_reader", "s3cret-Ro"))
    assert not [s for s in statements if "s3cret" in s]
    verifier = roles.scram_verifier("pencil", salt=b"0123456789abcdef")
    assert verifier.startswith("SCRAM-SHA-256$4096:MDEyMzQ1Njc4OWFiY2RlZg==$")


class App:
    """A client as the app should be: it keeps the credentials it read, and reads the secret
    again when its login fails."""

    def __init__(self, credentials: Credentials) -> None:
        self._credentials = credentials
        self.held = credentials.current(os.environ["APP_SECRET_ARN"])
        self.rereads = 0

    def write(self, number: int) -> None:
        try:
            connection = self._credentials.connect(self.held)
        except pg8000.native.DatabaseError as error:
            if "password authentication failed" not in str(error):
                raise
            self.held = self._credentials.current(os.environ["APP_SECRET_ARN"])
            self.rereads += 1
            connection = self._credentials.connect(self.held)
        connection.run("INSERT INTO writes VALUES (:n)", n=number)
        connection.close()


def test_two_consecutive_rotations_keep_a_client_that_rereads_working(credentials):
    """Alternating logins: after the first rotation the login the client holds still works;
    the second changes that login's password, and one re-read of the secret recovers."""
    handler.handler({"bootstrap": True}, None)
    arn = os.environ["APP_SECRET_ARN"]
    setup = credentials.connect(credentials.current(arn))
    setup.run("CREATE TABLE writes (n int)")
    setup.close()
    app = App(credentials)
    first_login = app.held["username"]
    app.write(1)
    credentials.rotate(arn)
    assert credentials.current(arn)["username"] == other_login(first_login)
    app.write(2)
    assert app.rereads == 0, "the previous login still works after one rotation"
    credentials.rotate(arn)
    assert credentials.current(arn)["username"] == first_login
    app.write(3)
    assert app.rereads == 1
    check = credentials.connect(credentials.current(arn))
    assert check.run("SELECT n FROM writes ORDER BY n") == [[1], [2], [3]]
    check.close()


@pytest.mark.parametrize("secret", ["READONLY_SECRET_ARN", "MASTER_SECRET_ARN"])
def test_a_single_login_rotates_its_own_password(credentials, secret):
    handler.handler({"bootstrap": True}, None)
    arn = os.environ[secret]
    before = credentials.current(arn)
    credentials.rotate(arn)
    after = credentials.current(arn)
    assert after["username"] == before["username"]
    assert after["password"] != before["password"]
    credentials.connect(after).close()
    with pytest.raises(pg8000.native.DatabaseError, match="password authentication failed"):
        credentials.connect(before)


def test_a_master_secret_from_before_rotation_rotates_as_the_master(credentials):
    """A stack deployed by an earlier release has a master secret without `rotation`; Pulumi
    ignores changes to its value from now on, so the function must know it anyway."""
    handler.handler({"bootstrap": True}, None)
    arn = os.environ["MASTER_SECRET_ARN"]
    legacy = {k: v for k, v in credentials.current(arn).items() if k != "rotation"}
    credentials.client.put_secret_value(SecretId=arn, SecretString=json.dumps(legacy))
    credentials.rotate(arn)
    after = credentials.current(arn)
    assert after["username"] == legacy["username"]
    assert after["password"] != legacy["password"]
    credentials.connect(after).close()


def test_a_rotation_retried_from_any_step_ends_the_same(credentials):
    """Secrets Manager retries a failed rotation from its failed step: each step again changes
    nothing."""
    handler.handler({"bootstrap": True}, None)
    arn = os.environ["READONLY_SECRET_ARN"]
    credentials.rotate(arn)
    versions = credentials.client.describe_secret(SecretId=arn)["VersionIdsToStages"]
    (token,) = [v for v, stages in versions.items() if "AWSCURRENT" in stages]
    for step in ("createSecret", "setSecret", "testSecret", "finishSecret"):
        handler.handler({"Step": step, "SecretId": arn, "ClientRequestToken": token}, None)
    credentials.connect(credentials.current(arn)).close()


@pytest.mark.parametrize("secret", ["APP_SECRET_ARN", "READONLY_SECRET_ARN", "MASTER_SECRET_ARN"])
def test_enabling_rotation_before_the_database_serves_passes_and_changes_nothing(
    credentials, monkeypatch, secret
):
    """RotateSecret without rotating at once runs testSecret alone on a pending version that
    holds no value, at deployment, when a new vip cluster may not serve yet and the logins may
    not exist: the step checks the secrets the function needs, not the database."""
    monkeypatch.setenv("DB_PORT", "1")  # nothing listens there; no bootstrap ran
    arn = os.environ[secret]
    before = credentials.current(arn)
    token = credentials.start(arn)
    handler.handler({"Step": "testSecret", "SecretId": arn, "ClientRequestToken": token}, None)
    assert credentials.current(arn) == before


def test_the_first_version_keeps_a_label_of_its_own_across_rotations(credentials):
    """Secrets Manager deletes a version left without labels; the program's own (written
    before its versions carried the label, as here) must stay, or Pulumi writes it again."""
    handler.handler({"bootstrap": True}, None)
    arn = os.environ["APP_SECRET_ARN"]
    versions = credentials.client.describe_secret(SecretId=arn)["VersionIdsToStages"]
    (first,) = versions
    credentials.rotate(arn)
    credentials.rotate(arn)
    versions = credentials.client.describe_secret(SecretId=arn)["VersionIdsToStages"]
    assert versions[first] == [rotation.FIRST]
    assert [v for v, stages in versions.items() if rotation.FIRST in stages] == [first]
