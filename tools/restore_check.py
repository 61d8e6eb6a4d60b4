"""The restore check: prove that the managed database's backups restore, and say how long it takes.

    python -m tools.restore_check prod                      # the latest restorable time
    python -m tools.restore_check prod --snapshot NAME      # a named snapshot
    make restore-check STACK=prod [SNAPSHOT=NAME]

It restores the stack's database (`databaseIdentifier`) into a throwaway instance in the stack's
own network (its DB subnet group, parameter group and the database's security group), waits
until RDS reports it available, has the credentials function (`credentialsFunctionName`, in the
private subnets, admitted by the database's group) log in to it with the app's login
(`databaseSecretArn`) and count the app's tables, then deletes the copy (no final snapshot, no
backups: it is a copy) and reports each step's time. The copy is deleted whatever happens after
it was asked for. Reads the stack's outputs with `pulumi stack output --json`, or from
`--outputs FILE`; uses the caller's AWS credentials (boto3's usual chain).

Exit status: 0 when the copy answered the app's login, 1 when a step failed, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]

NEEDED = (
    "databaseIdentifier",
    "databaseSecretArn",
    "databaseSecurityGroupId",
    "credentialsFunctionName",
)
CHECK_TAG = "multitier:restore-check"
# RDS identifiers are at most 63 characters: the source's, cut, then `-check-<unix time>`.
_SOURCE_PREFIX = 40

Query = Callable[[str, int], dict[str, Any]]
"""Ask the copy at (host, port) the check's question; returns the function's answer."""


class UsageError(Exception):
    """What the operator gave cannot work: exit 2 with the message."""


@dataclass
class Report:
    """What the check did, step by step, with the seconds each took."""

    copy: str
    source: str
    steps: list[tuple[str, float]] = field(default_factory=list)
    answer: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and self.answer.get("check") == "answered"

    def lines(self) -> list[str]:
        lines = [f"restore check of {self.source} into {self.copy}"]
        lines += [f"  {step}: {seconds:.0f} s" for step, seconds in self.steps]
        if self.answer:
            lines.append(f"  the copy answered: {json.dumps(self.answer, sort_keys=True)}")
        if self.error:
            lines.append(f"  FAILED: {self.error}")
        restored = sum(s for step, s in self.steps if step in ("restore", "available"))
        lines.append(
            f"{'PASS' if self.passed else 'FAIL'}: restored and available in {restored:.0f} s"
        )
        return lines


def copy_name(source: str, now: float) -> str:
    return f"{source[:_SOURCE_PREFIX].rstrip('-')}-check-{int(now)}"


def restore_request(
    source: Mapping[str, Any], copy: str, security_group_id: str, stack: str
) -> dict[str, Any]:
    """The RestoreDBInstance* arguments shared by both kinds: the source's network and class,
    never public, single-AZ, unprotected, tagged as a check's."""
    return {
        "DBInstanceIdentifier": copy,
        "DBInstanceClass": source["DBInstanceClass"],
        "DBSubnetGroupName": source["DBSubnetGroup"]["DBSubnetGroupName"],
        "VpcSecurityGroupIds": [security_group_id],
        "DBParameterGroupName": source["DBParameterGroups"][0]["DBParameterGroupName"],
        "PubliclyAccessible": False,
        "MultiAZ": False,
        "DeletionProtection": False,
        "Tags": [{"Key": CHECK_TAG, "Value": stack}],
    }


