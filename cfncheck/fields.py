"""The converters a type table is written with: how one Pulumi input becomes CloudFormation.

A field turns one input value into `Emitted` pieces: a CloudFormation property path, the value to
put there, and the Pulumi input it came from (kept so a finding can name the input). Paths are
`/`-separated (`HealthCheck/Path`, `Targets/0/Arn`); a segment ending in `[]` appends a new item to
a list (`LoadBalancerAttributes[]`), and a `Name:` prefix writes to a companion resource (an
internet gateway's `VPCGatewayAttachment`).

The fields are data, so a test can walk a table: `To` renames (a plain string is short for it),
`Block` and `Items` convert a nested block or a list of blocks key by key, `Drop` records an input
with no CloudFormation equivalent and why, `Custom` is anything else. An input key that no field
names is recorded as unmapped: it is never dropped silently.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cfncheck.model import Declared, is_intrinsic


@dataclass(frozen=True)
class Emitted:
    path: str
    value: Any
    source: str
    """The Pulumi input it came from, `healthCheck.interval`."""


@dataclass
class Notes:
    """What conversion learnt besides the properties: inputs with no equivalent, and gaps."""

    no_equivalent: dict[str, str] = field(default_factory=dict)
    """Input path → why CloudFormation has no property for it."""
    unmapped: list[str] = field(default_factory=list)
    """Input paths no field names: coverage gaps."""


@dataclass(frozen=True)
class Ctx:
    """What a field knows while it converts: the resource, the region, where in the inputs."""

    resource: Declared
    inputs: Mapping[str, Any]
    """All of the resource's inputs, references already resolved."""
    region: str
    notes: Notes
    where: str = ""

    def at(self, key: str | int) -> Ctx:
        where = f"{self.where}[]" if isinstance(key, int) else _join(self.where, key)
        return Ctx(self.resource, self.inputs, self.region, self.notes, where)

    def emit(self, path: str, value: Any) -> list[Emitted]:
        return [Emitted(path, value, self.where)]


@dataclass(frozen=True)
class To:
    """The value, through `convert`, at `path`."""

    path: str
    convert: Callable[[Any], Any] | None = None

    def __call__(self, value: Any, ctx: Ctx) -> list[Emitted]:
        return ctx.emit(self.path, lift(self.convert)(value) if self.convert else value)


@dataclass(frozen=True)
class Block:
    """A nested block converted key by key into the object at `path` ("" is the properties)."""

    path: str
    fields: Mapping[str, Field]

    def __call__(self, value: Any, ctx: Ctx) -> list[Emitted]:
        if not isinstance(value, Mapping):
            return ctx.emit(self.path, value)
        emitted: list[Emitted] = []
        for key, item in value.items():
            if item is None:
                continue
            emitted += prefixed(self.path, convert(self.fields.get(key), item, ctx.at(key)))
        return emitted


@dataclass(frozen=True)
class Items:
    """A list of blocks converted key by key, item by item, into the list at `path`."""

    path: str
    fields: Mapping[str, Field]

    def __call__(self, value: Any, ctx: Ctx) -> list[Emitted]:
        return [
            piece
            for index, item in enumerate(value or [])
            for piece in Block(f"{self.path}/{index}", self.fields)(item, ctx.at(index))
        ]


@dataclass(frozen=True)
class Drop:
    """No CloudFormation equivalent, for `reason`."""

    reason: str

    def __call__(self, value: Any, ctx: Ctx) -> list[Emitted]:
        ctx.notes.no_equivalent[ctx.where] = self.reason
        return []


NAME_PREFIX = Drop("Pulumi provider naming: a prefix to which AWS adds a suffix.")
"""`namePrefix` and its kin: the provider adds the suffix, CloudFormation names it itself."""


@dataclass(frozen=True)
class Custom:
    """Anything else: `convert(value, ctx)` returns the pieces."""

    convert: Callable[[Any, Ctx], list[Emitted]]

    def __call__(self, value: Any, ctx: Ctx) -> list[Emitted]:
        return self.convert(value, ctx)


def convert(field_: Field | None, value: Any, ctx: Ctx) -> list[Emitted]:
    if field_ is None:
        ctx.notes.unmapped.append(ctx.where)
        return []
    if isinstance(field_, str):
        return To(field_)(value, ctx)
    return field_(value, ctx)


def prefixed(prefix: str, emitted: list[Emitted]) -> list[Emitted]:
    if not prefix:
        return emitted
    return [Emitted(_join(prefix, e.path, "/"), e.value, e.source) for e in emitted]


def lift(function: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`function`, except that intrinsics pass through untouched."""
    return lambda value: value if is_intrinsic(value) else function(value)


Field = str | To | Block | Items | Drop | Custom
"""How one input converts; a plain string renames it."""


# Value conversions


def text(value: Any) -> Any:
    """CloudFormation strings that Pulumi types as numbers (`MinSize`, `Cooldown`)."""
    return value if isinstance(value, str) else json.dumps(value)


def boolean(value: Any) -> Any:
    """Booleans that the provider types as strings (`"true"` in launch templates)."""
    return {"true": True, "false": False}.get(value, value) if isinstance(value, str) else value


def base64_text(value: Any) -> Any:
    """User data: the provider base64-encodes an instance's plain text before EC2 sees it."""
    return base64.b64encode(str(value).encode()).decode() if isinstance(value, str) else value


def tags(path: str = "Tags") -> Custom:
    """A Pulumi tag map as CloudFormation's list of `{Key, Value}`."""

    def convert_tags(value: Any, ctx: Ctx) -> list[Emitted]:
        return ctx.emit(path, [{"Key": k, "Value": v} for k, v in (value or {}).items()])

    return Custom(convert_tags)


def _join(left: str, right: str | int, sep: str = ".") -> str:
    return f"{left}{sep}{right}" if left else str(right)
