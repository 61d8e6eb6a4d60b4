"""The checking packages stand alone: policy/ and cfncheck/ import nothing else of this repository.

Dependencies run one way: the tools (the mock harness, the plan) and the tests adapt their records
to what `policy.model` and `cfncheck.model` declare, never the reverse. The policy pack is
published as a copy of policy/ alone, so an import of tools/ or components/ would break it there.
And every module of the repository stays small enough to read (the host code written verbatim
into user data, and the listed exceptions, apart), and each says its one job first.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REPOSITORY = sorted(p.parent.name for p in ROOT.glob("*/__init__.py"))
"""The repository's top-level packages (components, policy, tools, ...)."""

CHECKING = ["policy", "cfncheck"]
LINES = 420
"""At most about this many lines in a module: past it, a module does more than one job."""
LONG = {
    "tests/test_config.py": "BAD_CONFIG is one table: every bad value with the message it gets",
    "tests/test_policy_rules_network.py": "one table of broken and fixed cases per network rule",
    "functions/db_failover/handler.py": "the failover Lambda's deployed code: splitting it changes "
    "the function's package, which a behaviour-preserving change must not; split it with its "
    "next change",
}
"""Modules allowed past LINES, with why."""
SKIPPED = ("functions/hosts/", "build/")
"""Host code is written verbatim into user data (changing it changes the launch templates).
Hidden folders (.venv, .cache's unpacked interpreters) are skipped too."""

VOCABULARY = ["model.py", "props.py", "types.py", "taggable.py", "reachability.py"]
"""What the rules and the analyses share, and an analysis: none of them may need a rule module."""


def imports(path: Path) -> Iterator[str]:
    """Every module `path` imports by absolute name, including under `if TYPE_CHECKING`."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


def test_the_repository_has_the_packages_checked_here() -> None:
    assert {"cfncheck", "components", "policy", "tools"} <= set(REPOSITORY)


@pytest.mark.parametrize("package", CHECKING)
def test_a_checking_package_imports_nothing_else_of_the_repository(package: str) -> None:
    others = {p for p in REPOSITORY if p != package}
    found = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for name in imports(path)
        if name.split(".")[0] in others
    ]
    assert found == []


@pytest.mark.parametrize("module", VOCABULARY)
def test_the_shared_vocabulary_and_the_analyses_need_no_rule_module(module: str) -> None:
    path = ROOT / "policy" / module
    assert [n for n in imports(path) if n.startswith("policy.rules")] == []


def test_every_module_says_its_job_and_stays_short() -> None:
    modules = sorted(
        path
        for path in ROOT.rglob("*.py")
        if not str(path.relative_to(ROOT)).startswith(SKIPPED)
        and path.name != "__init__.py"
        and not any(part.startswith(".") for part in path.relative_to(ROOT).parts)
    )
    found = [
        f"{path.relative_to(ROOT)}: {problem}"
        for path in modules
        for problem in _shape(path.read_text(), long=str(path.relative_to(ROOT)) in LONG)
    ]
    assert found == []


def test_every_exception_is_still_long() -> None:
    for name in LONG:
        assert len((ROOT / name).read_text().splitlines()) > LINES, f"{name}: no longer long"


def _shape(text: str, long: bool) -> Iterator[str]:
    if not ast.get_docstring(ast.parse(text)):
        yield "no docstring"
    if not long and len(text.splitlines()) > LINES:
        yield f"{len(text.splitlines())} lines, more than {LINES}"
