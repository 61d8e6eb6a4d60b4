"""Every bad value stops the program before any resource is declared, with one readable message
that names the key, the value and what is allowed."""

from __future__ import annotations

import contextvars
import json
import random
import string
import subprocess
import sys
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from components.app.host import HostSettings, user_data_document
from components.config import (
    ENV_BYTES,
    PROGRAM_ENV,
    TLS_POLICIES,
    USER_DATA_BYTES,
    ConfigError,
    from_pulumi,
    load_config,
)
from components.config.warnings import config_warnings, stack_warnings
from components.network.vpc import carve
from components.shared import cloud_init
from policy.model import Res, Stack
from policy.rules import RULES
from tests.conftest import STACKS
from tools import mockrun

CERTIFICATE = "arn:aws:acm:{}:123456789012:certificate/00000000-0000-0000-0000-000000000000"

BAD_CONFIG = [
    # (id, overrides, text the message must contain)
    (
        "cidr-host-bits",
        {"network": {"cidr": "10.0.0.1/16"}},
        "multitier:network.cidr = '10.0.0.1/16'",
    ),
    ("cidr-not-a-network", {"network": {"cidr": "banana"}}, "expected an IPv4 network"),
    ("cidr-too-wide", {"network": {"cidr": "10.0.0.0/12"}}, "allowed: /16 to /23"),
    (
        "cidr-too-narrow-for-a-load-balancer",
        {"network": {"cidr": "10.0.0.0/24"}},
        "a /24 VPC gives /28 subnets (each is 1/16 of it), and a load balancer needs /27 or "
        "larger; the smallest VPC that works is /23",
    ),
    ("cidr-docker-bridge", {"network": {"cidr": "172.17.0.0/16"}}, "Docker's bridge network"),
    ("cidr-link-local", {"network": {"cidr": "169.254.0.0/16"}}, "link-local"),
    (
        "app-outgrows-its-subnets",
        {"network": {"cidr": "10.0.0.0/23"}, "app": {"maxSize": 40}},
        "app.maxSize 40: a roll-out may run 80 instances (instanceRefresh.maxHealthyPercentage "
        "200), but the private subnets hold 54 (2 x /27",
    ),
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
        {"network": {"endpoints": {"kinesis": True}}},
        "endpoints.kinesis: unknown key; allowed keys: s3, dynamodb, ssm",
    ),
    ("unknown-section", {"netwrok": {"cidr": "10.0.0.0/16"}}, "multitier:netwrok: unknown key"),
    (
        "certificate-arn",
        {"app": {"certificateArn": "arn:aws:iam::1:server-certificate/x"}},
        "certificateArn = 'arn:aws:iam::1:server-certificate/x': expected a value like arn:aws:acm",
    ),
    (
        "certificate-in-another-region",
        {"app": {"certificateArn": CERTIFICATE.format("us-east-1")}},
        "the certificate is in us-east-1, the stack in eu-west-1 (aws:region)",
    ),
    (
        "certificate-in-another-partition",
        {"app": {"certificateArn": CERTIFICATE.format("cn-north-1").replace("aws", "aws-cn")}},
        "expected a value like arn:aws:acm",
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
        "sslPolicy = 'ELBSecurityPolicy-2016-08': accepts TLS 1.0; allowed (TLS 1.2 or later): ",
    ),
    (
        "ssl-policy-unknown",
        {"app": {"loadBalancer": {"sslPolicy": "ELBSecurityPolicy-TLS13-1-2-2099-01"}}},
        "not an ALB security policy AWS documents",
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
    (
        "release-env-set-by-the-program",
        {"app": {"release": {"env": {"DB_HOST": "elsewhere"}}}},
        "multitier:app.release.env.DB_HOST: the program sets DB_HOST itself",
    ),
    (
        "release-env-secret",
        {"app": {"release": {"env": {"STRIPE_SECRET_KEY": "sk_live_x"}}}},
        "multitier:app.release.env.STRIPE_SECRET_KEY: looks like a secret (SECRET): user data is "
        "readable by anyone who can describe the launch template; keep secrets in AWS Secrets "
        "Manager",
    ),
    ("release-env-token", {"app": {"release": {"env": {"API_TOKEN": "t"}}}}, "(TOKEN)"),
    ("release-env-password", {"app": {"release": {"env": {"DB_PASSWORD": "p"}}}}, "(PASSWORD)"),
    ("release-env-key", {"app": {"release": {"env": {"TLS_PRIVATE_KEY": "k"}}}}, "PRIVATE_KEY"),
    (
        "release-env-newline",
        {"app": {"release": {"env": {"GREETING": "hello\nPORT=1"}}}},
        "multitier:app.release.env.GREETING = 'hello\\nPORT=1': values are one line",
    ),
    (
        "release-env-too-big",
        {"app": {"release": {"env": {f"NAME_{i}": "x" * 100 for i in range(80)}}}},
        f"bytes of user data; at most {ENV_BYTES}",
    ),
    (
        "release-image",
        {"app": {"release": {"image": "Nginx:latest"}}},
        "multitier:app.release.image = 'Nginx:latest': expected a container image",
    ),
    ("release-image-space", {"app": {"release": {"image": "nginx 1.27"}}}, "container image"),
    ("release-image-long", {"app": {"release": {"image": "a/" + "b" * 260}}}, "over 255"),
    (
        "release-image-port",
        {"app": {"release": {"image": "registry.example.com:5000/team/app:v1"}}},
        "multitier:app.release.image = 'registry.example.com:5000/team/app:v1': the registry's "
        "port 5000 is closed: the app hosts may open only HTTPS (443) outside the VPC",
    ),
    (
        "release-version-space",
        {"app": {"release": {"version": "1.28 beta"}}},
        "multitier:app.release.version = '1.28 beta': expected a value like 1.27",
    ),
    ("release-version-long", {"app": {"release": {"version": "1" * 257}}}, "1 to 256"),
    ("health-path-space", {"app": {"healthCheckPath": "/my health"}}, "no spaces"),
    (
        "health-matcher-5xx",
        {"app": {"healthCheck": {"matcher": "200-399,500"}}},
        "multitier:app.healthCheck.matcher = '200-399,500': 500: codes lie between 200 and 499",
    ),
    ("health-matcher-shape", {"app": {"healthCheck": {"matcher": "2xx"}}}, "such as 200,202"),
    ("key-name-long", {"bastion": {"keyName": "k" * 256}}, "1 to 255 printable ASCII"),
    (
        "cache-node-type",
        {"app": {"cache": {"nodeType": "cache.t2.micro"}}},
        "multitier:app.cache.nodeType = 'cache.t2.micro': not a current-generation node type",
    ),
    ("cache-data-tiering", {"app": {"cache": {"nodeType": "cache.r6gd.xlarge"}}}, "not a"),
    (
        "cache-version",
        {"app": {"cache": {"engineVersion": "5.0.6"}}},
        "engineVersion = '5.0.6': Input should be '6.0', '6.2', '7.0' or '7.1'",
    ),
    ("cache-version-a-number", {"app": {"cache": {"engineVersion": 7.1}}}, "quote it"),
    (
        "cache-node-too-new-for-the-version",
        {"app": {"cache": {"nodeType": "cache.r7g.large", "engineVersion": "6.0"}}},
        "cache.nodeType cache.r7g.large runs Redis OSS 6.2 or later; engineVersion is 6.0",
    ),
    ("target-protocol", {"app": {"protocol": "TCP"}}, "multitier:app.protocol = 'TCP'"),
    ("cache-nodes", {"app": {"cache": {"nodeCount": 7}}}, "multitier:app.cache.nodeCount = 7"),
    ("db-mode", {"database": {"mode": "aurora"}}, "'managed' or 'vip'"),
    (
        "db-version-unknown",
        {"database": {"mode": "managed", "engineVersion": "19"}},
        "multitier:database.engineVersion = '19': not a PostgreSQL major RDS offers; allowed: "
        "14, 15, 16, 17, 18",
    ),
    (
        "db-version-extended-support",
        {"database": {"mode": "managed", "engineVersion": "13"}},
        "PostgreSQL 13 is past its RDS end of standard support",
    ),
    ("db-version-shape", {"database": {"engineVersion": "16.x"}}, "a PostgreSQL major version"),
    (
        "db-version-minor",
        {"database": {"mode": "managed", "engineVersion": "16.4"}},
        "give the major only (16)",
    ),
    (
        "db-storage-ceiling",
        {"database": {"allocatedStorageGb": 100, "maxAllocatedStorageGb": 105}},
        "must be at least 110, 10 % above allocatedStorageGb (100)",
    ),
    ("db-version-a-number", {"database": {"engineVersion": 16}}, "quote it"),
    (
        "db-version-vip",
        {"database": {"mode": "vip", "engineVersion": "16.4"}},
        "vip mode installs a major version Amazon Linux 2023 packages",
    ),
    ("db-version-vip-18", {"database": {"mode": "vip", "engineVersion": "18"}}, "15, 16, 17"),
    (
        "db-username-long",
        {"database": {"mode": "managed", "username": "application_admin"}},
        "17 characters; RDS master user names are at most 16",
    ),
    ("db-username-reserved", {"database": {"username": "user"}}, "a PostgreSQL reserved word"),
    ("db-username-rds", {"database": {"username": "rdsadmin"}}, "keeps for itself"),
    (
        "db-username-pg",
        {"database": {"mode": "vip", "username": "pg_admin"}},
        "keeps for itself",
    ),
    ("db-name-taken", {"database": {"databaseName": "postgres"}}, "has a postgres database"),
    ("db-name-reserved", {"database": {"databaseName": "select"}}, "reserved word"),
    ("db-name-shape", {"database": {"databaseName": "My-App"}}, "a lowercase letter"),
    (
        "backup-window-time",
        {"database": {"backupWindow": "25:00-26:00"}},
        "multitier:database.backupWindow = '25:00-26:00': expected hh24:mi-hh24:mi",
    ),
    (
        "backup-window-short",
        {"database": {"backupWindow": "02:00-02:15"}},
        "the window lasts 15 minutes; RDS needs at least 30",
    ),
    ("backup-window-empty", {"database": {"backupWindow": "02:00-02:00"}}, "lasts 0 minutes"),
    (
        "maintenance-window-day",
        {"database": {"maintenanceWindow": "sun:03:30-fun:04:30"}},
        "expected ddd:hh24:mi-ddd:hh24:mi",
    ),
    (
        "maintenance-window-short",
        {"database": {"maintenanceWindow": "sat:23:50-sun:00:10"}},
        "lasts 20 minutes",
    ),
    (
        "windows-overlap",
        {"database": {"mode": "managed", "backupWindow": "03:00-04:00"}},
        "multitier:database: backupWindow 03:00-04:00 overlaps maintenanceWindow "
        "sun:03:30-sun:04:30 (from sun 03:30 UTC); RDS needs them apart",
    ),
    (
        "windows-overlap-after-midnight",
        {
            "database": {
                "mode": "managed",
                "backupWindow": "23:30-00:30",
                "maintenanceWindow": "mon:00:00-mon:01:00",
            }
        },
        "(from mon 00:00 UTC)",
    ),
    (
        "windows-overlap-over-the-week-end",
        {
            "database": {
                "mode": "managed",
                "backupWindow": "00:30-01:30",
                "maintenanceWindow": "sun:23:00-mon:01:00",
            }
        },
        "(from mon 00:30 UTC)",
    ),
    (
        "vip-inside-vpc",
        {"database": {"mode": "vip", "vip": {"address": "10.0.200.1"}}},
        "inside the VPC CIDR",
    ),
    (
        "vip-public",
        {"database": {"mode": "vip", "vip": {"address": "8.8.8.8"}}},
        "multitier:database.vip.address = '8.8.8.8': a public address; the VIP must be a private "
        "address (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16, not 172.17.0.0/16) outside the VPC",
    ),
    ("vip-metadata", {"database": {"vip": {"address": "169.254.169.254"}}}, "link-local"),
    ("vip-multicast", {"database": {"vip": {"address": "224.0.0.5"}}}, "multicast"),
    ("vip-loopback", {"database": {"vip": {"address": "127.0.0.1"}}}, "loopback"),
    ("vip-unspecified", {"database": {"vip": {"address": "0.0.0.0"}}}, "'this network'"),
    ("vip-reserved", {"database": {"vip": {"address": "240.0.0.1"}}}, "reserved"),
    ("vip-docker", {"database": {"vip": {"address": "172.17.0.10"}}}, "Docker's bridge"),
    ("vip-shared-space", {"database": {"vip": {"address": "100.64.0.1"}}}, "RFC 6598"),
    (
        "vip-without-data-egress",
        {"database": {"mode": "vip"}, "network": {"dataEgress": False}},
        "database.mode vip needs network.dataEgress: true",
    ),
    (
        "vip-without-dynamodb-endpoint",
        {
            "database": {"mode": "vip"},
            "network": {"dataEgress": True, "endpoints": {"dynamodb": False}},
        },
        "database.mode vip needs network.endpoints.dynamodb: true (gateway endpoints cost "
        "nothing); the nodes report to the failover function through DynamoDB, and a NAT fault "
        "must not look like a dead primary",
    ),
    (
        "vip-without-gateway-endpoints",
        {
            "database": {"mode": "vip"},
            "network": {"dataEgress": True, "endpoints": {"s3": False, "dynamodb": False}},
        },
        "network.endpoints.s3 and network.endpoints.dynamodb: true",
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


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("eu-west-9", "aws:region = 'eu-west-9': not a region of the aws partition"),
        ("eu-wset-1", "did you mean eu-west-1?"),
        ("cn-north-1", "allowed: af-south-1, "),
        ("us-gov-west-1", "not a region of the aws partition"),
    ],
)
def test_unknown_region_stops_the_program(region: str, expected: str) -> None:
    run = mockrun.attempt("dev", {"aws:region": region})
    assert isinstance(run.error, ConfigError), f"expected a ConfigError, got {run.error!r}"
    assert expected in str(run.error)
    assert run.resources == []


