"""The stack config: one typed, validated model per component.

`load_config` is the only way in. It parses every `multitier:*` key at once and either returns a
`StackConfig` that downstream code trusts, or raises `ConfigError` whose message names each bad key,
the value found and what is allowed. Keys are camelCase, as Pulumi's own are; attributes are
snake_case.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from ipaddress import IPv4Address, IPv4Network
from typing import Annotated, Any, Literal, Self

import pulumi
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel

NAMESPACE = "multitier"

# The values CloudWatch Logs accepts for a log group's retention.
LOG_RETENTION_DAYS: tuple[int, ...] = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545)
LOG_RETENTION_DAYS += (731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)
VIP_ENGINE_VERSIONS = ("15", "16", "17")  # the postgresqlNN packages of Amazon Linux 2023

_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
_DB_INSTANCE_CLASS = re.compile(r"^db\.[a-z0-9-]+\.[a-z0-9]+$")
_AMI_ID = re.compile(r"^ami-[0-9a-f]{8,17}$")
_CERTIFICATE_ARN = re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}$")


class ConfigError(pulumi.RunError):
    """Bad stack config. A RunError, so `pulumi up` prints the message without a traceback."""


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


LogRetention = Annotated[int, AfterValidator(_log_retention)]
Port = Annotated[int, Field(ge=1, le=65535)]
InstanceType = Annotated[str, _matches(_INSTANCE_TYPE, "t3.micro")]
AmiId = Annotated[str, _matches(_AMI_ID, "ami-0123456789abcdef0")]
AdminCidr = Annotated[IPv4Network, AfterValidator(_admin_cidr)]
CertificateArn = Annotated[
    str, _matches(_CERTIFICATE_ARN, "arn:aws:acm:eu-west-1:123456789012:certificate/<uuid>")
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

    cidr: IPv4Network = Field(
        IPv4Network("10.0.0.0/16"),
        description="VPC IPv4 CIDR, /16 to /24; each subnet gets 1/16 of it.",
    )
    az_count: int = Field(2, ge=2, le=3, description="Availability zones to spread over (2 or 3).")
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
        if not 16 <= self.cidr.prefixlen <= 24:
            raise ValueError(
                f"cidr {self.cidr} has prefix /{self.cidr.prefixlen}; allowed: /16 to /24"
            )
        if self.data_egress and self.nat_mode == "none":
            raise ValueError("dataEgress needs a NAT; set natMode to instance, single or per_az")
        return self


class BastionConfig(_Model):
    """`multitier:bastion`"""

    enabled: bool = Field(
        False, description="Build the bastion (SSM Session Manager works without it)."
    )
    allowed_cidrs: list[AdminCidr] = Field(
        default_factory=list, description="IPv4 networks allowed to SSH in; /8 or narrower."
    )
    ssh_port: Port = Field(2222, description="The port sshd listens on.")
    instance_type: InstanceType = Field("t3.micro", description="Bastion instance type.")
    ami: AmiId | None = Field(None, description="AMI id; default: latest Amazon Linux 2023.")
    key_name: str | None = Field(None, description="EC2 key pair for SSH; none means SSM only.")

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.enabled and not self.allowed_cidrs:
            raise ValueError("allowedCidrs must list at least one network when enabled is true")
        return self


_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
# ALB policies that offer TLS 1.2 and 1.3 only.
TlsPolicy = Literal[
    "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
]


def _env_names(env: dict[str, str]) -> dict[str, str]:
    bad = [name for name in env if not _ENV_NAME.fullmatch(name)]
    if bad:
        raise ValueError(f"environment names {bad} must be UPPER_SNAKE_CASE")
    return env


class Release(_Model):
    """What the app tier runs; promoting a release copies this value between stack files."""

    image: str = Field(
        "public.ecr.aws/nginx/nginx:1.27",
        pattern=r"^\S+$",
        description="Container image (registry/name:tag or @digest).",
    )
    version: str = Field("1.27", min_length=1, description="Release version, tagged on instances.")
    env: Annotated[dict[str, str], AfterValidator(_env_names)] = Field(
        default_factory=dict,
        description="Extra container environment; no secrets (use Secrets Manager).",
    )


class HealthCheck(_Model):
    matcher: str = Field(
        "200-399",
        pattern=r"^\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*$",
        description="HTTP codes that mean healthy.",
    )
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
    node_type: str = Field(
        "cache.t4g.micro", pattern=r"^cache\.[a-z0-9]+\.[a-z0-9]+$", description="Node type."
    )
    node_count: int = Field(
        2, ge=1, le=6, description="Nodes; more than 1 gives Multi-AZ failover."
    )
    engine_version: str = Field("7.1", pattern=r"^\d+\.\d+$", description="Redis version.")


class EfsConfig(_Model):
    enabled: bool = Field(False, description="Encrypted EFS for the app's backups directory.")
    mount_path: str = Field(
        "/var/backups/app", pattern=r"^/[A-Za-z0-9_./-]+$", description="Where hosts mount it."
    )


class AppConfig(_Model):
    """`multitier:app`"""

    release: Release = Field(default_factory=Release)
    port: Port = Field(80, description="Port the app listens on (the container uses host network).")
    protocol: Literal["HTTP", "HTTPS"] = Field("HTTP", description="ALB-to-instance protocol.")
    health_check_path: str = Field(
        "/", pattern=r"^/", description="Target group health-check path (starts with /)."
    )
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
    address: IPv4Address = Field(
        IPv4Address("10.10.10.10"), description="Virtual IP; must lie outside the VPC CIDR."
    )
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
    engine_version: str = Field(
        "16", pattern=r"^\d+(\.\d+)?$", description="PostgreSQL version (vip: major 15-17)."
    )
    database_name: str = Field(
        "app", pattern=r"^[a-z][a-z0-9_]{0,62}$", description="Database created for the app."
    )
    username: str = Field(
        "app_admin", pattern=r"^[a-z][a-z0-9_]{0,62}$", description="Master user name."
    )
    instance_class: Annotated[str, _matches(_DB_INSTANCE_CLASS, "db.t4g.medium")] = Field(
        "db.t4g.medium", description="RDS instance class (managed mode)."
    )
    multi_az: bool = Field(False, description="RDS Multi-AZ standby (managed mode).")
    allocated_storage_gb: int = Field(20, ge=20, le=65536, description="Initial gp3 storage.")
    max_allocated_storage_gb: int = Field(
        100, ge=20, le=65536, description="Storage autoscaling ceiling."
    )
    backup_retention_days: int = Field(7, ge=1, le=35, description="Automated backup retention.")
    backup_window: str = Field(
        "02:00-03:00", pattern=r"^\d\d:\d\d-\d\d:\d\d$", description="Daily backup window (UTC)."
    )
    maintenance_window: str = Field(
        "sun:03:30-sun:04:30",
        pattern=r"^(mon|tue|wed|thu|fri|sat|sun):\d\d:\d\d-(mon|tue|wed|thu|fri|sat|sun):\d\d:\d\d$",
        description="Weekly maintenance window (UTC).",
    )
    deletion_protection: bool = Field(False, description="Refuse to delete the database.")
    final_snapshot: bool = Field(False, description="Take a final snapshot on deletion.")
    performance_insights: bool = Field(True, description="Performance Insights (7 days, free).")
    monitoring_interval_seconds: Literal[0, 1, 5, 10, 15, 30, 60] = Field(
        60, description="Enhanced monitoring interval; 0 turns it off."
    )
    read_replicas: int = Field(0, ge=0, le=5, description="RDS read replicas (managed mode).")
    vip: VipConfig = Field(default_factory=VipConfig)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.max_allocated_storage_gb < self.allocated_storage_gb:
            raise ValueError(
                f"maxAllocatedStorageGb ({self.max_allocated_storage_gb}) must be at least "
                f"allocatedStorageGb ({self.allocated_storage_gb})"
            )
        if self.mode == "vip" and self.engine_version not in VIP_ENGINE_VERSIONS:
            raise ValueError(
                f"engineVersion {self.engine_version!r} in vip mode must be a major version "
                f"Amazon Linux 2023 packages: {', '.join(VIP_ENGINE_VERSIONS)}"
            )
        return self

    @property
    def major_version(self) -> str:
        return self.engine_version.split(".")[0]


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


SECTIONS = tuple(StackConfig.model_fields)


def load_config(raw: Mapping[str, Any]) -> StackConfig:
    """Validate the `multitier:*` config values (keyed by section name, e.g. `network`)."""
    unknown = sorted(set(raw) - set(SECTIONS))
    if unknown:
        keys = ", ".join(f"{NAMESPACE}:{key}" for key in unknown)
        allowed = ", ".join(f"{NAMESPACE}:{key}" for key in SECTIONS)
        raise ConfigError(f"Invalid stack config:\n  {keys}: unknown key; allowed: {allowed}")
    try:
        return StackConfig.model_validate({k: v for k, v in raw.items() if v is not None})
    except ValidationError as error:
        problems = [_describe(e) for e in error.errors()]
        raise ConfigError(
            "Invalid stack config:\n" + "\n".join(f"  {p}" for p in problems)
        ) from None


def from_pulumi() -> StackConfig:
    """Read and validate this stack's `multitier:*` config through the Pulumi SDK."""
    # The SDK has no public way to list config keys; listing them is what lets a misspelt
    # section name fail instead of being silently ignored.
    present = {**pulumi.runtime.get_config_env(), **pulumi.runtime.config.CONFIG.get()}
    prefix = f"{NAMESPACE}:"
    sections = [key.removeprefix(prefix) for key in present if key.startswith(prefix)]
    config = pulumi.Config(NAMESPACE)
    return load_config({section: config.get_object(section) for section in sections})


