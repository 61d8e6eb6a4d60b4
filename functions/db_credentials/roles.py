"""The app's roles, as SQL: pure functions that return statements, so the bootstrap (the
credentials function; a vip node runs the same SQL through psql at the cluster's creation, see
`main`) and the rotation say the same thing, and the tests read it. Every statement runs in the
app's database, as its master user (RDS's is no superuser: it has CREATEROLE and CREATEDB).

- an owner role, NOLOGIN, owns the app database and what the app creates in it;
- the app's logins are members of it and act as it (`SET role` on login), so an object either
  login creates belongs to the owner and the other login can use it: the rotation alternates
  between the two logins (`<app>` and `<app>_clone`);
- a read-only login reads what the owner makes (default privileges: tables, sequences, schemas)
  and writes nothing.

None of them is a superuser, none may create roles or databases, and none is a member of
`pg_execute_server_program`: a SQL injection in the app cannot run `COPY ... FROM PROGRAM`.
Each statement is idempotent: re-running the bootstrap changes nothing.

Runs on the database nodes too (Amazon Linux 2023's Python 3.9): the standard library only.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import sys
from dataclasses import dataclass

OWNER = "app_owner"
"""The role that owns the app's database and everything the app creates in it."""
APP = "app_user"
"""The app's login (and `app_user_clone`, its alternate)."""
READER = "app_reader"
"""The read-only login."""
CLONE_SUFFIX = "_clone"
"""The alternating login's suffix (Secrets Manager's alternating-users convention)."""
NAMES = (OWNER, APP, APP + CLONE_SUFFIX, READER)
"""Every role name the bootstrap and the rotation may create: the master user is none of them."""

Statements = list[str]


@dataclass(frozen=True)
class Logins:
    """What the owner role is about: the app's database, the owner, and the master user who
    hands the database to it."""

    database: str
    owner: str
    master: str


def ident(name: str) -> str:
    """A quoted identifier. Names are validated by the config (lowercase, digits, _), so quoting
    only guards against a reserved word."""
    if not name or not name.replace("_", "").isalnum() or not name[0].isalpha():
        raise ValueError(f"not a role or database name: {name!r}")
    return f'"{name}"'


def _create_role(name: str, attributes: str) -> str:
    return (
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = "
        f"'{name}') THEN CREATE ROLE {ident(name)} {attributes}; END IF; END $$"
    )


def owner_statements(logins: Logins) -> Statements:
    """The owner role, the master a member of it (RDS's master must be, to hand it the database;
    on PostgreSQL 16 its implicit membership in a role it created cannot SET that role), and the
    app's database handed to it."""
    owner = ident(logins.owner)
    return [
        _create_role(logins.owner, "NOLOGIN"),
        f"GRANT {owner} TO {ident(logins.master)}",
        f"ALTER DATABASE {ident(logins.database)} OWNER TO {owner}",
        *adopt_statements(logins),
    ]


def adopt_statements(logins: Logins) -> Statements:
    """What the master owns in the app's database becomes the owner's: a stack whose app
    connected as the master before it had logins of its own keeps its schemas, tables, views,
    sequences, functions, procedures, aggregates, types and domains. Sequences that belong to a
    column and a table's own row type move with their table; objects of extensions stay, and so
    does anything in a schema where the owner may not create (its new owner would need to): a
    notice names each."""
    master, owner = logins.master, ident(logins.owner)
    is_master = f"(SELECT oid FROM pg_roles WHERE rolname = '{master}')"

    def not_extension(catalog: str, oid: str) -> str:
        return (
            f"NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = '{catalog}'::regclass "
            f"AND d.objid = {oid} AND d.deptype IN ('a', 'i', 'e'))"
        )

    creatable = f"has_schema_privilege('{logins.owner}', r.schema, 'CREATE')"
    alter = f"LOOP IF {creatable} THEN EXECUTE format('ALTER %s %s OWNER TO %s', r.kind, r.name, "
    alter += f"'{owner}'); ELSE RAISE NOTICE 'kept by the master: % %', r.kind, r.name; "
    alter += "END IF; END LOOP; "
    return [
        "DO $$ DECLARE r record; BEGIN "
        # Schemas first: a new owner needs CREATE on the object's schema.
        "FOR r IN SELECT quote_ident(nspname) AS name FROM pg_namespace "
        f"WHERE nspowner = {is_master} "
        "AND nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' "
        f"AND {not_extension('pg_namespace', 'pg_namespace.oid')} "
        f"LOOP EXECUTE format('ALTER SCHEMA %s OWNER TO %s', r.name, '{owner}'); END LOOP; "
        "FOR r IN SELECT c.oid::regclass::text AS name, c.relnamespace AS schema, "
        "CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' "
        "WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END AS kind "
        "FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace "
        f"WHERE c.relowner = {is_master} AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') "
        "AND ns.nspname NOT IN ('pg_catalog', 'information_schema') "
        f"AND {not_extension('pg_class', 'c.oid')} "
        + alter
        + "FOR r IN SELECT p.oid::regprocedure::text AS name, p.pronamespace AS schema, "
        "CASE p.prokind WHEN 'a' THEN 'AGGREGATE' WHEN 'p' THEN 'PROCEDURE' "
        "ELSE 'FUNCTION' END AS kind FROM pg_proc p JOIN pg_namespace ns "
        f"ON ns.oid = p.pronamespace WHERE p.proowner = {is_master} "
        "AND ns.nspname NOT IN ('pg_catalog', 'information_schema') "
        f"AND {not_extension('pg_proc', 'p.oid')} "
        + alter
        + "FOR r IN SELECT t.oid::regtype::text AS name, t.typnamespace AS schema, "
        "CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END AS kind "
        "FROM pg_type t JOIN pg_namespace ns ON ns.oid = t.typnamespace "
        f"WHERE t.typowner = {is_master} AND t.typtype IN ('e', 'd', 'r', 'c') "
        "AND (t.typtype <> 'c' OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c') "
        "AND ns.nspname NOT IN ('pg_catalog', 'information_schema') "
        f"AND {not_extension('pg_type', 't.oid')} " + alter + "END $$"
    ]