def run_check(
    rds: Any,
    query: Query,
    outputs: Mapping[str, Any],
    stack: str,
    *,
    snapshot: str | None = None,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], float] = time.time,
) -> Report:
    """Restore, wait, query, delete: every step timed. `query` reaches the copy from inside the
    stack's network (the credentials function; a stub under moto)."""
    source_id = str(outputs["databaseIdentifier"])
    found = rds.describe_db_instances(DBInstanceIdentifier=source_id)["DBInstances"][0]
    copy = copy_name(source_id, now())
    report = Report(copy, snapshot or f"{source_id} (latest restorable time)")
    request = restore_request(found, copy, str(outputs["databaseSecurityGroupId"]), stack)

    def timed(step: str, action: Callable[[], Any]) -> Any:
        started = clock()
        try:
            return action()
        finally:
            report.steps.append((step, clock() - started))

    if snapshot:
        timed(
            "restore",
            lambda: rds.restore_db_instance_from_db_snapshot(
                DBSnapshotIdentifier=snapshot, **request
            ),
        )
    else:
        point = {k: v for k, v in request.items() if k != "DBInstanceIdentifier"}
        timed(
            "restore",
            lambda: rds.restore_db_instance_to_point_in_time(
                SourceDBInstanceIdentifier=source_id,
                TargetDBInstanceIdentifier=copy,
                UseLatestRestorableTime=True,
                **point,
            ),
        )
    try:
        timed("available", lambda: _wait(rds, "db_instance_available", copy))
        endpoint = rds.describe_db_instances(DBInstanceIdentifier=copy)["DBInstances"][0]
        where = endpoint["Endpoint"]
        report.answer = timed("query", lambda: query(where["Address"], int(where["Port"])))
        if report.answer.get("check") != "answered":
            report.error = f"the copy did not answer the app's login: {report.answer.get('why')}"
    except Exception as error:  # reported, and the copy deleted all the same
        report.error = f"{type(error).__name__}: {error}"
    finally:
        timed(
            "delete",
            lambda: rds.delete_db_instance(
                DBInstanceIdentifier=copy, SkipFinalSnapshot=True, DeleteAutomatedBackups=True
            ),
        )
        timed("deleted", lambda: _wait(rds, "db_instance_deleted", copy))
    return report


def lambda_query(client: Any, function_name: str) -> Query:
    """The credentials function's `check` event (functions/db_credentials/handler.py)."""

    def query(host: str, port: int) -> dict[str, Any]:
        payload = json.dumps({"check": {"host": host, "port": port}})
        response = client.invoke(FunctionName=function_name, Payload=payload.encode())
        answer = json.loads(response["Payload"].read() or b"{}")
        if response.get("FunctionError"):
            return {"check": "failed", "why": answer.get("errorMessage", answer)}
        return dict(answer)

    return query


def stack_outputs(stack: str, path: Path | None) -> dict[str, Any]:
    """The stack's outputs, from a file or from the Pulumi CLI, with the ones the check needs."""
    if path is not None:
        try:
            outputs = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise UsageError(f"--outputs {path}: {error}") from None
    else:
        command = ["pulumi", "stack", "output", "--json", "--stack", stack]
        try:
            done = subprocess.run(command, capture_output=True, text=True, check=True)
        except (OSError, subprocess.CalledProcessError) as error:
            raise UsageError(
                f"`{' '.join(command)}` failed ({error}); give the outputs with --outputs FILE"
            ) from None
        outputs = json.loads(done.stdout)
    missing = [key for key in NEEDED if not outputs.get(key)]
    if missing:
        raise UsageError(
            f"stack {stack} has no {', '.join(missing)}: the restore check needs a stack with "
            "database.mode managed (allowed: staging, prod as committed)"
        )
    return dict(outputs)


def _wait(rds: Any, waiter: str, identifier: str) -> None:
    # RDS takes 10 to 60 minutes to restore; poll every 30 s for up to 2 hours.
    rds.get_waiter(waiter).wait(
        DBInstanceIdentifier=identifier, WaiterConfig={"Delay": 30, "MaxAttempts": 240}
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack", help="the stack whose database is checked, e.g. prod")
    parser.add_argument("--snapshot", help="restore this DB snapshot, not the latest backup")
    parser.add_argument("--outputs", type=Path, help="the stack's outputs as JSON (pulumi's)")
    args = parser.parse_args(argv)
    try:
        outputs = stack_outputs(args.stack, args.outputs)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    query = lambda_query(boto3.client("lambda"), str(outputs["credentialsFunctionName"]))
    report = run_check(
        boto3.client("rds"), query, outputs, args.stack, snapshot=args.snapshot or None
    )
    print("\n".join(report.lines()))
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
