"""The failover handler's world on moto: a VPC, managed route tables, nodes and the lease
table, with the handler invoked in-process; fixtures `aws_env` and `world` (a pytest plugin,
registered in tests/conftest.py) for every test of the handler."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import boto3  # type: ignore[import-untyped]
import pytest
from moto import mock_aws

from functions.db_failover import contract, lease
from functions.db_failover import handler as failover

REGION = "eu-west-1"
CLUSTER = "multitier-dev-db"
VIP = "10.10.10.10"
DESTINATION = f"{VIP}/32"
AMI = "ami-12c6146b"
T0 = datetime(2025, 1, 1, tzinfo=UTC)
LEASE_TABLE = "multitier-dev-db-failover"
NODE_GROUP = "multitier-dev-db-nodes"


def create_lease_table(dynamodb: Any, name: str = LEASE_TABLE) -> None:
    """The lease table as PostgresHA declares it: one string partition key, on demand."""
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": lease.KEY, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": lease.KEY, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


@dataclass
class Call:
    operation: str
    params: dict[str, Any]


@dataclass
class World:
    """A VPC with the cluster's nodes and route tables, and helpers to invoke and observe."""

    ec2: Any
    subnets: list[str]
    managed: list[str]
    unmanaged: list[str]
    calls: list[Call] = field(default_factory=list)
    _launches: int = 0

    def launch(
        self,
        role: str | None = "standby",
        *,
        cluster: str | None = CLUSTER,
        at: datetime | None = None,
        reports: str | None = "as its role",
    ) -> str:
        """A node (by default launched a minute after the previous one) with the given tags,
        whose agent reports `serving` (a primary) or `ready` (others), or `reports` (None: no
        report at all)."""
        tags = [{"Key": contract.CLUSTER_TAG, "Value": cluster}] if cluster else []
        if role is not None:
            tags.append({"Key": contract.ROLE_TAG, "Value": role})
        self._launches += 1
        launched = at or T0 + timedelta(minutes=self._launches)
        specs = [{"ResourceType": "instance", "Tags": tags}] if tags else []
        # moto stamps LaunchTime with its clock; set that clock so launch order is deterministic.
        with mock.patch(
            "moto.ec2.models.instances.utcnow", return_value=launched.replace(tzinfo=None)
        ):
            reservation = self.ec2.run_instances(
                ImageId=AMI,
                MinCount=1,
                MaxCount=1,
                SubnetId=self.subnets[self._launches % len(self.subnets)],
                TagSpecifications=specs,
            )
        instance_id = str(reservation["Instances"][0]["InstanceId"])
        if cluster == CLUSTER:  # the node group launched it
            boto3.client("autoscaling", region_name=REGION).attach_instances(
                InstanceIds=[instance_id], AutoScalingGroupName=NODE_GROUP
            )
        if reports == "as its role":
            reports = "serving" if role == "primary" else "ready"
        if reports is not None:
            self.report(instance_id, reports)
        return instance_id

    def report(self, instance_id: str, state: str, seconds_ago: float = 1.0) -> None:
        """What the node's agent puts into the cluster's table."""
        at = time.time() - seconds_ago
        boto3.client("dynamodb", region_name=REGION).put_item(
            TableName=LEASE_TABLE,
            Item={
                lease.KEY: {"S": f"node#{instance_id}"},
                "node": {"S": instance_id},
                "state": {"S": state},
                "since": {"N": str(at - 60)},
                "at": {"N": str(at)},
            },
        )

    def instance(self, instance_id: str) -> dict[str, Any]:
        found = self.ec2.describe_instances(InstanceIds=[instance_id])
        return dict(found["Reservations"][0]["Instances"][0])

    def eni(self, instance_id: str) -> str:
        (interface,) = self.instance(instance_id)["NetworkInterfaces"]
        return str(interface["NetworkInterfaceId"])

    def tags(self, instance_id: str) -> dict[str, str]:
        return {t["Key"]: t["Value"] for t in self.instance(instance_id).get("Tags", [])}

    def role(self, instance_id: str) -> str | None:
        return self.tags(instance_id).get(contract.ROLE_TAG)

    def state(self, instance_id: str) -> str:
        return str(self.instance(instance_id)["State"]["Name"])

    def protected(self, instance_id: str) -> bool | None:
        """Whether the node group protects the node from scale-in; None: not in the group."""
        found = boto3.client("autoscaling", region_name=REGION).describe_auto_scaling_instances(
            InstanceIds=[instance_id]
        )["AutoScalingInstances"]
        return bool(found[0]["ProtectedFromScaleIn"]) if found else None

    def source_dest_check(self, instance_id: str) -> bool:
        found = self.ec2.describe_instance_attribute(
            InstanceId=instance_id, Attribute="sourceDestCheck"
        )
        return bool(found["SourceDestCheck"]["Value"])

    def route_to(self, instance_id: str, *tables: str) -> None:
        for table in tables or self.managed:
            self.ec2.create_route(
                RouteTableId=table,
                DestinationCidrBlock=DESTINATION,
                NetworkInterfaceId=self.eni(instance_id),
            )

    def vip_routes(self) -> dict[str, str | None]:
        """Per route table, the VIP route's target (ENI or gateway id), None without one."""
        found = self.ec2.describe_route_tables(RouteTableIds=self.managed + self.unmanaged)
        return {
            table["RouteTableId"]: next(
                (
                    route.get("NetworkInterfaceId") or route.get("GatewayId")
                    for route in table["Routes"]
                    if route.get("DestinationCidrBlock") == DESTINATION
                ),
                None,
            )
            for table in found["RouteTables"]
        }

    def managed_routes(self) -> set[str | None]:
        routes = self.vip_routes()
        return {routes[table] for table in self.managed}

    def invoke(self, hooks: dict[str, Callable[..., None]] | None = None) -> dict[str, Any]:
        """Run the handler in-process, recording the EC2 calls it makes; `hooks` are further
        botocore event handlers on its client."""
        self.calls = []
        session = boto3.session.Session()

        def record(model: Any, params: dict[str, Any], **_: Any) -> None:
            self.calls.append(Call(model.name, params))

        session.events.register("before-parameter-build.ec2", record)
        for event, hook in (hooks or {}).items():
            session.events.register(event, hook)
        with mock.patch.object(boto3, "DEFAULT_SESSION", session):
            result = dict(failover.handler({"source": "aws.events"}, None))
        result.pop("runs")  # runs under one lease: the tests that count them call the handler
        return result

    def writes(self) -> list[tuple[str, Any]]:
        """The calls that changed something, each with its most telling parameter."""
        telling: dict[str, Callable[[dict[str, Any]], Any]] = {
            "StopInstances": lambda p: (p["InstanceIds"], p["Force"]),
            "CreateTags": lambda p: (p["Resources"], p["Tags"][0]["Value"]),
            "ModifyInstanceAttribute": lambda p: (p["InstanceId"], p["SourceDestCheck"]),
            "CreateRoute": lambda p: p["RouteTableId"],
            "ReplaceRoute": lambda p: p["RouteTableId"],
        }
        return [
            (call.operation, telling[call.operation](call.params))
            for call in self.calls
            if call.operation in telling
        ]