def login_statements(
    name: str, password: str, *, database: str, owner: str, read_only: bool
) -> Statements:
    """A login with `password`, created when missing, its password set. Read-write: a member of
    `owner` that acts as it. Read-only: reads what `owner` makes, in transactions that cannot
    write."""
    role = ident(name)
    statements = [
        _create_role(name, "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION"),
        *set_password(name, password),
        f"GRANT CONNECT ON DATABASE {ident(database)} TO {role}",
    ]
    if not read_only:
        return [
            *statements,
            f"GRANT {ident(owner)} TO {role}",
            f"ALTER ROLE {role} SET role = {ident(owner)}",
        ]
    by_owner = f"ALTER DEFAULT PRIVILEGES FOR ROLE {ident(owner)}"
    return [
        *statements,
        f"ALTER ROLE {role} SET default_transaction_read_only = on",
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}",
        f"GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
        f"{by_owner} GRANT USAGE ON SCHEMAS TO {role}",
        f"{by_owner} GRANT SELECT ON TABLES TO {role}",
        f"{by_owner} GRANT SELECT ON SEQUENCES TO {role}",
    ]


def set_password(name: str, password: str, *, salt: bytes | None = None) -> Statements:
    """The login's password, sent as its SCRAM-SHA-256 verifier: PostgreSQL stores a verifier
    it is given as it is, and the password itself never reaches the server's log (RDS ships
    that log to CloudWatch: a slow or failed ALTER ROLE is logged with its text)."""
    return [f"ALTER ROLE {ident(name)} PASSWORD '{scram_verifier(password, salt=salt)}'"]


SCRAM_ITERATIONS = 4096
"""PostgreSQL's default (`scram_iterations`)."""


def scram_verifier(password: str, *, salt: bytes | None = None) -> str:
    """`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` (RFC 5802, RFC 7677), as
    PostgreSQL computes it. Its SASLprep leaves printable ASCII as it is, which is all the
    passwords here hold."""
    salt = salt if salt is not None else os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, SCRAM_ITERATIONS)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return f"SCRAM-SHA-256${SCRAM_ITERATIONS}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def bootstrap(logins: Logins, app: tuple[str, str], readonly: tuple[str, str]) -> Statements:
    """Everything the app's roles need, in order: the owner, the app's current login, the
    read-only login, each with the password its secret holds now (`(user, password)`): running
    it again changes nothing."""
    return [
        *owner_statements(logins),
        *login_statements(*app, database=logins.database, owner=logins.owner, read_only=False),
        *login_statements(*readonly, database=logins.database, owner=logins.owner, read_only=True),
    ]


def main() -> None:
    """A vip node's bootstrap, for psql: the statements, one per line, from the JSON on stdin."""
    parser = argparse.ArgumentParser(
        description="Print the SQL that creates the app's roles. Reads JSON on stdin: database, "
        "owner, master, app and readonly (each [user, password]); passwords never go on the "
        "command line."
    )
    parser.parse_args()
    given = json.load(sys.stdin)
    logins = Logins(given["database"], given["owner"], given["master"])
    app, readonly = given["app"], given["readonly"]
    for statement in bootstrap(logins, (app[0], app[1]), (readonly[0], readonly[1])):
        print(statement + ";")


if __name__ == "__main__":
    main()
