"""Cloud-init documents built as data: a `#cloud-config` dict dumped as YAML, scripts read from
`functions/hosts/`, never assembled by string concatenation."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import yaml

SCRIPTS = Path(__file__).resolve().parent.parent / "functions" / "hosts"


def script(name: str) -> str:
    """The text of a script shipped in `functions/hosts/`."""
    return (SCRIPTS / name).read_text()


def render(document: dict[str, Any]) -> str:
    """A `#cloud-config` user-data document."""
    return "#cloud-config\n" + yaml.safe_dump(document, sort_keys=False, width=1000)


def render_base64(document: dict[str, Any]) -> str:
    """The same, base64-encoded, as launch templates take it."""
    return base64.b64encode(render(document).encode()).decode()


def env_file(values: dict[str, Any]) -> str:
    """A systemd/shell-compatible KEY=value file; values are quoted for both."""
    return "".join(f"{key}={_quote(str(value))}\n" for key, value in values.items())


def _quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"
