"""The stack variants the AWS schema check judges, and their reports, computed once per session.

Every stack file as committed, then each with every option on (in both database modes) and with
every option off. Together they declare every resource type the program can: both database
modes, cache and EFS on and off, a read replica, blue/green, copies in a DR region (a second
template), HTTPS, IPv6, the bastion, ALB access logs, step scaling, and each NAT mode (none and
per_az here; the dev stack runs a NAT instance, staging one NAT gateway).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

import cfncheck
from components.config import StackConfig, load_config
from tests.conftest import STACKS
from tools import mockrun
from tools.mockrun import Run

PREFIX = "multitier:"
CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"

_EVERY_OPTION: dict[str, Any] = {
    "app": {
        "certificateArn": CERTIFICATE,
        "cache": {"enabled": True},
        "efs": {"enabled": True},
        "loadBalancer": {"accessLogs": True},
        "scaling": {"policy": "step"},
    },
    "network": {"ipv6": True, "natMode": "per_az", "dataEgress": True},
    "bastion": {"enabled": True, "allowedCidrs": ["203.0.113.10/32"]},
}


@dataclass(frozen=True)
class Variant:
    label: str
    overrides: dict[str, Any]


VARIANTS = (
    Variant("as committed", {}),
    Variant(
        "managed, every option on, a read replica",
        {
            **_EVERY_OPTION,
            "database": {
                "mode": "managed",
                "readReplicas": 1,
                "restore": {
                    "id": "incident",
                    "pointInTime": {
                        "sourceIdentifier": "multitier-dev-db-1a2b3c4d",
                        "time": "2026-06-01T09:30:00Z",
                    },
                },
                "formerInstances": {"original": "keep", "first-try": "delete"},
            },
        },
    ),
    Variant("vip, every option on", {**_EVERY_OPTION, "database": {"mode": "vip"}}),
    Variant(
        "managed, blue/green, copies in a DR region",
        {
            "app": {"efs": {"enabled": True}},
            "database": {
                "mode": "managed",
                "blueGreen": True,
                "readReplicas": 0,
                "dr": {"region": "us-east-1", "retentionDays": 7},
            },
        },
    ),
    Variant(
        "managed, every option off, no NAT",
        {
            "app": {"cache": {"enabled": False}, "efs": {"enabled": False}},
            "network": {
                "natMode": "none",
                "dataEgress": False,
                "endpoints": {"secretsManager": True},
            },
            "bastion": {"enabled": False},
            "database": {
                "mode": "managed",
                "restore": {"id": "from-snapshot", "snapshotIdentifier": "rds:multitier-db-x"},
                "formerInstances": {"original": "retain"},
            },
        },
    ),
)

CASES = [(stack, variant) for stack in STACKS for variant in VARIANTS]
IDS = [f"{stack}: {variant.label}" for stack, variant in CASES]

_runs: dict[tuple[str, str], Run] = {}
_reports: dict[tuple[str, str], cfncheck.Report] = {}


def region(stack: str) -> str:
    return str(mockrun.stack_config(stack)["aws:region"])


def config_of(stack: str, variant: Variant) -> StackConfig:
    """The variant's parsed config."""
    merged = mockrun.stack_config(stack, _sections(variant))
    return load_config(
        {k.removeprefix(PREFIX): v for k, v in merged.items() if k.startswith(PREFIX)}
    )


def run_of(stack: str, variant: Variant) -> Run:
    """The variant's mock run. When the program itself fails under mocks (another check's
    business: this one needs only what the program declares), the test is skipped, saying why."""
    key = (stack, variant.label)
    if key not in _runs:
        _runs[key] = mockrun.attempt(stack, _sections(variant))
    run = _runs[key]
    if run.error is not None:
        pytest.skip(f"{stack}, {variant.label}: the program fails under mocks: {run.error}")
    return run


def report_of(stack: str, variant: Variant) -> cfncheck.Report:
    key = (stack, variant.label)
    if key not in _reports:
        _reports[key] = cfncheck.validate(run_of(stack, variant).resources, region(stack))
    return _reports[key]


def _sections(variant: Variant) -> dict[str, Any]:
    return {f"{PREFIX}{section}": value for section, value in variant.overrides.items()}
