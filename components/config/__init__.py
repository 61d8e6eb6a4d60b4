"""The stack config: one typed, validated model per component.

`load_config` is the only way in. It parses every `multitier:*` key at once and either returns a
`StackConfig` that downstream code trusts, or raises `ConfigError` whose message names each bad key,
the value found and what is allowed. Keys are camelCase, as Pulumi's own are; attributes are
snake_case.

The checks refuse what AWS would refuse ten minutes into `pulumi up`. Where AWS publishes a list a
program can read (botocore's regions), it is read; where it publishes only documentation, the list
is copied here with the page and the date it was read.

No `multitier:` key may be secret. Config values end up in user data, tags and the offline plan,
where anyone who can describe the launch template or read the plan sees them; secrets live in AWS
Secrets Manager (the database's and the cache's are created there, and the hosts read them by ARN).
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from ipaddress import IPv4Address, IPv4Network
from typing import Annotated, Any, Literal, Self, get_args

import botocore.session  # type: ignore[import-untyped]
import pulumi
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

NAMESPACE = "multitier"


class ConfigError(pulumi.RunError):
    """Bad stack config. A RunError, so `pulumi up` prints the message without a traceback."""


@dataclass(frozen=True)
class Allowed:
    """What a key allows, in words: the README's config reference shows it (tools/config_doc)."""

    text: str


# What AWS accepts

# The values CloudWatch Logs accepts for a log group's retention.
LOG_RETENTION_DAYS: tuple[int, ...] = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545)
LOG_RETENTION_DAYS += (731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)


@cache
def aws_regions() -> tuple[str, ...]:
    """The regions of the `aws` partition, from botocore's endpoint data (opt-in regions included).

    Only that partition: the program writes `arn:aws:` ARNs into its IAM policies, which aws-cn and
    aws-us-gov refuse, so a stack there would fail at its first policy.
    """
    session = botocore.session.get_session()
    return tuple(sorted(session.get_available_regions("ec2", partition_name="aws")))


# Each subnet is 1/16 of the VPC (components/network.py, carve), and an ALB's subnets must be /27 or
# larger with 8 free addresses (Elastic Load Balancing, "Application Load Balancers", subnets):
# a /24 VPC gives /28 subnets, so /23 is the smallest VPC that works.
SUBNET_BITS = 4
ALB_SUBNET_PREFIX = 27
VPC_PREFIXES = (16, ALB_SUBNET_PREFIX - SUBNET_BITS)
# Addresses AWS keeps in every subnet (the first four and the last): "Subnet CIDR blocks".
AWS_RESERVED_PER_SUBNET = 5
# Interface endpoints (ssm, ssmmessages, ec2messages) take one address in each private subnet.
SSM_ENDPOINTS = 3

DOCKER_BRIDGE = IPv4Network("172.17.0.0/16")
RFC1918 = (IPv4Network("10.0.0.0/8"), IPv4Network("172.16.0.0/12"), IPv4Network("192.168.0.0/16"))
# Ranges no VPC and no VIP may use, and why. Docker's default bridge is on every app host (it routes
# 172.17.0.0/16 to docker0), and the VPC guide ("VPC CIDR blocks") asks to keep VPCs off it too.
_SPECIAL_RANGES: tuple[tuple[IPv4Network, str], ...] = (
    (IPv4Network("0.0.0.0/8"), "'this network' (RFC 1122), not an address"),
    (IPv4Network("127.0.0.0/8"), "loopback"),
    (IPv4Network("169.254.0.0/16"), "link-local, where instance metadata and the Amazon DNS live"),
    (IPv4Network("224.0.0.0/4"), "multicast"),
    (IPv4Network("240.0.0.0/4"), "reserved (RFC 1112)"),
    (DOCKER_BRIDGE, "Docker's bridge network on the app hosts"),
)
# RFC 6598 shared address space: refused for the VIP, because EKS pods and carrier-grade NAT use it,
# so a network peered with this VPC may well route it elsewhere.
SHARED_ADDRESS_SPACE = IPv4Network("100.64.0.0/10")

# The ALB security policies and the oldest TLS version each accepts: AWS, "Security policies for
# your Application Load Balancer", https://docs.aws.amazon.com/elasticloadbalancing/latest/
# application/describe-ssl-policies.html, read 2026-12-01 from a stored copy (no network here; its
# "Protocols by policy" table cross-checked against two independent transcriptions of it;
# ELBSecurityPolicy-2015-05 is on the NLB page only). cfn-lint has no list to check against.
_ALB_POLICY_OLDEST_TLS: dict[str, str] = {
    "TLS13-1-3-2021-06": "1.3",
    "TLS13-1-3-PQ-2025-09": "1.3",
    "TLS13-1-2-2021-06": "1.2",
    "TLS13-1-2-PQ-2025-09": "1.2",
    "TLS13-1-2-Res-2021-06": "1.2",
    "TLS13-1-2-Res-PQ-2025-09": "1.2",
    "TLS13-1-2-Ext1-2021-06": "1.2",
    "TLS13-1-2-Ext1-PQ-2025-09": "1.2",
    "TLS13-1-2-Ext2-2021-06": "1.2",
    "TLS13-1-2-Ext2-PQ-2025-09": "1.2",
    "TLS13-1-1-2021-06": "1.1",
    "TLS13-1-0-2021-06": "1.0",
    "TLS13-1-0-PQ-2025-09": "1.0",
    "TLS13-1-3-FIPS-2023-04": "1.3",
    "TLS13-1-3-FIPS-PQ-2025-09": "1.3",
    "TLS13-1-2-FIPS-2023-04": "1.2",
    "TLS13-1-2-FIPS-PQ-2025-09": "1.2",
    "TLS13-1-2-Res-FIPS-2023-04": "1.2",
    "TLS13-1-2-Res-FIPS-PQ-2025-09": "1.2",
    "TLS13-1-2-Ext0-FIPS-2023-04": "1.2",
    "TLS13-1-2-Ext0-FIPS-PQ-2025-09": "1.2",
    "TLS13-1-2-Ext1-FIPS-2023-04": "1.2",
    "TLS13-1-2-Ext1-FIPS-PQ-2025-09": "1.2",
    "TLS13-1-2-Ext2-FIPS-2023-04": "1.2",
    "TLS13-1-2-Ext2-FIPS-PQ-2025-09": "1.2",
    "TLS13-1-1-FIPS-2023-04": "1.1",
    "TLS13-1-0-FIPS-2023-04": "1.0",
    "TLS13-1-0-FIPS-PQ-2025-09": "1.0",
    "TLS13-1-3-RFC9151-FIPS-2023-07": "1.3",
    "TLS13-1-2-RFC9151-FIPS-2023-07": "1.2",
    "TLS13-1-2-Ext0-RFC9151-FIPS-2023-07": "1.2",
    "TLS13-1-2-RFC9151-INTEROP1-FIPS-2023-07": "1.2",
    "TLS13-1-2-RFC9151-INTEROP2-FIPS-2023-07": "1.2",
    "TLS13-1-2-RFC9151-INTEROP3-FIPS-2023-07": "1.2",
    "TLS13-1-2-RFC9151-INTEROP4-FIPS-2023-07": "1.2",
    "FS-1-2-Res-2020-10": "1.2",
    "FS-1-2-Res-2019-08": "1.2",
    "FS-1-2-2019-08": "1.2",
    "FS-1-1-2019-08": "1.1",
    "FS-2018-06": "1.0",
    "TLS-1-2-Ext-2018-06": "1.2",
    "TLS-1-2-2017-01": "1.2",
    "TLS-1-1-2017-01": "1.1",
    "2016-08": "1.0",
}
ALB_POLICIES = {f"ELBSecurityPolicy-{name}": tls for name, tls in _ALB_POLICY_OLDEST_TLS.items()}
# The security policy (policy/rules.py, alb-modern-tls) wants TLS 1.2 or later only.
TLS_POLICIES = tuple(name for name, oldest in ALB_POLICIES.items() if oldest in ("1.2", "1.3"))

