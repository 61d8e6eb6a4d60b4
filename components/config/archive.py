"""`multitier:database.vip.archive` and `.vip.restore`: the vip cluster's WAL archive and base
backups (pgBackRest to the stack's S3 bucket), and a new cluster restored from another's."""

from __future__ import annotations

import re
from typing import Annotated, Self

from pydantic import Field, field_validator, model_validator

from components.config.fields import Allowed, Model, matches

# S3 bucket names (the source archive of a restore): 3 to 63 lowercase letters, digits, dots and
# hyphens, starting and ending with a letter or digit.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
# A cluster's name, as PostgresHA makes it (naming.label): its prefix in an archive bucket.
_CLUSTER = re.compile(r"[a-z][a-z0-9-]{0,62}")
# A restore target: `latest`, or a moment with its zone (pgBackRest's --target for --type=time).
_TARGET = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}(:?\d{2})?)")


class ArchiveConfig(Model):
    """`vip.archive`: the primary's continuous WAL archive and base backups (pgBackRest, S3)."""

    timeout_seconds: int = Field(
        60,
        ge=10,
        le=3600,
        description="archive_timeout: a WAL segment is archived at least this often, the bound "
        "of the recovery point (RPO) under any write load.",
    )
    full_backup_hours: int = Field(
        24, ge=1, le=24 * 31, description="Take a full base backup every this many hours."
    )
    retention_full_backups: int = Field(
        7,
        ge=1,
        le=100,
        description="Full backups the archiver keeps, with the WAL that restores from them; "
        "pgBackRest expires older ones (S3 lifecycle never expires current objects).",
    )
    noncurrent_days: int = Field(
        30,
        ge=1,
        le=3650,
        description="Days S3 keeps an overwritten or deleted archive object's old version.",
    )
    lag_alarm_minutes: int = Field(
        10,
        ge=2,
        le=1440,
        description="Alarm when no WAL segment was archived for this long (archiving fails or "
        "falls behind).",
    )

    @model_validator(mode="after")
    def _alarm_after_timeout(self) -> Self:
        # A segment is archived every timeoutSeconds when all is well: an alarm sooner would fire
        # between two of them.
        if self.lag_alarm_minutes * 60 < 2 * self.timeout_seconds:
            raise ValueError(
                f"lagAlarmMinutes ({self.lag_alarm_minutes}) must be at least twice "
                f"timeoutSeconds ({self.timeout_seconds} s): a segment is archived only every "
                "timeoutSeconds when all is well"
            )
        return self


class VipRestoreConfig(Model):
    """`vip.restore`: the new cluster's first primary restores this archive instead of initdb."""

    bucket: Annotated[
        str, matches(_BUCKET, "multitier-prod-db-archive-1a2b3c"), Allowed("an S3 bucket name")
    ] = Field(description="The source stack's archive bucket (its `databaseArchiveBucket`).")
    cluster: Annotated[
        str,
        matches(_CLUSTER, "multitier-prod-db"),
        Allowed("a cluster name: lowercase letter, then lowercase letters, digits, -"),
    ] = Field(description="The source cluster's name: its prefix in that bucket.")
    target: Annotated[
        str,
        Allowed("latest, or a time with its zone: 2026-12-07T10:15:00Z"),
    ] = Field("latest", description="Restore up to this moment, or all the archive holds.")

    @field_validator("target")
    @classmethod
    def _target(cls, target: str) -> str:
        if target != "latest" and not _TARGET.fullmatch(target):
            raise ValueError(
                "expected latest or a time with its zone, such as 2026-12-07T10:15:00Z"
            )
        return target
