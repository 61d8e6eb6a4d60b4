"""One failover run at a time, without reserved concurrency: a lease on one DynamoDB item.

Reserved concurrency would serialise the function too, but AWS keeps 100 units of an account's
concurrency unreserved, so reserving fails on accounts with a low quota (new accounts often have
10). The lease works on any account:

- `acquire` takes the item `failover-lease` when nobody holds it or its holder's lease expired.
- An invocation that finds the lease held does not wait: it asks the holder to run once more
  (`request_rerun`) and returns. The holder, before it lets go (`release`), sees the request and
  observes the cluster again, so no event is lost and no invocation waits out its timeout.
- The holder renews the lease between EC2 calls (`renew`). A holder that dies stops renewing;
  after `LEASE_SECONDS` the next invocation (the schedule's, at the latest) takes over.

`LEASE_SECONDS` must outlast the longest pause between two renewals: one EC2 call with its
retries, which the handler's client bounds (connect 5 s, read 10 s, 3 attempts: under 50 s).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError  # type: ignore[import-untyped]

from .contract import LEASE_ITEM, TABLE_KEY

KEY = TABLE_KEY
LEASE_ID = LEASE_ITEM
LEASE_SECONDS = 60
_ATTEMPTS = 3


class LostLeaseError(RuntimeError):
    """Another invocation holds the lease now (ours expired): stop before the next change."""


class Lease:
    """The failover lease in `table`, held by `holder` (the invocation's request id)."""

    def __init__(
        self,
        dynamodb: Any,
        table: str,
        holder: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db, self._table, self._holder, self._clock = dynamodb, table, holder, clock

    def acquire(self) -> bool:
        """Take the lease if it is free or expired; False if another invocation holds it."""
        now = self._clock()
        return self._conditional(
            "put_item",
            Item={
                KEY: {"S": LEASE_ID},
                "holder": {"S": self._holder},
                "expires": {"N": str(now + LEASE_SECONDS)},
                "rerun": {"BOOL": False},
            },
            ConditionExpression=f"attribute_not_exists({KEY}) OR expires < :now",
            ExpressionAttributeValues={":now": {"N": str(now)}},
        )

    def acquire_or_defer(self) -> bool:
        """True when this invocation now holds the lease; False when it asked the live holder to
        run again instead (the lease may change hands in between: then try again)."""
        for _ in range(_ATTEMPTS):
            if self.acquire():
                return True
            if self._request_rerun():
                return False
        return False  # contended every time: a live holder has it

    def renew(self) -> None:
        """Extend our lease; `LostLeaseError` if it is no longer ours."""
        if not self._conditional(
            "update_item",
            Key={KEY: {"S": LEASE_ID}},
            UpdateExpression="SET expires = :expires",
            ConditionExpression="holder = :me",
            ExpressionAttributeValues={
                ":me": {"S": self._holder},
                ":expires": {"N": str(self._clock() + LEASE_SECONDS)},
            },
        ):
            raise LostLeaseError(f"the failover lease is no longer held by {self._holder}")

    def release(self) -> bool:
        """Let go, unless a rerun was asked for: then clear the request and return False (run
        again, still holding). True once released, or when the lease was no longer ours."""
        if self._conditional(
            "delete_item",
            Key={KEY: {"S": LEASE_ID}},
            ConditionExpression="holder = :me AND rerun = :no",
            ExpressionAttributeValues={":me": {"S": self._holder}, ":no": {"BOOL": False}},
        ):
            return True
        return not self._conditional(
            "update_item",
            Key={KEY: {"S": LEASE_ID}},
            UpdateExpression="SET rerun = :no, expires = :expires",
            ConditionExpression="holder = :me",
            ExpressionAttributeValues={
                ":me": {"S": self._holder},
                ":no": {"BOOL": False},
                ":expires": {"N": str(self._clock() + LEASE_SECONDS)},
            },
        )

    def abandon(self) -> None:
        """Let go whatever was asked for (the run failed; the next trigger starts afresh)."""
        self._conditional(
            "delete_item",
            Key={KEY: {"S": LEASE_ID}},
            ConditionExpression="holder = :me",
            ExpressionAttributeValues={":me": {"S": self._holder}},
        )

    def _request_rerun(self) -> bool:
        """Ask the live holder to run once more; False if nobody holds a live lease."""
        return self._conditional(
            "update_item",
            Key={KEY: {"S": LEASE_ID}},
            UpdateExpression="SET rerun = :yes",
            ConditionExpression="expires >= :now",
            ExpressionAttributeValues={
                ":yes": {"BOOL": True},
                ":now": {"N": str(self._clock())},
            },
        )

    def _conditional(self, operation: str, **request: Any) -> bool:
        """Run a conditional write; False when its condition did not hold."""
        try:
            getattr(self._db, operation)(TableName=self._table, **request)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True
