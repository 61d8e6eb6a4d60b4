"""Runs the real `__main__.py` under Pulumi's mock engine and returns what it declared: this
repository's program by default, or another program's directory (`program=`, e.g. examples/…)
with its own `Pulumi.yaml` and stack files.

Used by the offline plan and by the tests. No AWS account and no Pulumi CLI are needed: the mocks
answer each resource registration with a realistic id (`vpc-…`, `sg-…`) and the outputs AWS would
compute (ARNs, allocation ids, network interface ids), so wiring mistakes show.
"""

from __future__ import annotations

import contextvars
import json
import runpy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from components.config import StackConfig, load_config
from policy.model import Stack, from_declared
from tools.mocks import ACCOUNT, OFFLINE_SECRET, Mocks, Monitor, Resource
from tools.stackfiles import ROOT, stack_config, stacks

PROJECT = "multitier"
"""This program's project, and the package of every component type token (`multitier:…`)."""
DEFAULT_REGION = "eu-west-1"  # when the stack file sets no aws:region


__all__ = [
    "ACCOUNT",
    "DEFAULT_REGION",
    "OFFLINE_SECRET",
    "PROJECT",
    "ROOT",
    "Resource",
    "Run",
    "attempt",
    "component",
    "config_of",
    "run",
    "stack_config",
    "stacks",
]


@dataclass
class Run:
    """What one run of the program declared and exported."""

    stack: str
    region: str = DEFAULT_REGION
    """The region the program ran in (`aws:region`), which the mocks answer for."""
    resources: list[Resource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_outputs: set[str] = field(default_factory=set)
    error: BaseException | None = None

    def of_type(self, type_: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> Resource:
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        if len(found) != 1:
            names = [r.name for r in self.of_type(type_)]
            raise LookupError(f"expected one {type_} named {name!r}, found {len(found)}: {names}")
        return found[0]

    def by_urn(self, urn: str) -> Resource | None:
        return self._by_urn.get(urn)

    @cached_property
    def _by_urn(self) -> dict[str, Resource]:
        return {r.urn: r for r in self.resources}

    @cached_property
    def view(self) -> Stack:
        """The one read model of a declared stack (policy/model.py), which the rules, the plan
        and the tests all ask: prerequisites, the component of a resource."""
        return from_declared(self)

    def find(self, id_: str) -> Resource | None:
        """The resource with this id, or whose computed outputs include it (an ENI, an EIP)."""
        return next(
            (r for r in self.resources if r.custom and (r.id == id_ or id_ in r.state.values())),
            None,
        )

    def by_id(self, id_: str) -> Resource:
        found = self.find(id_)
        if found is None:
            raise LookupError(f"no declared resource has the id {id_!r}")
        return found

    def prerequisites(self, resource: Resource) -> frozenset[str]:
        """Every URN the engine creates before `resource`, followed transitively."""
        declared = self.view.get(resource.urn)
        return self.view.prerequisites(declared) if declared else frozenset()

    def component_of(self, resource: Resource) -> Resource | None:
        """The nearest enclosing `multitier:` component."""
        declared = self.view.get(resource.urn)
        found = self.view.component_of(declared) if declared else None
        return self.by_urn(found.urn) if found else None

    @property
    def components(self) -> list[Resource]:
        return [r for r in self.resources if not r.custom]


def run(
    stack: str,
    overrides: Mapping[str, Any] | None = None,
    path: Path | None = None,
    program: Path = ROOT,
) -> Run:
    """Run the program's `__main__.py` for `stack` under mocks. Raises what the program raises."""
    result = attempt(stack, overrides, path, program)
    if result.error is not None:
        raise result.error
    return result


def attempt(
    stack: str,
    overrides: Mapping[str, Any] | None = None,
    path: Path | None = None,
    program: Path = ROOT,
) -> Run:
    """Like `run`, but a failed run returns what it declared, with the error in `Run.error`."""
    config = stack_config(stack, overrides, path, program)
    return contextvars.Context().run(_run, stack, config, program)


def component(declare: Callable[[], object], stack: str = "dev") -> Run:
    """Run `declare` under the same mocks instead of a program: one component built alone, its
    args from a stack file (`config_of`) or a fixture. The fast tests build each component so."""
    return contextvars.Context().run(_run, stack, {}, ROOT, declare)


def config_of(stack: str, overrides: Mapping[str, Any] | None = None) -> StackConfig:
    """The validated `multitier:*` config of a stack file, as a component's args take it."""
    config = stack_config(stack, overrides)
    sections = {
        key.removeprefix(f"{PROJECT}:"): value
        for key, value in config.items()
        if key.startswith(f"{PROJECT}:")
    }
    region = str(config.get("aws:region", DEFAULT_REGION))
    return load_config(sections, region=region, stack=stack)


def project_name(program: Path) -> str:
    """The `name:` of the program's `Pulumi.yaml`."""
    document = yaml.safe_load((program / "Pulumi.yaml").read_text())
    return str(document["name"])


def _run(
    stack: str,
    config: dict[str, Any],
    program: Path,
    declare: Callable[[], object] | None = None,
) -> Run:
    # The program sees the region the mocks answer for.
    config = {"aws:region": DEFAULT_REGION, **config}
    region = str(config["aws:region"])
    monitor = Monitor(Mocks(region))
    pulumi.runtime.set_mocks(
        monitor.mocks, project=project_name(program), stack=stack, preview=False, monitor=monitor
    )
    values, secret_keys = _wire_config(config)
    pulumi.runtime.set_all_config(values, secret_keys)

    result = Run(stack, region)
    try:

        def main() -> None:
            if declare is not None:
                declare()
            else:
                _run_main(program)

        _sync_await(run_pulumi_func(main))
    except Exception as error:  # handed to the caller in Run.error
        result.error = error
    result.resources = list(monitor.declared)
    if result.error is not None:
        return result
    root = pulumi.runtime.get_root_resource()
    for key, value in getattr(root, "outputs", {}).items():
        output = pulumi.Output.from_input(value)
        result.outputs[key] = _sync_await(output.future())
        if _sync_await(output.is_secret()):
            result.secret_outputs.add(key)
    return result


def _run_main(program: Path) -> None:
    runpy.run_path(str(program / "__main__.py"), run_name="__main__")


def _wire_config(config: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    """Config as the CLI hands it to a program: strings, structured values as JSON.

    `secure:` values cannot be decrypted offline; they become a placeholder, and as the CLI does,
    a key holding one (at any depth) is marked secret.
    """
    values: dict[str, str] = {}
    secret_keys = []
    for key, value in config.items():
        plain, secret = _decrypted(value)
        values[key] = plain if isinstance(plain, str) else json.dumps(plain)
        if secret:
            secret_keys.append(key)
    return values, secret_keys


def _decrypted(value: Any) -> tuple[Any, bool]:
    """`value` with each `secure:` value replaced by a placeholder, and whether it held one."""
    if isinstance(value, Mapping) and set(value) == {"secure"}:
        return OFFLINE_SECRET, True
    if isinstance(value, Mapping):
        items = {key: _decrypted(item) for key, item in value.items()}
        return {k: plain for k, (plain, _) in items.items()}, any(s for _, s in items.values())
    if isinstance(value, list):
        pairs = [_decrypted(item) for item in value]
        return [plain for plain, _ in pairs], any(s for _, s in pairs)
    return value, False
