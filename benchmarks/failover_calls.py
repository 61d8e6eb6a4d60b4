"""EC2 API calls per invocation of the failover Lambda, as the cluster and the account grow.

On moto, in process: `n` cluster nodes among `unrelated` other instances, `tables` managed route
tables. Each invocation is counted twice: on a healthy, routed cluster (`unchanged`) and right
after the primary stopped (`failed_over`). The reads must not grow with the unrelated instances;
a failover writes one route per managed table.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections import Counter
from typing import Any

import boto3  # type: ignore[import-untyped]
from moto import mock_aws

from functions.db_failover import contract, lease
from functions.db_failover import handler as failover

CLUSTER = "bench-db"
VIP = "10.10.10.10"
LEASE_TABLE = "multitier-bench-db-failover"
AMI = "ami-12c6146b"
NODES = (2, 10, 50)
TABLES = (3, 10, 30)
UNRELATED = (0, 500)


def _estate(ec2: Any, nodes: int, tables: int, unrelated: int) -> None:
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/20")["Subnet"]["SubnetId"]
    for _ in range(tables):
        ec2.create_route_table(
            VpcId=vpc,
            TagSpecifications=[
                {
                    "ResourceType": "route-table",
                    "Tags": [{"Key": contract.ROUTES_TAG, "Value": CLUSTER}],
                }
            ],
        )
    if unrelated:
        ec2.run_instances(
            ImageId=AMI,
            MinCount=unrelated,
            MaxCount=unrelated,
            SubnetId=subnet,
            TagSpecifications=[
                {"ResourceType": "instance", "Tags": [{"Key": "app", "Value": "other"}]}
            ],
        )
    ec2.run_instances(
        ImageId=AMI,
        MinCount=nodes,
        MaxCount=nodes,
        SubnetId=subnet,
        TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": contract.CLUSTER_TAG, "Value": CLUSTER}]}
        ],
    )


def _count(calls: Counter[str]) -> Any:
    def before_call(event_name: str, **_: Any) -> None:
        calls[event_name.rsplit(".", 1)[-1]] += 1

    return before_call


def measure(nodes: int, tables: int, unrelated: int) -> dict[str, Counter[str]]:
    """API calls by operation: the first invocation (promotes), a steady one, a failover."""
    os.environ.update(CLUSTER_NAME=CLUSTER, VIP_ADDRESS=VIP, LEASE_TABLE=LEASE_TABLE)
    with mock_aws():
        boto3.setup_default_session(region_name="eu-west-1")
        boto3.client("dynamodb").create_table(
            TableName=LEASE_TABLE,
            KeySchema=[{"AttributeName": lease.KEY, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": lease.KEY, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        ec2 = boto3.client("ec2")
        _estate(ec2, nodes, tables, unrelated)
        counts: dict[str, Counter[str]] = {}
        primary = None
        for phase in ("first", "steady", "failover"):
            if phase == "failover":
                ec2.stop_instances(InstanceIds=[primary])
            calls: Counter[str] = Counter()
            hook = _count(calls)
            boto3.DEFAULT_SESSION.events.register("before-call.ec2", hook)
            with contextlib.redirect_stdout(io.StringIO()):  # the decision lines
                result = failover.handler({}, None)
            boto3.DEFAULT_SESSION.events.unregister("before-call.ec2", hook)
            counts[f"{phase}:{result['action']}"] = calls
            primary = result["primary"]
    return counts


def main() -> None:
    print("## The failover Lambda: EC2 API calls per invocation")
    print("(moto; nodes of the cluster among unrelated instances; managed route tables)\n")
    header = ("nodes", 5), ("tables", 7), ("unrelated", 10), ("steady", 8), ("failover", 10)
    print("".join(f"{name:>{width}}" for name, width in header) + f"{'of which reads':>16}")
    for nodes in NODES:
        for tables in TABLES:
            for unrelated in UNRELATED:
                counts = measure(nodes, tables, unrelated)
                steady = next(v for k, v in counts.items() if k.startswith("steady"))
                over = next(v for k, v in counts.items() if k.startswith("failover"))
                reads = sum(v for k, v in over.items() if k.startswith("Describe"))
                print(
                    f"{nodes:>5}{tables:>7}{unrelated:>10}{sum(steady.values()):>8}"
                    f"{sum(over.values()):>10}{reads:>16}"
                )
    counts = measure(2, 3, 500)
    print("\nby operation, 2 nodes, 3 tables, 500 unrelated instances:")
    for phase, calls in counts.items():
        print(f"  {phase}: " + ", ".join(f"{op} {n}" for op, n in sorted(calls.items())))
    print()