_FRIENDLIER = {
    "ip_v4_network": "expected an IPv4 network such as 10.0.0.0/16, with no host bits set",
    "ip_v4_address": "expected an IPv4 address such as 10.10.10.10",
}


def _describe(error: Any) -> str:
    """One line for one pydantic error: `multitier:section.key = value: what is allowed`."""
    loc = [str(part) for part in error["loc"]]
    message = _FRIENDLIER.get(error["type"], str(error["msg"]).removeprefix("Value error, "))
    if not loc:  # a cross-section check; its message names its keys
        return f"{NAMESPACE}:{message}"
    section, path = loc[0], loc[1:]
    key = f"{NAMESPACE}:{section}" + "".join(f".{p}" if not p.isdigit() else f"[{p}]" for p in path)
    if error["type"] == "extra_forbidden":
        model = _model_at(section, path[:-1])
        allowed = ", ".join(f.alias or name for name, f in model.model_fields.items())
        return f"{key}: unknown key; allowed keys: {allowed}"
    if error["type"] == "value_error" and not path:
        return f"{NAMESPACE}:{section}: {message}"
    return f"{key} = {error['input']!r}: {message}"


def _model_at(section: str, path: list[str]) -> type[BaseModel]:
    model: type[BaseModel] = StackConfig.model_fields[section].annotation  # type: ignore[assignment]
    for part in path:
        by_alias = {f.alias: f for f in model.model_fields.values()}
        model = by_alias[part].annotation  # type: ignore[assignment]
    return model
