"""`multitier:database`: the database's config in either mode (RDS, or the vip cluster), and
what RDS and PostgreSQL accept: major versions, names, backup and maintenance windows.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from ipaddress import IPv4Address
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from components.config.archive import ArchiveConfig, VipRestoreConfig
from components.config.fields import Allowed, AmiId, InstanceType, Model, matches
from components.config.network import VipAddress
from components.config.regions import aws_regions
from components.config.restore import (
    ORIGINAL,
    FormerInstance,
    InstanceId,
    RestoreConfig,
    check_restore,
)
from functions.db_credentials import roles

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

_DB_INSTANCE_CLASS = re.compile(r"db\.[a-z0-9-]+\.[a-z0-9]+")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = r"([01]\d|2[0-3]):([0-5]\d)"
_DAY = rf"({'|'.join(_DAYS)})"
_BACKUP_WINDOW = re.compile(rf"{_TIME}-{_TIME}")
_MAINTENANCE_WINDOW = re.compile(rf"{_DAY}:{_TIME}-{_DAY}:{_TIME}")
_DAY_MINUTES, _WEEK_MINUTES = 24 * 60, 7 * 24 * 60
WINDOW_MINUTES = 30  # RDS: backup and maintenance windows last at least 30 minutes


def _number_as_written(value: object) -> object:
    """A number quoted in the stack file ("60") is the number: a choice of numbers takes both."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value


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


class VipConfig(Model):
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
    archive: ArchiveConfig = Field(
        default_factory=ArchiveConfig,
        description="WAL archive and base backups to the stack's S3 bucket.",
    )
    restore: VipRestoreConfig | None = Field(
        None,
        description="Create the cluster from an archive instead of initdb: `{bucket, cluster, "
        "target}`, the source stack's archive bucket, its cluster's name (the prefix), and "
        "`latest` or a time with its zone (`2026-12-07T10:15:00Z`); applied when the data "
        "directory is empty, ignored after (RUNBOOKS.md, Restore the database).",
    )


# Secrets Manager rotates a secret every 1 to 1000 days (RotationRules.AutomaticallyAfterDays).
RotationDays = Annotated[int, Field(ge=1, le=1000)]


class RotationConfig(Model):
    app_days: RotationDays = Field(
        30,
        description="Rotate the app's login every this many days (alternating logins: the "
        "previous one keeps working until the next rotation).",
    )
    readonly_days: RotationDays = Field(
        30, description="Rotate the read-only login's password every this many days."
    )
    master_days: RotationDays = Field(
        90, description="Rotate the master user's password every this many days."
    )


class DrConfig(Model):
    """`multitier:database.dr`: copies of the stack's data in another region."""

    region: Annotated[
        str, Allowed("a region of the aws partition other than the stack's (aws:region)")
    ] = Field(
        description="The region that holds the copies: RDS automated backups replicated there, "
        "the file systems' AWS Backup copies in a vault there (RUNBOOKS.md, Disaster recovery).",
    )
    retention_days: int = Field(
        7,
        ge=1,
        le=35,
        description="Days the DR region keeps the replicated RDS backups (a point-in-time "
        "restore reaches this far back) and each file system copy.",
    )

    @field_validator("region")
    @classmethod
    def _region(cls, region: str, info: ValidationInfo) -> str:
        if region not in aws_regions():
            raise ValueError(
                f"not a region of the aws partition; allowed: {', '.join(aws_regions())}"
            )
        if region == (info.context or {}).get("region"):
            raise ValueError(
                "the stack's own region (aws:region): a copy there is lost with the region; "
                "allowed: any other region"
            )
        return region


class DatabaseConfig(Model):
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
            f"(managed) or {PG_NAME_LENGTH} (vip); not a reserved word, an RDS or pg_ role, "
            f"or one of the app's roles ({', '.join(roles.NAMES)})"
        ),
    ] = Field("app_admin", description="Master user name.")
    instance_class: Annotated[
        str,
        matches(_DB_INSTANCE_CLASS, "db.t4g.medium"),
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
    final_snapshot: bool = Field(
        True,
        description="Take a final snapshot (`<identifier>-final`) when the instance is deleted; "
        "automated backups are kept either way.",
    )
    performance_insights: bool = Field(True, description="Performance Insights (7 days, free).")
    monitoring_interval_seconds: Annotated[
        Literal[0, 1, 5, 10, 15, 30, 60], BeforeValidator(_number_as_written)
    ] = Field(60, description="Enhanced monitoring interval; 0 turns it off.")
    read_replicas: int = Field(0, ge=0, le=5, description="RDS read replicas (managed mode).")
    blue_green: bool = Field(
        False,
        description="Send changes of the engine version and of the instance's parameter group "
        "through an RDS blue/green deployment (a copy kept in sync, then a switchover of about "
        "a minute) instead of in place; refused with readReplicas (README, Blue/green).",
    )
    apply_immediately: bool = Field(
        True,
        description="Apply RDS changes (class, storage, engine version) when `pulumi up` runs; "
        "false defers them to the maintenance window, and `pulumi up` shows them again until "
        "then (a major upgrade then fails: RUNBOOKS.md).",
    )
    rotation: RotationConfig = Field(
        default_factory=RotationConfig,
        description="Password rotation schedules: `{appDays, readonlyDays, masterDays}`.",
    )
    restore: RestoreConfig | None = Field(
        None,
        description="Serve from a new instance restored from a snapshot or a point in time, "
        "created beside the current one (RUNBOOKS.md, Restore the database).",
    )
    former_instances: dict[InstanceId, FormerInstance] = Field(
        default_factory=dict,
        description="The instances that served before the active one, by id (`original`, or an "
        "earlier restore's): `keep` declared and protected; `retain` or `delete` (final "
        "snapshot) prepares its release; `removed` then lets Pulumi forget or delete it.",
    )
    dr: DrConfig | None = Field(
        None,
        description="Disaster recovery: `{region, retentionDays}`; RDS automated backups "
        "(managed) and the file systems (AWS Backup) are copied to that region.",
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
        if name in roles.NAMES:
            raise ValueError(
                f"the name of one of the app's roles ({', '.join(roles.NAMES)}); the master "
                "user must be another"
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
        check_restore(self.mode, self.restore, self.former_instances)
        if self.blue_green and self.read_replicas:
            # The provider's blue/green update cannot carry replicas: terraform-provider-aws
            # #33702 and #35488 (it leaves them on the old instance, or fails).
            raise ValueError(
                f"blueGreen = true with readReplicas = {self.read_replicas}: the provider's "
                "blue/green update cannot handle read replicas; allowed: blueGreen with "
                "readReplicas 0, or blueGreen false"
            )
        if self.blue_green and self.mode != "managed":
            raise ValueError(
                "blueGreen = true is for RDS (mode managed); allowed: false in vip mode"
            )
        meeting = _overlap(self.backup_window, self.maintenance_window)
        if meeting and self.mode == "managed":
            raise ValueError(
                f"backupWindow {self.backup_window} overlaps maintenanceWindow "
                f"{self.maintenance_window} (from {meeting} UTC); RDS needs them apart"
            )
        return self

    @property
    def active_instance(self) -> str:
        """The id of the instance that serves: the restore's, or `original`."""
        return self.restore.id if self.restore else ORIGINAL

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
