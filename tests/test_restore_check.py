"""The restore check (tools/restore_check.py) against moto's RDS: it restores the stack's database
(the latest backup, or a named snapshot) into a throwaway instance in the stack's network, asks it
the check's question (stubbed: moto runs no PostgreSQL), deletes it and reports the times; and the
credentials function's `check` event, which asks the question for real, against moto's Secrets
Manager with a stubbed connection."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
import pg8000.exceptions  # type: ignore[import-untyped]
import pytest
from moto import mock_aws

from functions.db_credentials import handler
from tools import restore_check

pytestmark = pytest.mark.slow

REGION = "eu-west-1"
SOURCE = "multitier-prod-db-5950b69d"
STACK = "prod"


@pytest.fixture
def aws(monkeypatch):
    for key, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield


@pytest.fixture
def stack(aws) -> dict[str, Any]:
    """The stack's database as the program deploys it: subnet group, parameter group, group."""
    ec2 = boto3.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.1.{i}.0/24", AvailabilityZone=f"{REGION}{z}")
        for i, z in enumerate("ab")
    ]
    group = ec2.create_security_group(GroupName="database", Description="db", VpcId=vpc)
    rds = boto3.client("rds")
    rds.create_db_subnet_group(
        DBSubnetGroupName="database-data",
        DBSubnetGroupDescription="Data-tier subnets",
        SubnetIds=[s["Subnet"]["SubnetId"] for s in subnets],
    )
    rds.create_db_parameter_group(
        DBParameterGroupName="database-params",
        DBParameterGroupFamily="postgres16",
        Description="TLS only",
    )
    rds.create_db_instance(
        DBInstanceIdentifier=SOURCE,
        Engine="postgres",
        EngineVersion="16.4",
        DBInstanceClass="db.m7g.large",
        AllocatedStorage=100,
        MasterUsername="app_admin",
        MasterUserPassword="generated-password",
        DBSubnetGroupName="database-data",
        DBParameterGroupName="database-params",
        VpcSecurityGroupIds=[group["GroupId"]],
        BackupRetentionPeriod=14,
        MultiAZ=True,
    )
    rds.create_db_snapshot(DBInstanceIdentifier=SOURCE, DBSnapshotIdentifier="before-upgrade")
    return {
        "databaseIdentifier": SOURCE,
        "databaseSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:app",
        "databaseSecurityGroupId": group["GroupId"],
        "credentialsFunctionName": "multitier-prod-credentials",
    }


class Copy:
    """The query stub: records the copy it reached, as RDS described it then."""

    def __init__(self, answer: dict[str, Any] | None = None) -> None:
        self.answer = answer or {"check": "answered", "login": "app_user", "tables": 12}
        self.seen: list[dict[str, Any]] = []

    def __call__(self, host: str, port: int) -> dict[str, Any]:
        rds = boto3.client("rds")
        found = [
            i
            for i in rds.describe_db_instances()["DBInstances"]
            if i["Endpoint"]["Address"] == host
        ]
        assert len(found) == 1, f"no instance answers at {host}"
        self.seen.append({**found[0], "port": port})
        return self.answer


def identifiers() -> set[str]:
    return {
        i["DBInstanceIdentifier"]
        for i in boto3.client("rds").describe_db_instances()["DBInstances"]
    }


@pytest.mark.parametrize("snapshot", [None, "before-upgrade"], ids=["latest", "snapshot"])
def test_the_check_restores_into_the_stacks_network_queries_and_deletes_the_copy(stack, snapshot):
    copy, rds = Copy(), boto3.client("rds")
    asked: list[dict[str, Any]] = []

    def record(params: dict[str, Any], event_name: str, **_: Any) -> None:
        if ".RestoreDBInstance" in event_name:
            asked.append(params)

    rds.meta.events.register("provide-client-params.rds", record)
    report = restore_check.run_check(
        rds, copy, stack, STACK, snapshot=snapshot, now=lambda: 1_700_000_000
    )
    assert report.passed, report.lines()
    (request,) = asked
    if snapshot:
        assert request["DBSnapshotIdentifier"] == snapshot
    else:
        assert (request["SourceDBInstanceIdentifier"], request["UseLatestRestorableTime"]) == (
            SOURCE,
            True,
        )
    # What moto does not describe back:
    assert (request["PubliclyAccessible"], request["MultiAZ"]) == (False, False)
    assert request["DeletionProtection"] is False
    (reached,) = copy.seen
    assert reached["DBInstanceIdentifier"] == f"{SOURCE}-check-1700000000"
    assert reached["DBSubnetGroup"]["DBSubnetGroupName"] == "database-data"
    assert [g["VpcSecurityGroupId"] for g in reached["VpcSecurityGroups"]] == [
        stack["databaseSecurityGroupId"]
    ]
    assert reached["DBParameterGroups"][0]["DBParameterGroupName"] == "database-params"
    assert reached["DBInstanceClass"] == "db.m7g.large"
    assert {"Key": restore_check.CHECK_TAG, "Value": STACK} in reached["TagList"]
    assert identifiers() == {SOURCE}, "the copy is deleted, the source untouched"
    assert [step for step, _ in report.steps] == [
        "restore",
        "available",
        "query",
        "delete",
        "deleted",
    ]
    assert report.lines()[-1].startswith("PASS: restored and available in ")