# ElastiCache node types for what AppFleet builds: a Redis OSS replication group, cluster mode
# disabled, encrypted in transit and at rest, Multi-AZ with automatic failover, daily snapshots.
# The current-generation types of the ElastiCache API reference (CacheNode,
# https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CacheNode.html, as in
# botocore 1.44.8's service model), read 2026-12-01; each supports all of the above (the reference's
# exceptions, no Multi-AZ failover or append-only file on T1/T2, are previous generation). Left
# out: T2 (ElastiCache creates no new T2 clusters: "Supported node types", a stored copy of
# https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/CacheNodes.SupportedTypes.html),
# cache.r6gd (needs data tiering, which AppFleet does not turn on) and cache.c7gn (not in the API
# reference's list). Value: the oldest Redis OSS version a type runs ("Supported node types":
# 6.2 for M7g and R7g, the same generation; 5.0.6 for Graviton 2; none for Intel types).
_SIZES_G = ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge")
_CACHE_FAMILIES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("t4g", ("micro", "small", "medium"), "5.0.6"),
    ("t3", ("micro", "small", "medium"), "0"),
    ("m7g", _SIZES_G, "6.2"),
    ("m6g", _SIZES_G, "5.0.6"),
    ("m5", ("large", "xlarge", "2xlarge", "4xlarge", "12xlarge", "24xlarge"), "0"),
    ("m4", ("large", "xlarge", "2xlarge", "4xlarge", "10xlarge"), "0"),
    ("r7g", _SIZES_G, "6.2"),
    ("r6g", _SIZES_G, "5.0.6"),
    ("r5", ("large", "xlarge", "2xlarge", "4xlarge", "12xlarge", "24xlarge"), "0"),
    ("r4", ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "16xlarge"), "0"),
)
CACHE_NODE_TYPES: dict[str, str] = {
    f"cache.{family}.{size}": oldest for family, sizes, oldest in _CACHE_FAMILIES for size in sizes
}
_CACHE_NODE_TYPES_TEXT = ", ".join(
    f"cache.{family}.{'|'.join(sizes)}" for family, sizes, _ in _CACHE_FAMILIES
)
# Redis OSS versions of node-based ElastiCache clusters ("Supported ElastiCache (Redis OSS)
# versions", https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/supported-engine-versions.html,
# read 2026-12-01 from a stored copy): 7.1, 7.0, 6.2, 6.0, 5.0.6 and 4.0.10. 4 and 5 left standard
# support on 31 January 2026 and run only under paid Extended Support, so they are left out.
CacheEngineVersion = Literal["6.0", "6.2", "7.0", "7.1"]
CACHE_ENGINE_VERSIONS: tuple[str, ...] = get_args(CacheEngineVersion)

# RDS for PostgreSQL majors under standard support: the RDS release calendar,
# https://docs.aws.amazon.com/AmazonRDS/latest/PostgreSQLReleaseNotes/postgresql-release-calendar.html,
# as read 2026-12-01 from stored copies (18 arrived on RDS with 18.1). 11 to 13 are past their RDS
# end of standard support (13 since February 2026): RDS still creates them, but only under paid
# Extended Support ("Overview of Amazon RDS Extended Support"). Recheck each February, when RDS
# retires a major. Only a bare major is accepted: RDS picks its current minor and
# auto_minor_version_upgrade keeps it current, while a pinned minor would drift the moment RDS
# upgrades it (Pulumi would then try a downgrade RDS refuses).
RDS_ENGINE_MAJORS = ("14", "15", "16", "17", "18")
RDS_EXTENDED_SUPPORT_MAJORS = ("11", "12", "13")
# The postgresqlNN packages of Amazon Linux 2023 the vip nodes install; dnf picks the minor.
VIP_ENGINE_VERSIONS = ("15", "16", "17")

# RDS master user names: 1 to 16 letters, digits or underscores, starting with a letter, not a
# reserved word (CreateDBInstance, MasterUsername). PostgreSQL's own limit is 63 (vip mode).
RDS_USERNAME_LENGTH = 16
PG_NAME_LENGTH = 63
# PostgreSQL's reserved key words (src/include/parser/kwlist.h, RESERVED_KEYWORD; system_user since
# 16), refused by RDS as a user or database name; the vip nodes quote names, RDS does not.
PG_RESERVED_WORDS = frozenset(
    """all analyse analyze and any array as asc asymmetric both case cast check collate column
    constraint create current_catalog current_date current_role current_time current_timestamp
    current_user default deferrable desc distinct do else end except false fetch for foreign from
    grant group having in initially intersect into lateral leading limit localtime localtimestamp
    not null offset on only or order placing primary references returning select session_user some
    symmetric system_user table then to trailing true union unique user using variadic when where
    window with""".split()  # noqa: SIM905 (a list to read, not to edit)
)
# Roles that exist already (RDS's) or that PostgreSQL keeps (public, none, and pg_* names).
TAKEN_ROLES = ("rdsadmin", "rdsrepladmin", "rds_superuser", "rds_replication", "public", "none")
# Databases every cluster has already: creating one of them fails.
_TAKEN_DATABASES = frozenset({"postgres", "template0", "template1", "rdsadmin"})

