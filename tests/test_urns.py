"""No deployed resource is replaced by accident: every URN recorded in tests/urns.json (per stack
and database mode, before each change that moves resources) is still declared, or is named by an
alias of the resource that took its place, so that Pulumi sees a move, not a replacement.

A child's URN follows its parent's: when a component moves, the engine carries its children's
old URNs over through the parent's alias, and so does `_known` here.
"""

from __future__ import annotations

import json

import pytest

from policy.types import EGRESS
from tools import urns
from tools.mockrun import Resource, Run, run

# Slow (every stack and mode planned): in `make test`, not `make check`.
pytestmark = pytest.mark.slow

RECORDED: dict[str, list[str]] = json.loads(urns.RECORD.read_text())

EGRESS_RULE = EGRESS
# Resources removed on purpose, by the end of their URN: a deployed stack sees them deleted, and
# nothing takes their place. Each with why.
REMOVED = {
    f"AppFleet${EGRESS_RULE}::app-hosts-egress": "the app hosts' egress anywhere, every "
    "protocol: now HTTPS anywhere and one rule per peer (database, cache, backups)",
    f"BastionHost${EGRESS_RULE}::bastion-egress": "the bastion's egress anywhere, every protocol: "
    "now SSH to the VPC and HTTPS anywhere",
    f"PostgresHA${EGRESS_RULE}::database-egress": "the vip nodes' egress anywhere, every protocol: "
    "now HTTPS anywhere and NFS to their data volume",
}


def _known(declared: Run) -> set[str]:
    """Every URN the engine would match to a declared resource: its own, its aliases, and those
    its children inherit from an aliased parent."""
    known: set[str] = set()
    for resource in declared.resources:
        known.add(resource.urn)
        known.update(resource.aliases)
        for parent_alias in _parent_aliases(declared, resource):
            known.add(_under(parent_alias, resource.type, resource.name))
    return known


def _parent_aliases(declared: Run, resource: Resource) -> list[str]:
    parent = declared.by_urn(resource.parent) if resource.parent else None
    found: list[str] = []
    while parent is not None:
        found.extend(parent.aliases)
        parent = declared.by_urn(parent.parent) if parent.parent else None
    return found


def _under(parent_urn: str, type_: str, name: str) -> str:
    """The URN of a resource of `type_` named `name` under `parent_urn`."""
    prefix, parent_type, _ = parent_urn.rsplit("::", 2)
    return f"{prefix}::{parent_type}${type_}::{name}"


@pytest.mark.parametrize("variant", sorted(RECORDED))
def test_every_recorded_urn_is_current_or_aliased(variant: str) -> None:
    stack = variant.split("/", maxsplit=1)[0]
    declared = run(stack, urns.variants()[variant])
    missing = sorted(set(RECORDED[variant]) - _known(declared))
    missing = [urn for urn in missing if not any(urn.endswith(end) for end in REMOVED)]
    assert not missing, f"{variant}: resources Pulumi would replace: {missing}"


def test_every_removal_is_of_a_recorded_resource() -> None:
    recorded = {urn for urns_ in RECORDED.values() for urn in urns_}
    for end in REMOVED:
        assert any(urn.endswith(end) for urn in recorded), f"{end}: never recorded"


def test_the_record_covers_every_stack_in_both_modes() -> None:
    assert set(urns.variants()) == set(RECORDED)
