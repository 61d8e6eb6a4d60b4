"""Cloud-init documents built as data: a `#cloud-config` dict dumped as YAML, scripts read from
`functions/hosts/`, never assembled by string concatenation.

Launch templates take their user data gzip-compressed (then base64-encoded, as they take any user
data). EC2 holds at most 16 KB of user data, and the database nodes' scripts alone come near it:
hosts get their scripts without the comment lines the repository keeps, and their Python
programs without comments or docstrings either (`script`, `python`), and
cloud-init recognises gzip and decompresses it before it reads the document. Compression keeps
every script in the launch template, and so in its version history, with no bucket to fetch
scripts from and no fetch at boot that could fail. The bytes are reproducible on every machine
(`compress`), so an unchanged document never makes a new launch template version.
"""

from __future__ import annotations

import base64
import gzip
from pathlib import Path
from typing import Any

import deflate
import python_minifier
import yaml

SCRIPTS = Path(__file__).resolve().parents[2] / "functions" / "hosts"

USER_DATA_LIMIT = 16384
"""The most user data EC2 takes, in bytes, before base64: what it stores and hands cloud-init."""

LIBRARY = "/usr/local/lib/multitier/lib.sh"
"""Where every host's boot scripts source the shared shell library from."""

_GZIP_MAGIC = b"\x1f\x8b"

COMPRESSION_LEVEL = 12
"""libdeflate's highest level: its near-optimal parsing compresses tighter than zlib's 9."""


def script(name: str) -> str:
    """A script of `functions/hosts/` as the hosts get it: without its whole-line comments (a
    shebang stays); a Python program as `python` gives it. The shell scripts hold no heredoc in
    which a line starting with `#` would be text (a test holds it)."""
    text = verbatim(name)
    return python(text) if name.endswith(".py") else without_comments(text)


def python(source: str) -> str:
    """A Python program as the hosts get it, smaller, its names kept (tracebacks still name the
    functions): without docstrings, comments, annotations outside classes (a dataclass needs
    its fields'), by python-minifier; a shebang stays. The hosts run it on Python 3.9: the
    minifier writes no syntax the source did not have, and tests run what is shipped there."""
    small = python_minifier.minify(
        source,
        remove_literal_statements=True,
        remove_annotations=True,
        rename_locals=False,
        rename_globals=False,
        hoist_literals=False,
    )
    shebang = source.splitlines(keepends=True)[0] if source.startswith("#!") else ""
    return shebang + small.rstrip("\n") + "\n"


def without_comments(text: str) -> str:
    """`text` without its whole-line comments; a shebang stays."""
    lines = text.splitlines(keepends=True)
    return "".join(
        line
        for index, line in enumerate(lines)
        if not line.lstrip().startswith("#") or (index == 0 and line.startswith("#!"))
    )


def verbatim(name: str) -> str:
    """A script of `functions/hosts/` as the repository keeps it, comments and all: for a host
    whose user data must not change when the shared rendering does (the NAT instance)."""
    return (SCRIPTS / name).read_text()


def library() -> dict[str, str]:
    """The `write_files` entry of the host library (`functions/hosts/lib.sh`)."""
    return {"path": LIBRARY, "permissions": "0644", "content": script("lib.sh")}


def render(document: dict[str, Any]) -> str:
    """A `#cloud-config` user-data document."""
    return "#cloud-config\n" + yaml.safe_dump(document, sort_keys=False, width=1000)


def render_base64(document: dict[str, Any]) -> str:
    """The same, gzip-compressed and base64-encoded, as launch templates take it."""
    return base64.b64encode(compress(render(document))).decode()


def compress(text: str) -> bytes:
    """Gzip by libdeflate, whose copy the pinned `deflate` package builds in: the same text gives
    the same bytes whatever zlib the deploying machine's Python links (zlib-ng on Fedora 40 and
    later compresses to other bytes, which would make every launch template a new version).
    libdeflate computes in integers only, and writes no timestamp (MTIME 0) into the header."""
    return bytes(deflate.gzip_compress(text.encode(), COMPRESSION_LEVEL))


def sent(user_data: str, *, base64_encoded: bool) -> bytes:
    """The bytes EC2 stores for a resource's user data input: a launch template's `userData` or an
    instance's `userDataBase64` (base64-encoded), or an instance's `userData` (plain text)."""
    return base64.b64decode(user_data, validate=True) if base64_encoded else user_data.encode()


def decode(raw: bytes) -> str:
    """The text cloud-init reads from user data as EC2 stores it: decompressed when gzip."""
    return (gzip.decompress(raw) if raw.startswith(_GZIP_MAGIC) else raw).decode()


def parse(text: str) -> dict[str, Any]:
    """The document of a `#cloud-config` text."""
    if not text.startswith("#cloud-config\n"):
        raise ValueError(f"not a #cloud-config document: {text[:40]!r}")
    document = yaml.safe_load(text)
    if not isinstance(document, dict):
        raise ValueError("a #cloud-config document is a mapping")
    return document


def env_file(values: dict[str, Any]) -> str:
    """A systemd/shell-compatible KEY=value file; values are quoted for both."""
    return "".join(f"{key}={_quote(str(value))}\n" for key, value in values.items())


def _quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"
