"""The schema check's coverage is honest: every declared type and input is judged or listed.

A resource type the program starts to declare, or an input it starts to set, that the table in
`cfncheck/types` does not know fails here; so does a table entry naming an input or an output the
provider does not have (a misspelt no-equivalent entry would otherwise hide nothing, silently).
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Mapping
from typing import Any

import pytest

from cfncheck.fields import Block, Items
from cfncheck.render import render
from cfncheck.table import TypeMap
from cfncheck.types import NO_EQUIVALENT, TYPES
from tests.cfncheck_variants import CASES, IDS, Variant, config_of, region, run_of

# Slow (the AWS schema check): in `make test`, not `make check`.
pytestmark = pytest.mark.slow


def test_the_variants_cover_every_nat_mode_and_both_database_modes():
    configs = [config_of(stack, variant) for stack, variant in CASES]
    nat_modes = {config.network.nat_mode for config in configs}
    database_modes = {config.database.mode for config in configs}
    assert nat_modes == {"none", "instance", "single", "per_az"}
    assert database_modes == {"managed", "vip"}


@pytest.mark.parametrize(("stack", "variant"), CASES, ids=IDS)
def test_every_declared_type_is_rendered_or_has_no_equivalent(stack: str, variant: Variant):
    run = run_of(stack, variant)
    unknown = {r.type for r in run.resources if r.custom} - set(TYPES) - set(NO_EQUIVALENT)
    assert not unknown, f"add these types to cfncheck/types: {sorted(unknown)}"


@pytest.mark.parametrize(("stack", "variant"), CASES, ids=IDS)
def test_every_input_is_rendered_or_listed_with_a_reason(stack: str, variant: Variant):
    rendering = render(run_of(stack, variant).resources, region(stack))
    assert not rendering.unmapped, f"inputs cfncheck/types does not know: {rendering.unmapped}"


@pytest.mark.parametrize("table", TYPES.values(), ids=list(TYPES))
def test_every_input_the_table_names_exists_in_the_provider(table: TypeMap):
    args = _provider_class(table.pulumi, args=True)
    missing = list(_unknown_inputs(args, table.fields, ""))
    assert not missing, f"{table.pulumi}: the provider has no input {missing}"


@pytest.mark.parametrize("table", TYPES.values(), ids=list(TYPES))
def test_every_output_the_table_references_exists_in_the_provider(table: TypeMap):
    outputs = _pulumi_names(_provider_class(table.pulumi, args=False))
    missing = [key for key in table.refs if key.split(".")[0] not in {"id", *outputs}]
    assert not missing, f"{table.pulumi}: the provider has no output {missing}"


@pytest.mark.parametrize("entry", NO_EQUIVALENT.values(), ids=list(NO_EQUIVALENT))
def test_every_type_listed_without_equivalent_exists_in_its_provider(entry: Any):
    assert _provider_class(entry.pulumi, args=True)


def _provider_class(token: str, args: bool) -> type:
    """`pulumi_aws.ec2.Vpc` for `aws:ec2/vpc:Vpc`, or its input class `VpcArgs`."""
    package, module_path, name = token.split(":")
    module = module_path.split("/")[0]
    python_package = f"pulumi_{package}"
    if module != "index":
        python_package += "." + (module + "_" if module == "lambda" else module)
    resource: type = getattr(importlib.import_module(python_package), name)
    if not args:
        return resource
    # The resource's own module: a nested input type may share the name `<Name>Args`, and then
    # the resource's input class is `<Name>InitArgs`.
    own = importlib.import_module(resource.__module__)
    found: type = getattr(own, f"{name}InitArgs", None) or getattr(own, f"{name}Args")
    return found


def _pulumi_names(cls: type) -> dict[str, property]:
    """The engine names of a provider class's properties: `forceDestroy` → its property."""
    return {
        getattr(member.fget, "_pulumi_name", name): member
        for name, member in inspect.getmembers(cls)
        if isinstance(member, property)
    }


def _unknown_inputs(args: type, fields: Mapping[str, Any], where: str) -> list[str]:
    known = _pulumi_names(args)
    missing = []
    for key, field in fields.items():
        path = f"{where}.{key}" if where else key
        if key not in known:
            missing.append(path)
        elif isinstance(field, Block | Items):
            nested = _nested_args(args, known[key])
            if nested is not None:
                missing += _unknown_inputs(nested, field.fields, path)
    return missing


def _nested_args(args: type, member: property) -> type | None:
    """The input type of a nested block (`TargetGroupHealthCheckArgs`), from the annotation."""
    annotation = str(inspect.get_annotations(member.fget).get("return", ""))  # type: ignore[arg-type]
    name = re.search(r"ForwardRef\('(\w+Args)'\)", annotation)
    if name is None:
        return None
    module = importlib.import_module(args.__module__.rsplit(".", 1)[0])  # pulumi_aws.s3
    nested: type | None = getattr(module, name.group(1), None)
    return nested