# The app environment names the program sets itself (components/app_fleet.py, user_data_document);
# tests/test_config.py holds the two lists together.
PROGRAM_ENV = frozenset(
    {
        "PORT",
        "AWS_REGION",
        "RELEASE_VERSION",
        "DB_HOST",
        "DB_PORT",
        "DB_SECRET_ARN",
        "CACHE_HOST",
        "CACHE_PORT",
        "CACHE_TLS",
        "CACHE_AUTH_SECRET_ARN",
        "BACKUP_DIR",
    }
)
SECRET_WORDS = ("PASSWORD", "SECRET", "TOKEN", "PRIVATE_KEY")
# The release environment's share of the 16 KB EC2 allows for user data, counted as JSON-escaped
# text (YAML escapes no more); the rest of the app hosts' user data takes under 4 KB.
ENV_BYTES = 8192
USER_DATA_BYTES = 16384
# EC2 tag values are at most 256 characters; these characters are accepted by every service.
TAG_VALUE_LENGTH = 256

_INSTANCE_TYPE = re.compile(r"[a-z][a-z0-9-]*\.[a-z0-9]+")
_DB_INSTANCE_CLASS = re.compile(r"db\.[a-z0-9-]+\.[a-z0-9]+")
_AMI_ID = re.compile(r"ami-[0-9a-f]{8}(?:[0-9a-f]{9})?")
_CERTIFICATE_ARN = re.compile(
    r"arn:aws:acm:(?P<region>[a-z0-9-]+):\d{12}:certificate/"
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)
# A container image reference (the distribution project's reference grammar): an optional
# registry (a host with a dot or a port, or localhost), lowercase path components, an optional
# tag and an optional sha256 digest.
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE = re.compile(
    r"(?P<name>(?:(?P<registry>localhost(?::\d+)?|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?::\d+)?"
    r"|[A-Za-z0-9-]+:\d+)/)?"
    rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
    r"(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?"
)
IMAGE_NAME_LENGTH = 255
_TAG_VALUE = re.compile(rf"[\w.:/=+@-]{{1,{TAG_VALUE_LENGTH}}}")
_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
_KEY_PAIR_NAME = re.compile(r"[\x20-\x7e]{1,255}")
_HEALTH_CHECK_PATH = re.compile(r"/[\x21-\x7e]{0,1023}")
_MOUNT_PATH = re.compile(r"/[A-Za-z0-9_./-]+")
_MATCHER = re.compile(r"\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*")
# An ALB target group's success codes lie between 200 and 499 (ELB, "Health checks", Matcher).
MATCHER_CODES = (200, 499)
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = r"([01]\d|2[0-3]):([0-5]\d)"
_DAY = rf"({'|'.join(_DAYS)})"
_BACKUP_WINDOW = re.compile(rf"{_TIME}-{_TIME}")
_MAINTENANCE_WINDOW = re.compile(rf"{_DAY}:{_TIME}-{_DAY}:{_TIME}")
_DAY_MINUTES, _WEEK_MINUTES = 24 * 60, 7 * 24 * 60
WINDOW_MINUTES = 30  # RDS: backup and maintenance windows last at least 30 minutes


# Checks of single values


def _log_retention(days: int) -> int:
    if days not in LOG_RETENTION_DAYS:
        allowed = ", ".join(map(str, LOG_RETENTION_DAYS))
        raise ValueError(f"not a CloudWatch Logs retention; allowed: {allowed}")
    return days


def _matches(pattern: re.Pattern[str], example: str) -> AfterValidator:
    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(f"expected a value like {example}")
        return value

    return AfterValidator(check)


def _admin_cidr(network: IPv4Network) -> IPv4Network:
    if network.prefixlen < 8:
        raise ValueError("SSH may not be open to the internet; give networks of /8 or narrower")
    return network


def _special_range(network: IPv4Network) -> str | None:
    return next((why for special, why in _SPECIAL_RANGES if network.overlaps(special)), None)


def _vpc_cidr(cidr: IPv4Network) -> IPv4Network:
    low, high = VPC_PREFIXES
    if cidr.prefixlen < low:
        raise ValueError(f"AWS allows VPCs of /16 to /28; allowed: /{low} to /{high}")
    if cidr.prefixlen > high:
        raise ValueError(
            f"a /{cidr.prefixlen} VPC gives /{cidr.prefixlen + SUBNET_BITS} subnets (each is "
            f"1/{2**SUBNET_BITS} of it), and a load balancer needs /{ALB_SUBNET_PREFIX} or "
            f"larger; the smallest VPC that works is /{high}; allowed: /{low} to /{high}"
        )
    special = _special_range(cidr)
    if special:
        raise ValueError(f"overlaps {special}; use a private (RFC 1918) range such as 10.0.0.0/16")
    return cidr


def _vip_address(address: IPv4Address) -> IPv4Address:
    network = IPv4Network(address)
    special = _special_range(network)
    why = special or (
        "shared address space (RFC 6598), which EKS pods and carrier-grade NAT use"
        if address in SHARED_ADDRESS_SPACE
        else None
    )
    if why is None and not any(address in private for private in RFC1918):
        why = "a public address"
    if why:
        raise ValueError(
            f"{why}; the VIP must be a private address (10.0.0.0/8, 172.16.0.0/12 or "
            f"192.168.0.0/16, not {DOCKER_BRIDGE}) outside the VPC"
        )
    return address


def _tls_policy(name: str) -> str:
    allowed = f"allowed (TLS 1.2 or later): {', '.join(TLS_POLICIES)}"
    if name in TLS_POLICIES:
        return name
    if name in ALB_POLICIES:
        raise ValueError(f"accepts TLS {ALB_POLICIES[name]}; {allowed}")
    raise ValueError(f"not an ALB security policy AWS documents; {allowed}")


def _cache_node_type(node_type: str) -> str:
    if node_type not in CACHE_NODE_TYPES:
        raise ValueError(
            "not a current-generation node type ElastiCache offers for an encrypted Multi-AZ "
            f"Redis OSS replication group; allowed: {_CACHE_NODE_TYPES_TEXT}"
        )
    return node_type


def _image(image: str) -> str:
    match = _IMAGE.fullmatch(image)
    if not match:
        raise ValueError(
            "expected a container image such as public.ecr.aws/nginx/nginx:1.27 or "
            "registry/name@sha256:<64 hex digits>; repository paths are lowercase"
        )
    if len(match["name"]) > IMAGE_NAME_LENGTH:
        raise ValueError(f"the image name is over {IMAGE_NAME_LENGTH} characters")
    return image


def _matcher(matcher: str) -> str:
    if not _MATCHER.fullmatch(matcher):
        raise ValueError("expected HTTP codes and ranges such as 200,202 or 200-399")
    low, high = MATCHER_CODES
    for part in matcher.split(","):
        first, _, last = part.partition("-")
        if not low <= int(first) <= int(last or first) <= high:
            raise ValueError(f"{part}: codes lie between {low} and {high}, ranges low-high")
    return matcher