@pytest.fixture
def aws_env(monkeypatch):
    for key, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "CLUSTER_NAME": CLUSTER,
        "VIP_ADDRESS": VIP,
        "LEASE_TABLE": LEASE_TABLE,
        "NODE_GROUP": NODE_GROUP,
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def build_world() -> World:
    """Call inside mock_aws: a VPC with two subnets, two managed route tables, one of another
    cluster and one untagged, the latter two holding a VIP route of their own; the lease table;
    the node group, into which `launch` attaches the cluster's nodes."""
    create_lease_table(boto3.client("dynamodb", region_name=REGION))
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{az}")[
            "Subnet"
        ]["SubnetId"]
        for i, az in enumerate("ab")
    ]

    def table(tag_value: str | None) -> str:
        tags = [{"Key": contract.ROUTES_TAG, "Value": tag_value}] if tag_value else []
        spec = [{"ResourceType": "route-table", "Tags": tags}] if tags else []
        return str(
            ec2.create_route_table(VpcId=vpc, TagSpecifications=spec)["RouteTable"]["RouteTableId"]
        )

    template = ec2.create_launch_template(
        LaunchTemplateName="node", LaunchTemplateData={"ImageId": AMI, "InstanceType": "t3.micro"}
    )["LaunchTemplate"]["LaunchTemplateId"]
    boto3.client("autoscaling", region_name=REGION).create_auto_scaling_group(
        AutoScalingGroupName=NODE_GROUP,
        LaunchTemplate={"LaunchTemplateId": template},
        MinSize=0,
        MaxSize=100,
        DesiredCapacity=0,
        VPCZoneIdentifier=",".join(subnets),
    )
    world = World(
        ec2,
        subnets,
        managed=[table(CLUSTER), table(CLUSTER)],
        unmanaged=[table("other-db"), table(None)],
    )
    gateway = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc)
    for unmanaged in world.unmanaged:
        ec2.create_route(
            RouteTableId=unmanaged, DestinationCidrBlock=DESTINATION, GatewayId=gateway
        )
    return world


@pytest.fixture
def world(aws_env) -> Iterator[World]:
    with mock_aws():
        yield build_world()


def impair(monkeypatch, instance_id: str, check: str = "instance") -> None:
    """moto reports every running instance's status checks as ok. Only this read is patched:
    the statuses come from moto, then one instance's (or system) check says impaired."""
    real = failover.fetch_statuses

    def fetch(ec2: Any, instance_ids: list[str]) -> dict[str, tuple[str, str]]:
        statuses = real(ec2, instance_ids)
        instance_status, system_status = statuses[instance_id]
        statuses[instance_id] = (
            ("impaired", system_status) if check == "instance" else (instance_status, "impaired")
        )
        return statuses

    monkeypatch.setattr(failover, "fetch_statuses", fetch)
