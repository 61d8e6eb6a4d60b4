"""`python -m tools.dbctl <verb> --stack <stack>` (or `make switchover|pause|resume|status`): the
vip cluster's operator verbs, from the operator's machine, with the operator's AWS credentials.

The cluster is found from the failover function (`--function`, or the stack output
`failoverFunctionName` as `pulumi stack output` gives it for `--stack`), whose environment names
the cluster, the VIP, the table and the node group. Exit 0 done, 1 refused or failed (nothing
changed, or what was undone, is said), 2 bad arguments or a cluster that cannot be found.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

import boto3  # type: ignore[import-untyped]
from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

from functions.db_failover.decision import SwitchoverRefusedError
from tools.dbctl import operations
from tools.dbctl.operations import Clients, Cluster, SwitchoverFailedError

VERBS = ("switchover", "pause", "resume", "status")
INSTANCE_ID = re.compile(r"^i-[0-9a-f]{8}([0-9a-f]{9})?$")


class UsageError(Exception):
    """Bad arguments, or a cluster that cannot be found: exit 2."""


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.dbctl", description=__doc__)
    parser.add_argument("verb", choices=VERBS)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack", help="the stack, whose output failoverFunctionName is read")
    where.add_argument("--function", help="the failover function's name")
    parser.add_argument("--region", help="AWS region (default: the AWS CLI's)")
    parser.add_argument("--to", help="switchover: the standby to promote (default: the best)")
    parser.add_argument("--reason", help="pause: why, for status and the function's log")
    parser.add_argument("--json", action="store_true", help="status: as JSON")
    args = parser.parse_args(argv)
    if args.to is not None and not INSTANCE_ID.match(args.to):
        raise UsageError(
            f"--to = {args.to!r}: an EC2 instance id is allowed (i- and 8 or 17 hex digits)"
        )
    if args.to is not None and args.verb != "switchover":
        raise UsageError(f"--to applies to switchover only, not {args.verb}")
    if args.verb == "pause" and not (args.reason or "").strip():
        raise UsageError("pause needs --reason (who reads status deserves to know why)")
    return args


def function_name(args: argparse.Namespace) -> str:
    if args.function:
        return str(args.function)
    command = ["pulumi", "stack", "output", "failoverFunctionName", "--stack", args.stack]
    try:
        found = subprocess.run(command, capture_output=True, text=True, check=False)
    except FileNotFoundError as error:
        raise UsageError(
            "the Pulumi CLI is not installed: give the failover function with --function "
            "(the stack output failoverFunctionName)"
        ) from error
    name = found.stdout.strip()
    if found.returncode != 0 or not name:
        raise UsageError(
            f"--stack = {args.stack!r}: no output failoverFunctionName ({found.stderr.strip()}); "
            "only a stack with database.mode vip has one"
        )
    return name


def cluster_of(lambda_: Any, function: str) -> Cluster:
    """The cluster a failover function watches, from its environment."""
    try:
        found = lambda_.get_function_configuration(FunctionName=function)
    except ClientError as error:
        raise UsageError(f"--function = {function!r}: {error}") from error
    variables = found.get("Environment", {}).get("Variables", {})
    missing = [
        k
        for k in ("CLUSTER_NAME", "VIP_ADDRESS", "LEASE_TABLE", "NODE_GROUP")
        if k not in variables
    ]
    if missing:
        raise UsageError(
            f"--function = {function!r} is no multitier failover function (no {', '.join(missing)})"
        )
    return Cluster(
        variables["CLUSTER_NAME"],
        variables["VIP_ADDRESS"],
        variables["LEASE_TABLE"],
        variables["NODE_GROUP"],
        function,
        variables.get("NODE_ROLE_ID", ""),
    )


def run(args: argparse.Namespace, clients: Clients, cluster: Cluster) -> int:
    if args.verb == "status":
        view = operations.status(clients, cluster)
        print(json.dumps(view, indent=2) if args.json else "\n".join(operations.render(view)))
        return 0
    if args.verb == "pause":
        item = operations.pause(clients.dynamodb, cluster, args.reason.strip())
        print(
            f"failover of {cluster.name} paused by {item['by']}: the function observes, logs and "
            "changes nothing; its no-primary-serving alarm still fires. "
            "Resume with: make resume"
        )
        return 0
    if args.verb == "resume":
        ended = operations.resume(clients.dynamodb, cluster)
        print(
            f"failover of {cluster.name} resumed"
            + ("" if ended else " (it was not paused)")
            + ": its next run acts on what it finds"
        )
        return 0
    try:
        result = operations.switchover(clients, cluster, args.to)
    except SwitchoverRefusedError as refused:
        print(f"switchover refused, nothing changed: {refused}", file=sys.stderr)
        return 1
    except SwitchoverFailedError as failed:
        print(f"switchover failed: {failed}", file=sys.stderr)
        return 1
    print("\n".join(result.lines()))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = parse(argv)
        session = boto3.session.Session(region_name=args.region)
        lambda_ = session.client("lambda")
        cluster = cluster_of(lambda_, function_name(args))
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as error:
        print(f"error: AWS: {error}", file=sys.stderr)
        return 2
    clients = Clients(
        session.client("ec2"), session.client("dynamodb"), session.client("autoscaling"), lambda_
    )
    return run(args, clients, cluster)
