"""`multitier:app`: the app tier's config (load balancer, health check, scaling, roll-outs, EFS),
and the ALB security policies, certificates and health-check values AWS accepts.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator

from components.config.cache import CacheConfig
from components.config.fields import Allowed, AmiId, InstanceType, Model, Port, matches
from components.config.release import Release

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
# The security policy (policy/rules/elb.py, alb-modern-tls) wants TLS 1.2 or later only.
TLS_POLICIES = tuple(name for name, oldest in ALB_POLICIES.items() if oldest in ("1.2", "1.3"))

_CERTIFICATE_ARN = re.compile(
    r"arn:aws:acm:(?P<region>[a-z0-9-]+):\d{12}:certificate/"
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)
_HEALTH_CHECK_PATH = re.compile(r"/[\x21-\x7e]{0,1023}")
_MOUNT_PATH = re.compile(r"/[A-Za-z0-9_./-]+")
# Directories the hosts' system lives in (the Filesystem Hierarchy Standard, and where Amazon
# Linux keeps Docker's and the agents' state): a file system mounted on one of them, inside one,
# or on a parent of one (/, /var) hides what the host runs from.
SYSTEM_PATHS = (
    "/bin", "/boot", "/dev", "/etc", "/lib", "/lib64", "/proc", "/root", "/run", "/sbin", "/sys",
    "/tmp", "/usr", "/var/lib", "/var/log", "/var/run", "/var/tmp", "/var/cache", "/var/spool",
)  # fmt: skip
_MATCHER = re.compile(r"\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*")
# StartInstanceRefresh's CheckpointDelay: at most 172800 seconds (two days).
CHECKPOINT_DELAY_MAX = 172800
# An ALB target group's success codes lie between 200 and 499 (ELB, "Health checks", Matcher).
MATCHER_CODES = (200, 499)


def _mount_path(path: str) -> str:
    parts = path.split("/")[1:]
    if any(part in (".", "..", "") for part in parts):
        raise ValueError(
            "expected a plain absolute path: no '.' or '..' segment, no '//' and no trailing '/' "
            "(a mount point is compared as written); e.g. /var/backups/app"
        )
    for system in SYSTEM_PATHS:
        if path == system or path.startswith(f"{system}/") or system.startswith(f"{path}/"):
            raise ValueError(
                f"mounting here would hide the hosts' system ({system}); allowed: a directory "
                f"outside {', '.join(SYSTEM_PATHS)} and not a parent of them, e.g. "
                "/var/backups/app, /srv/backups or /mnt/backups"
            )
    return path


def _tls_policy(name: str) -> str:
    allowed = f"allowed (TLS 1.2 or later): {', '.join(TLS_POLICIES)}"
    if name in TLS_POLICIES:
        return name
    if name in ALB_POLICIES:
        raise ValueError(f"accepts TLS {ALB_POLICIES[name]}; {allowed}")
    raise ValueError(f"not an ALB security policy AWS documents; {allowed}")


def _matcher(matcher: str) -> str:
    if not _MATCHER.fullmatch(matcher):
        raise ValueError("expected HTTP codes and ranges such as 200,202 or 200-399")
    low, high = MATCHER_CODES
    for part in matcher.split(","):
        first, _, last = part.partition("-")
        if not low <= int(first) <= int(last or first) <= high:
            raise ValueError(f"{part}: codes lie between {low} and {high}, ranges low-high")
    return matcher


CertificateArn = Annotated[
    str,
    matches(_CERTIFICATE_ARN, "arn:aws:acm:eu-west-1:123456789012:certificate/<uuid>"),
    Allowed("an ACM certificate ARN in the stack's aws:region"),
]
TlsPolicy = Annotated[
    str,
    AfterValidator(_tls_policy),
    Allowed(
        "a TLS 1.2+ ALB security policy, ELBSecurityPolicy- and: "
        + ", ".join(name.removeprefix("ELBSecurityPolicy-") for name in TLS_POLICIES)
    ),
]
HealthCheckPath = Annotated[
    str,
    matches(_HEALTH_CHECK_PATH, "/health (a path up to 1024 characters, no spaces)"),
    Allowed("starts with /, up to 1024 printable ASCII characters, no spaces"),
]


class HealthCheck(Model):
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


class LoadBalancerConfig(Model):
    deletion_protection: bool = Field(False, description="Refuse to delete the ALB.")
    access_logs: bool = Field(False, description="ALB access logs to an encrypted private bucket.")
    access_log_retention_days: int = Field(90, ge=1, description="Days access logs are kept.")
    idle_timeout_seconds: int = Field(60, ge=1, le=4000, description="ALB idle timeout.")
    ssl_policy: TlsPolicy = Field(
        "ELBSecurityPolicy-TLS13-1-2-2021-06", description="TLS policy of the HTTPS listener."
    )


class ScalingConfig(Model):
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


class InstanceRefreshConfig(Model):
    min_healthy_percentage: int = Field(
        100, ge=0, le=100, description="Capacity kept in service while a release rolls out."
    )
    max_healthy_percentage: int = Field(
        200, ge=100, le=200, description="Capacity allowed during a roll-out (>100 = surge)."
    )
    warmup_seconds: int = Field(120, ge=0, description="Seconds a new instance needs to warm up.")
    checkpoints: Annotated[
        list[Annotated[int, Field(ge=1, le=100)]],
        Allowed("percentages from 1 to 100, strictly ascending, the last 100"),
    ] = Field(
        default_factory=list,
        description="Percentages of the fleet replaced at which the refresh pauses "
        "(ascending, ending at 100), e.g. [34, 100]; none: no pause.",
    )
    checkpoint_delay_seconds: int = Field(
        600,
        ge=0,
        le=CHECKPOINT_DELAY_MAX,
        description="How long each checkpoint pauses: time to look before more is replaced.",
    )
    alarms: bool = Field(
        True,
        description="Stop the refresh when the app tier's 5xx or unhealthy-hosts alarm fires.",
    )
    auto_rollback: bool = Field(
        False,
        description="AWS rolls the fleet back when the refresh fails or is stopped; needs a "
        "pinned image (`release.ami` or `ami`).",
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        points = self.checkpoints
        if points and (sorted(set(points)) != points or points[-1] != 100):
            raise ValueError(
                f"instanceRefresh.checkpoints = {points}: allowed: percentages from 1 to 100, "
                "strictly ascending, the last 100 (a refresh that stops short leaves the fleet "
                "on two releases)"
            )
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


class EfsConfig(Model):
    enabled: bool = Field(False, description="Encrypted EFS for the app's backups directory.")
    mount_path: Annotated[
        str,
        matches(_MOUNT_PATH, "/var/backups/app"),
        AfterValidator(_mount_path),
        Allowed(
            "an absolute path of letters, digits and _ . / -, no . or .. segment, outside the "
            "system's directories (/etc, /usr, /var/lib, ...) and no parent of them"
        ),
    ] = Field("/var/backups/app", description="Where hosts mount it.")


class AppConfig(Model):
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

    @property
    def image(self) -> str | None:
        """The hosts' AMI: the release's pin, else `ami`; None: the SSM parameter's at launch."""
        return self.release.ami or self.ami

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.release.ami and self.ami and self.release.ami != self.ami:
            raise ValueError(
                f"release.ami = {self.release.ami!r} and ami = {self.ami!r}: allowed: one of "
                "them, or both the same; the release's pin moves with promotions and rollbacks, "
                "ami stays with the stack"
            )
        if self.min_size > self.max_size:
            raise ValueError(f"minSize ({self.min_size}) must not exceed maxSize ({self.max_size})")
        refresh = self.instance_refresh
        if refresh.auto_rollback and self.image is None:
            raise ValueError(
                "instanceRefresh.autoRollback = True: AWS cannot roll back a group whose launch "
                "template takes its image from an SSM parameter, as it does with neither "
                "release.ami nor ami set; allowed: false, or true with the image pinned in "
                "release.ami (the id the parameter resolves to, so a rollback restores it too)"
            )
        desired = self.desired_capacity
        if desired is not None and not self.min_size <= desired <= self.max_size:
            raise ValueError(
                f"desiredCapacity ({desired}) must lie between minSize ({self.min_size}) "
                f"and maxSize ({self.max_size})"
            )
        return self
