"""Config warnings: keys that are valid but cannot work as set (a vip setting in managed mode, a
NAT mode that leaves hosts without a way out), printed first by the plan and logged by the
program under `pulumi up`; keys that apply give none."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pytest

from components.config import (
    load_config,
)
from components.config.warnings import config_warnings, stack_warnings
from tests.conftest import STACKS
from tests.test_config import CERTIFICATE
from tests.test_config_files import plan_command
from tools import mockrun

NAT_NONE = {"natMode": "none", "endpoints": {"secretsManager": True}}
WARNINGS = [
    (
        "vip-names-are-fixed-at-creation",
        {
            "network": {"dataEgress": True},
            "database": {"mode": "vip", "username": "owner_admin", "databaseName": "shop"},
        },
        "multitier:database.username = 'owner_admin' is used when the vip cluster is created; a "
        "deployed cluster keeps the names its master secret holds, so changing this later does "
        "nothing (RUNBOOKS.md, Rotate credentials: the vip names are fixed at creation)",
    ),
    (
        "rds-names-replace-the-instance",
        {"database": {"mode": "managed", "databaseName": "shop"}},
        "multitier:database.databaseName = 'shop' is fixed when the RDS instance is created: a "
        "change replaces the instance, so Pulumi creates a new, empty one under a new identifier "
        "and then deletes the old one",
    ),
    (
        "rds-master-user-replaces-the-instance",
        {"database": {"username": "owner_admin"}},
        "multitier:database.username = 'owner_admin' is fixed when the RDS instance is created",
    ),
    (
        "rds-names-do-nothing-to-a-restored-instance",
        {
            "database": {
                "username": "owner_admin",
                "restore": {"id": "r1", "snapshotIdentifier": "snap"},
                "formerInstances": {"original": "keep"},
            }
        },
        "multitier:database.username = 'owner_admin' does nothing to the active instance, "
        "restored as r1",
    ),
    (
        "vip-major-is-fixed-at-creation",
        {"network": {"dataEgress": True}, "database": {"mode": "vip", "engineVersion": "17"}},
        "multitier:database.engineVersion = '17' is used when the vip cluster is created; a node "
        "installs the major its data directory was made by, so changing it later upgrades "
        "nothing (RUNBOOKS.md, Upgrade PostgreSQL to a new major version)",
    ),
    # (id, config, a warning it gives)
    (
        "nat-instance-type",
        {"network": {"natMode": "single", "natInstanceType": "t3.small"}},
        "multitier:network.natInstanceType = 't3.small' has no effect: natMode is single, not "
        "instance",
    ),
    (
        "bastion-off",
        {"bastion": {"enabled": False, "sshPort": 22}},
        "multitier:bastion.sshPort = 22 has no effect: bastion.enabled is false",
    ),
    (
        "bastion-networks-off",
        {"bastion": {"allowedCidrs": ["203.0.113.10/32"]}},
        "multitier:bastion.allowedCidrs = ['203.0.113.10/32'] has no effect: bastion.enabled is",
    ),
    (
        "tls-policy-without-certificate",
        {"app": {"loadBalancer": {"sslPolicy": "ELBSecurityPolicy-TLS13-1-3-2021-06"}}},
        "multitier:app.loadBalancer.sslPolicy = 'ELBSecurityPolicy-TLS13-1-3-2021-06' has no "
        "effect: no certificateArn, so the ALB serves HTTP only",
    ),
    (
        "access-log-retention",
        {"app": {"loadBalancer": {"accessLogRetentionDays": 30}}},
        "accessLogRetentionDays = 30 has no effect: loadBalancer.accessLogs is false",
    ),
    (
        "stickiness",
        {"app": {"stickySessions": False, "stickinessSeconds": 60}},
        "multitier:app.stickinessSeconds = 60 has no effect: stickySessions is false",
    ),
    (
        "cpu-target-with-step",
        {"app": {"scaling": {"policy": "step", "cpuTarget": 70}}},
        "multitier:app.scaling.cpuTarget = 70.0 has no effect: scaling.policy is step",
    ),
    (
        "step-threshold-with-tracking",
        {"app": {"scaling": {"scaleUpCpu": 70}}},
        "multitier:app.scaling.scaleUpCpu = 70.0 has no effect: scaling.policy is target_tracking",
    ),
    (
        "cache-off",
        {"app": {"cache": {"nodeType": "cache.t4g.small"}}},
        "multitier:app.cache.nodeType = 'cache.t4g.small' has no effect: cache.enabled is false",
    ),
    (
        "cache-alarm-without-cache",
        {"observability": {"thresholds": {"cacheCpuPercent": 60}}},
        "thresholds.cacheCpuPercent = 60.0 has no effect: app.cache.enabled is false",
    ),
    (
        "managed-key-in-vip-mode",
        {
            "network": {"dataEgress": True},
            "database": {"mode": "vip", "backupWindow": "01:00-02:00"},
        },
        "multitier:database.backupWindow = '01:00-02:00' has no effect: database.mode is vip; it "
        "configures RDS",
    ),
    (
        "rds-alarm-in-vip-mode",
        {
            "network": {"dataEgress": True},
            "database": {"mode": "vip"},
            "observability": {"thresholds": {"dbConnections": 50}},
        },
        "thresholds.dbConnections = 50 has no effect: database.mode is vip: no RDS instance",
    ),
    (
        "vip-key-in-managed-mode",
        {"database": {"mode": "managed", "vip": {"address": "10.9.9.9"}}},
        "multitier:database.vip.address = '10.9.9.9' has no effect: database.mode is managed",
    ),
    (
        "vip-alarm-in-managed-mode",
        {"observability": {"thresholds": {"efsIoLimitPercent": 80}}},
        "efsIoLimitPercent = 80.0 has no effect: database.mode is managed: no vip data volume",
    ),
    (
        "replica-lag-without-replicas",
        {"observability": {"thresholds": {"replicaLagSeconds": 10}}},
        "replicaLagSeconds = 10.0 has no effect: database.readReplicas is 0",
    ),
    (
        "nat-none",
        {"network": NAT_NONE},
        "multitier:network.natMode = 'none': the app hosts have no route out of the VPC, so at "
        "boot they cannot reach the release's registry public.ecr.aws (no VPC endpoint serves "
        "it); Systems Manager, for the CloudWatch agent's configuration and Session Manager "
        "(endpoints.ssm is false); CloudWatch Logs and metrics (no endpoints for them here); "
        "natMode instance (cheapest), single or per_az gives them one",
    ),
    (
        "nat-none-private-ecr",
        {
            "network": {
                "natMode": "none",
                "endpoints": {"s3": False, "ssm": True, "secretsManager": True},
            },
            "app": {"release": {"image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/a:1"}},
        },
        "cannot reach the release's registry 123456789012.dkr.ecr.eu-west-1.amazonaws.com "
        "(private ECR needs the ecr.api and ecr.dkr interface endpoints, which this program does "
        "not create); the Amazon Linux package repositories, on S3 (endpoints.s3 is false); "
        "CloudWatch Logs",
    ),
    (
        "nat-none-docker-hub",
        {"network": NAT_NONE, "app": {"release": {"image": "nginx:1.27"}}},
        "registry docker.io",
    ),
]


@pytest.mark.parametrize(
    ("raw", "expected"), [c[1:] for c in WARNINGS], ids=[c[0] for c in WARNINGS]
)
def test_a_key_that_cannot_work_is_warned_about(raw: dict[str, Any], expected: str) -> None:
    warnings = config_warnings(load_config(raw))
    assert any(expected in warning for warning in warnings), warnings


@pytest.mark.parametrize(
    "raw",
    [
        {"network": {"natMode": "instance", "natInstanceType": "t3.small"}},
        {
            "database": {"mode": "managed", "backupWindow": "01:00-02:00", "readReplicas": 1},
            "observability": {"thresholds": {"replicaLagSeconds": 10, "dbConnections": 50}},
        },
        {
            "app": {
                "cache": {"enabled": True, "nodeType": "cache.t4g.small"},
                "certificateArn": CERTIFICATE.format("eu-west-1"),
                "loadBalancer": {"sslPolicy": "ELBSecurityPolicy-TLS13-1-3-2021-06"},
            }
        },
        {"bastion": {"enabled": True, "allowedCidrs": ["203.0.113.10/32"], "sshPort": 2200}},
    ],
    ids=["nat-instance", "managed-database", "cache-and-https", "bastion"],
)
def test_keys_that_apply_give_no_warning(raw: dict[str, Any]) -> None:
    assert config_warnings(load_config(raw, region="eu-west-1")) == []


def test_defaults_are_never_judged() -> None:
    # vip.* and the step thresholds have defaults that do nothing in managed, tracking mode.
    assert config_warnings(load_config({"network": {"cidr": "10.9.0.0/16"}})) == []


@pytest.mark.parametrize("raw", [{}, {"network": {}}])
def test_no_keys_set_says_every_default_applies(raw: dict[str, Any]) -> None:
    assert config_warnings(load_config(raw)) == [
        "no multitier: keys are set: every default applies (README, Config reference)"
    ]


@pytest.mark.parametrize("stack", STACKS)
def test_the_committed_stack_files_set_only_keys_that_apply(stack: str) -> None:
    assert stack_warnings(mockrun.stack_config(stack)) == []


@pytest.mark.slow
@pytest.mark.parametrize(
    ("text", "first_line"),
    [
        ("", "warning: no multitier: keys are set: every default applies"),
        ("config:\n  aws:region: eu-west-1\n", "warning: no multitier: keys are set"),
        (
            "config:\n  multitier:network:\n    natMode: none\n"
            "    endpoints:\n      secretsManager: true\n",
            "warning: multitier:network.natMode = 'none': the app hosts have no route out",
        ),
    ],
    ids=["empty", "no-multitier-keys", "nat-none"],
)
def test_the_plan_prints_config_warnings_first(tmp_path: Path, text: str, first_line: str) -> None:
    result = plan_command(tmp_path, text)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith(first_line)
    assert result.stdout.splitlines()[1].startswith("Offline plan of stack 'bad'")


def test_the_program_logs_each_warning_under_pulumi_up(monkeypatch):
    logged: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *_, **__: logged.append(message))
    mockrun.run("staging", {"multitier:database": {"vip": {"nodeCount": 3}}})
    assert any("multitier:database.vip.nodeCount" in line for line in logged), logged
