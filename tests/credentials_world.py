"""The credentials function's world: moto's Secrets Manager holding the master, app and read-only
secrets of a database on the tests' real PostgreSQL (tests/postgres_server.py), and Secrets
Manager's side of a rotation, which moto cannot play (its RotateSecret invokes the function
through a Lambda backend that needs Docker): start it, then invoke each step in-process."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3  # type: ignore[import-untyped]
import pg8000.native  # type: ignore[import-untyped]
import pytest
from moto import mock_aws
from moto.secretsmanager.models import secretsmanager_backends

from functions.db_credentials import handler
from functions.db_credentials.rotation import PENDING, STEPS
from tests.postgres_server import Server

REGION = "eu-west-1"
_numbers = itertools.count(1)


@dataclass
class Credentials:
    """One database's secrets, its owner role and logins (unique per test: one server serves
    every test)."""

    client: Any
    server: Server
    database: str
    owner: str
    master: str
    app: str
    readonly: str

    def current(self, arn: str) -> dict[str, Any]:
        value = self.client.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")
        return dict(json.loads(value["SecretString"]))

    def start(self, arn: str) -> str:
        """What Secrets Manager does first for RotateSecret: a version staged AWSPENDING with
        no value. Returns its id, the steps' token."""
        token = str(uuid.uuid4())
        secret: Any = secretsmanager_backends[pg_account()][REGION].secrets[arn]
        secret.rotation_enabled = secret.rotation_requested = True
        secret.remove_version_stages_from_old_versions([PENDING])
        secret.versions[token] = {
            "version_id": token,
            "version_stages": [PENDING],
            "createdate": int(time.time()),
        }
        return token

    def rotate(self, arn: str) -> None:
        """A whole rotation: started, then each step run by the function, in order."""
        token = self.start(arn)
        for step in STEPS:
            handler.handler({"Step": step, "SecretId": arn, "ClientRequestToken": token}, None)

    def connect(self, credentials: dict[str, Any]) -> Any:
        """A client's connection as the app makes it: TLS, verified against the secret's CA."""
        return pg8000.native.Connection(
            user=credentials["username"],
            password=credentials["password"],
            host="127.0.0.1",
            port=self.server.port,
            database=self.database,
            ssl_context=handler.tls(credentials["ca_certificate"]),
            timeout=5,
        )


def pg_account() -> str:
    return "123456789012"


# The master user as each mode has it: vip's is the cluster's superuser (initdb); RDS's is no
# superuser, has CREATEROLE and CREATEDB, and owns the database RDS created for it.
MASTERS = ("superuser", "rds")


@pytest.fixture(params=MASTERS)
def credentials(
    postgres: Server, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[Credentials]:
    number = next(_numbers)
    database = f"app{number}"
    master: dict[str, Any] = {**postgres.master(), "dbname": database, "rotation": "master"}
    if request.param == "rds":
        master["username"] = f"rdsmaster{number}"
        master["password"] = f"rds-{uuid.uuid4().hex}"
        postgres.psql(
            f"CREATE ROLE {master['username']} LOGIN NOSUPERUSER CREATEROLE CREATEDB "
            f"PASSWORD '{master['password']}'"
        )
        postgres.psql(f"CREATE DATABASE {database} OWNER {master['username']}")
    else:
        postgres.psql(f"CREATE DATABASE {database}")
    owner, app, readonly = f"owner{number}", f"app{number}", f"reader{number}"
    for key, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "DB_HOST": "127.0.0.1",
        "DB_PORT": str(postgres.port),
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        client = boto3.client("secretsmanager", region_name=REGION)
        master_arn = client.create_secret(Name="master", SecretString=json.dumps(master))["ARN"]

        def login(name: str, kind: str) -> str:
            value = {
                **master,
                "username": name,
                "password": f"first-{uuid.uuid4().hex}",
                "rotation": kind,
                "masterarn": master_arn,
                "owner": owner,
            }
            return str(client.create_secret(Name=name, SecretString=json.dumps(value))["ARN"])

        monkeypatch.setenv("MASTER_SECRET_ARN", master_arn)
        monkeypatch.setenv("APP_SECRET_ARN", login(app, "alternating"))
        monkeypatch.setenv("READONLY_SECRET_ARN", login(readonly, "single"))
        try:
            yield Credentials(client, postgres, database, owner, master["username"], app, readonly)
        finally:  # a test may have rotated the master's password: the next one starts afresh
            postgres.psql(f"ALTER ROLE app_admin PASSWORD '{postgres.master_password}'")
