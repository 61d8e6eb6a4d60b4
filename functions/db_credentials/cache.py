"""The cache's AUTH token, rotated without a moment in which clients are refused. ElastiCache
holds at most two tokens: `ROTATE` adds one beside the current, and `SET` (allowed only after a
`ROTATE`) leaves one alone. Each step makes at most one change, and waits for the group to be
`available` before it (a change keeps it `modifying` for minutes; a step has the function's
15 minutes):

- `createSecret`: the pending token; from the second rotation on, `SET` to the current token,
  which drops the previous one (clients have had a whole rotation period to re-read). A `SET`
  ElastiCache refuses because the group holds one token already (a retried rotation) is fine.
- `setSecret`: `ROTATE` to the pending token: the current and the pending both work.
- `testSecret`: waits for that change to be applied, or fails (Secrets Manager retries the
  rotation, which starts over harmlessly).
- `finishSecret`: the pending token becomes current; the previous one keeps working until the
  next rotation.
"""

from __future__ import annotations

import json
import secrets
import string
import time
from typing import Any

from botocore.exceptions import ClientError  # type: ignore[import-untyped]

from .rotation import CURRENT, PENDING, PREVIOUS, RotationError, Step, finish

TOKEN_ALPHABET = string.ascii_letters + string.digits
TOKEN_LENGTH = 64
WAIT_SECONDS = 780
"""Within a step's 900 s: the longest a step waits for the group to be available."""
REFUSED_SET = ("InvalidParameterCombination", "InvalidParameterValue")
"""How ElastiCache refuses a `SET` that does not follow a `ROTATE`."""


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
        if _has(client, secret_id, PREVIOUS):
            _wait(elasticache, group, sleep)
            _drop_previous(elasticache, group, _token(client, secret_id, CURRENT))
    elif step == "setSecret":
        pending = _token(client, secret_id, PENDING, token)
        _wait(elasticache, group, sleep)
        _modify(elasticache, group, pending, "ROTATE")
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


def _has(client: Any, secret_id: str, stage: str) -> bool:
    versions = client.describe_secret(SecretId=secret_id).get("VersionIdsToStages", {})
    return any(stage in stages for stages in versions.values())


def _drop_previous(elasticache: Any, group: str, current: str) -> None:
    """`SET` to the current token; refused when the group holds only it already."""
    try:
        _modify(elasticache, group, current, "SET")
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in REFUSED_SET:
            raise
        code = error.response["Error"]["Code"]
        print(json.dumps({"cache": group, "kept_one_token": code}), flush=True)


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
