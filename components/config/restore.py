"""`multitier:database.restore` and `.formerInstances`: which RDS instances the stack declares.

The active instance is the one the stack was created with (`original`) or the restore's; each
former instance stays declared until its entry releases it (components/database/managed.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, AwareDatetime, Field, field_validator, model_validator

from components.config.fields import Allowed, Model, matches

# A restore's id names its instance's Pulumi resource (`database-<id>`): it must stay the same for
# as long as that instance lives. `original` is the instance the stack was created with.
ORIGINAL = "original"
_INSTANCE_ID = re.compile(r"[a-z](?:[a-z0-9-]{0,18}[a-z0-9])?")
# RDS instance identifiers: a letter, then letters, digits, hyphens; no `--`, no trailing hyphen.
_RDS_IDENTIFIER = re.compile(r"[a-zA-Z](?:-?[a-zA-Z0-9])*")
# Automated backups replicated to another region (`database.dr`), as RDS names them there.
_AUTOMATED_BACKUPS = re.compile(r"arn:aws:rds:[a-z0-9-]+:\d{12}:auto-backup:ab-[a-zA-Z0-9]+")
# A manual snapshot's name, an automated one's (`rds:<instance>-<date>`), or a shared one's ARN.
_SNAPSHOT = re.compile(r"(arn:aws:rds:[a-z0-9-]+:\d{12}:snapshot:)?(rds:)?[a-zA-Z][a-zA-Z0-9-]*")


def _not_a_replica(instance_id: str) -> str:
    if re.fullmatch(r"replica-\d+", instance_id):
        raise ValueError("the name of a read replica (database-replica-N); allowed: any other id")
    return instance_id


InstanceId = Annotated[
    str,
    matches(_INSTANCE_ID, "before-incident"),
    AfterValidator(_not_a_replica),
    Allowed(
        "lowercase letters, digits, hyphens; 1 to 20; a letter first, no hyphen last; not replica-N"
    ),
]


class PointInTimeConfig(Model):
    source_identifier: Annotated[
        str | None,
        matches(_RDS_IDENTIFIER, "multitier-prod-db-1a2b3c4d"),
        Field(max_length=63),
        Allowed("an RDS instance identifier (`pulumi stack output databaseIdentifier`)"),
    ] = Field(None, description="The instance whose automated backups are restored.")
    source_automated_backups_arn: Annotated[
        str | None,
        matches(_AUTOMATED_BACKUPS, "arn:aws:rds:eu-central-1:123456789012:auto-backup:ab-x1"),
        Allowed("the ARN of automated backups replicated to this region (`ab-...`)"),
    ] = Field(
        None,
        description="Or: automated backups replicated to this stack's region from another "
        "(`database.dr` of the stack that was lost; RUNBOOKS.md, Disaster recovery).",
    )
    time: (
        Annotated[AwareDatetime, Allowed("an RFC 3339 date-time with a zone, in the past")] | None
    ) = Field(
        None,
        description="The moment to restore to, RFC 3339 with a zone (2026-12-01T09:30:00Z); "
        "within the source's backup retention. Or `latest`.",
    )
    latest: bool = Field(
        False, description="Restore to the latest restorable time (about 5 minutes ago)."
    )

    @field_validator("time", mode="before")
    @classmethod
    def _text(cls, time: object) -> object:
        if isinstance(time, int | float):  # not a Unix time: say the moment in words
            raise ValueError("expected an RFC 3339 date-time, such as 2026-12-01T09:30:00Z")
        return time

    @field_validator("time")
    @classmethod
    def _past(cls, time: datetime | None) -> datetime | None:
        if time is not None and time > datetime.now(UTC):
            raise ValueError("a moment in the future; RDS restores only to a moment past")
        return time

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.source_identifier is None) == (self.source_automated_backups_arn is None):
            raise ValueError("needs exactly one of sourceIdentifier or sourceAutomatedBackupsArn")
        return self

    @model_validator(mode="after")
    def _one_moment(self) -> Self:
        if (self.time is None) == (not self.latest):
            raise ValueError("needs exactly one of time (RFC 3339, with a zone) or latest: true")
        return self

    @property
    def restore_time(self) -> str | None:
        """The time as RDS takes it: UTC, to the second."""
        if self.time is None:
            return None
        return self.time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class RestoreConfig(Model):
    id: InstanceId = Field(
        description="Names the restored instance's Pulumi resource (`database-<id>`); a new id "
        "is a new instance, beside the ones before it.",
    )
    snapshot_identifier: Annotated[
        str | None,
        matches(_SNAPSHOT, "multitier-prod-db-1a2b3c4d-final"),
        Allowed("a snapshot's name (`rds:...` for an automated one) or a shared snapshot's ARN"),
    ] = Field(None, description="Restore this DB snapshot.")
    point_in_time: PointInTimeConfig | None = Field(
        None, description="Restore an instance's automated backups to a moment."
    )

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.snapshot_identifier is None) == (self.point_in_time is None):
            raise ValueError("needs exactly one of snapshotIdentifier or pointInTime")
        return self


FormerInstance = Literal["keep", "retain", "delete", "removed"]


def check_restore(
    mode: str, restore: RestoreConfig | None, former: Mapping[str, FormerInstance]
) -> None:
    """What `restore` and `formerInstances` must agree on (DatabaseConfig calls it)."""
    if (restore or former) and mode != "managed":
        raise ValueError(
            "restore and formerInstances are for RDS instances (mode managed); a vip cluster "
            "restores from its own backups (RUNBOOKS.md, Restore the database)"
        )
    if restore is None:
        if ORIGINAL in former:
            raise ValueError(
                f"formerInstances.{ORIGINAL}: without restore the {ORIGINAL} instance is the "
                "active one; allowed: ids of earlier restores"
            )
        return
    if restore.id == ORIGINAL:
        raise ValueError(
            f"restore.id = {ORIGINAL!r} names the instance the stack was created with; "
            "allowed: any other id"
        )
    if restore.id in former:
        raise ValueError(
            f"restore.id = {restore.id!r} is also in formerInstances; the active instance "
            "is not a former one: give the restore a new id"
        )
    if ORIGINAL not in former:
        raise ValueError(
            f"restore is set but formerInstances has no {ORIGINAL!r}: say "
            f"what becomes of the instance the stack was created with ({ORIGINAL}: keep, "
            "retain, delete or removed); without it Pulumi would delete that instance"
        )
