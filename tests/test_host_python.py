"""Host code runs on the hosts' interpreter. Amazon Linux 2023's `/usr/bin/python3` is CPython
3.9 for the life of the distribution: every Python file shipped to a host runs here on a real
CPython 3.9 (Debian bullseye's, unpacked by `make .cache/host-python/python3`, see
tools/host_python.sh), and the units that start it name that interpreter. Linters cannot stand
in: ruff's py39 target does not see `X | None` evaluated at run time, and mypy no longer checks
for 3.9."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from components.shared import cloud_init
from drill.machine import HOST_PYTHON
from functions.db_credentials import roles
from tools.mockrun import ROOT

# Slow (the hosts' interpreter, CPython 3.9): `make test` runs it, `make check` does not.
pytestmark = pytest.mark.slow

HOSTS = ROOT / "functions" / "hosts"
ROLES = ROOT / "functions" / "db_credentials" / "roles.py"
"""Shipped to the database nodes too: they create the app's roles with it (pg_service.sh)."""
HOST_PROGRAMS = [*sorted(p for p in HOSTS.glob("*.py") if p.name != "__init__.py"), ROLES]
LOGINS = {
    "database": "app",
    "owner": "app_owner",
    "master": "app_admin",
    "app": ["app_user", "pw-app"],
    "readonly": ["app_reader", "pw-reader"],
}


def host_python(*args: str) -> subprocess.CompletedProcess[str]:
    assert HOST_PYTHON.exists(), (
        f"no CPython 3.9 at {HOST_PYTHON}: run `tools/host_python.sh .cache/host-python` "
        "(make test does)"
    )
    return subprocess.run([str(HOST_PYTHON), *args], capture_output=True, text=True, check=False)


def test_the_host_interpreter_is_cpython_3_9():
    assert host_python("-c", "import sys; print(sys.version_info[:2])").stdout.strip() == "(3, 9)"


@pytest.mark.parametrize("program", HOST_PROGRAMS, ids=lambda p: p.name)
def test_each_host_program_starts_on_python_3_9(program: Path):
    """`--help` runs the whole module top to bottom: imports, annotations evaluated at run time
    (aliases, dataclass fields), the argument parser."""
    result = host_python(str(program), "--help")
    assert result.returncode == 0, f"{program.name} on Python 3.9:\n{result.stderr}"


@pytest.mark.parametrize("program", HOST_PROGRAMS, ids=lambda p: p.name)
def test_each_program_as_shipped_starts_on_python_3_9(program: Path, tmp_path: Path):
    """What user data carries is the program rewritten without docstrings (`ast.unparse` on
    this machine's Python): that text must run on 3.9 too."""
    shipped = tmp_path / program.name
    shipped.write_text(cloud_init.python(program.read_text()))
    result = host_python(str(shipped), "--help")
    assert result.returncode == 0, f"{program.name} as shipped, on Python 3.9:\n{result.stderr}"


def test_a_node_prints_the_same_role_sql_as_the_credentials_function(tmp_path: Path):
    """A node makes the roles from the boot's logins.json with the shipped roles.py on 3.9; the
    statements are the ones the credentials function runs (this machine's Python)."""
    shipped = tmp_path / "roles.py"
    shipped.write_text(cloud_init.python(ROLES.read_text()))
    on_node = subprocess.run(
        [str(HOST_PYTHON), str(shipped)],
        input=json.dumps(LOGINS),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    here = subprocess.run(
        [sys.executable, "-m", roles.__name__],
        input=json.dumps(LOGINS),
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    # Each verifier has a salt of its own.
    salted = re.compile(r"SCRAM-SHA-256\$4096:[^']+")
    assert salted.sub("<verifier>", on_node) == salted.sub("<verifier>", here)
    assert "pw-app" not in on_node and "pw-reader" not in on_node
    assert f"CREATE ROLE {roles.OWNER}" in on_node.replace('"', "")


def test_the_agents_unit_runs_the_system_python():
    unit = (HOSTS / "multitier-pg-agent.service").read_text()
    (start,) = [line for line in unit.splitlines() if line.startswith("ExecStart=")]
    assert start.removeprefix("ExecStart=").split()[0] == "/usr/bin/python3"
    for script in HOSTS.glob("*.sh"):
        assert "python3.1" not in script.read_text(), f"{script.name} installs another Python"
