"""Runs a built policy pack as the Pulumi CLI does, and hands its policies stacks of resources.

    python -I policy_pack_probe.py <pack directory> <stacks.json>

`tests/test_policy_pack.py` runs it in a process that has nothing of the repository on its path.
The pack's directory is run with `runpy.run_path`, as `python -m pulumi.policy` runs it, with
`pulumi_policy.PolicyPack` replaced: the real one serves the engine over gRPC and never returns,
this one hands every policy each stack's resources as the engine would and prints, as JSON, where
`policy` was imported from, the policies' names, each stack's violations and the top-level modules
the pack loaded. `violations` is also what tests/test_policy.py judges the in-repo pack with, so
this file imports nothing but the standard library and pulumi_policy.
"""

from __future__ import annotations

import json
import runpy
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pulumi_policy
from pulumi_policy import (
    Policy,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties, serialize_properties
from pulumi_policy.proxy import unknown_checking_proxy

FIELDS = ("urn", "type", "name", "parent", "dependencies", "waits_for")
"""What a resource record holds besides its inputs, taken from the mock harness's resources."""

Violation = tuple[str, str, str | None]
"""(policy, message, URN)"""


def record(resource: Any) -> dict[str, Any]:
    """A resource as JSON, its inputs as the engine sends them (assets and archives marked)."""
    fields = {field: getattr(resource, field) for field in FIELDS}
    return {**fields, "inputs": serialize_properties(resource.inputs)}


def violations(policies: Sequence[Policy], records: Sequence[Mapping[str, Any]]) -> list[Violation]:
    """What each policy reports on the resources: stack policies once, resource policies on each."""
    resources = _policy_resources(records)
    found: list[Violation] = []
    for policy in policies:

        def report(message: str, urn: str | None = None, name: str = policy.name) -> None:
            found.append((name, message, urn))

        if isinstance(policy, StackValidationPolicy):
            policy.validate(StackValidationArgs(resources), report)
        elif isinstance(policy, ResourceValidationPolicy):
            for resource in resources:
                args = ResourceValidationArgs(
                    resource.resource_type,
                    resource.props,
                    resource.urn,
                    resource.name,
                    options(),
                    None,
                )
                policy.validate(args, report)
    return found


def options() -> PolicyResourceOptions:
    """Resource options with nothing set: no rule reads them."""
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def _policy_resources(records: Sequence[Mapping[str, Any]]) -> list[PolicyResource]:
    """The resources as the engine hands them to a stack policy."""
    made: dict[str, PolicyResource] = {}
    for r in records:
        parent = made.get(r["parent"]) if r["parent"] else None
        made[r["urn"]] = PolicyResource(
            r["type"],
            unknown_checking_proxy(deserialize_properties(dict(r["inputs"]))),
            r["urn"],
            r["name"],
            options(),
            None,
            parent,
            [],
            {},
        )
    for r in records:
        made[r["urn"]].property_dependencies = {
            key: [made[u] for u in urns if u in made] for key, urns in r["dependencies"].items()
        }
        made[r["urn"]].dependencies = [made[u] for u in r["waits_for"] if u in made]
    return list(made.values())


def main(pack: Path, stacks: Mapping[str, Sequence[Mapping[str, Any]]]) -> dict[str, Any]:
    result: dict[str, Any] = {}

    def judge(*, name: str, policies: Sequence[Policy], **_: Any) -> None:
        """Stands for `PolicyPack`, run where the real one would serve the engine."""
        result["name"] = name
        result["policies"] = [p.name for p in policies]
        result["violations"] = {s: violations(policies, rs) for s, rs in stacks.items()}
        result["policy"] = sys.modules["policy"].__file__

    pulumi_policy.PolicyPack = judge  # type: ignore[assignment,misc]
    runpy.run_path(str(pack), run_name="__main__")
    loaded = {name.split(".")[0] for name, module in sys.modules.items() if _from_files(module)}
    own = {"__main__", "__mp_main__", "policy"}  # runpy names the pack's __main__ both ways
    result["modules"] = sorted(loaded - set(sys.stdlib_module_names) - own)
    return result


def _from_files(module: Any) -> bool:
    """Loaded from a file or a package directory, not made at run time (Cython's runtime)."""
    return bool(getattr(module, "__file__", None) or getattr(module, "__path__", None))


if __name__ == "__main__":
    stacks = json.loads(Path(sys.argv[2]).read_text())
    print(json.dumps(main(Path(sys.argv[1]), stacks)))
