"""The reachability between tiers that the declared network allows, per stack and mode.

The matrices are written out whole: a rule, route or attachment that opens anything else fails.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from components.shared import naming
from policy import props
from policy.model import Stack, from_declared
from policy.reachability import Matrix, analyse
from policy.types import ROUTE, SG
from tests.conftest import plan

WEB = ["tcp/80"]
HTTPS = ["tcp/443"]
HTTPS_AND_WEB = ["tcp/443", "tcp/80"]

# The app's egress: HTTPS anywhere (so to the ALB's public side and the interface endpoints too),
# and one rule per peer it uses.
PROD_APP = {
    "alb": HTTPS,
    "app-efs": ["tcp/2049"],
    "cache": ["tcp/6379"],
    "database": ["tcp/5432"],
    "endpoints": HTTPS,
    "internet": HTTPS,
}
# The credentials function (in the private subnets): PostgreSQL to the database, HTTPS to Secrets
# Manager through the NAT or the endpoints, which reaches anything on 443 that HTTPS out does.
DEV_CREDENTIALS = {"database": ["tcp/5432"], "internet": HTTPS, "nat": HTTPS}
PROD_CREDENTIALS = {"alb": HTTPS, "database": ["tcp/5432"], "endpoints": HTTPS, "internet": HTTPS}
# The cache's rotation function runs outside the VPC and only calls AWS APIs; from there the
# ALB's public side is open to it as to anyone.
CACHE_ROTATION = {"alb": HTTPS_AND_WEB}
# dev's NAT instance admits the whole VPC: whatever a group may send to the VPC or the internet
# reaches it, and it forwards what the groups behind it may send.
DEV_BASTION = {"app": ["tcp/22"], "internet": HTTPS, "nat": ["tcp/22", "tcp/443"]}

EXPECTED: dict[tuple[str, str], Matrix] = {
    ("dev", "vip"): {
        "internet": {"alb": WEB, "bastion": ["tcp/2222 from 203.0.113.10/32"]},
        "alb": {"app": ["tcp/80"]},
        # The VIP's /32 lies outside the VPC, but its route leads to the database's tier.
        "app": {"database": ["tcp/5432"], "internet": HTTPS, "nat": HTTPS},
        "bastion": {**DEV_BASTION, "database": ["tcp/22"]},
        "database": {"database-efs": ["tcp/2049"], "internet": HTTPS, "nat": HTTPS},
        "database-efs": {},
        "nat": {"alb": WEB, "internet": ["all"]},
        "database-failover": {"alb": WEB},
        "credentials": DEV_CREDENTIALS,
    },
    ("dev", "managed"): {
        "internet": {"alb": WEB, "bastion": ["tcp/2222 from 203.0.113.10/32"]},
        "alb": {"app": ["tcp/80"]},
        "app": {"database": ["tcp/5432"], "internet": HTTPS, "nat": HTTPS},
        "bastion": DEV_BASTION,
        "database": {},
        "nat": {"alb": WEB, "internet": ["all"]},
        "credentials": DEV_CREDENTIALS,
    },
    ("prod", "managed"): {
        "internet": {"alb": HTTPS_AND_WEB},
        "alb": {"app": ["tcp/80"]},
        "app": PROD_APP,
        "app-efs": {},
        "cache": {},
        "database": {},
        "endpoints": {},
        "credentials": PROD_CREDENTIALS,
        "app-cache-rotation": CACHE_ROTATION,
    },
    ("prod", "vip"): {
        "internet": {"alb": HTTPS_AND_WEB},
        "alb": {"app": ["tcp/80"]},
        "app": PROD_APP,
        "app-efs": {},
        "cache": {},
        "database": {
            "alb": HTTPS,
            "database-efs": ["tcp/2049"],
            "endpoints": HTTPS,
            "internet": HTTPS,
        },
        "database-efs": {},
        "endpoints": {},
        "database-failover": {"alb": HTTPS_AND_WEB},
        "credentials": PROD_CREDENTIALS,
        "app-cache-rotation": CACHE_ROTATION,
    },
}
# staging is prod's shape at a smaller scale: the same tiers reach the same tiers.
EXPECTED["staging", "managed"] = EXPECTED["prod", "managed"]


def matrix(stack: str, **overrides: Any) -> Matrix:
    return analyse(from_declared(plan(stack, **overrides)))


def reaching(found: Matrix, target: str) -> dict[str, list[str]]:
    return {source: row[target] for source, row in found.items() if target in row}


@pytest.mark.parametrize(("stack", "mode"), sorted(EXPECTED))
def test_the_matrix_is_the_intended_one(stack: str, mode: str) -> None:
    assert matrix(stack, database={"mode": mode}) == EXPECTED[stack, mode]


@pytest.mark.parametrize(("stack", "mode"), sorted(EXPECTED))
def test_the_database_is_reached_only_by_the_app_the_bastion_and_the_credentials_function(
    stack: str, mode: str
) -> None:
    found = matrix(stack, database={"mode": mode})
    expected = {"app": ["tcp/5432"], "credentials": ["tcp/5432"]}
    if stack == "dev" and mode == "vip":  # the bastion is on in dev; nodes take SSH in vip mode
        expected["bastion"] = ["tcp/22"]
    assert reaching(found, "database") == expected


def test_the_internet_reaches_only_the_alb_and_the_bastion_port_from_configured_networks() -> None:
    found = matrix(
        "dev", bastion={"allowedCidrs": ["198.51.100.0/24", "192.0.2.7/32"], "sshPort": 2022}
    )
    assert found["internet"] == {
        "alb": WEB,
        "bastion": ["tcp/2022 from 192.0.2.7/32", "tcp/2022 from 198.51.100.0/24"],
    }


def test_without_a_bastion_nothing_takes_ssh() -> None:
    found = matrix("dev", bastion={"enabled": False})
    assert "bastion" not in found
    assert all("tcp/22" not in ports for row in found.values() for ports in row.values())
    assert reaching(found, "app") == {"alb": ["tcp/80"]}


def test_the_app_port_follows_config() -> None:
    found = matrix("prod", app={"port": 8080})
    assert reaching(found, "app") == {"alb": ["tcp/8080"]}


def test_routes_decide_who_reaches_the_internet() -> None:
    stack = from_declared(plan("dev"))
    data_defaults = [
        r
        for r in stack.of_type(ROUTE)
        if r.name.startswith("network-data-") and "default" in r.name
    ]
    assert len(data_defaults) == 2
    without = Stack(stack.name, [r for r in stack if r not in data_defaults])
    found = analyse(without)
    assert "internet" not in found["database"]
    assert "internet" in found["app"]
    assert found["database"]["database-efs"] == ["tcp/2049"]


def test_the_program_tags_what_the_analysis_reads() -> None:
    assert (naming.TIER_TAG, naming.VIP_TAG) == (props.TIER_TAG, props.VIP_TAG)


def test_without_its_vip_tag_the_database_would_look_like_the_internet() -> None:
    stack = from_declared(plan("dev", database={"mode": "vip"}))
    untagged = [
        replace(
            r, props={**r.props, "tags": {k: v for k, v in r.tags.items() if k != props.VIP_TAG}}
        )
        if r.type == SG
        else r
        for r in stack
    ]
    found = analyse(Stack(stack.name, untagged))
    assert "database" not in found["app"]
    assert found["app"]["internet"] == ["tcp/443", "tcp/5432"]
