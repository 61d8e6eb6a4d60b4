"""The AWS side of the drill: moto in server mode on loopback, and the cluster's EC2 estate.

The estate is what PostgresHA deploys, as far as the failover Lambda and the nodes see it: a VPC,
a private (app) and a data route table per AZ tagged `multitier:db-vip-routes=<cluster>`, node
instances in the data subnets tagged `multitier:db-cluster=<cluster>` and attached to the node
group, the cluster's table with its stream, and the database's secrets as the program writes them
(components/database/credentials.py: the master's, the app's and the read-only login's) with the
certificate's. moto's server stops instances as slowly as the drill asks (drill/slow_ec2.py) and
starts a rotation as Secrets Manager does (drill/secrets_rotation.py). The WAL archive's S3 is a
second one, in HTTPS (drill/archive_s3.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]

from drill import slow_ec2, tls
from functions.db_credentials import roles, rotation
from functions.db_failover import lease
from functions.db_failover.contract import CLUSTER_TAG, ROLE_TAG, ROUTES_TAG

REGION = "eu-west-1"
CLUSTER = "multitier-drill-db"
VIP = "10.10.10.10"
AMI = "ami-12c6146b"  # one of the images moto knows
LEASE_TABLE = "multitier-drill-db-failover"
NODE_GROUP = "multitier-drill-db-nodes"
NODE_ROLE_ID = "AROADRILLNODEROLE01"
"""The nodes' role's unique id, which their reports are keyed by (moto does not evaluate IAM)."""
DB_NAME, MASTER_USER = "app", "app_admin"
Ec2Client = Any


# moto's server, made to die with the drill that started it.
_MOTO_SERVER = (
    "import sys; from drill.hosts import die_with_parent; die_with_parent(); "
    "import drill.slow_ec2, drill.secrets_rotation; "
    "drill.slow_ec2.install(); drill.secrets_rotation.install(); "
    "from moto.server import main; main(sys.argv[1:])"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def moto_server(log: Path, stop_seconds: Path) -> Iterator[str]:
    """Start moto's server on a free loopback port, point boto3 at it, stop it afterwards.
    `stop_seconds` holds how long its instances take to stop (empty or absent: at once)."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with log.open("ab") as output:
        server = subprocess.Popen(
            [sys.executable, "-c", _MOTO_SERVER, "-H", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, slow_ec2.CONTROL: str(stop_seconds)},
        )
    try:
        _wait_until_up(endpoint, server)
        os.environ.update(
            AWS_ENDPOINT_URL=endpoint,
            AWS_DEFAULT_REGION=REGION,
            AWS_ACCESS_KEY_ID="drill",
            AWS_SECRET_ACCESS_KEY="drill",  # the emulator's, not a secret
        )
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
            os.environ.pop(name, None)
        from drill import archive_s3  # noqa: PLC0415 (it builds on this module)

        with archive_s3.archive_server(log.parent):  # the WAL archive's S3, in HTTPS
            yield endpoint
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_until_up(endpoint: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("moto's server exited at start; see its log in the drill directory")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=1),
        ):
            return
        time.sleep(0.1)
    raise RuntimeError("moto's server did not answer within 30 s")


@dataclass(frozen=True)
class Estate:
    app_route_table: str
    data_subnets: list[str]
    master_secret_arn: str
    """The master user's secret (`rotation: master`): the nodes and the credentials function."""
    app_secret_arn: str
    """The app's login (`rotation: alternating`): what the app connects with."""
    readonly_secret_arn: str
    """The read-only login (`rotation: single`)."""
    certificate_secret_arn: str
    """The cluster's certificate and key, for the nodes."""
    stream_arn: str
    """The cluster table's stream: `failing` reports run the failover function."""


