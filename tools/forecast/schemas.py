"""What CloudFormation says AWS cannot change in place, mapped back to the program's inputs.

cfn-lint carries AWS's resource schemas, and each lists the `createOnlyProperties` whose change
makes CloudFormation replace the resource. The AWS schema check's table (`cfncheck.types`)
renders each Pulumi resource as its CloudFormation equivalent, input by input, and remembers which
input wrote each property. Rendering both sides of a change and comparing the properties leaf by
leaf says which changed properties are create-only, and which of the program's inputs wrote them.

A companion (the internet gateway's attachment, the VPC's IPv6 block) is a CloudFormation
resource of its own: a create-only property there replaces the companion, not the Pulumi
resource, which the provider updates (attach, detach, associate).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from cfnlint.schema import (  # type: ignore[import-untyped]  # cfn-lint ships no types
    PROVIDER_SCHEMA_MANAGER,
)

from cfncheck.fields import Block, Ctx, Notes
from cfncheck.types import NO_EQUIVALENT, TYPES
from tools.mockrun import DEFAULT_REGION

CfnPath = tuple[str | int, ...]

REGION = DEFAULT_REGION
"""Whose schemas are read: create-only properties do not differ between regions."""


@dataclass(frozen=True)
class Leaf:
    """One value of the rendered properties, and the input that wrote it."""

    value: Any
    source: str
    """The Pulumi input path, list positions dropped (`rootBlockDevice.encrypted`)."""
    companion: bool = False


@dataclass(frozen=True)
class CreateOnly:
    """A changed create-only property: the input that wrote it and the property's name."""

    source: str
    cfn_type: str
    prop: str

    def __str__(self) -> str:
        return f"create-only in CloudFormation ({self.cfn_type} {self.prop})"


def rendered(type_: str) -> bool:
    """Whether the schema check renders this type as a resource of its own (neither written
    into another resource's properties nor without CloudFormation equivalent)."""
    table = TYPES.get(type_)
    return table is not None and table.attach is None


def self_contained(type_: str) -> bool:
    """Types whose replacing inputs only the provider table can say: no CloudFormation
    resource of their own (random, tls, the default group) or written into their host's."""
    return type_ in NO_EQUIVALENT or (type_ in TYPES and not rendered(type_))


@cache
def create_only(cfn_type: str) -> tuple[tuple[str, ...], ...]:
    """The create-only property paths of a CloudFormation type, `*` for any list position."""
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(REGION, cfn_type).schema
    return tuple(
        tuple(p.removeprefix("/properties/").split("/"))
        for p in schema.get("createOnlyProperties", ())
    )


def leaves(type_: str, name: str, inputs: Mapping[str, Any]) -> dict[CfnPath, Leaf]:
    """The resource's CloudFormation properties, leaf by leaf, as the schema check renders them
    (values of other resources stay as the engine gave them: both sides are compared alike)."""
    table = TYPES[type_]
    plain = {k: v for k, v in inputs.items() if v is not None}
    context = Ctx(_Resource(type_, name, plain), plain, REGION, Notes())
    found: dict[CfnPath, Leaf] = {}
    appended: dict[CfnPath, int] = {}
    for piece in Block("", table.fields)(plain, context):
        target, _, path = piece.path.rpartition(":")
        source = piece.source.replace("[]", "")
        steps: list[str | int] = [f"{target}:"] if target else []
        for part in path.split("/"):
            if part.endswith("[]"):
                key = (*steps, part[:-2])
                appended[key] = appended.get(key, -1) + 1
                steps += [part[:-2], appended[key]]
            else:
                steps.append(int(part) if part.isdigit() else part)
        for where, value in _flat(tuple(steps), piece.value):
            found[where] = Leaf(value, source, companion=bool(target))
    return found


def changed_create_only(
    type_: str, name: str, old: Mapping[str, Any], new: Mapping[str, Any]
) -> list[CreateOnly]:
    """Each changed leaf of the rendered properties that a create-only property covers."""
    cfn_type = TYPES[type_].cfn
    before, after = leaves(type_, name, old), leaves(type_, name, new)
    found: dict[tuple[str, str], CreateOnly] = {}
    for where in sorted(set(before) | set(after), key=str):
        a, b = before.get(where), after.get(where)
        if a is not None and b is not None and _same(a.value, b.value):
            continue
        leaf = b or a
        assert leaf is not None
        if leaf.companion:
            continue
        prop = _covering(cfn_type, where)
        if prop is not None:
            found.setdefault((leaf.source, prop), CreateOnly(leaf.source, cfn_type, prop))
    return list(found.values())


def replacing_sources(type_: str, name: str, inputs: Mapping[str, Any], key: str) -> list[str]:
    """The create-only properties that input `key` writes: what a new value of it replaces."""
    cfn_type = TYPES[type_].cfn
    return sorted(
        {
            prop
            for where, leaf in leaves(type_, name, inputs).items()
            if not leaf.companion
            and related(leaf.source, key)
            and (prop := _covering(cfn_type, where)) is not None
        }
    )


def related(source: str, path: str) -> bool:
    """Whether an input path and a change's path name the same value or one holds the other."""
    return source == path or source.startswith(f"{path}.") or path.startswith(f"{source}.")


def input_path(path: Sequence[str | int], json_step: str) -> str:
    """A change's path as an input path: list positions dropped, cut where a JSON document
    held in a string begins (`policy (json) Statement[0]` is the input `policy`)."""
    steps: list[str] = []
    for step in path:
        if step == json_step:
            break
        if not isinstance(step, int):
            steps.append(step)
    return ".".join(steps)


def _covering(cfn_type: str, where: CfnPath) -> str | None:
    """The create-only property covering the leaf at `where`, or holding it."""
    for pattern in create_only(cfn_type):
        steps = where[: len(pattern)]
        if all(p == "*" or str(s) == p for p, s in zip(pattern, steps, strict=False)):
            return "/".join(pattern)
    return None


def _flat(where: CfnPath, value: Any) -> list[tuple[CfnPath, Any]]:
    if isinstance(value, Mapping) and value and not _intrinsic(value):
        return [leaf for k, v in value.items() for leaf in _flat((*where, str(k)), v)]
    if isinstance(value, list) and value:
        return [leaf for i, v in enumerate(value) for leaf in _flat((*where, i), v)]
    return [(where, value)]


def _intrinsic(value: Mapping[str, Any]) -> bool:
    return len(value) == 1 and bool(re.fullmatch(r"Ref|Fn::\w+", str(next(iter(value)))))


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


@dataclass(frozen=True)
class _Resource:
    """What a table's converters may read of the resource (cfncheck.model.Declared)."""

    type: str
    name: str
    inputs: Mapping[str, Any]
    urn: str = ""
    custom: bool = True
    id: str | None = None
    state: Mapping[str, Any] = field(default_factory=dict)
    secrets: frozenset[str] = frozenset()
    dependencies: Mapping[str, Sequence[str]] = field(default_factory=dict)