def test_the_regions_come_from_botocore() -> None:
    config = load_config({}, region="ap-southeast-7")  # opened in 2025, typed nowhere here
    assert config.network.az_count == 2


def test_a_certificate_of_the_stacks_region_is_accepted() -> None:
    app = {"certificateArn": CERTIFICATE.format("us-east-1")}
    assert load_config({"app": app}, region="us-east-1").app.certificate_arn


@pytest.mark.parametrize(
    "raw",
    [
        {"database": {"engineVersion": "18"}},
        {"database": {"allocatedStorageGb": 100, "maxAllocatedStorageGb": 110}},
        {"database": {"mode": "vip", "engineVersion": "17"}, "network": {"dataEgress": True}},
        {"database": {"username": "a" * 63, "mode": "vip"}, "network": {"dataEgress": True}},
        {"database": {"backupWindow": "23:30-00:30", "maintenanceWindow": "mon:01:00-mon:02:00"}},
        {"database": {"backupWindow": "01:30-02:30", "maintenanceWindow": "sun:23:00-mon:01:00"}},
        {"database": {"vip": {"address": "192.168.50.10"}}},
        {"network": {"cidr": "10.0.0.0/23"}, "app": {"maxSize": 27}},
        {"app": {"loadBalancer": {"sslPolicy": "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"}}},
        {"app": {"cache": {"nodeType": "cache.m7g.large", "engineVersion": "6.2"}}},
        {
            "app": {
                "release": {
                    "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app@sha256:" + "a" * 64,
                    "version": "2026.12.1+build.7",
                }
            }
        },
        {"app": {"release": {"image": "localhost:5000/team/app:v1"}}},
        {"app": {"release": {"image": "registry.example.com:443/team/app:v1"}}},
    ],
    ids=lambda raw: json.dumps(raw)[:60],
)
def test_values_aws_accepts_pass(raw: dict[str, Any]) -> None:
    load_config(raw, region="eu-west-1")


