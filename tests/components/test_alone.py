"""Each component built alone under the mocks, from a stack file's config and hand-made records
of the other tiers: the fast tier's check that a component needs nothing but its args (the
whole-program tests, tests/test_<tier>.py, check how the program wires them)."""

from __future__ import annotations

import json

import pytest

from components.access import Access, BastionHost, BastionHostArgs, database_access
from components.app import AppFleet, AppFleetArgs
from components.database import PostgresHA, PostgresHAArgs
from components.network import VpcNetwork, VpcNetworkArgs
from components.observability import Observability, ObservabilityArgs
from components.shared.contracts import DatabaseConnection, NetworkRef
from policy.types import (
    ASG,
    DYNAMODB_TABLE,
    EGRESS,
    INGRESS,
    KMS_KEY,
    LB,
    RDS,
    RDS_SUBNET_GROUP,
    SUBNET,
    TOPIC,
    VPC,
    VPC_ENDPOINT,
)
from tools.mockrun import component, config_of


def test_the_network_alone_carves_every_tier_in_every_zone():
    config = config_of("dev")
    run = component(
        lambda: VpcNetwork("network", VpcNetworkArgs(config.network, flow_log_retention_days=14))
    )
    assert run.one(VPC)["cidrBlock"] == "10.0.0.0/16"
    tiers = sorted(s["tags"]["multitier:tier"] for s in run.of_type(SUBNET))
    assert tiers == ["data"] * 2 + ["private"] * 2 + ["public"] * 2
    assert {e.name for e in run.of_type(VPC_ENDPOINT)} == {"network-s3", "network-dynamodb"}


def test_the_bastion_alone_goes_in_the_public_tier(network: NetworkRef):
    config = config_of("dev")
    run = component(lambda: BastionHost("bastion", BastionHostArgs(config.bastion, network)))
    assert run.one(ASG)["vpcZoneIdentifiers"] == network.subnet_ids("public")


def test_the_app_alone_talks_to_a_database_it_does_not_run(
    network: NetworkRef, database: DatabaseConnection
):
    config = config_of("prod")
    run = component(lambda: AppFleet("app", AppFleetArgs(config.app, network, database=database)))
    assert run.one(LB)["subnets"] == network.subnet_ids("public")
    assert run.one(ASG, "app")["vpcZoneIdentifiers"] == network.subnet_ids("private")


@pytest.mark.parametrize(("mode", "kind"), [("managed", RDS), ("vip", DYNAMODB_TABLE)])
def test_the_database_alone_lives_in_the_data_tier(network: NetworkRef, mode: str, kind: str):
    config = config_of("dev", {"multitier:database": {"mode": mode}})
    run = component(
        lambda: PostgresHA(
            "database", PostgresHAArgs(config.database, network, cluster_name="alone-db")
        )
    )
    assert run.of_type(kind)
    groups = run.of_type(RDS_SUBNET_GROUP) + run.of_type(ASG)
    for group in groups:
        subnets = group.get("subnetIds") or group.get("vpcZoneIdentifiers")
        assert subnets == network.subnet_ids("data"), group.name


def test_access_alone_declares_both_sides_of_the_rule(database: DatabaseConnection):
    run = component(
        lambda: Access("app-to-database", database_access(database, "sg-0client", "app"))
    )
    (ingress,) = run.of_type(INGRESS)
    (egress,) = run.of_type(EGRESS)
    assert (ingress["securityGroupId"], ingress["referencedSecurityGroupId"]) == (
        database.security_group_id,
        "sg-0client",
    )
    assert egress["securityGroupId"] == "sg-0client"
    assert not run.one("multitier:network:Access").get("aliases")


def test_observability_alone_mails_every_address():
    config = config_of("prod")
    run = component(
        lambda: Observability("observability", ObservabilityArgs(config.observability, "prod"))
    )
    topic = run.one(TOPIC)
    assert topic["kmsMasterKeyId"]
    policy = json.loads(run.one(KMS_KEY, "observability-alerts")["policy"])
    assert policy["Statement"]