def _env_name(name: str) -> str:
    if not _ENV_NAME.fullmatch(name):
        raise ValueError("environment names are UPPER_SNAKE_CASE")
    if name in PROGRAM_ENV:
        raise ValueError(
            f"the program sets {name} itself; names it sets: {', '.join(sorted(PROGRAM_ENV))}"
        )
    word = next((w for w in SECRET_WORDS if w in name), None)
    if word:
        raise ValueError(
            f"looks like a secret ({word}): user data is readable by anyone who can describe the "
            "launch template; keep secrets in AWS Secrets Manager and have the app read them there"
        )
    return name


def _env_value(value: str) -> str:
    if any(c in value for c in "\n\r\0"):
        raise ValueError("values are one line: docker --env-file reads one NAME=value per line")
    return value


def _env(env: dict[str, str]) -> dict[str, str]:
    size = sum(len(json.dumps(k)) + len(json.dumps(v)) for k, v in env.items())
    if size > ENV_BYTES:
        raise ValueError(
            f"the environment takes {size} bytes of user data; at most {ENV_BYTES} (EC2 user data "
            f"holds {USER_DATA_BYTES // 1024} KB in all)"
        )
    return env


def _minutes(hours: str, minutes: str) -> int:
    return int(hours) * 60 + int(minutes)


def _backup_span(window: str) -> tuple[int, int]:
    """(start, length) in minutes of the day."""
    match = _BACKUP_WINDOW.fullmatch(window)
    if not match:
        raise ValueError("expected hh24:mi-hh24:mi in UTC with valid times, such as 02:00-03:00")
    start, end = _minutes(*match.group(1, 2)), _minutes(*match.group(3, 4))
    return start, (end - start) % _DAY_MINUTES


def _maintenance_span(window: str) -> tuple[int, int]:
    """(start, length) in minutes of the week, Monday 00:00 first."""
    match = _MAINTENANCE_WINDOW.fullmatch(window)
    if not match:
        raise ValueError(
            "expected ddd:hh24:mi-ddd:hh24:mi in UTC with valid days (mon to sun) and times, "
            "such as sun:03:30-sun:04:30"
        )
    start = _DAYS.index(match[1]) * _DAY_MINUTES + _minutes(*match.group(2, 3))
    end = _DAYS.index(match[4]) * _DAY_MINUTES + _minutes(*match.group(5, 6))
    return start, (end - start) % _WEEK_MINUTES


def _long_enough(span: Callable[[str], tuple[int, int]]) -> AfterValidator:
    def check(window: str) -> str:
        _, length = span(window)
        if length < WINDOW_MINUTES:
            raise ValueError(
                f"the window lasts {length} minutes; RDS needs at least {WINDOW_MINUTES}"
            )
        return window

    return AfterValidator(check)


def _overlap(backup: str, maintenance: str) -> str | None:
    """The day and time (UTC) where the daily backup window meets the weekly maintenance window."""
    b_start, b_length = _backup_span(backup)
    m_start, m_length = _maintenance_span(maintenance)
    for day in range(-1, 7):  # yesterday's window may run into Monday
        start = day * _DAY_MINUTES + b_start
        for shift in (-_WEEK_MINUTES, 0, _WEEK_MINUTES):  # the maintenance window may wrap the week
            low = max(start, m_start + shift)
            high = min(start + b_length, m_start + m_length + shift)
            if low < high:
                minute = low % _WEEK_MINUTES
                when = divmod(minute % _DAY_MINUTES, 60)
                return f"{_DAYS[minute // _DAY_MINUTES]} {when[0]:02d}:{when[1]:02d}"
    return None


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


LogRetention = Annotated[
    int, AfterValidator(_log_retention), Allowed("a CloudWatch Logs retention: 1, 3, 5, ... 3653")
]
Port = Annotated[int, Field(ge=1, le=65535)]
InstanceType = Annotated[
    str, _matches(_INSTANCE_TYPE, "t3.micro"), Allowed("an EC2 instance type, like t3.micro")
]
AmiId = Annotated[
    str, _matches(_AMI_ID, "ami-0123456789abcdef0"), Allowed("ami- and 8 or 17 hex digits")
]
AdminCidr = Annotated[IPv4Network, AfterValidator(_admin_cidr), Allowed("/8 or narrower")]
CertificateArn = Annotated[
    str,
    _matches(_CERTIFICATE_ARN, "arn:aws:acm:eu-west-1:123456789012:certificate/<uuid>"),
    Allowed("an ACM certificate ARN in the stack's aws:region"),
]
VpcCidr = Annotated[
    IPv4Network,
    AfterValidator(_vpc_cidr),
    Allowed(
        f"/{VPC_PREFIXES[0]} to /{VPC_PREFIXES[1]}; not {DOCKER_BRIDGE} (Docker's bridge), "
        "loopback, link-local, multicast or reserved"
    ),
]
VipAddress = Annotated[
    IPv4Address,
    AfterValidator(_vip_address),
    Allowed(f"RFC 1918 (not 100.64.0.0/10, not {DOCKER_BRIDGE}), outside the VPC (vip mode)"),
]
TlsPolicy = Annotated[
    str,
    AfterValidator(_tls_policy),
    Allowed(
        "a TLS 1.2+ ALB security policy, ELBSecurityPolicy- and: "
        + ", ".join(name.removeprefix("ELBSecurityPolicy-") for name in TLS_POLICIES)
    ),
]
CacheNodeType = Annotated[
    str, AfterValidator(_cache_node_type), Allowed(f"one of {_CACHE_NODE_TYPES_TEXT}")
]
Image = Annotated[
    str,
    AfterValidator(_image),
    Allowed(f"registry/name:tag or registry/name@sha256:digest; name up to {IMAGE_NAME_LENGTH}"),
]
TagValue = Annotated[
    str,
    _matches(_TAG_VALUE, "1.27 (1 to 256 letters, digits and _ . : / = + - @)"),
    Allowed(f"1 to {TAG_VALUE_LENGTH} letters, digits and _ . : / = + - @"),
]
EnvName = Annotated[str, AfterValidator(_env_name)]
EnvValue = Annotated[str, AfterValidator(_env_value)]
Environment = Annotated[
    dict[EnvName, EnvValue],
    AfterValidator(_env),
    Allowed(
        f"UPPER_SNAKE_CASE names, one-line values, {ENV_BYTES} bytes in all; not the names the "
        f"program sets ({', '.join(sorted(PROGRAM_ENV))}), nor names with "
        f"{', '.join(SECRET_WORDS)} (secrets belong in Secrets Manager)"
    ),
]
KeyPairName = Annotated[
    str,
    _matches(_KEY_PAIR_NAME, "my-key (1 to 255 printable ASCII characters)"),
    Allowed("1 to 255 printable ASCII characters"),
]
HealthCheckPath = Annotated[
    str,
    _matches(_HEALTH_CHECK_PATH, "/health (a path up to 1024 characters, no spaces)"),
    Allowed("starts with /, up to 1024 printable ASCII characters, no spaces"),
]
BackupWindow = Annotated[
    str,
    _long_enough(_backup_span),
    Allowed("hh24:mi-hh24:mi (UTC), 30 minutes or more, apart from maintenanceWindow"),
]
MaintenanceWindow = Annotated[
    str,
    _long_enough(_maintenance_span),
    Allowed("ddd:hh24:mi-ddd:hh24:mi (UTC), 30 minutes or more, apart from backupWindow"),
]


