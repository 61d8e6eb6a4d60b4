"""Stack files as the offline harness reads them: the stacks of a program, and one stack's config
with overrides, refusing what Pulumi would refuse (a section that is no mapping, a secret value,
a duplicated key) with the key named."""

from __future__ import annotations

import copy
import datetime
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any

import yaml

from components.config import ConfigError, stack_file_problems

ROOT = Path(__file__).resolve().parent.parent
"""The repository: this program's directory."""


def stacks(root: Path = ROOT) -> list[str]:
    """The stacks that have a `Pulumi.<stack>.yaml` in `root`."""
    return sorted(
        path.name.removeprefix("Pulumi.").removesuffix(".yaml")
        for path in root.glob("Pulumi.*.yaml")
    )


def stack_config(
    stack: str,
    overrides: Mapping[str, Any] | None = None,
    path: Path | None = None,
    program: Path = ROOT,
) -> dict[str, Any]:
    """The `config:` of the program's `Pulumi.<stack>.yaml` (or `path`), with `overrides` merged
    in by key."""
    path = path or program / f"Pulumi.{stack}.yaml"
    if not path.exists():
        known = ", ".join(stacks(program))
        raise FileNotFoundError(f"no stack file {path.name}; stacks: {known}")
    return _merge(_read_config(path), overrides or {})


class _StackFileLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing duplicate keys as Pulumi does (PyYAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: dict[Hashable, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)  # type: ignore[no-untyped-call]
            if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key, Hashable):
                continue  # merge keys may repeat; the base class refuses unhashable keys
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"key {key!r} appears twice (first on line {seen[key]}); Pulumi refuses the "
                    "file, and PyYAML would silently keep the last",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep)


def _read_config(path: Path) -> dict[str, Any]:
    """The `config:` mapping of a stack file; anything Pulumi would refuse is a ConfigError of
    one line naming the file, the place and the problem."""

    def refused(problem: str) -> ConfigError:
        return ConfigError(f"{path.name}: {problem}")

    try:
        document = yaml.load(path.read_text(), Loader=_StackFileLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise refused(f"not valid YAML: {error.problem or error.context}{where}") from None
    except yaml.YAMLError as error:
        raise refused(f"not valid YAML: {' '.join(str(error).split())}") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise refused(f"expected a mapping with a config: key, found {_kind(document)}")
    if problems := stack_file_problems(document, path.name):
        raise ConfigError("\n".join(problems))
    config = document.get("config")
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise refused(f"config: must map namespace:name keys to values, found {_kind(config)}")
    for key, value in config.items():
        if not isinstance(key, str) or ":" not in key:
            raise refused(
                f"config key {key!r} has no namespace; Pulumi reads keys as <namespace>:<name>, "
                "such as multitier:network or aws:region"
            )
        problem = _not_plain(value, key)
        if problem:
            raise refused(problem)
    return config


def _kind(value: Any) -> str:
    return {str: "a string", list: "a list", bool: "true or false"}.get(type(value), "a number")


def _not_plain(value: Any, key: str, within: tuple[int, ...] = ()) -> str | None:
    """What in `value` is not a config value (strings, numbers, booleans, lists, mappings)."""
    if isinstance(value, datetime.date):
        return f"{key}: YAML reads {value} as a date; quote it"
    if id(value) in within:
        return f"{key}: a YAML alias that contains itself"
    if isinstance(value, dict):
        names = [name for name in value if not isinstance(name, str)]
        if names:
            return f"{key}: key {names[0]!r} is not a name; quote it"
        children = [(item, f"{key}.{name}") for name, item in value.items()]
    elif isinstance(value, list):
        children = [(item, f"{key}[{i}]") for i, item in enumerate(value)]
    elif value is None or isinstance(value, str | int | float | bool):
        children = []
    else:
        return f"{key}: YAML makes a {type(value).__name__} of this value; use a plain value"
    inner = (*within, id(value))
    return next((p for item, at in children if (p := _not_plain(item, at, inner))), None)


def _merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(dict(base))
    for key, value in overrides.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged
