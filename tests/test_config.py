"""Every bad value stops the program before any resource is declared, with one readable message
that names the key, the value and what is allowed."""

from __future__ import annotations

import json
import random
import string
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.app.host import HostSettings, user_data_document
from components.config import (
    ENV_BYTES,
    PROGRAM_ENV,
    TLS_POLICIES,
    USER_DATA_BYTES,
    ConfigError,
    load_config,
)
from components.network.vpc import carve
from components.shared import cloud_init
from policy.model import Res, Stack
from policy.rules import RULES
from policy.types import LISTENER
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
        "200), but the private subnets hold 52 (2 x /27",
    ),
    (
        "nat-none-without-secrets-manager",
        {"network": {"natMode": "none", "dataEgress": False}},
        "natMode none leaves the private subnets no way to Secrets Manager, where the credentials "
        "function rotates the database's passwords from; set endpoints.secretsManager to true",
    ),
    (
        "rotation-days-zero",
        {"database": {"rotation": {"appDays": 0}}},
        "multitier:database.rotation.appDays = 0",
    ),
    (
        "rotation-days-over-secrets-managers-limit",
        {"database": {"rotation": {"masterDays": 1001}}},
        "less than or equal to 1000",
    ),
    (
        "cache-rotation-days-zero",
        {"app": {"cache": {"authRotationDays": 0}}},
        "multitier:app.cache.authRotationDays = 0",
    ),
    (
        "master-named-like-the-apps-login",
        {"database": {"username": "app_user"}},
        "the name of one of the app's roles (app_owner, app_user, app_user_clone, app_reader)",
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
    (
        "blue-green-with-replicas",
        {"database": {"mode": "managed", "blueGreen": True, "readReplicas": 2}},
        "multitier:database: blueGreen = true with readReplicas = 2: the provider's blue/green "
        "update cannot handle read replicas; allowed: blueGreen with readReplicas 0",
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
    (
        "vip-restore-target",
        {
            "database": {
                "mode": "vip",
                "vip": {"restore": {"bucket": "b-1", "cluster": "c", "target": "yesterday"}},
            }
        },
        "multitier:database.vip.restore.target = 'yesterday': expected latest or a time with "
        "its zone",
    ),
    (
        "vip-archive-timeout",
        {"database": {"mode": "vip", "vip": {"archive": {"timeoutSeconds": 5}}}},
        "multitier:database.vip.archive.timeoutSeconds = 5",
    ),
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
    (
        "auto-rollback-with-the-ssm-image",
        {"app": {"instanceRefresh": {"autoRollback": True}}},
        "multitier:app: instanceRefresh.autoRollback = True: AWS cannot roll back a group whose "
        "launch template takes its image from an SSM parameter",
    ),
    (
        "checkpoints-not-ascending",
        {"app": {"instanceRefresh": {"checkpoints": [50, 20, 100]}}},
        "instanceRefresh.checkpoints = [50, 20, 100]: allowed: percentages from 1 to 100, "
        "strictly ascending, the last 100",
    ),
    (
        "checkpoints-short-of-the-fleet",
        {"app": {"instanceRefresh": {"checkpoints": [50]}}},
        "the last 100",
    ),
    (
        "checkpoint-delay",
        {"app": {"instanceRefresh": {"checkpoints": [100], "checkpointDelaySeconds": 200000}}},
        "multitier:app.instanceRefresh.checkpointDelaySeconds = 200000",
    ),
    (
        "two-pinned-images",
        {"app": {"ami": "ami-0123456789abcdef0", "release": {"ami": "ami-0fedcba9876543210"}}},
        "release.ami = 'ami-0fedcba9876543210' and ami = 'ami-0123456789abcdef0': allowed: one",
    ),
    (
        "release-ami",
        {"app": {"release": {"ami": "al2023"}}},
        "multitier:app.release.ami = 'al2023'",
    ),
    (
        "bastion-cidr-repeated",
        {"bastion": {"allowedCidrs": ["198.18.0.0/24", "10.1.2.3/32", "198.18.0.0/24"]}},
        "allowedCidrs[2] = '198.18.0.0/24' repeats allowedCidrs[0]; EC2 refuses two identical "
        "rules (InvalidPermission.Duplicate); allowed: each network once",
    ),
    (
        "efs-mount-on-etc",
        {"app": {"efs": {"enabled": True, "mountPath": "/etc"}}},
        "multitier:app.efs.mountPath = '/etc': mounting here would hide the hosts' system (/etc); "
        "allowed: a directory outside /bin,",
    ),
    (
        "efs-mount-inside-usr",
        {"app": {"efs": {"enabled": True, "mountPath": "/usr/local/backups"}}},
        "mountPath = '/usr/local/backups': mounting here would hide the hosts' system (/usr)",
    ),
    (
        "efs-mount-over-var",
        {"app": {"efs": {"enabled": True, "mountPath": "/var"}}},
        "mountPath = '/var': mounting here would hide the hosts' system (/var/lib)",
    ),
    (
        "efs-mount-dot-dot",
        {"app": {"efs": {"enabled": True, "mountPath": "/var/backups/../../etc"}}},
        "mountPath = '/var/backups/../../etc': expected a plain absolute path: no '.' or '..'",
    ),
    (
        "monitoring-interval-not-a-choice",
        {"database": {"monitoringIntervalSeconds": 7}},
        "multitier:database.monitoringIntervalSeconds = 7: Input should be 0, 1, 5, 10, 15, 30 "
        "or 60",
    ),
    (
        "release-env-pass",
        {"app": {"release": {"env": {"DB_PASS": "p"}}}},
        "multitier:app.release.env.DB_PASS: looks like a secret (PASS)",
    ),
    (
        "release-env-api-key",
        {"app": {"release": {"env": {"API_KEY": "k"}}}},
        "multitier:app.release.env.API_KEY: looks like a secret (KEY)",
    ),
    (
        "release-env-credentials",
        {"app": {"release": {"env": {"SMTP_CREDENTIALS": "c"}}}},
        "looks like a secret (CREDENTIAL)",
    ),
    (
        "production-not-a-boolean",
        {"production": "yes"},
        "multitier:production = 'yes': expected true",
    ),
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


def test_a_number_outside_a_choice_of_numbers_is_not_told_to_quote_it() -> None:
    run = mockrun.attempt("dev", {"multitier:database": {"monitoringIntervalSeconds": 7}})
    assert isinstance(run.error, ConfigError)
    assert "quote" not in str(run.error)


@pytest.mark.parametrize("written", ["60", 60])
def test_a_choice_of_numbers_takes_the_number_quoted_or_not(written: object) -> None:
    config = load_config({"database": {"monitoringIntervalSeconds": written}})
    assert config.database.monitoring_interval_seconds == 60


@pytest.mark.parametrize("name", ["LOG_LEVEL", "KEYCLOAK_URL", "PASSENGER_MAX", "AUTHOR"])
def test_names_that_only_hold_a_secret_word_inside_a_word_pass(name: str) -> None:
    load_config({"app": {"release": {"env": {name: "x"}}}})


BAD_STACK_FILES = [
    # (id, stack name, stack file text, text the message must contain): what only a stack file
    # or its name can hold, run through the program as `pulumi up` would run it.
    (
        "section-null",
        "dev",
        "config:\n  aws:region: eu-west-1\n  multitier:bastion: null\n",
        "multitier:bastion = null: expected a mapping of its keys (enabled, allowedCidrs, "
        "sshPort, instanceType, ami, keyName); an empty section would silently take every "
        "default (a bastion would be off)",
    ),
    (
        "section-empty",
        "dev",
        "config:\n  multitier:network:\n",
        "multitier:network = null: expected a mapping of its keys",
    ),
    (
        "config-misspelt",
        "dev",
        "confg:\n  multitier:app:\n    port: 8080\n",
        "top-level key 'confg' is not one Pulumi reads, and it would ignore what it holds; did "
        "you mean config? allowed: config, environment, encryptedkey, encryptionsalt, "
        "secretsprovider",
    ),
    (
        "stack-name-with-a-space",
        "my stack",
        "config:\n  aws:region: eu-west-1\n",
        "stack name 'my stack': Pulumi refuses it; allowed: 1 to 100 letters, digits, hyphens, "
        "underscores and periods",
    ),
    (
        "stack-name-too-long",
        "s" * 101,
        "config:\n  aws:region: eu-west-1\n",
        "Pulumi refuses it; allowed: 1 to 100",
    ),
    (
        "stack-name-with-a-slash",
        "team/dev",
        "config:\n  aws:region: eu-west-1\n",
        "stack name 'team/dev': Pulumi refuses it",
    ),
]


@pytest.mark.parametrize(
    ("stack", "text", "expected"),
    [c[1:] for c in BAD_STACK_FILES],
    ids=[c[0] for c in BAD_STACK_FILES],
)
def test_bad_stack_file_or_name_stops_the_program_before_any_resource(
    tmp_path: Path, stack: str, text: str, expected: str
) -> None:
    path = tmp_path / "Pulumi.stack.yaml"
    path.write_text(text)
    try:
        run = mockrun.attempt(stack, path=path)
    except ConfigError as error:  # what the stack file reader refuses before the program runs
        assert expected in str(error)
        return
    assert isinstance(run.error, ConfigError), f"expected a ConfigError, got {run.error!r}"
    assert expected in str(run.error)
    assert run.resources == []


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
        {"network": {"cidr": "10.0.0.0/23"}, "app": {"maxSize": 26}},
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
        LISTENER,
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
