"""VpcNetwork, on both stacks and across its options."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.network.vpc import carve
from components.shared.contracts import TIERS
from policy.types import (
    DEFAULT_SG,
    EGRESS_ONLY_IGW,
    FLOW_LOG,
    FUNCTION,
    IGW,
    INSTANCE,
    LOG_GROUP,
    NAT_GATEWAY,
    ROUTE,
    ROUTE_TABLE,
    ROUTE_TABLE_ASSOCIATION,
    SUBNET,
    VPC,
    VPC_ENDPOINT,
)
from tests.conftest import named, nat_mode, plan
from tools.mockrun import Resource, Run


def subnets_by_tier(run: Run) -> dict[str, list[Resource]]:
    by_tier: dict[str, list[Resource]] = {tier: [] for tier in TIERS}
    for subnet in run.of_type(SUBNET):
        by_tier[subnet["tags"]["multitier:tier"]].append(subnet)
    return by_tier


def default_routes(run: Run, tier: str) -> list[Resource]:
    tables = {t.id: t for t in run.of_type(ROUTE_TABLE) if t["tags"]["multitier:tier"] == tier}
    return [
        r
        for r in run.of_type(ROUTE)
        if r["routeTableId"] in tables and r.get("destinationCidrBlock") == "0.0.0.0/0"
    ]


@pytest.mark.parametrize(("stack", "azs"), [("dev", 2), ("prod", 3)])
def test_each_tier_has_one_subnet_in_each_az(stack, azs):
    run = plan(stack)
    for tier, subnets in subnets_by_tier(run).items():
        zones = sorted(s["availabilityZone"] for s in subnets)
        assert len(set(zones)) == azs, f"{stack}: {tier} subnets span {zones}"
        assert len(zones) == azs


def test_subnets_lie_inside_the_vpc_and_do_not_overlap(stack):
    run = plan(stack)
    vpc = ipaddress.IPv4Network(run.one(VPC)["cidrBlock"])
    cidrs = [ipaddress.IPv4Network(s["cidrBlock"]) for s in run.of_type(SUBNET)]
    assert all(c.subnet_of(vpc) for c in cidrs)
    assert not any(a.overlaps(b) for i, a in enumerate(cidrs) for b in cidrs[i + 1 :])


def test_no_subnet_hands_out_public_ips(stack):
    for subnet in plan(stack).of_type(SUBNET):
        assert subnet["mapPublicIpOnLaunch"] is False, subnet.name


@pytest.mark.parametrize(
    ("mode", "gateways", "instances"),
    [("none", 0, 0), ("instance", 0, 1), ("single", 1, 0), ("per_az", 3, 0)],
)
def test_nat_count_follows_the_mode(mode, gateways, instances):
    run = plan("prod", network=nat_mode(mode))
    assert len(run.of_type(NAT_GATEWAY)) == gateways
    assert len(run.of_type(INSTANCE)) == instances


def test_per_az_nat_serves_its_own_az():
    run = plan("prod")
    subnet_az = {s.id: s["availabilityZone"] for s in run.of_type(SUBNET)}
    nat_az = {n.id: subnet_az[n["subnetId"]] for n in run.of_type(NAT_GATEWAY)}
    for route in default_routes(run, "private"):
        table = run.by_id(route["routeTableId"])
        table_az = table["tags"]["Name"].removeprefix("network-private-")
        assert nat_az[route["natGatewayId"]] == table_az, route.name


def test_single_nat_serves_every_private_route_table():
    run = plan("prod", network={"natMode": "single"})
    (nat,) = run.of_type(NAT_GATEWAY)
    routes = default_routes(run, "private")
    assert len(routes) == 3
    assert {r["natGatewayId"] for r in routes} == {nat.id}


def test_nat_instance_forwards_without_source_dest_check():
    run = plan("dev")
    instance = run.one(INSTANCE)
    assert instance["sourceDestCheck"] is False
    eni = instance.state["primaryNetworkInterfaceId"]
    assert {r.get("networkInterfaceId") for r in default_routes(run, "private")} == {eni}


def test_new_nat_user_data_makes_a_new_instance_not_a_restart():
    # Cloud-init applies write_files at the first boot only; a restart would keep the old script.
    assert plan("dev").one(INSTANCE)["userDataReplaceOnChange"] is True


def test_private_and_data_tiers_have_a_route_table_per_az(stack):
    run = plan(stack)
    azs = len(run.outputs["availabilityZones"])
    tiers = [t["tags"]["multitier:tier"] for t in run.of_type(ROUTE_TABLE)]
    assert (tiers.count("public"), tiers.count("private"), tiers.count("data")) == (1, azs, azs)


def test_each_subnet_is_associated_with_its_tier_route_table(stack):
    run = plan(stack)
    for assoc in run.of_type(ROUTE_TABLE_ASSOCIATION):
        subnet, table = run.by_id(assoc["subnetId"]), run.by_id(assoc["routeTableId"])
        assert subnet["tags"]["multitier:tier"] == table["tags"]["multitier:tier"], assoc.name
        if table["tags"]["multitier:tier"] != "public":
            assert table["tags"]["Name"].endswith(subnet["availabilityZone"]), assoc.name
    assert len(run.of_type(ROUTE_TABLE_ASSOCIATION)) == len(run.of_type(SUBNET))


def test_no_route_table_declares_inline_routes(stack):
    for table in plan(stack).of_type(ROUTE_TABLE):
        assert not table.get("routes"), f"{table.name} declares inline routes"


def test_public_tier_routes_to_the_internet_gateway(stack):
    run = plan(stack)
    igw = run.one(IGW)
    (route,) = default_routes(run, "public")
    assert route["gatewayId"] == igw.id


def test_data_tier_reaches_the_internet_only_when_configured():
    assert default_routes(plan("prod", network={"dataEgress": False}), "data") == []
    assert len(default_routes(plan("prod"), "data")) == 3  # prod sets dataEgress: true
    managed = plan("dev", database={"mode": "managed"}, network={"dataEgress": False})
    assert default_routes(managed, "data") == []


def test_default_security_group_has_no_rules(stack):
    group = plan(stack).one(DEFAULT_SG)
    assert group["ingress"] == []
    assert group["egress"] == []


@pytest.mark.parametrize(("stack", "days"), [("dev", 14), ("prod", 365)])
def test_flow_logs_capture_all_traffic_into_a_log_group_with_retention(stack, days):
    run = plan(stack)
    flow_log = run.one(FLOW_LOG)
    assert flow_log["vpcId"] == run.one(VPC).id
    assert flow_log["trafficType"] == "ALL"
    group = run.by_id(flow_log["logDestination"])
    assert group.type == LOG_GROUP
    assert group["retentionInDays"] == days


def test_ipv6_adds_an_egress_only_gateway_for_the_private_tier():
    run = plan("dev", network={"ipv6": True})
    eigw = run.one(EGRESS_ONLY_IGW)
    v6 = [r for r in run.of_type(ROUTE) if r.get("destinationIpv6CidrBlock") == "::/0"]
    private = [r for r in v6 if run.by_id(r["routeTableId"])["tags"]["multitier:tier"] == "private"]
    assert len(private) == 2
    assert all(r["egressOnlyGatewayId"] == eigw.id for r in private)
    public = [r for r in v6 if run.by_id(r["routeTableId"])["tags"]["multitier:tier"] == "public"]
    assert public and public[0]["gatewayId"] == run.one(IGW).id
    blocks = [ipaddress.ip_network(s["ipv6CidrBlock"]) for s in run.of_type(SUBNET)]
    assert all(b.prefixlen == 64 for b in blocks)
    assert len(set(blocks)) == len(blocks)


def test_without_ipv6_there_is_no_egress_only_gateway():
    assert plan("dev").of_type(EGRESS_ONLY_IGW) == []


@pytest.mark.parametrize("service", ["s3", "dynamodb"])
def test_gateway_endpoints_serve_private_and_data_tables(stack, service):
    """The vip nodes report through DynamoDB: through the endpoint, no NAT path decides a
    failover (and S3 serves the packages, with no NAT either)."""
    run = plan(stack)
    endpoint = run.one(VPC_ENDPOINT, f"network-{service}")
    assert (endpoint["vpcEndpointType"], endpoint["serviceName"]) == (
        "Gateway",
        f"com.amazonaws.eu-west-1.{service}",
    )
    tiers = sorted(run.by_id(t)["tags"]["multitier:tier"] for t in endpoint["routeTableIds"])
    azs = len(run.outputs["availabilityZones"])
    assert tiers == ["data"] * azs + ["private"] * azs


def test_prod_as_vip_has_both_gateway_endpoints():
    run = plan("prod", database={"mode": "vip"})
    services = {e["serviceName"] for e in run.of_type(VPC_ENDPOINT)}
    assert {"com.amazonaws.eu-west-1.s3", "com.amazonaws.eu-west-1.dynamodb"} <= services


def test_ssm_interface_endpoints_only_when_configured():
    services = {e["serviceName"] for e in plan("prod").of_type(VPC_ENDPOINT)}
    assert "com.amazonaws.eu-west-1.ssmmessages" in services
    dev = {e["serviceName"] for e in plan("dev").of_type(VPC_ENDPOINT)}
    assert dev == {"com.amazonaws.eu-west-1.s3", "com.amazonaws.eu-west-1.dynamodb"}


def test_without_a_nat_the_credentials_function_waits_for_the_secrets_manager_endpoint():
    """natMode none: the function in the private subnets reaches Secrets Manager only through
    the interface endpoint, so the endpoint exists there and the function is created after it."""
    run = plan("dev", network=nat_mode("none"), database={"mode": "managed"})
    (endpoint,) = [
        e
        for e in run.of_type(VPC_ENDPOINT)
        if e["serviceName"] == "com.amazonaws.eu-west-1.secretsmanager"
    ]
    assert endpoint["vpcEndpointType"] == "Interface"
    assert endpoint["privateDnsEnabled"] is True
    (function,) = [f for f in run.of_type(FUNCTION) if f.name == "database-credentials"]
    assert endpoint.urn in run.prerequisites(function)
    with_nat = {e["serviceName"] for e in plan("dev").of_type(VPC_ENDPOINT)}
    assert "com.amazonaws.eu-west-1.secretsmanager" not in with_nat


def test_outputs_name_the_subnets_and_zones(stack):
    run = plan(stack)
    ids = {s.id for s in run.of_type(SUBNET)}
    for tier in TIERS:
        assert set(run.outputs["subnetIds"][tier]) <= ids
        assert all(
            named(run, i).startswith(f"network-{tier}-") for i in run.outputs["subnetIds"][tier]
        )
    assert run.outputs["vpcId"] == run.one(VPC).id


@given(
    prefix=st.integers(min_value=16, max_value=24),
    base=st.integers(min_value=0, max_value=2**32 - 1),
    az_count=st.integers(min_value=2, max_value=3),
)
def test_carve_gives_disjoint_subnets_inside_any_vpc(prefix, base, az_count):
    vpc = ipaddress.IPv4Network((base, prefix), strict=False)
    carved = carve(vpc, az_count)
    subnets = [s for tier in TIERS for s in carved[tier]]
    assert len(subnets) == 3 * az_count
    assert all(s.subnet_of(vpc) and s.prefixlen <= 28 for s in subnets)
    assert not any(a.overlaps(b) for i, a in enumerate(subnets) for b in subnets[i + 1 :])
