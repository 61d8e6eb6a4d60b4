"""The components keep the shape that makes them reusable: each module does one job and says
which; no component takes another component or adds children after its constructor; every
argument and output says what it is where it is declared."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import re
import sys
from pathlib import Path

import pulumi
import pytest

COMPONENTS = Path(__file__).resolve().parent.parent / "components"
MODULES = sorted(p for p in COMPONENTS.rglob("*.py") if p != COMPONENTS / "__init__.py")
MAX_LINES = 420


def _name(path: Path) -> str:
    parts = path.relative_to(COMPONENTS.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _module(path: Path) -> object:
    return importlib.import_module(_name(path))


def _components() -> list[type[pulumi.ComponentResource]]:
    found = []
    for path in MODULES:
        for _, value in inspect.getmembers(_module(path), inspect.isclass):
            if issubclass(value, pulumi.ComponentResource) and value.__module__.startswith(
                "components."
            ):
                found.append(value)
    return sorted(set(found), key=lambda c: c.__name__)


def _documented_attributes(cls: type) -> tuple[set[str], set[str]]:
    """(annotated attributes, those followed by a docstring) in the class body."""
    tree = ast.parse(inspect.getsource(cls))
    body = tree.body[0].body  # type: ignore[attr-defined]
    annotated, documented = set(), set()
    for index, statement in enumerate(body):
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            annotated.add(statement.target.id)
            following = body[index + 1] if index + 1 < len(body) else None
            if isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant):
                documented.add(statement.target.id)
    return annotated, documented


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_each_module_says_its_one_job_and_stays_short(path: Path) -> None:
    tree = ast.parse(path.read_text())
    assert ast.get_docstring(tree), f"{_name(path)}: no opening docstring"
    assert len(path.read_text().splitlines()) <= MAX_LINES, _name(path)


def test_there_are_components() -> None:
    names = {c.__name__ for c in _components()}
    assert {"VpcNetwork", "AppFleet", "PostgresHA", "Monitoring", "Access"} <= names


def _named_in(annotation: str, module: object) -> list[object]:
    """The objects an annotation names, bare or through a module (`NetworkRef | None` ->
    NetworkRef, `bastion.BastionHost` -> BastionHost)."""
    found = []
    for dotted in re.findall(r"[A-Za-z_][\w.]*", annotation):
        head, *rest = dotted.split(".")
        named = vars(module).get(head)
        for part in rest:
            named = getattr(named, part, None)
        if named is not None:
            found.append(named)
    return found


@pytest.mark.parametrize("component", _components(), ids=lambda c: c.__name__)
def test_no_component_takes_another_component(component: type) -> None:
    module = sys.modules[component.__module__]
    pending = [
        (annotation, module)
        for name, annotation in inspect.get_annotations(vars(component)["__init__"]).items()
        if name not in ("return", "opts")
    ]
    seen: set[type] = set()
    while pending:
        annotation, where = pending.pop()
        for named in _named_in(str(annotation), where):
            if inspect.isclass(named) and issubclass(named, pulumi.ComponentResource):
                raise AssertionError(f"{component.__name__} takes a {named.__name__}")
            if dataclasses.is_dataclass(named) and inspect.isclass(named) and named not in seen:
                seen.add(named)
                home = sys.modules[named.__module__]
                pending += [(f.type, home) for f in dataclasses.fields(named)]


@pytest.mark.parametrize("component", _components(), ids=lambda c: c.__name__)
def test_no_component_adds_children_after_its_constructor(component: type) -> None:
    public = [
        name
        for name, member in vars(component).items()
        if inspect.isfunction(member) and not name.startswith("_")
    ]
    assert public == [], f"{component.__name__} has methods a caller could add children with"


@pytest.mark.parametrize("component", _components(), ids=lambda c: c.__name__)
def test_every_output_of_a_component_is_documented(component: type) -> None:
    annotated, documented = _documented_attributes(component)
    assert annotated - documented == set()


# Records a module builds and reads itself; no caller constructs or reads them.
INTERNAL_RECORDS = {
    "components.observability.conditions.Condition",
    "components.network.vpc.Subnet",
}


def _records() -> list[type]:
    found = []
    for path in MODULES:
        if _name(path).startswith("components.config"):
            continue  # its models describe their keys in Field(description=...)
        for name, value in inspect.getmembers(_module(path), dataclasses.is_dataclass):
            public = not name.startswith("_")
            internal = f"{_name(path)}.{name}" in INTERNAL_RECORDS
            if (
                public
                and not internal
                and inspect.isclass(value)
                and value.__module__ == _name(path)
            ):
                found.append(value)
    return sorted(found, key=lambda c: c.__name__)


@pytest.mark.parametrize("record", _records(), ids=lambda c: c.__name__)
def test_every_argument_and_record_field_is_documented(record: type) -> None:
    annotated, documented = _documented_attributes(record)
    missing = annotated - documented
    assert missing == set(), f"{record.__name__}: {sorted(missing)}"
