"""What a forecast says: per variant, each resource's class and the reasons for it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from policy.types import (
    BACKUP_VAULT,
    BUCKET,
    CACHE,
    DYNAMODB_TABLE,
    EFS,
    EIP,
    INSTANCE,
    KMS_KEY,
    RDS,
    RDS_BACKUP_REPLICATION,
    SECRET,
)


class Kind(StrEnum):
    """What `pulumi up` does to a resource, in the order the report lists them."""

    REPLACED = "replaced"
    DELETED = "deleted"
    CREATED = "created"
    ROLLED = "instances rolled"
    UPDATED = "updated in place"
    UNCHANGED = "unchanged"


STATEFUL: dict[str, str] = {
    RDS: "its data: a new instance starts from nothing or a snapshot",
    EFS: "its files",
    BUCKET: "its objects",
    KMS_KEY: "what it encrypted: a new key decrypts none of it",
    SECRET: "its value and ARN, which clients hold",
    INSTANCE: "the NAT instance: the private subnets' egress stops until the new one serves",
    EIP: "its public address, which others allow",
    DYNAMODB_TABLE: "its items (the vip cluster's lease and reports)",
    CACHE: "its cached data and sessions",
    BACKUP_VAULT: "its recovery points (the file systems' backups, or their DR copies)",
    RDS_BACKUP_REPLICATION: "the replicated backups: a point-in-time restore in the DR region",
}
"""Types whose replacement loses what it holds, and what that is."""


@dataclass(frozen=True)
class Reason:
    input: str
    """The input path (`dbName`), or "" for the resource as a whole."""
    why: str
    source: str = ""
    """Where the provider says so, when a rule of provider.py decided."""

    def __str__(self) -> str:
        return f"{self.input}: {self.why}" if self.input else self.why


@dataclass(frozen=True)
class Verdict:
    """One resource's class: created, deleted, replaced, updated in place, rolled, unchanged."""

    urn: str
    type: str
    name: str
    kind: Kind
    reasons: tuple[Reason, ...] = ()
    changed: tuple[str, ...] = ()
    """The top-level inputs whose values differ (ignored ones left out)."""
    old_urn: str | None = None
    """Its URN in FROM when it moved through an alias."""
    note: str = ""
    """What happens next: which group rolls the instances of a template, and how."""

    @property
    def stateful(self) -> bool:
        return self.type in STATEFUL

    @property
    def loses_state(self) -> bool:
        """Replaced or deleted while it holds data (a rolled NAT instance is replaced too)."""
        gone = self.kind in (Kind.REPLACED, Kind.DELETED)
        return self.stateful and (gone or (self.kind is Kind.ROLLED and self.type == INSTANCE))

    @property
    def moved(self) -> bool:
        return self.old_urn is not None and self.old_urn != self.urn


@dataclass(frozen=True)
class VariantForecast:
    name: str
    verdicts: tuple[Verdict, ...] = ()
    problem: str = ""
    """Why it could not be forecast (a side failed to plan, or only one side has it)."""

    def of(self, kind: Kind) -> list[Verdict]:
        return [v for v in self.verdicts if v.kind is kind]

    @property
    def losing_state(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.loses_state]


@dataclass(frozen=True)
class PinChange:
    """A requirement pinned differently by the two revisions."""

    file: str
    name: str
    old: str | None
    new: str | None

    def __str__(self) -> str:
        if self.old is None:
            return f"{self.file}: + {self.name}=={self.new}"
        if self.new is None:
            return f"{self.file}: - {self.name}=={self.old}"
        return f"{self.file}: {self.name} {self.old} -> {self.new}"


@dataclass(frozen=True)
class Forecast:
    old: str
    new: str
    """Both sides' titles, as the comparison names them."""
    variants: tuple[VariantForecast, ...]
    pins: tuple[PinChange, ...] = ()
    seconds: float = 0.0
    uncovered: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def losing_state(self) -> list[tuple[str, Verdict]]:
        return [(v.name, verdict) for v in self.variants for verdict in v.losing_state]
