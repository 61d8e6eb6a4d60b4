"""The cache's AUTH token, rotated without a moment in which clients are refused (ElastiCache's
ROTATE then SET): `setSecret` first drops the token before the current one (SET to the current
token, which leaves it alone), then adds the pending one beside it (ROTATE); after
`finishSecret` both the current and the previous token work until the next rotation. So a client
may hold a token for a whole rotation period after it was replaced.

ElastiCache applies each change in minutes (the group is `modifying`): the step waits for the
group to be `available` before and after, within the function's timeout.
"""

from __future__ import annotations

import secrets
import string
import time
from typing import Any

from .rotation import CURRENT, PENDING, RotationError, Step, finish

TOKEN_ALPHABET = string.ascii_letters + string.digits
TOKEN_LENGTH = 64
WAIT_SECONDS = 600


def rotate(
    client: Any, elasticache: Any, event: Step, group: str, *, sleep: Any = time.sleep
) -> None:
    """One step for the cache's secret (a plain string: the token)."""
    step, secret_id, token = event.name, event.secret_id, event.token
    if step == "createSecret":
        try:
            client.get_secret_value(SecretId=secret_id, VersionId=token, VersionStage=PENDING)
        except client.exceptions.ResourceNotFoundException:
            new = "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(TOKEN_LENGTH))
            client.put_secret_value(
                SecretId=secret_id,
                ClientRequestToken=token,
                SecretString=new,
                VersionStages=[PENDING],
            )
    elif step == "setSecret":
        current = _token(client, secret_id, CURRENT)
        pending = _token(client, secret_id, PENDING, token)
        _wait(elasticache, group, sleep)
        _modify(elasticache, group, current, "SET")
        _wait(elasticache, group, sleep)
        _modify(elasticache, group, pending, "ROTATE")
        _wait(elasticache, group, sleep)
    elif step == "testSecret":
        _wait(elasticache, group, sleep)
    elif step == "finishSecret":
        finish(client, secret_id, token)
    else:
        raise RotationError(f"unknown step {step!r}")


def _token(client: Any, secret_id: str, stage: str, version: str | None = None) -> str:
    args: dict[str, Any] = {"SecretId": secret_id, "VersionStage": stage}
    if version is not None:
        args["VersionId"] = version
    return str(client.get_secret_value(**args)["SecretString"])


def _modify(elasticache: Any, group: str, auth_token: str, strategy: str) -> None:
    elasticache.modify_replication_group(
        ReplicationGroupId=group,
        AuthToken=auth_token,
        AuthTokenUpdateStrategy=strategy,
        ApplyImmediately=True,
    )


def _wait(elasticache: Any, group: str, sleep: Any) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        groups = elasticache.describe_replication_groups(ReplicationGroupId=group)
        status = groups["ReplicationGroups"][0]["Status"]
        if status == "available":
            return
        if time.monotonic() > deadline:
            raise RotationError(f"the cache {group} is still {status} after {WAIT_SECONDS} s")
        sleep(10)
