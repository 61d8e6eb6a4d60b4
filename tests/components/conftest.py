"""Fixtures for building one component alone under the mocks: its args from a stack file, and
records of the other tiers made by hand (what a program that reuses a component would pass)."""

from __future__ import annotations

import pytest

from components.shared.contracts import TIERS, DatabaseConnection, NetworkRef, SubnetRef

ZONES = ("eu-west-1a", "eu-west-1b")


def network_ref() -> NetworkRef:
    """A VPC of two zones, as an existing network hands it over: ids and CIDRs, nothing of ours
    to wait for."""
    return NetworkRef(
        vpc_id="vpc-0a1b2c3d4e5f60001",
        cidr_block="10.0.0.0/16",
        subnets=[
            SubnetRef(
                id=f"subnet-{tier}-{zone[-1]}",
                zone=zone,
                tier=tier,
                cidr=f"10.0.{16 * (3 * t + z)}.0/20",
                route_table_id=f"rtb-{tier}-{zone[-1]}",
            )
            for t, tier in enumerate(TIERS)
            for z, zone in enumerate(ZONES)
        ],
    )


@pytest.fixture
def network() -> NetworkRef:
    return network_ref()


@pytest.fixture
def database() -> DatabaseConnection:
    """A database another program runs, reached at an address."""
    return DatabaseConnection(
        host="db.internal.example",
        port=5432,
        secret_arn="arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf",
        security_group_id="sg-0a1b2c3d4e5f60009",
    )