@pytest.mark.parametrize("policy", TLS_POLICIES)
def test_every_tls_policy_the_config_accepts_passes_the_security_policy(policy: str) -> None:
    rule = next(r for r in RULES if r.id == "alb-modern-tls")
    listener = Res(
        "urn:listener",
        "aws:lb/listener:Listener",
        "https",
        {"protocol": "HTTPS", "sslPolicy": policy},
    )
    assert list(rule.check(listener, Stack("prod", [listener]))) == []


def test_the_names_the_program_sets_are_the_ones_refused() -> None:
    settings = HostSettings(**dict.fromkeys(HostSettings.__dataclass_fields__, "x"))
    document = user_data_document(load_config({}).app, "eu-west-1", settings)
    app_env = next(f for f in document["write_files"] if f["path"].endswith("app.env"))
    assert {line.split("=")[0] for line in app_env["content"].splitlines()} == PROGRAM_ENV


_UNESCAPED = string.ascii_letters + string.digits + "!#$%&'()*+,-./:;<=>?@[]^_`{|}~"


@pytest.mark.parametrize(
    "values",
    [
        # Astral-plane characters cost most before compression: YAML and JSON both escape them.
        lambda i: "\U0001f600" * 10,
        # Random characters compress least (none that JSON escapes, so each costs one byte).
        lambda i: "".join(random.Random(i).choices(_UNESCAPED, k=10)),
    ],
    ids=["escaped", "incompressible"],
)
def test_the_largest_environment_allowed_fits_in_user_data(values: Any) -> None:
    name = "N" * 20
    per_entry = len(json.dumps(name)) + len(json.dumps(values(0)))
    env = {f"{name}{i:04d}": values(i) for i in range(ENV_BYTES // (per_entry + 4))}
    release = {"image": "a/" + "b" * 250 + ":" + "t" * 128, "version": "v" * 256, "env": env}
    app = load_config({"app": {"release": release}}).app
    settings = HostSettings(**dict.fromkeys(HostSettings.__dataclass_fields__, "x" * 200))
    # What EC2 takes: the launch template's user data, gzip-compressed.
    document = cloud_init.render_base64(user_data_document(app, "eu-west-1", settings))
    assert len(cloud_init.sent(document, base64_encoded=True)) <= USER_DATA_BYTES


def test_the_smallest_vpc_allowed_gives_subnets_a_load_balancer_takes() -> None:
    smallest = load_config({"network": {"cidr": "10.0.0.0/23"}}).network
    assert {s.prefixlen for tier in carve(smallest.cidr, 3).values() for s in tier} == {27}


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


BROKEN_FILES = [
    # (id, stack file text, the one line the plan prints after "error: ")
    (
        "a-list",
        "- config\n- multitier:app\n",
        "expected a mapping with a config: key, found a list",
    ),
    ("a-string", "config\n", "expected a mapping with a config: key, found a string"),
    (
        "not-yaml",
        "config:\n  multitier:network: {cidr: [10.0.0.0/16\n",
        "not valid YAML: expected ',' or ']', but got '<stream end>' (line 3, column 1)",
    ),
    ("tab-indent", "config:\n\tmultitier:app: {}\n", "not valid YAML: found character '\\t'"),
    (
        "duplicate-section",
        "config:\n  multitier:app:\n    port: 80\n  multitier:app:\n    port: 81\n",
        "not valid YAML: key 'multitier:app' appears twice (first on line 2); Pulumi refuses the "
        "file, and PyYAML would silently keep the last (line 4, column 3)",
    ),
    (
        "duplicate-key",
        "config:\n  multitier:app:\n    port: 80\n    port: 8080\n",
        "key 'port' appears twice (first on line 3)",
    ),
    ("config-a-list", "config:\n  - multitier:app\n", "config: must map namespace:name keys"),
    ("config-a-string", "config: dev\n", "config: must map namespace:name keys to values, found a"),
    (
        "no-namespace",
        "config:\n  network:\n    cidr: 10.0.0.0/16\n",
        "config key 'network' has no namespace; Pulumi reads keys as <namespace>:<name>",
    ),
    (
        "a-date",
        "config:\n  multitier:app:\n    release:\n      version: 2026-12-01\n",
        "multitier:app.release.version: YAML reads 2026-12-01 as a date; quote it",
    ),
    ("a-number-key", "config:\n  multitier:app:\n    80: port\n", "key 80 is not a name"),
    (
        "an-alias-loop",
        "config:\n  multitier:app: &app\n    release:\n      env: *app\n",
        "multitier:app.release.env: a YAML alias that contains itself",
    ),
]


def plan_command(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_text(text)
    return subprocess.run(
        [sys.executable, "-m", "tools.plan", "bad", "--stack-file", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in BROKEN_FILES], ids=[c[0] for c in BROKEN_FILES]
)
def test_a_broken_stack_file_stops_the_plan_with_one_line(
    tmp_path: Path, text: str, expected: str
) -> None:
    result = plan_command(tmp_path, text)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("error: Pulumi.bad.yaml: ")
    assert expected in line


SHAPELESS_SECTIONS = [
    # (id, stack file text, the line naming the key)
    (
        "section-a-string",
        "config:\n  multitier:network: 10.0.0.0/16\n",
        "multitier:network = '10.0.0.0/16': expected a mapping of its keys (cidr, azCount, ",
    ),
    (
        "section-a-list",
        "config:\n  multitier:bastion:\n    - 203.0.113.10/32\n",
        "multitier:bastion = ['203.0.113.10/32']: expected a mapping of its keys (enabled, ",
    ),
    ("section-a-number", "config:\n  multitier:app: 8080\n", "multitier:app = 8080: expected"),
    (
        "section-secure",
        "config:\n  multitier:app:\n    secure: AAABAJx1c2VyZGF0YQ==\n",
        "multitier:app: holds a secret (secure:) value; no multitier: key may be secret",
    ),
    (
        "value-secure",
        "config:\n  multitier:app:\n    release:\n      env:\n        API_KEY:\n"
        "          secure: AAABAJx1c2VyZGF0YQ==\n",
        "multitier:app: holds a secret (secure:) value",
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [c[1:] for c in SHAPELESS_SECTIONS],
    ids=[c[0] for c in SHAPELESS_SECTIONS],
)
def test_a_section_that_is_no_mapping_stops_the_plan_with_its_key(
    tmp_path: Path, text: str, expected: str
) -> None:
    result = plan_command(tmp_path, text)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    header, line = result.stderr.splitlines()
    assert header == "error: Invalid stack config:"
    assert line.startswith(f"  {expected}")


def from_the_cli(values: dict[str, str], secret_keys: list[str]) -> Any:
    """`from_pulumi()` given config as `pulumi up` hands it over: strings, structured values as
    JSON, secrets decrypted and listed; its ConfigError if it raises one."""

    def read() -> Any:
        pulumi.runtime.set_all_config(values, secret_keys)
        try:
            return from_pulumi()
        except ConfigError as error:
            return error

    return contextvars.Context().run(read)


@pytest.mark.parametrize(
    ("values", "secret_keys", "expected"),
    [
        ({"multitier:network": "10.0.0.0/16"}, [], "multitier:network = '10.0.0.0/16': expected"),
        ({"multitier:network": "{cidr: 10.0.0.0/16"}, [], "not a string"),
        ({"multitier:bastion": '["203.0.113.10/32"]'}, [], "not a list"),
        ({"multitier:app": '{"port": 80}'}, ["multitier:app"], "multitier:app: holds a secret"),
        ({"multitier:app": "s3cr3t"}, ["multitier:app"], "no multitier: key may be secret"),
        ({"aws:region": "eu-west-9"}, [], "aws:region = 'eu-west-9'"),
        ({"aws:region": ""}, [], "aws:region = '': not a region"),
    ],
)
def test_under_pulumi_up_a_shapeless_or_secret_section_is_a_config_error(
    values: dict[str, str], secret_keys: list[str], expected: str
) -> None:
    error = from_the_cli(values, secret_keys)
    assert isinstance(error, ConfigError), f"expected a ConfigError, got {error!r}"
    assert expected in str(error)


def test_under_pulumi_up_structured_sections_arrive_as_json() -> None:
    config = from_the_cli({"multitier:app": '{"port": 8080}', "aws:region": "us-east-1"}, [])
    assert config.app.port == 8080


WARNINGS = [
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
        {"network": {"natMode": "none"}},
        "multitier:network.natMode = 'none': the app hosts have no route out of the VPC, so at "
        "boot they cannot reach the release's registry public.ecr.aws (no VPC endpoint serves "
        "it); Systems Manager, for the CloudWatch agent's configuration and Session Manager "
        "(endpoints.ssm is false); CloudWatch Logs and metrics, and Secrets Manager for the "
        "database secret (no endpoints for them here); natMode instance (cheapest), single or "
        "per_az gives them one",
    ),
    (
        "nat-none-private-ecr",
        {
            "network": {"natMode": "none", "endpoints": {"s3": False, "ssm": True}},
            "app": {"release": {"image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/a:1"}},
        },
        "cannot reach the release's registry 123456789012.dkr.ecr.eu-west-1.amazonaws.com "
        "(private ECR needs the ecr.api and ecr.dkr interface endpoints, which this program does "
        "not create); the Amazon Linux package repositories, on S3 (endpoints.s3 is false); "
        "CloudWatch Logs",
    ),
    (
        "nat-none-docker-hub",
        {"network": {"natMode": "none"}, "app": {"release": {"image": "nginx:1.27"}}},
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


@pytest.mark.parametrize("raw", [{}, {"network": {}, "app": None}])
def test_no_keys_set_says_every_default_applies(raw: dict[str, Any]) -> None:
    assert config_warnings(load_config(raw)) == [
        "no multitier: keys are set: every default applies (README, Config reference)"
    ]


@pytest.mark.parametrize("stack", STACKS)
def test_the_committed_stack_files_set_only_keys_that_apply(stack: str) -> None:
    assert stack_warnings(mockrun.stack_config(stack)) == []


@pytest.mark.parametrize(
    ("text", "first_line"),
    [
        ("", "warning: no multitier: keys are set: every default applies"),
        ("config:\n  aws:region: eu-west-1\n", "warning: no multitier: keys are set"),
        (
            "config:\n  multitier:network:\n    natMode: none\n",
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
