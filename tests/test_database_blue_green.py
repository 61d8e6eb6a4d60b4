"""`database.blueGreen`: RDS blue/green deployments for engine upgrades and parameter-group
changes, and what config refuses with it. Nothing about a switchover can be proven under the
mocks: these tests hold what the program declares and refuses."""

from __future__ import annotations

import pytest

from components.config import ConfigError, load_config
from policy.evaluate import evaluate
from policy.model import from_declared
from policy.types import RDS, RDS_PARAMETERS
from tests.conftest import plan
from tools.plan import _DETAILS


def test_blue_green_enables_the_providers_blue_green_update_on_the_instance():
    run = plan("prod", database={"blueGreen": True})
    assert run.one(RDS)["blueGreenUpdate"] == {"enabled": True}


def test_without_blue_green_the_instance_updates_in_place():
    assert "blueGreenUpdate" not in plan("prod").one(RDS).inputs


def test_blue_green_turns_on_logical_replication_at_the_next_reboot():
    group = plan("prod", database={"blueGreen": True}).one(RDS_PARAMETERS)
    parameters = {p["name"]: p for p in group["parameters"]}
    assert parameters["rds.logical_replication"]["value"] == "1"
    assert parameters["rds.logical_replication"]["applyMethod"] == "pending-reboot"
    assert parameters["rds.force_ssl"]["value"] == "1", "TLS stays forced"


def test_the_plan_line_says_blue_green():
    run = plan("prod", database={"blueGreen": True})
    line = _DETAILS[RDS](run.one(RDS), run)
    assert "blue/green updates" in line
    assert "blue/green" not in _DETAILS[RDS](plan("prod").one(RDS), plan("prod"))


def test_blue_green_passes_the_security_policy():
    assert evaluate(from_declared(plan("prod", database={"blueGreen": True}))).passed


@pytest.mark.parametrize("replicas", [1, 3])
def test_config_refuses_blue_green_with_read_replicas(replicas: int):
    with pytest.raises(ConfigError) as refused:
        load_config({"database": {"blueGreen": True, "readReplicas": replicas}})
    message = str(refused.value)
    assert f"blueGreen = true with readReplicas = {replicas}" in message
    assert "allowed: blueGreen with readReplicas 0, or blueGreen false" in message


def test_config_refuses_blue_green_in_vip_mode():
    with pytest.raises(ConfigError, match="blueGreen = true is for RDS"):
        load_config({"database": {"mode": "vip", "blueGreen": True}})
