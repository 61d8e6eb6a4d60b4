"""Renders declared resources as one CloudFormation template and remembers where values came from.

Each resource whose type the table knows becomes a resource of the template; its logical id comes
from its Pulumi name and type (`network-private-eu-west-1a` → `NetworkPrivateEuWest1aSubnet`).
Resources that CloudFormation writes as a property of another (a bucket's encryption) are written
into that host. Every property path of the template maps back to the Pulumi resource and input
it came from, so a finding names the program's resource and input, not the template's.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cfncheck.fields import Block, Ctx, Emitted, Notes
from cfncheck.model import Declared, ref, short_type
from cfncheck.refs import References
from cfncheck.table import TypeMap
from cfncheck.types import COMPONENT_REASON, NO_EQUIVALENT, TYPES

Path = tuple[str | int, ...]

REGION_REASON = (
    "A template deploys to one region: a resource of another region is rendered into a template "
    "of that region, linted for it (cfncheck.validate)."
)


class RenderError(Exception):
    """Two inputs wrote the same property: a mistake in the table, not in the program."""


@dataclass(frozen=True)
class Source:
    resource: Declared
    input: str
    """The Pulumi input path (`healthCheck.interval`); "" for the resource as a whole."""


@dataclass
class Rendering:
    template: dict[str, Any]
    sources: dict[Path, Source] = field(default_factory=dict)
    rendered: int = 0
    """How many resources were rendered (on their own or into a host)."""
    not_rendered: list[tuple[Declared, str]] = field(default_factory=list)
    inputs_rendered: int = 0
    no_equivalent: dict[tuple[str, str], str] = field(default_factory=dict)
    """(Pulumi type, input path) → why CloudFormation has no property for it."""
    unmapped: set[tuple[str, str]] = field(default_factory=set)
    """(Pulumi type, input path) the table does not know; "*" for a whole type."""

    def source(self, path: Sequence[str | int]) -> Source | None:
        """Where the value at `path` (a cfn-lint path) came from: its longest known prefix."""
        for end in range(len(path), 1, -1):
            found = self.sources.get(tuple(path[:end]))
            if found is not None:
                return found
        return None


def render(resources: Sequence[Declared], region: str) -> Rendering:
    types, no_equivalent = TYPES, NO_EQUIVALENT
    logical = _logical_ids(resources, types)
    renderer = _Renderer(logical, References(resources, logical, types, no_equivalent), region)
    rendering = renderer.rendering
    attached = []
    for resource in resources:
        table = types.get(resource.type) if resource.custom else None
        if table is not None and table.attach is not None:
            attached.append((resource, table))
        elif table is not None:
            renderer.alone(resource, table)
        elif not resource.custom:
            rendering.not_rendered.append((resource, COMPONENT_REASON))
        elif resource.type in no_equivalent:
            rendering.not_rendered.append((resource, no_equivalent[resource.type].reason))
        else:
            rendering.not_rendered.append((resource, "the table has no entry for this type"))
            rendering.unmapped.add((resource.type, "*"))
    for resource, table in attached:
        renderer.attached(resource, table)
    return rendering


class _Renderer:
    def __init__(self, logical: Mapping[str, str], references: References, region: str) -> None:
        self.logical = logical
        self.references = references
        self.region = region
        self.resources: dict[str, Any] = {}
        template = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": self.resources}
        self.rendering = Rendering(template)

    def alone(self, resource: Declared, table: TypeMap) -> None:
        """A resource of its own, with its companions."""
        logical = self.logical[resource.urn]
        emitted = self._convert(resource, table)
        if table.required_name and "name" not in resource.inputs and resource.state.get("name"):
            # Pulumi auto-names it `<name>-<7 hex>`, the name the engine answered with.
            emitted.append(Emitted(table.required_name, resource.state["name"], "name"))
        self.resources[logical] = {"Type": table.cfn, "Properties": {}}
        self.rendering.sources[("Resources", logical)] = Source(resource, "")
        for piece in emitted:
            target, _, path = piece.path.rpartition(":")
            name = logical + target
            if target and name not in self.resources:
                companion = table.companions[target]
                properties = {companion.self_ref: ref(logical)}
                self.resources[name] = {"Type": companion.cfn, "Properties": properties}
                self.rendering.sources[("Resources", name)] = Source(resource, "")
                # The companion exists for the input that writes to it: its link comes from it.
                link = ("Resources", name, "Properties", companion.self_ref)
                self.rendering.sources[link] = Source(resource, piece.source)
            self._place(name, resource, path, piece)

    def attached(self, resource: Declared, table: TypeMap) -> None:
        """A resource written into its host's properties."""
        assert table.attach is not None
        link = table.attach.link
        urns = resource.dependencies.get(link, ())
        host = next((self.logical[urn] for urn in urns if urn in self.logical), None)
        if host is None:
            reason = f"its {link} is no resource this program declares"
            self.rendering.not_rendered.append((resource, reason))
            return
        emitted = self._convert(resource, table, skip=link)
        self.rendering.inputs_rendered += 1  # the link: where the resource is written says it
        prefix = ""
        if table.attach.item is not None:
            items = self.resources[host]["Properties"].setdefault(table.attach.item, [])
            prefix = f"{table.attach.item}/{len(items)}/"
            items.append({})
        for piece in emitted:
            self._place(host, resource, prefix + piece.path, piece)

    def _convert(self, resource: Declared, table: TypeMap, skip: str = "") -> list[Emitted]:
        inputs = self.references.resolve(resource)
        inputs.pop(skip, None)
        if inputs.pop("region", None) is not None:
            self.rendering.no_equivalent[(resource.type, "region")] = REGION_REASON
        notes = Notes()
        emitted = Block("", table.fields)(inputs, Ctx(resource, inputs, self.region, notes))
        rendering = self.rendering
        rendering.rendered += 1
        skipped = set(notes.no_equivalent) | set(notes.unmapped)
        rendering.inputs_rendered += sum(1 for key in inputs if key not in skipped)
        for where, reason in notes.no_equivalent.items():
            rendering.no_equivalent[(resource.type, where)] = reason
        rendering.unmapped.update((resource.type, where) for where in notes.unmapped)
        return emitted

    def _place(self, logical: str, resource: Declared, path: str, piece: Emitted) -> None:
        """Writes `piece.value` at `path` of the properties and records where it came from."""
        node: Any = self.resources[logical]["Properties"]
        concrete: list[str | int] = ["Resources", logical, "Properties"]
        parts = path.split("/")
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            fresh: Any = piece.value if last else ([] if parts[index + 1].isdigit() else {})
            key: str | int = part.removesuffix("[]")
            if part.endswith("[]"):
                node.setdefault(key, []).append(fresh)
                concrete += [key, len(node[key]) - 1]
                node = fresh
                continue
            if isinstance(node, list):
                key = int(part)
                node.extend([None] * (key + 1 - len(node)))
                taken = node[key] is not None
            else:
                taken = key in node
            if last and taken:
                raise RenderError(f"{short_type(resource.type)} '{resource.name}': {path} twice")
            if not taken:
                node[key] = fresh
            concrete.append(key)
            node = node[key]
        sources = self.rendering.sources
        sources[tuple(concrete)] = Source(resource, piece.source)
        # The blocks on the way belong to the top-level input that wrote them, unless several did.
        top = re.split(r"[.\[]", piece.source, maxsplit=1)[0]
        for end in range(4, len(concrete)):
            known = sources.setdefault(tuple(concrete[:end]), Source(resource, top))
            if known.input != top or known.resource is not resource:
                sources[tuple(concrete[:end])] = sources[("Resources", logical)]


def _logical_ids(resources: Sequence[Declared], types: Mapping[str, TypeMap]) -> dict[str, str]:
    """URN → logical id, for each resource rendered as a resource of its own."""
    ids: dict[str, str] = {}
    for resource in resources:
        table = types.get(resource.type)
        if not resource.custom or table is None or table.attach is not None:
            continue
        words = re.split(r"[^A-Za-z0-9]+", resource.name)
        logical = "".join(w[:1].upper() + w[1:] for w in words) + short_type(resource.type)
        if logical in ids.values():
            logical += hashlib.sha256(resource.urn.encode()).hexdigest()[:8]
        ids[resource.urn] = logical
    return ids
