"""Stack files as the plan and `pulumi up` read them: a broken file, a section that is no mapping
or holds a secret stops the plan with exit 2 and one line naming the key, never a traceback."""

from __future__ import annotations

import contextvars
import subprocess
import sys
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from components.config import (
    ConfigError,
    from_pulumi,
)


@pytest.mark.slow  # the plan command, as a process
def test_plan_command_exits_2_with_the_message_and_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text(yaml.safe_dump({"config": {"multitier:network": {"natMode": "dual"}}}))
    result = subprocess.run(
        [sys.executable, "-m", "tools.plan", "bad", "--stack-file", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "multitier:network.natMode = 'dual'" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""


BROKEN_FILES = [
    # (id, stack file text, the one line the plan prints after "error: ")
    (
        "a-list",
        "- config\n- multitier:app\n",
        "expected a mapping with a config: key, found a list",
    ),
    ("a-string", "config\n", "expected a mapping with a config: key, found a string"),
    (
        "not-yaml",
        "config:\n  multitier:network: {cidr: [10.0.0.0/16\n",
        "not valid YAML: expected ',' or ']', but got '<stream end>' (line 3, column 1)",
    ),
    ("tab-indent", "config:\n\tmultitier:app: {}\n", "not valid YAML: found character '\\t'"),
    (
        "duplicate-section",
        "config:\n  multitier:app:\n    port: 80\n  multitier:app:\n    port: 81\n",
        "not valid YAML: key 'multitier:app' appears twice (first on line 2); Pulumi refuses the "
        "file, and PyYAML would silently keep the last (line 4, column 3)",
    ),
    (
        "duplicate-key",
        "config:\n  multitier:app:\n    port: 80\n    port: 8080\n",
        "key 'port' appears twice (first on line 3)",
    ),
    ("config-a-list", "config:\n  - multitier:app\n", "config: must map namespace:name keys"),
    ("config-a-string", "config: dev\n", "config: must map namespace:name keys to values, found a"),
    (
        "no-namespace",
        "config:\n  network:\n    cidr: 10.0.0.0/16\n",
        "config key 'network' has no namespace; Pulumi reads keys as <namespace>:<name>",
    ),
    (
        "a-date",
        "config:\n  multitier:app:\n    release:\n      version: 2026-12-01\n",
        "multitier:app.release.version: YAML reads 2026-12-01 as a date; quote it",
    ),
    ("a-number-key", "config:\n  multitier:app:\n    80: port\n", "key 80 is not a name"),
    (
        "an-alias-loop",
        "config:\n  multitier:app: &app\n    release:\n      env: *app\n",
        "multitier:app.release.env: a YAML alias that contains itself",
    ),
]


def plan_command(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_text(text)
    return subprocess.run(
        [sys.executable, "-m", "tools.plan", "bad", "--stack-file", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.slow  # the plan command, as a process
@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in BROKEN_FILES], ids=[c[0] for c in BROKEN_FILES]
)
def test_a_broken_stack_file_stops_the_plan_with_one_line(
    tmp_path: Path, text: str, expected: str
) -> None:
    result = plan_command(tmp_path, text)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("error: Pulumi.bad.yaml: ")
    assert expected in line


SHAPELESS_SECTIONS = [
    # (id, stack file text, the line naming the key)
    (
        "section-a-string",
        "config:\n  multitier:network: 10.0.0.0/16\n",
        "multitier:network = '10.0.0.0/16': expected a mapping of its keys (cidr, azCount, ",
    ),
    (
        "section-a-list",
        "config:\n  multitier:bastion:\n    - 203.0.113.10/32\n",
        "multitier:bastion = ['203.0.113.10/32']: expected a mapping of its keys (enabled, ",
    ),
    ("section-a-number", "config:\n  multitier:app: 8080\n", "multitier:app = 8080: expected"),
    (
        "section-secure",
        "config:\n  multitier:app:\n    secure: AAABAJx1c2VyZGF0YQ==\n",
        "multitier:app: holds a secret (secure:) value; no multitier: key may be secret",
    ),
    (
        "value-secure",
        "config:\n  multitier:app:\n    release:\n      env:\n        API_KEY:\n"
        "          secure: AAABAJx1c2VyZGF0YQ==\n",
        "multitier:app: holds a secret (secure:) value",
    ),
]


@pytest.mark.slow  # the plan command, as a process
@pytest.mark.parametrize(
    ("text", "expected"),
    [c[1:] for c in SHAPELESS_SECTIONS],
    ids=[c[0] for c in SHAPELESS_SECTIONS],
)
def test_a_section_that_is_no_mapping_stops_the_plan_with_its_key(
    tmp_path: Path, text: str, expected: str
) -> None:
    result = plan_command(tmp_path, text)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    header, line = result.stderr.splitlines()
    assert header == "error: Invalid stack config:"
    assert line.startswith(f"  {expected}")


def from_the_cli(values: dict[str, str], secret_keys: list[str]) -> Any:
    """`from_pulumi()` given config as `pulumi up` hands it over: strings, structured values as
    JSON, secrets decrypted and listed; its ConfigError if it raises one."""

    def read() -> Any:
        pulumi.runtime.set_all_config(values, secret_keys)
        try:
            return from_pulumi()
        except ConfigError as error:
            return error

    return contextvars.Context().run(read)


@pytest.mark.parametrize(
    ("values", "secret_keys", "expected"),
    [
        ({"multitier:network": "10.0.0.0/16"}, [], "multitier:network = '10.0.0.0/16': expected"),
        ({"multitier:network": "{cidr: 10.0.0.0/16"}, [], "not a string"),
        ({"multitier:bastion": '["203.0.113.10/32"]'}, [], "not a list"),
        ({"multitier:app": '{"port": 80}'}, ["multitier:app"], "multitier:app: holds a secret"),
        ({"multitier:app": "s3cr3t"}, ["multitier:app"], "no multitier: key may be secret"),
        ({"aws:region": "eu-west-9"}, [], "aws:region = 'eu-west-9'"),
        ({"aws:region": ""}, [], "aws:region = '': not a region"),
    ],
)
def test_under_pulumi_up_a_shapeless_or_secret_section_is_a_config_error(
    values: dict[str, str], secret_keys: list[str], expected: str
) -> None:
    error = from_the_cli(values, secret_keys)
    assert isinstance(error, ConfigError), f"expected a ConfigError, got {error!r}"
    assert expected in str(error)


def test_under_pulumi_up_structured_sections_arrive_as_json() -> None:
    config = from_the_cli({"multitier:app": '{"port": 8080}', "aws:region": "us-east-1"}, [])
    assert config.app.port == 8080
