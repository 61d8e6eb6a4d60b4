"""Every bad value stops the program before any resource is declared, with one readable message
that names the key, the value and what is allowed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.config import ConfigError, load_config
from tests.conftest import STACKS
from tools import mockrun

BAD_CONFIG = [
    # (id, overrides, text the message must contain)
    (
        "cidr-host-bits",
        {"network": {"cidr": "10.0.0.1/16"}},
        "multitier:network.cidr = '10.0.0.1/16'",
    ),
    ("cidr-not-a-network", {"network": {"cidr": "banana"}}, "expected an IPv4 network"),
    ("cidr-too-wide", {"network": {"cidr": "10.0.0.0/12"}}, "allowed: /16 to /24"),
    ("az-count-low", {"network": {"azCount": 1}}, "multitier:network.azCount = 1"),
    ("az-count-high", {"network": {"azCount": 4}}, "less than or equal to 3"),
    ("nat-mode", {"network": {"natMode": "dual"}}, "'none', 'instance', 'single' or 'per_az'"),
    (
        "data-egress-needs-nat",
        {"network": {"natMode": "none", "dataEgress": True}},
        "dataEgress needs a NAT",
    ),
    ("retention", {"network": {"flowLogRetentionDays": 10}}, "flowLogRetentionDays = 10"),
    (
        "bastion-open-to-world",
        {"bastion": {"allowedCidrs": ["0.0.0.0/0"]}},
        "allowedCidrs[0] = '0.0.0.0/0'",
    ),
    ("bastion-half-world", {"bastion": {"allowedCidrs": ["0.0.0.0/1"]}}, "/8 or narrower"),
    (
        "bastion-no-cidrs",
        {"bastion": {"enabled": True, "allowedCidrs": []}},
        "at least one network",
    ),
    ("ssh-port-high", {"bastion": {"sshPort": 70000}}, "multitier:bastion.sshPort = 70000"),
    ("ssh-port-zero", {"bastion": {"sshPort": 0}}, "greater than or equal to 1"),
    ("app-port", {"app": {"port": 65536}}, "multitier:app.port = 65536"),
    (
        "min-above-max",
        {"app": {"minSize": 5, "maxSize": 3}},
        "minSize (5) must not exceed maxSize (3)",
    ),
    (
        "desired-outside",
        {"app": {"minSize": 2, "maxSize": 3, "desiredCapacity": 4}},
        "desiredCapacity (4)",
    ),
    (
        "health-path",
        {"app": {"healthCheckPath": "health"}},
        "multitier:app.healthCheckPath = 'health'",
    ),
    (
        "unknown-key",
        {"network": {"cidrBlock": "10.0.0.0/16"}},
        "multitier:network.cidrBlock: unknown key; allowed keys: cidr,",
    ),
    (
        "unknown-nested-key",
        {"network": {"endpoints": {"dynamodb": True}}},
        "endpoints.dynamodb: unknown key; allowed keys: s3, ssm",
    ),
    ("unknown-section", {"netwrok": {"cidr": "10.0.0.0/16"}}, "multitier:netwrok: unknown key"),
    (
        "certificate-arn",
        {"app": {"certificateArn": "arn:aws:iam::1:server-certificate/x"}},
        "certificateArn = 'arn:aws:iam::1:server-certificate/x': expected a value like arn:aws:acm",
    ),
    (
        "health-timeout",
        {"app": {"healthCheck": {"intervalSeconds": 10, "timeoutSeconds": 10}}},
        "timeoutSeconds (10) must be less than intervalSeconds (10)",
    ),
    (
        "health-threshold",
        {"app": {"healthCheck": {"healthyThreshold": 1}}},
        "multitier:app.healthCheck.healthyThreshold = 1",
    ),
    (
        "ssl-policy",
        {"app": {"loadBalancer": {"sslPolicy": "ELBSecurityPolicy-2016-08"}}},
        "sslPolicy = 'ELBSecurityPolicy-2016-08'",
    ),
    (
        "scaling-thresholds",
        {"app": {"scaling": {"scaleUpCpu": 40, "scaleDownCpu": 60}}},
        "scaleDownCpu (60.0) must be below scaleUpCpu (40.0)",
    ),
    (
        "scaling-policy",
        {"app": {"scaling": {"policy": "predictive"}}},
        "'target_tracking' or 'step'",
    ),
    (
        "refresh-no-room",
        {"app": {"instanceRefresh": {"minHealthyPercentage": 100, "maxHealthyPercentage": 100}}},
        "must differ",
    ),
    ("release-env-name", {"app": {"release": {"env": {"log-level": "x"}}}}, "UPPER_SNAKE_CASE"),
    ("target-protocol", {"app": {"protocol": "TCP"}}, "multitier:app.protocol = 'TCP'"),
    ("cache-nodes", {"app": {"cache": {"nodeCount": 7}}}, "multitier:app.cache.nodeCount = 7"),
    ("db-mode", {"database": {"mode": "aurora"}}, "'managed' or 'vip'"),
    (
        "vip-inside-vpc",
        {"database": {"mode": "vip", "vip": {"address": "10.0.200.1"}}},
        "inside the VPC CIDR",
    ),
    (
        "vip-without-data-egress",
        {"database": {"mode": "vip"}, "network": {"dataEgress": False}},
        "database.mode vip needs network.dataEgress: true",
    ),
    ("alarm-email", {"observability": {"alarmEmails": ["ops"]}}, "alarmEmails[0] = 'ops'"),
]


@pytest.mark.parametrize(
    ("overrides", "expected"), [c[1:] for c in BAD_CONFIG], ids=[c[0] for c in BAD_CONFIG]
)
def test_bad_config_stops_the_program_before_any_resource(
    overrides: dict[str, Any], expected: str
) -> None:
    config = {f"multitier:{section}": value for section, value in overrides.items()}
    run = mockrun.attempt("dev", config)
    assert isinstance(run.error, ConfigError), f"expected a ConfigError, got {run.error!r}"
    assert expected in str(run.error)
    assert run.resources == [], f"declared despite bad config: {[r.name for r in run.resources]}"


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({"network": {"azCount": 9, "natMode": "dual"}, "app": {"port": -1}})
    message = str(caught.value)
    assert "azCount" in message
    assert "natMode" in message
    assert "multitier:app.port" in message


def test_defaults_fill_in_missing_sections() -> None:
    config = load_config({})
    assert str(config.network.cidr) == "10.0.0.0/16"
    assert config.bastion.enabled is False
    assert config.database.vip.node_count == 2


def test_vip_inside_vpc_is_fine_in_managed_mode() -> None:
    config = load_config({"database": {"mode": "managed", "vip": {"address": "10.0.0.5"}}})
    assert config.database.mode == "managed"


def _sections(stack: str) -> dict[str, Any]:
    """The `multitier:*` values of a committed stack file, keyed by section."""
    raw = yaml.safe_load(Path(f"Pulumi.{stack}.yaml").read_text())["config"]
    return {k.split(":", 1)[1]: v for k, v in raw.items() if k.startswith("multitier:")}


@pytest.mark.parametrize("stack", STACKS)
def test_the_committed_stack_files_are_valid(stack: str) -> None:
    load_config(_sections(stack))


def test_the_committed_stacks_have_separate_vpc_cidrs() -> None:
    cidrs = {stack: load_config(_sections(stack)).network.cidr for stack in STACKS}
    for stack, cidr in cidrs.items():
        for other, other_cidr in cidrs.items():
            assert stack == other or not cidr.overlaps(other_cidr), (
                f"{stack} ({cidr}) overlaps {other} ({other_cidr}): peering or a VPN between them "
                "would be impossible"
            )


def test_plan_command_exits_2_with_the_message_and_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text(yaml.safe_dump({"config": {"multitier:network": {"natMode": "dual"}}}))
    result = subprocess.run(
        [sys.executable, "-m", "tools.plan", "bad", "--stack-file", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "multitier:network.natMode = 'dual'" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""