def test_a_copy_that_refuses_the_apps_login_fails_the_check_and_is_deleted(stack):
    copy = Copy({"check": "failed", "why": "app_user (AWSCURRENT): password authentication failed"})
    report = restore_check.run_check(boto3.client("rds"), copy, stack, STACK)
    assert not report.passed
    assert "password authentication failed" in (report.error or "")
    assert identifiers() == {SOURCE}
    assert report.lines()[-1].startswith("FAIL")


def test_a_query_that_raises_still_deletes_the_copy(stack):
    def broken(host: str, port: int) -> dict[str, Any]:
        raise TimeoutError("no answer")

    report = restore_check.run_check(boto3.client("rds"), broken, stack, STACK)
    assert report.error == "TimeoutError: no answer"
    assert identifiers() == {SOURCE}


def test_a_stack_without_an_rds_database_is_a_usage_error(tmp_path: Path, capsys):
    outputs = tmp_path / "dev.json"
    outputs.write_text(json.dumps({"databaseEndpoint": "10.10.10.10"}))
    assert restore_check.main(["dev", "--outputs", str(outputs)]) == 2
    error = capsys.readouterr().err
    assert "stack dev has no databaseIdentifier" in error
    assert "database.mode managed" in error


class Connection:
    def __init__(self, rows: list[list[Any]]) -> None:
        self.rows, self.closed = rows, False
        self.ran: list[str] = []

    def run(self, sql: str, **_: Any) -> list[list[Any]]:
        self.ran.append(sql)
        return self.rows

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def app_secret(aws, monkeypatch) -> str:
    secrets = boto3.client("secretsmanager")
    login = {"username": "app_user", "password": "now", "dbname": "app", "host": "old"}
    arn = secrets.create_secret(Name="app", SecretString=json.dumps(login))["ARN"]
    monkeypatch.setenv("APP_SECRET_ARN", arn)
    return str(arn)


def test_the_function_asks_the_copy_with_the_apps_current_login(app_secret):
    reached: list[tuple[dict[str, Any], str]] = []
    connection = Connection([["app_owner", 12]])

    def connect(credentials: dict[str, Any], database: str) -> Connection:
        reached.append((credentials, database))
        return connection

    answer = handler.check(boto3.client("secretsmanager"), connect)
    assert answer == {
        "check": "answered",
        "login": "app_owner",
        "stage": "AWSCURRENT",
        "tables": 12,
    }
    assert [(c["username"], c["password"], db) for c, db in reached] == [("app_user", "now", "app")]
    assert connection.ran == [handler.CHECK_QUERY] and connection.closed


def test_a_copy_older_than_the_last_rotation_answers_the_previous_login(app_secret):
    secrets = boto3.client("secretsmanager")
    rotated = {"username": "app_user_clone", "password": "newer", "dbname": "app"}
    secrets.put_secret_value(SecretId=app_secret, SecretString=json.dumps(rotated))

    def connect(credentials: dict[str, Any], database: str) -> Connection:
        if credentials["username"] == "app_user_clone":  # not in the copy yet
            raise pg8000.exceptions.DatabaseError("password authentication failed")
        return Connection([["app_owner", 3]])

    answer = handler.check(secrets, connect)
    assert (answer["check"], answer["stage"]) == ("answered", "AWSPREVIOUS")


def test_a_copy_no_login_opens_fails_naming_each_try(app_secret):
    def connect(credentials: dict[str, Any], database: str) -> Connection:
        raise OSError("connection refused")

    answer = handler.check(boto3.client("secretsmanager"), connect)
    assert answer == {"check": "failed", "why": "app_user (AWSCURRENT): connection refused"}


DEPLOYED = "multitier-prod-db-5950b69d.c1a2b3c4d5e6.eu-west-1.rds.amazonaws.com"


def test_the_function_asks_only_a_check_copy_in_the_deployed_instance_s_domain():
    copy = "multitier-prod-db-5950b69d-check-1700000000.c1a2b3c4d5e6.eu-west-1.rds.amazonaws.com"
    assert handler.check_refused(copy, DEPLOYED) is None
    for host in (
        "attacker.example.com",
        "evil-check-1.example.com",
        "other-db.c1a2b3c4d5e6.eu-west-1.rds.amazonaws.com",  # not a check's copy
        "x-check-1.ffffffffffff.eu-west-1.rds.amazonaws.com",  # another account's domain
    ):
        assert handler.check_refused(host, DEPLOYED), host
    assert "not RDS" in (handler.check_refused(copy, "10.10.10.10") or "")


def test_a_refused_check_never_reads_the_secret(monkeypatch):
    monkeypatch.setenv("DB_HOST", DEPLOYED)
    monkeypatch.setattr(boto3, "client", lambda service: object())
    answer = handler.handler({"check": {"host": "attacker.example.com", "port": 5432}}, None)
    assert answer["check"] == "refused"