class _Model(BaseModel):
    """Common settings: camelCase keys, unknown keys refused, values frozen once parsed."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        extra="forbid",
        frozen=True,
    )


class VpcEndpoints(_Model):
    s3: bool = Field(True, description="S3 gateway endpoint on the private and data route tables.")
    ssm: bool = Field(False, description="SSM, SSM messages and EC2 messages interface endpoints.")


class NetworkConfig(_Model):
    """`multitier:network`"""

    cidr: VpcCidr = Field(
        IPv4Network("10.0.0.0/16"), description="VPC IPv4 CIDR; each subnet gets 1/16 of it."
    )
    az_count: int = Field(2, ge=2, le=3, description="Availability zones to spread over.")
    nat_mode: Literal["none", "instance", "single", "per_az"] = Field(
        "single",
        description="Egress for the private tiers: none, one NAT instance, one NAT gateway, "
        "or a NAT gateway per AZ.",
    )
    nat_instance_type: InstanceType = Field(
        "t3.micro", description="Instance type when natMode is instance."
    )
    data_egress: bool = Field(
        False, description="Let the data tier reach the internet through NAT (for patches)."
    )
    ipv6: bool = Field(
        False,
        description="Give the VPC an IPv6 block; private tiers egress via an egress-only IGW.",
    )
    flow_log_retention_days: LogRetention | None = Field(
        None, description="Flow log retention; default observability.logRetentionDays."
    )
    endpoints: VpcEndpoints = Field(
        default_factory=VpcEndpoints, description="VPC endpoints: `{s3, ssm}` booleans."
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.data_egress and self.nat_mode == "none":
            raise ValueError("dataEgress needs a NAT; set natMode to instance, single or per_az")
        return self


class BastionConfig(_Model):
    """`multitier:bastion`"""

    enabled: bool = Field(
        False, description="Build the bastion (SSM Session Manager works without it)."
    )
    allowed_cidrs: list[AdminCidr] = Field(
        default_factory=list, description="IPv4 networks allowed to SSH in."
    )
    ssh_port: Port = Field(2222, description="The port sshd listens on.")
    instance_type: InstanceType = Field("t3.micro", description="Bastion instance type.")
    ami: AmiId | None = Field(None, description="AMI id; default: latest Amazon Linux 2023.")
    key_name: KeyPairName | None = Field(
        None, description="EC2 key pair for SSH; none means SSM only."
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.enabled and not self.allowed_cidrs:
            raise ValueError("allowedCidrs must list at least one network when enabled is true")
        return self


class Release(_Model):
    """What the app tier runs; promoting a release copies this value between stack files."""

    image: Image = Field(
        "public.ecr.aws/nginx/nginx:1.27", description="Container image the app hosts run."
    )
    version: TagValue = Field("1.27", description="Release version, tagged on instances.")
    env: Environment = Field(
        default_factory=dict,
        description="Extra container environment; no secrets (use Secrets Manager).",
    )


class HealthCheck(_Model):
    matcher: Annotated[
        str,
        AfterValidator(_matcher),
        Allowed("codes and ranges from 200 to 499, such as 200,202 or 200-399"),
    ] = Field("200-399", description="HTTP codes that mean healthy.")
    healthy_threshold: int = Field(3, ge=2, le=10, description="Successes before healthy.")
    unhealthy_threshold: int = Field(3, ge=2, le=10, description="Failures before unhealthy.")
    interval_seconds: int = Field(15, ge=5, le=300, description="Seconds between checks.")
    timeout_seconds: int = Field(5, ge=2, le=120, description="Seconds before a check fails.")

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.timeout_seconds >= self.interval_seconds:
            raise ValueError(
                f"healthCheck.timeoutSeconds ({self.timeout_seconds}) must be less than "
                f"intervalSeconds ({self.interval_seconds})"
            )
        return self


class LoadBalancerConfig(_Model):
    deletion_protection: bool = Field(False, description="Refuse to delete the ALB.")
    access_logs: bool = Field(False, description="ALB access logs to an encrypted private bucket.")
    access_log_retention_days: int = Field(90, ge=1, description="Days access logs are kept.")
    idle_timeout_seconds: int = Field(60, ge=1, le=4000, description="ALB idle timeout.")
    ssl_policy: TlsPolicy = Field(
        "ELBSecurityPolicy-TLS13-1-2-2021-06", description="TLS policy of the HTTPS listener."
    )


class ScalingConfig(_Model):
    policy: Literal["target_tracking", "step"] = Field(
        "target_tracking",
        description="target_tracking on average CPU, or the seed's step alarms (up/down).",
    )
    cpu_target: float = Field(50, gt=0, lt=100, description="Target average CPU % (tracking).")
    scale_up_cpu: float = Field(60, gt=0, lt=100, description="Step: add one above this CPU %.")
    scale_down_cpu: float = Field(40, gt=0, lt=100, description="Step: remove one below this.")

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.scale_down_cpu >= self.scale_up_cpu:
            raise ValueError(
                f"scaling.scaleDownCpu ({self.scale_down_cpu}) must be below "
                f"scaleUpCpu ({self.scale_up_cpu})"
            )
        return self


class InstanceRefreshConfig(_Model):
    min_healthy_percentage: int = Field(
        100, ge=0, le=100, description="Capacity kept in service while a release rolls out."
    )
    max_healthy_percentage: int = Field(
        200, ge=100, le=200, description="Capacity allowed during a roll-out (>100 = surge)."
    )
    warmup_seconds: int = Field(120, ge=0, description="Seconds a new instance needs to warm up.")

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.max_healthy_percentage - self.min_healthy_percentage > 100:
            raise ValueError(
                "instanceRefresh.maxHealthyPercentage may exceed minHealthyPercentage by 100 at "
                "most"
            )
        if self.min_healthy_percentage == self.max_healthy_percentage:
            raise ValueError(
                "instanceRefresh: minHealthyPercentage and maxHealthyPercentage must differ, "
                "or no instance can be replaced"
            )
        return self


class CacheConfig(_Model):
    enabled: bool = Field(False, description="ElastiCache Redis for state sync between app nodes.")
    node_type: CacheNodeType = Field("cache.t4g.micro", description="Node type.")
    node_count: int = Field(
        2, ge=1, le=6, description="Nodes; more than 1 gives Multi-AZ failover."
    )
    engine_version: CacheEngineVersion = Field("7.1", description="Redis OSS version.")

    @model_validator(mode="after")
    def _check(self) -> Self:
        oldest = CACHE_NODE_TYPES[self.node_type]
        if _version(self.engine_version) < _version(oldest):
            raise ValueError(
                f"cache.nodeType {self.node_type} runs Redis OSS {oldest} or later; "
                f"engineVersion is {self.engine_version}"
            )
        return self


class EfsConfig(_Model):
    enabled: bool = Field(False, description="Encrypted EFS for the app's backups directory.")
    mount_path: Annotated[
        str,
        _matches(_MOUNT_PATH, "/var/backups/app"),
        Allowed("an absolute path of letters, digits and _ . / -"),
    ] = Field("/var/backups/app", description="Where hosts mount it.")


class AppConfig(_Model):
    """`multitier:app`"""

    release: Release = Field(default_factory=Release)
    port: Port = Field(80, description="Port the app listens on (the container uses host network).")
    protocol: Literal["HTTP", "HTTPS"] = Field("HTTP", description="ALB-to-instance protocol.")
    health_check_path: HealthCheckPath = Field("/", description="Target group health-check path.")
    health_check: HealthCheck = Field(default_factory=HealthCheck)
    instance_type: InstanceType = Field("t3.small", description="App instance type.")
    ami: AmiId | None = Field(None, description="AMI id; default: latest Amazon Linux 2023.")
    root_volume_gb: int = Field(20, ge=8, le=1024, description="Root volume size (gp3).")
    min_size: int = Field(2, ge=0, description="ASG minimum size.")
    max_size: int = Field(4, ge=1, description="ASG maximum size.")
    desired_capacity: int | None = Field(
        None,
        ge=0,
        description="ASG desired size when the group is created (default `minSize`); "
        "afterwards the scaling policies own it.",
    )
    health_check_grace_seconds: int = Field(
        300, ge=0, description="Seconds before ELB health counts for a new instance."
    )
    sticky_sessions: bool = Field(True, description="Load-balancer cookie stickiness.")
    stickiness_seconds: int = Field(86400, ge=1, le=604800, description="Stickiness duration.")
    deregistration_delay_seconds: int = Field(
        30, ge=0, le=3600, description="Connection draining before deregistration."
    )
    certificate_arn: CertificateArn | None = Field(
        None, description="ACM certificate; enables HTTPS and the HTTP redirect."
    )
    load_balancer: LoadBalancerConfig = Field(default_factory=LoadBalancerConfig)
    scaling: ScalingConfig = Field(default_factory=ScalingConfig)
    instance_refresh: InstanceRefreshConfig = Field(default_factory=InstanceRefreshConfig)
    cache: CacheConfig = Field(default_factory=CacheConfig)
    efs: EfsConfig = Field(default_factory=EfsConfig)

    @field_validator("certificate_arn")
    @classmethod
    def _certificate_in_region(cls, arn: str | None, info: ValidationInfo) -> str | None:
        region = (info.context or {}).get("region")
        match = _CERTIFICATE_ARN.fullmatch(arn or "")
        if match and region and match["region"] != region:
            raise ValueError(
                f"the certificate is in {match['region']}, the stack in {region} (aws:region); "
                f"a load balancer takes certificates from its own region: use one in {region}"
            )
        return arn

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.min_size > self.max_size:
            raise ValueError(f"minSize ({self.min_size}) must not exceed maxSize ({self.max_size})")
        desired = self.desired_capacity
        if desired is not None and not self.min_size <= desired <= self.max_size:
            raise ValueError(
                f"desiredCapacity ({desired}) must lie between minSize ({self.min_size}) "
                f"and maxSize ({self.max_size})"
            )
        return self


class VipConfig(_Model):
    address: VipAddress = Field(IPv4Address("10.10.10.10"), description="Virtual IP.")
    node_count: int = Field(2, ge=2, le=5, description="PostgreSQL nodes in the cluster.")
    instance_type: InstanceType = Field("t3.medium", description="Node instance type.")
    ami: AmiId | None = Field(None, description="Node AMI id; default: latest Amazon Linux 2023.")
    check_every_minutes: int = Field(
        1, ge=1, le=60, description="Backstop schedule of the failover Lambda, in minutes."
    )
    reserve_concurrency: bool = Field(
        False,
        description="Also reserve one unit of concurrency for the failover Lambda (needs 101 "
        "unreserved in the account's quota; a DynamoDB lease serialises it either way).",
    )


class DatabaseConfig(_Model):
    """`multitier:database`"""

    mode: Literal["managed", "vip"] = Field(
        "managed", description="managed = RDS; vip = self-hosted cluster behind a virtual IP."
    )
    engine_version: Annotated[
        str,
        Allowed(
            f"a major: managed {', '.join(RDS_ENGINE_MAJORS)}; vip {', '.join(VIP_ENGINE_VERSIONS)}"
        ),
    ] = Field("16", description="PostgreSQL version.")
    database_name: Annotated[
        str,
        Allowed(
            "lowercase letter, then lowercase letters, digits, _; up to 63; not a reserved word "
            "or postgres, template0, template1, rdsadmin"
        ),
    ] = Field("app", description="Database created for the app.")
    username: Annotated[
        str,
        Allowed(
            f"lowercase letter, then lowercase letters, digits, _; up to {RDS_USERNAME_LENGTH} "
            f"(managed) or {PG_NAME_LENGTH} (vip); not a reserved word or an RDS or pg_ role"
        ),
    ] = Field("app_admin", description="Master user name.")
    instance_class: Annotated[
        str,
        _matches(_DB_INSTANCE_CLASS, "db.t4g.medium"),
        Allowed("an RDS instance class, like db.t4g.medium"),
    ] = Field("db.t4g.medium", description="RDS instance class (managed mode).")
    multi_az: bool = Field(False, description="RDS Multi-AZ standby (managed mode).")
    allocated_storage_gb: int = Field(20, ge=20, le=65536, description="Initial gp3 storage.")
    max_allocated_storage_gb: int = Field(
        100, ge=20, le=65536, description="Storage autoscaling ceiling."
    )
    backup_retention_days: int = Field(7, ge=1, le=35, description="Automated backup retention.")
    backup_window: BackupWindow = Field("02:00-03:00", description="Daily backup window (UTC).")
    maintenance_window: MaintenanceWindow = Field(
        "sun:03:30-sun:04:30", description="Weekly maintenance window (UTC)."
    )
    deletion_protection: bool = Field(False, description="Refuse to delete the database.")
    final_snapshot: bool = Field(False, description="Take a final snapshot on deletion.")
    performance_insights: bool = Field(True, description="Performance Insights (7 days, free).")
    monitoring_interval_seconds: Literal[0, 1, 5, 10, 15, 30, 60] = Field(
        60, description="Enhanced monitoring interval; 0 turns it off."
    )
    read_replicas: int = Field(0, ge=0, le=5, description="RDS read replicas (managed mode).")
    apply_immediately: bool = Field(
        True,
        description="Apply RDS changes (class, storage, engine version) when `pulumi up` runs; "
        "false defers them to the maintenance window, and `pulumi up` shows them again until "
        "then (a major upgrade then fails: RUNBOOKS.md).",
    )
    vip: VipConfig = Field(default_factory=VipConfig)

    @field_validator("engine_version")
    @classmethod
    def _engine_version(cls, version: str, info: ValidationInfo) -> str:
        mode = info.data.get("mode")
        major, dot, minor = version.partition(".")
        allowed = f"allowed: {', '.join(RDS_ENGINE_MAJORS)}"
        if not major.isdigit() or (dot and not minor.isdigit()):
            raise ValueError(f"expected a PostgreSQL major version; {allowed}")
        if dot and mode != "vip":
            raise ValueError(
                f"give the major only ({major}): RDS picks its current minor and applies newer "
                "ones itself (autoMinorVersionUpgrade); a pinned minor drifts as soon as RDS "
                "upgrades it"
            )
        if mode == "vip" and version not in VIP_ENGINE_VERSIONS:
            raise ValueError(
                "vip mode installs a major version Amazon Linux 2023 packages (dnf picks the "
                f"minor); allowed: {', '.join(VIP_ENGINE_VERSIONS)}"
            )
        if mode == "managed" and major in RDS_EXTENDED_SUPPORT_MAJORS:
            raise ValueError(
                f"PostgreSQL {major} is past its RDS end of standard support: RDS runs it only "
                f"under paid Extended Support; {allowed}"
            )
        if mode == "managed" and major not in RDS_ENGINE_MAJORS:
            raise ValueError(f"not a PostgreSQL major RDS offers; {allowed}")
        return version

    @field_validator("database_name")
    @classmethod
    def _database_name(cls, name: str) -> str:
        _pg_name(name, PG_NAME_LENGTH, "PostgreSQL names are at most")
        if name in _TAKEN_DATABASES:
            raise ValueError(
                f"every cluster has a {name} database already; allowed: any other name"
            )
        return name

    @field_validator("username")
    @classmethod
    def _username(cls, name: str, info: ValidationInfo) -> str:
        if info.data.get("mode") == "managed":
            _pg_name(name, RDS_USERNAME_LENGTH, "RDS master user names are at most")
        else:
            _pg_name(name, PG_NAME_LENGTH, "PostgreSQL names are at most")
        if name in TAKEN_ROLES or name.startswith("pg_"):
            raise ValueError(
                f"a role PostgreSQL or RDS keeps for itself ({', '.join(TAKEN_ROLES)}, pg_*)"
            )
        return name

    @model_validator(mode="after")
    def _check(self) -> Self:
        # RDS refuses a ceiling less than 10 % above the allocated storage ("Invalid max storage
        # size"): https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_PIOPS.Autoscaling.html
        least = -(-self.allocated_storage_gb * 11 // 10)  # 110 %, rounded up
        if self.max_allocated_storage_gb < least:
            raise ValueError(
                f"maxAllocatedStorageGb ({self.max_allocated_storage_gb}) must be at least "
                f"{least}, 10 % above allocatedStorageGb ({self.allocated_storage_gb}), for RDS "
                "storage autoscaling"
            )
        meeting = _overlap(self.backup_window, self.maintenance_window)
        if meeting and self.mode == "managed":
            raise ValueError(
                f"backupWindow {self.backup_window} overlaps maintenanceWindow "
                f"{self.maintenance_window} (from {meeting} UTC); RDS needs them apart"
            )
        return self

    @property
    def major_version(self) -> str:
        return self.engine_version.split(".")[0]


def _pg_name(name: str, limit: int, what: str) -> None:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ValueError("expected a lowercase letter, then lowercase letters, digits or _")
    if len(name) > limit:
        raise ValueError(f"{len(name)} characters; {what} {limit}")
    if name in PG_RESERVED_WORDS:
        raise ValueError("a PostgreSQL reserved word, which RDS refuses as a name")


class LogRetentionOverrides(_Model):
    app: LogRetention | None = Field(None, description="App host logs; default logRetentionDays.")
    database: LogRetention | None = Field(
        None, description="RDS log exports and the failover Lambda; default logRetentionDays."
    )


class AlarmThresholds(_Model):
    """When an alarm fires. Periods are one minute unless the key says otherwise."""

    alb_5xx_per_minute: int = Field(10, ge=1, description="ALB or target 5xx responses.")
    p95_latency_seconds: float = Field(1.0, gt=0, description="p95 target response time.")
    app_cpu_percent: float = Field(85, gt=0, le=100, description="App group average CPU.")
    db_cpu_percent: float = Field(80, gt=0, le=100, description="RDS CPU.")
    db_free_storage_gb: float = Field(5, gt=0, description="RDS free storage below this.")
    db_free_memory_mb: float = Field(256, gt=0, description="RDS freeable memory below this.")
    db_connections: int = Field(200, ge=1, description="RDS connections above this.")
    replica_lag_seconds: float = Field(60, gt=0, description="RDS replica lag above this.")
    efs_io_limit_percent: float = Field(90, gt=0, le=100, description="VIP data EFS IO limit.")
    cache_cpu_percent: float = Field(75, gt=0, le=100, description="Redis engine CPU.")
    cache_memory_percent: float = Field(80, gt=0, le=100, description="Redis memory used.")
    cache_evictions_per_minute: int = Field(100, ge=1, description="Redis evictions.")
    evaluation_minutes: int = Field(5, ge=1, le=60, description="Minutes a condition must last.")


class ObservabilityConfig(_Model):
    """`multitier:observability`"""

    alarm_emails: list[EmailStr] = Field(
        default_factory=list, description="Addresses subscribed to the alert topic."
    )
    log_retention_days: LogRetention = Field(
        30, description="Retention of every log group, unless overridden."
    )
    log_retention: LogRetentionOverrides = Field(default_factory=LogRetentionOverrides)
    thresholds: AlarmThresholds = Field(default_factory=AlarmThresholds)

    def retention(self, group: Literal["app", "database"]) -> int:
        override: int | None = getattr(self.log_retention, group)
        return override or self.log_retention_days


class StackConfig(_Model):
    """Every `multitier:*` key of one stack."""

    network: NetworkConfig = Field(default_factory=NetworkConfig)
    bastion: BastionConfig = Field(default_factory=BastionConfig)
    app: AppConfig = Field(default_factory=AppConfig)
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    observability: ObservabilityConfig = Field(default_factory=ObservabilityConfig)

    @property
    def flow_log_retention_days(self) -> int:
        return self.network.flow_log_retention_days or self.observability.log_retention_days

    @model_validator(mode="after")
    def _vip_outside_vpc(self) -> Self:
        address = self.database.vip.address
        if self.database.mode == "vip" and address in self.network.cidr:
            raise ValueError(
                f"database.vip.address {address} lies inside the VPC CIDR {self.network.cidr}; "
                "the VIP must be an address outside it"
            )
        if self.database.mode == "vip" and not self.network.data_egress:
            raise ValueError(
                "database.mode vip needs network.dataEgress: true; the nodes install PostgreSQL "
                "and read their secret from Secrets Manager through NAT"
            )
        return self

    @model_validator(mode="after")
    def _app_fits_its_subnets(self) -> Self:
        network, app = self.network, self.app
        subnet_prefix = network.cidr.prefixlen + SUBNET_BITS
        per_subnet = 2 ** (32 - subnet_prefix) - AWS_RESERVED_PER_SUBNET
        per_subnet -= SSM_ENDPOINTS if network.endpoints.ssm else 0
        room = network.az_count * per_subnet
        surge = app.instance_refresh.max_healthy_percentage
        peak = math.ceil(app.max_size * surge / 100)
        if peak > room:
            raise ValueError(
                f"app.maxSize {app.max_size}: a roll-out may run {peak} instances "
                f"(instanceRefresh.maxHealthyPercentage {surge}), but the private subnets hold "
                f"{room} ({network.az_count} x /{subnet_prefix} of network.cidr "
                f"{network.cidr}); lower maxSize or widen the VPC"
            )
        return self


SECTIONS = tuple(StackConfig.model_fields)


def load_config(raw: Mapping[str, Any], region: str | None = None) -> StackConfig:
    """Validate the `multitier:*` config values (keyed by section name, e.g. `network`) of a stack
    in `region` (`aws:region`; None when unknown, which skips the checks that need it)."""
    problems = []
    if region is not None and region not in aws_regions():
        problems.append(_region_problem(region))
        region = None
    sections = {key: value for key, value in raw.items() if value is not None}
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        keys = ", ".join(f"{NAMESPACE}:{key}" for key in unknown)
        allowed = ", ".join(f"{NAMESPACE}:{key}" for key in SECTIONS)
        problems.append(f"{keys}: unknown key; allowed: {allowed}")
    shapeless = [
        _not_a_mapping(key, value)
        for key, value in sections.items()
        if key in SECTIONS and not isinstance(value, Mapping)
    ]
    if unknown or shapeless:
        raise _error(problems + shapeless)
    try:
        config = StackConfig.model_validate(sections, context={"region": region})
    except ValidationError as error:
        raise _error(problems + [_describe(e) for e in error.errors()]) from None
    if problems:
        raise _error(problems)
    return config


def from_pulumi() -> StackConfig:
    """Read and validate this stack's `multitier:*` config through the Pulumi SDK."""
    # The SDK has no public way to list config keys; listing them is what lets a misspelt
    # section name fail instead of being silently ignored.
    present = {**pulumi.runtime.get_config_env(), **pulumi.runtime.config.CONFIG.get()}
    prefix = f"{NAMESPACE}:"
    keys = [key for key in present if key.startswith(prefix)]
    secret = set(pulumi.runtime.get_config_secret_keys_env())
    secrets = [key for key in keys if key in secret or pulumi.runtime.is_config_secret(key)]
    if secrets:
        raise _error([f"{key}: {SECRET_REFUSED}" for key in secrets])
    config = pulumi.Config(NAMESPACE)
    raw = {key.removeprefix(prefix): _decoded(config.get(key.removeprefix(prefix))) for key in keys}
    return load_config(raw, region=stack_region())


