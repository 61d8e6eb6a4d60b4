"""What one side planned, and how it differs from the other side, per variant and per URN.

A plan is the JSON the extraction script writes (tools/plancompare/extract.py), read back into
`VariantPlan`s. A difference keeps both declarations and every changed value, old and new, so a
later classifier (created, deleted, replaced, updated in place) reads it without comparing again.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

Path_ = tuple[str | int, ...]
"""Where a value sits: input or option key first, then dict keys and list indexes."""

JSON_STEP: Final = "(json)"
"""A path step into a string that holds a JSON document (an IAM policy, a dashboard)."""


class _Absent:
    """The value of a key one side does not set: distinct from None, which a side may set."""

    def __repr__(self) -> str:
        return "(absent)"


ABSENT: Final = _Absent()


@dataclass(frozen=True)
class Declared:
    """One resource as one side declared it, its values normalized by the extraction."""

    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    inputs: dict[str, Any]
    secrets: frozenset[str] = frozenset()
    """The inputs the program marked secret."""
    aliases: tuple[str, ...] = ()
    """Its own aliases, as URNs; those inherited from an aliased parent are computed later."""
    options: dict[str, Any] = field(default_factory=dict)
    """Every other resource option the side's mockrun records, by its attribute name."""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Declared:
        return cls(
            urn=data["urn"],
            type=data["type"],
            name=data["name"],
            parent=data.get("parent"),
            custom=bool(data.get("custom", True)),
            inputs=data.get("inputs", {}),
            secrets=frozenset(data.get("secrets", ())),
            aliases=tuple(data.get("aliases", ())),
            options=data.get("options", {}),
        )

    def all_options(self) -> dict[str, Any]:
        """The options compared between sides: parent and aliases with the recorded rest."""
        return {"parent": self.parent, "aliases": list(self.aliases), **self.options}


@dataclass(frozen=True)
class VariantPlan:
    """One variant (a stack with config overrides) as one side planned it."""

    resources: dict[str, Declared]
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_outputs: frozenset[str] = frozenset()
    error: str | None = None
    """The program's error when it could not be planned (then there are no resources)."""
    duplicates: tuple[str, ...] = ()
    """URNs declared twice, which the engine refuses."""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VariantPlan:
        declared = [Declared.from_json(r) for r in data.get("resources", ())]
        counts = Counter(r.urn for r in declared)
        return cls(
            resources={r.urn: r for r in declared},
            outputs=data.get("outputs", {}),
            secret_outputs=frozenset(data.get("secret_outputs", ())),
            error=data.get("error"),
            duplicates=tuple(sorted(urn for urn, n in counts.items() if n > 1)),
        )


@dataclass(frozen=True)
class Plan:
    """Every variant one side planned, and the stacks its checkout has stack files for."""

    variants: dict[str, VariantPlan]
    stacks: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        variants = {n: VariantPlan.from_json(v) for n, v in data.get("variants", {}).items()}
        return cls(variants, tuple(data.get("stacks", ())))


@dataclass(frozen=True)
class Change:
    """One value that differs: ABSENT on the side that does not set it."""

    path: Path_
    old: Any
    new: Any
    secret: bool = False

    @property
    def key(self) -> str:
        """The input, option or output the value belongs to."""
        return str(self.path[0])


class Status(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    KEPT = "kept"
    """Declared on both sides, under the same URN or through an alias."""


@dataclass(frozen=True)
class ResourceDiff:
    """One resource across the two sides; every declared URN has one, unchanged ones included."""

    urn: str
    """Its URN in TO; in FROM when it was removed."""
    type: str
    status: Status
    old_urn: str | None = None
    """Its URN in FROM, when kept."""
    inputs: tuple[Change, ...] = ()
    options: tuple[Change, ...] = ()
    old: Declared | None = field(default=None, compare=False, repr=False)
    new: Declared | None = field(default=None, compare=False, repr=False)

    @property
    def moved(self) -> bool:
        """Kept under a new URN that names the old one as an alias (its own or a parent's)."""
        return self.old_urn is not None and self.old_urn != self.urn

    @property
    def changed_inputs(self) -> tuple[str, ...]:
        """The top-level input keys whose value changed, which decide update or replace."""
        return tuple(dict.fromkeys(change.key for change in self.inputs))

    @property
    def different(self) -> bool:
        return self.status is not Status.KEPT or bool(self.inputs or self.options)


@dataclass(frozen=True)
class VariantDiff:
    """One variant across the two sides."""

    name: str
    resources: tuple[ResourceDiff, ...] = ()
    outputs: tuple[Change, ...] = ()
    only_in: str | None = None
    """"from" or "to" when only that side has the variant's stack file or program."""
    errors: dict[str, str] = field(default_factory=dict)
    """Per side ("from", "to"), why it could not be planned."""

    def of_status(self, status: Status) -> list[ResourceDiff]:
        return [r for r in self.resources if r.status is status]

    @property
    def moved(self) -> list[ResourceDiff]:
        return [r for r in self.resources if r.moved]

    @property
    def changed(self) -> list[ResourceDiff]:
        return [r for r in self.resources if r.status is Status.KEPT and r.different]

    @property
    def different(self) -> bool:
        return bool(
            self.only_in or self.errors or self.outputs or any(r.different for r in self.resources)
        )


@dataclass(frozen=True)
class Side:
    """One side of the comparison: a git revision, or the working tree (commit None)."""

    label: str
    commit: str | None = None
    seconds: float = 0.0
    """How long planning its variants took."""

    @property
    def title(self) -> str:
        return f"{self.label} ({self.commit[:12]})" if self.commit else "the working tree"


@dataclass(frozen=True)
class Comparison:
    """Two sides planned and compared, every variant."""

    old: Side
    new: Side
    variants: tuple[VariantDiff, ...]
    uncovered: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Per side, stacks it has a stack file for that no compared variant plans."""
    seconds: float = 0.0
    """Wall time of the whole comparison."""

    @property
    def different(self) -> bool:
        return bool(self.uncovered) or any(v.different for v in self.variants)