def build_estate(ec2: Ec2Client, certificates: tls.Certificates, port: int, azs: int = 2) -> Estate:
    """The VPC, per AZ a private and a data subnet with a managed route table each, the node
    group, the cluster's table and its stream, and the secrets the nodes read at boot."""
    stream_arn = boto3.client("dynamodb").create_table(
        TableName=LEASE_TABLE,
        KeySchema=[{"AttributeName": lease.KEY, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": lease.KEY, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )["TableDescription"]["LatestStreamArn"]
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    zones = [zone["ZoneName"] for zone in ec2.describe_availability_zones()["AvailabilityZones"]]
    tables, data_subnets = [], []
    for index, zone in enumerate(zones[:azs]):
        for tier, offset in (("private", 10), ("data", 20)):
            subnet = ec2.create_subnet(
                VpcId=vpc, CidrBlock=f"10.0.{offset + index}.0/24", AvailabilityZone=zone
            )["Subnet"]["SubnetId"]
            table = ec2.create_route_table(
                VpcId=vpc,
                TagSpecifications=[
                    {
                        "ResourceType": "route-table",
                        "Tags": [
                            {"Key": ROUTES_TAG, "Value": CLUSTER},
                            {"Key": "Name", "Value": f"{tier}-{zone}"},
                        ],
                    }
                ],
            )["RouteTable"]["RouteTableId"]
            ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
            tables.append(table)
            if tier == "data":
                data_subnets.append(subnet)
    where = {
        "engine": "postgres",
        "host": VIP,
        "port": port,  # the cluster's port: a seam, each drill picks a free one
        "dbname": DB_NAME,
        "ca_certificate": certificates.ca,
    }
    master = _secret(
        "master", {**where, "username": MASTER_USER, "password": _password(), "rotation": "master"}
    )

    def login(kind: str, username: str) -> str:
        return _secret(
            kind,
            {
                **where,
                "username": username,
                "password": _password(),
                "rotation": "alternating" if kind == "app" else "single",
                "masterarn": master,
                "owner": roles.OWNER,
            },
        )

    app, readonly = login("app", roles.APP), login("readonly", roles.READER)
    held = boto3.client("secretsmanager").create_secret(
        Name=f"{CLUSTER}-tls",
        SecretString=json.dumps(
            {
                "certificate": certificates.certificate,
                "private_key": certificates.private_key,
                "ca_certificate": certificates.ca,
            }
        ),
    )["ARN"]
    template = ec2.create_launch_template(
        LaunchTemplateName=f"{CLUSTER}-node",
        LaunchTemplateData={"ImageId": AMI, "InstanceType": "t3.medium"},
    )["LaunchTemplate"]["LaunchTemplateId"]
    # Nodes are launched by the drill and attached: moto's group would launch its own.
    boto3.client("autoscaling").create_auto_scaling_group(
        AutoScalingGroupName=NODE_GROUP,
        LaunchTemplate={"LaunchTemplateId": template},
        MinSize=0,
        MaxSize=20,
        DesiredCapacity=0,
        VPCZoneIdentifier=",".join(data_subnets),
    )
    return Estate(tables[0], data_subnets, master, app, readonly, held, stream_arn)


def _secret(kind: str, value: dict[str, Any]) -> str:
    """A database secret as the program writes it: the secret, then its first version, labelled
    AWSCURRENT and the program's own label. Returns its ARN."""
    secrets = boto3.client("secretsmanager")
    arn = str(secrets.create_secret(Name=f"{CLUSTER}-{kind}")["ARN"])
    secrets.put_secret_value(
        SecretId=arn,
        SecretString=json.dumps(value),
        VersionStages=[rotation.CURRENT, rotation.FIRST],
    )
    return arn


def _password() -> str:
    return "drill-" + os.urandom(12).hex()


def launch_node(ec2: Ec2Client, subnet: str) -> str:
    """A node as the Auto Scaling group launches it: tagged with the cluster, as a standby, in
    the group."""
    tags = [{"Key": CLUSTER_TAG, "Value": CLUSTER}, {"Key": ROLE_TAG, "Value": "standby"}]
    instance = ec2.run_instances(
        ImageId=AMI,
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.medium",
        SubnetId=subnet,
        TagSpecifications=[{"ResourceType": "instance", "Tags": tags}],
    )["Instances"][0]
    node = str(instance["InstanceId"])
    boto3.client("autoscaling").attach_instances(
        InstanceIds=[node], AutoScalingGroupName=NODE_GROUP
    )
    return node


def terminate_node(ec2: Ec2Client, node: str) -> None:
    """The group terminates a node (to replace it): out of the group, then terminated."""
    boto3.client("autoscaling").detach_instances(
        InstanceIds=[node], AutoScalingGroupName=NODE_GROUP, ShouldDecrementDesiredCapacity=True
    )
    ec2.terminate_instances(InstanceIds=[node])


def protected(node: str) -> bool | None:
    """Whether the node group protects the node from scale-in; None: not in the group."""
    found = boto3.client("autoscaling").describe_auto_scaling_instances(InstanceIds=[node])
    instances = found["AutoScalingInstances"]
    return bool(instances[0]["ProtectedFromScaleIn"]) if instances else None


def tag_of(ec2: Ec2Client, instance_id: str, key: str) -> str | None:
    filters = [
        {"Name": "resource-id", "Values": [instance_id]},
        {"Name": "key", "Values": [key]},
    ]
    tags = ec2.describe_tags(Filters=filters)["Tags"]
    return str(tags[0]["Value"]) if tags else None


def state_of(ec2: Ec2Client, instance_id: str) -> str:
    found = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    return str(found[0]["Instances"][0]["State"]["Name"]) if found else "terminated"


def role_of(ec2: Ec2Client, instance_id: str) -> str | None:
    return tag_of(ec2, instance_id, ROLE_TAG)


def cluster_nodes(ec2: Ec2Client) -> list[str]:
    """Running instances of the cluster."""
    filters = [
        {"Name": f"tag:{CLUSTER_TAG}", "Values": [CLUSTER]},
        {"Name": "instance-state-name", "Values": ["running"]},
    ]
    reservations = ec2.describe_instances(Filters=filters)["Reservations"]
    return sorted(i["InstanceId"] for r in reservations for i in r["Instances"])


def primaries(ec2: Ec2Client) -> list[str]:
    """Running instances of the cluster tagged primary."""
    filters = [
        {"Name": f"tag:{CLUSTER_TAG}", "Values": [CLUSTER]},
        {"Name": f"tag:{ROLE_TAG}", "Values": ["primary"]},
        {"Name": "instance-state-name", "Values": ["running"]},
    ]
    reservations = ec2.describe_instances(Filters=filters)["Reservations"]
    return sorted(i["InstanceId"] for r in reservations for i in r["Instances"])


def _vip_interface(table: dict[str, Any]) -> str | None:
    """The network interface a route table's VIP route names (None: no such route)."""
    return next(
        (
            route.get("NetworkInterfaceId")
            for route in table["Routes"]
            if route.get("DestinationCidrBlock") == f"{VIP}/32"
        ),
        None,
    )


def vip_targets(ec2: Ec2Client) -> dict[str, str | None]:
    """Per managed route table, the network interface its VIP route names."""
    filters = [{"Name": f"tag:{ROUTES_TAG}", "Values": [CLUSTER]}]
    return {
        table["RouteTableId"]: _vip_interface(table)
        for table in ec2.describe_route_tables(Filters=filters)["RouteTables"]
    }


def primary_interface(ec2: Ec2Client, instance_id: str) -> str:
    instance = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    return next(
        str(interface["NetworkInterfaceId"])
        for interface in instance["NetworkInterfaces"]
        if interface["Attachment"]["DeviceIndex"] == 0
    )


class Vip:
    """The VIP as a client in the app tier reaches it: its route table's /32 route, the network
    interface it names, the instance that interface belongs to, and that node's address."""

    def __init__(self, route_table: str, addresses: dict[str, str]) -> None:
        self._ec2 = boto3.client("ec2")
        self._table = route_table
        self._addresses = addresses
        self._owners: dict[str, str] = {}

    def address(self) -> str | None:
        tables = self._ec2.describe_route_tables(RouteTableIds=[self._table])["RouteTables"]
        eni = _vip_interface(tables[0])
        if eni is None:
            return None
        if eni not in self._owners:
            interface = self._ec2.describe_network_interfaces(NetworkInterfaceIds=[eni])
            self._owners[eni] = interface["NetworkInterfaces"][0]["Attachment"]["InstanceId"]
        return self._addresses.get(self._owners[eni])
