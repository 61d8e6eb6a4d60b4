"""The cache's AUTH token rotates with no moment in which a client is refused: the previous token
is dropped (SET to the current one) only at the next rotation, the new one added beside the
current (ROTATE), each change waited for; on moto's Secrets Manager and a stand-in ElastiCache
that answers as AWS does (moto's keeps no tokens)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest
from botocore.exceptions import ClientError  # type: ignore[import-untyped]
from moto import mock_aws
from moto.secretsmanager.models import secretsmanager_backends

from functions.db_credentials import cache
from functions.db_credentials.rotation import PENDING, STEPS, RotationError, Step


class ElastiCache:
    """A replication group: the tokens it accepts, and `modifying` for a while after a change."""

    def __init__(self, token: str) -> None:
        self.tokens = [token]
        self.calls: list[tuple[str, str]] = []
        self.busy = 0
        self.rotated = False  # the last change was a ROTATE

    def modify_replication_group(self, **args: Any) -> None:
        assert args["ApplyImmediately"] is True
        strategy, token = args["AuthTokenUpdateStrategy"], args["AuthToken"]
        assert self.busy == 0, "modified while modifying"
        if strategy == "SET" and not self.rotated:
            raise ClientError(
                {"Error": {"Code": "InvalidParameterCombination", "Message": "SET after ROTATE"}},
                "ModifyReplicationGroup",
            )
        self.calls.append((strategy, token))
        if strategy == "SET":
            assert token in self.tokens, "SET to a token the group does not hold"
            self.tokens = [token]
        else:
            assert len(self.tokens) == 1, "ROTATE with two tokens already valid"
            self.tokens.append(token)
        self.rotated = strategy == "ROTATE"
        self.busy = 2

    def describe_replication_groups(self, **_: Any) -> dict[str, Any]:
        status = "modifying" if self.busy else "available"
        self.busy = max(0, self.busy - 1)
        return {"ReplicationGroups": [{"Status": status}]}


def rotate(client: Any, elasticache: ElastiCache, arn: str) -> None:
    token = str(uuid.uuid4())
    secret = secretsmanager_backends["123456789012"]["eu-west-1"].secrets[arn]
    secret.versions[token] = {"version_id": token, "version_stages": [PENDING], "createdate": 0}
    for step in STEPS:
        cache.rotate(client, elasticache, Step(step, arn, token), "app-cache", sleep=lambda _: None)


def current(client: Any, arn: str) -> str:
    return str(client.get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")["SecretString"])


@pytest.fixture
def cache_secret(monkeypatch):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="eu-west-1")
        yield client, client.create_secret(Name="cache", SecretString="first")["ARN"]


def test_every_token_a_client_holds_keeps_working_through_two_rotations(cache_secret):
    client, arn = cache_secret
    elasticache = ElastiCache("first")
    rotate(client, elasticache, arn)
    second = current(client, arn)
    assert elasticache.tokens == ["first", second], "the previous token still works"
    rotate(client, elasticache, arn)
    third = current(client, arn)
    assert elasticache.tokens == [second, third]
    assert elasticache.calls == [
        ("ROTATE", second),
        ("SET", second),
        ("ROTATE", third),
    ]


def test_a_rotation_retried_from_the_start_keeps_a_working_pair(cache_secret):
    """A rotation that failed after its ROTATE starts over: createSecret's SET drops the pending
    token it added (nobody holds it yet), and a SET the group refuses (it holds one token
    already) is no failure."""
    client, arn = cache_secret
    elasticache = ElastiCache("first")
    rotate(client, elasticache, arn)
    second = current(client, arn)
    token = str(uuid.uuid4())
    secret = secretsmanager_backends["123456789012"]["eu-west-1"].secrets[arn]
    secret.versions[token] = {"version_id": token, "version_stages": [PENDING], "createdate": 0}
    for step in ("createSecret", "setSecret", "createSecret", "createSecret", *STEPS[1:]):
        cache.rotate(client, elasticache, Step(step, arn, token), "g", sleep=lambda _: None)
    assert elasticache.tokens == [second, current(client, arn)]


def test_a_cache_that_stays_busy_fails_the_step_so_the_alarm_fires(cache_secret, monkeypatch):
    client, arn = cache_secret
    elasticache = ElastiCache("first")
    elasticache.busy = 10**9
    monkeypatch.setattr(cache, "WAIT_SECONDS", 0)
    token = str(uuid.uuid4())
    with pytest.raises(RotationError, match="still modifying"):
        cache.rotate(client, elasticache, Step("testSecret", arn, token), "g", sleep=time.sleep)
