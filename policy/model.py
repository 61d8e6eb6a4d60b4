"""What the rules judge: declared resources and the stack they belong to.

The same view is built from two sources: a record of what the program declared (`from_declared`:
the mock harness's run satisfies `Declaration` as it is), and what the Pulumi engine hands a policy
pack (`policy.pulumi_pack`). Properties use the engine's names (`cidrIpv4`, `metadataOptions`), and
links between resources are property dependencies (URNs), which are known even in a preview, when
ids are not. Nothing here imports the harness: dependencies run one way, tools to policy.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

PRODUCTION_TAG = "multitier:production"
"""On every taggable resource: `true` when its stack is held to the production rules (backups,
deletion protection, Multi-AZ), as the stack's `multitier:production` decides. The rules read
it, here and in the policy pack, so both judge a stack the same way whatever its name."""
PRODUCTION_STACKS = ("prod", "production")
"""The names that make a stack production when no resource carries the tag (a program that does
not tag it), with any name that starts with one of these and a hyphen (`prod-eu`). The same
names as components/config/stack.py's, which the pack ships without; a test holds them equal."""


@dataclass(frozen=True)
class Res:
    """One declared resource."""

    urn: str
    type: str
    name: str
    props: Mapping[str, Any]
    parent: str | None = None
    deps: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Per property, the URNs of the resources its value came from."""
    waits_for: Sequence[str] = ()
    """Every URN the engine creates before this one: input dependencies and `depends_on`."""

    def get(self, key: str, default: Any = None) -> Any:
        return self.props.get(key, default)

    @property
    def tags(self) -> Mapping[str, Any]:
        tags = self.props.get("tags")
        return tags if isinstance(tags, Mapping) else {}


class Stack:
    """All resources of one stack, indexed for the rules that look across resources."""

    def __init__(self, name: str, resources: Sequence[Res]) -> None:
        self.name = name
        self.resources = list(resources)
        self._by_urn = {r.urn: r for r in self.resources}
        self._prerequisites: dict[str, frozenset[str]] = {}

    @property
    def production(self) -> bool:
        """What the resources' `multitier:production` tag says (any `true` wins), else the name."""
        said = {
            str(r.tags[PRODUCTION_TAG]).lower() for r in self.resources if PRODUCTION_TAG in r.tags
        }
        return "true" in said if said else is_production(self.name)

    def __iter__(self) -> Iterator[Res]:
        return iter(self.resources)

    def of_type(self, *types: str) -> list[Res]:
        return [r for r in self.resources if r.type in types]

    def get(self, urn: str) -> Res | None:
        return self._by_urn.get(urn)

    def refs(self, resource: Res, prop: str, *types: str) -> list[Res]:
        """The resources `resource.<prop>` refers to, optionally only those of `types`."""
        found = (self._by_urn.get(urn) for urn in resource.deps.get(prop, ()))
        return [r for r in found if r is not None and (not types or r.type in types)]

    def referring(self, target: Res, prop: str, *types: str) -> list[Res]:
        """The resources of `types` whose `prop` refers to `target`."""
        return [r for r in self.of_type(*types) if target.urn in r.deps.get(prop, ())]

    def prerequisites(self, resource: Res) -> frozenset[str]:
        """Every URN created before `resource`: what it waits for, and what those wait for."""
        found = self._prerequisites.get(resource.urn)
        if found is None:
            seen: set[str] = set()
            pending = list(resource.waits_for)
            while pending:
                urn = pending.pop()
                if urn not in seen:
                    seen.add(urn)
                    waited = self._by_urn.get(urn)
                    pending.extend(waited.waits_for if waited else ())
            found = self._prerequisites[resource.urn] = frozenset(seen)
        return found

    def waits_for(self, resource: Res, prerequisite: Res) -> bool:
        """Whether the engine creates `prerequisite` before `resource`."""
        return prerequisite.urn in self.prerequisites(resource)

    def component_of(self, resource: Res) -> Res | None:
        """The nearest enclosing `multitier:` component."""
        parent = self._by_urn.get(resource.parent) if resource.parent else None
        while parent is not None and not parent.type.startswith("multitier:"):
            parent = self._by_urn.get(parent.parent) if parent.parent else None
        return parent


def is_production(stack: str) -> bool:
    return any(stack == name or stack.startswith(f"{name}-") for name in PRODUCTION_STACKS)


def stack_of_urn(urn: str) -> str:
    """`dev` of `urn:pulumi:dev::multitier::aws:ec2/vpc:Vpc::network`."""
    return urn.split("::", maxsplit=1)[0].rsplit(":", maxsplit=1)[-1]


class Declared(Protocol):
    """One resource as the program declared it."""

    @property
    def urn(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def parent(self) -> str | None: ...
    @property
    def inputs(self) -> Mapping[str, Any]: ...
    @property
    def dependencies(self) -> Mapping[str, Sequence[str]]:
        """Per input, the URNs of the resources its value came from."""
        ...

    @property
    def waits_for(self) -> Sequence[str]:
        """Every URN the engine creates before this one."""
        ...


class Declaration(Protocol):
    """What one stack declared: its name and its resources."""

    @property
    def stack(self) -> str: ...
    @property
    def resources(self) -> Sequence[Declared]: ...


def from_declared(declaration: Declaration) -> Stack:
    """The view of what a stack declared, e.g. a run of the program under mocks."""
    return Stack(
        declaration.stack,
        [
            Res(
                urn=r.urn,
                type=r.type,
                name=r.name,
                props=r.inputs,
                parent=r.parent,
                deps=r.dependencies,
                waits_for=r.waits_for,
            )
            for r in declaration.resources
        ],
    )