SECRET_REFUSED = (
    "holds a secret (secure:) value; no multitier: key may be secret: config reaches user data, "
    "tags and the plan, which others can read; keep secrets in AWS Secrets Manager"
)


def stack_region() -> str | None:
    """The region the AWS provider deploys to: `aws:region`, else the environment's."""
    configured = pulumi.Config("aws").get("region")
    if configured is not None:
        return configured
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")


def _decoded(text: str | None) -> Any:
    """A value as the CLI hands it over: structured values as JSON, plain strings as they are."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _error(problems: Iterable[str]) -> ConfigError:
    return ConfigError("Invalid stack config:\n" + "\n".join(f"  {p}" for p in problems))


def _region_problem(region: str) -> str:
    regions = aws_regions()
    guess = difflib.get_close_matches(region, regions, n=1)
    hint = f"did you mean {guess[0]}? " if guess else ""
    return (
        f"aws:region = {region!r}: not a region of the aws partition (botocore's endpoint "
        f"data); {hint}allowed: {', '.join(regions)}"
    )


def _not_a_mapping(section: str, value: Any) -> str:
    model: type[BaseModel] = StackConfig.model_fields[section].annotation  # type: ignore[assignment]
    keys = ", ".join(f.alias or name for name, f in model.model_fields.items())
    kind = {str: "a string", list: "a list", bool: "true or false"}.get(type(value), "a number")
    return f"{NAMESPACE}:{section} = {value!r}: expected a mapping of its keys ({keys}), not {kind}"


_FRIENDLIER = {
    "ip_v4_network": "expected an IPv4 network such as 10.0.0.0/16, with no host bits set",
    "ip_v4_address": "expected an IPv4 address such as 10.10.10.10",
}


def _describe(error: Any) -> str:
    """One line for one pydantic error: `multitier:section.key = value: what is allowed`."""
    loc = [str(part) for part in error["loc"]]
    message = _FRIENDLIER.get(error["type"], str(error["msg"]).removeprefix("Value error, "))
    value = error["input"]
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    if error["type"] in ("string_type", "literal_error") and numeric:
        message += f" (YAML reads {value} as a number: quote it)"
    if not loc:  # a cross-section check; its message names its keys
        return f"{NAMESPACE}:{message}"
    section, path = loc[0], loc[1:]
    names_a_key = path[-1:] == ["[key]"]  # a dict's key is the bad value, e.g. an env name
    path = path[:-1] if names_a_key else path
    key = f"{NAMESPACE}:{section}" + "".join(f".{p}" if not p.isdigit() else f"[{p}]" for p in path)
    if error["type"] == "extra_forbidden":
        model = _model_at(section, path[:-1])
        allowed = ", ".join(f.alias or name for name, f in model.model_fields.items())
        return f"{key}: unknown key; allowed keys: {allowed}"
    if names_a_key or (error["type"] == "value_error" and isinstance(value, Mapping)):
        return f"{key}: {message}"  # the key says it all; a whole mapping is no help to print
    return f"{key} = {value!r}: {message}"


def _model_at(section: str, path: list[str]) -> type[BaseModel]:
    model: type[BaseModel] = StackConfig.model_fields[section].annotation  # type: ignore[assignment]
    for part in path:
        by_alias = {f.alias: f for f in model.model_fields.values()}
        model = by_alias[part].annotation  # type: ignore[assignment]
    return model
