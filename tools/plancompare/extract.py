"""Plans variants with the checkout's own code and writes what they declare as JSON to stdout.

Run by tools/plancompare in a checkout of any revision (cwd and PYTHONPATH the checkout), with
the variants on stdin: `[{"name", "stack", "overrides", "program"}]`. It imports nothing of this
package, only the standard library, pulumi and the checkout's `tools.mockrun`, of which it relies
on `run(stack, overrides, program=...)` returning `.resources` with `.urn .type .name .inputs
.parent .aliases`, and on `stacks()`; every other attribute is read if that mockrun records it.

Values that differ between checkouts of the same code are made equal here: the checkout's path
and temporary directories' names in strings, and assets and archives, which become the SHA-256
of their content as the engine compares them, not their path.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import pulumi

from tools import mockrun

ROOT = Path.cwd()
OPTIONS = (
    "protect",
    "ignore_changes",
    "replace_on_changes",
    "waits_for",
    "dependencies",
    # Not recorded by mockrun as of this writing: compared once it records them.
    "delete_before_replace",
    "provider",
    "retain_on_delete",
    "deleted_with",
    "custom_timeouts",
)
"""Resource options beyond parent and aliases, by mockrun's attribute name."""
_PLACES = (
    (
        re.compile(
            "|".join(
                re.escape(p)
                for p in sorted({str(ROOT), os.path.realpath(ROOT)}, key=len, reverse=True)
            )
        ),
        "$CHECKOUT",
    ),
    (re.compile(re.escape(tempfile.gettempdir()) + r"/tmp[a-z0-9_]{8}"), "$TMPDIR"),
)


def main(stdin: TextIO = sys.stdin) -> int:
    variants: list[dict[str, Any]] = json.load(stdin)
    with _stdout_kept() as out:
        planned = {v["name"]: plan(v) for v in variants if _declared(v)}
        json.dump({"stacks": mockrun.stacks(), "variants": planned}, out, sort_keys=True)
    return 0


@contextlib.contextmanager
def _stdout_kept() -> Iterator[TextIO]:
    """Standard output for the JSON only: the program's own prints and Pulumi's log under the
    mocks go to standard error."""
    sys.stdout.flush()
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    try:
        yield out
    finally:
        out.close()


def _declared(variant: dict[str, Any]) -> bool:
    """Whether this checkout has the variant's program and stack file."""
    return (_program(variant) / f"Pulumi.{variant['stack']}.yaml").is_file()


def _program(variant: dict[str, Any]) -> Path:
    return ROOT / variant["program"] if variant.get("program") else ROOT


def plan(variant: dict[str, Any]) -> dict[str, Any]:
    """One variant's resources and outputs, or the error that stopped the program."""
    extra = {"program": _program(variant)} if variant.get("program") else {}
    try:
        run = mockrun.run(variant["stack"], variant.get("overrides") or None, **extra)
    except Exception as error:  # the program's failure is a result, reported per variant
        return {"error": clean(f"{type(error).__name__}: {error}")}
    return {
        # In URN order: the SDK registers concurrently, so the order of a run is not its own.
        "resources": [resource(r) for r in sorted(run.resources, key=lambda r: str(r.urn))],
        "outputs": normalized(getattr(run, "outputs", {})),
        "secret_outputs": sorted(getattr(run, "secret_outputs", ())),
    }


def resource(r: Any) -> dict[str, Any]:
    """One declared resource; only the options its mockrun records."""
    return {
        "urn": r.urn,
        "type": r.type,
        "name": r.name,
        "parent": r.parent or None,
        "custom": bool(getattr(r, "custom", True)),
        "inputs": normalized(r.inputs),
        "secrets": sorted(getattr(r, "secrets", ())),
        "aliases": sorted(r.aliases or ()),
        "options": {key: normalized(getattr(r, key)) for key in OPTIONS if hasattr(r, key)},
    }


def normalized(value: Any) -> Any:
    """`value` as JSON, equal between checkouts of the same code."""
    if isinstance(value, dict):
        return {str(k): normalized(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalized(v) for v in value]
    if isinstance(value, str):
        return clean(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, pulumi.Asset | pulumi.Archive):
        return asset(value)
    return {"$object": f"{type(value).__module__}.{type(value).__qualname__}"}


def asset(value: pulumi.Asset | pulumi.Archive) -> dict[str, Any]:
    """An asset as its content's hash, an archive as its members' (a packed one as its own)."""
    if isinstance(value, pulumi.FileAsset):
        return {"$asset": _file_hash(Path(value.path))}
    if isinstance(value, pulumi.StringAsset):
        return {"$asset": _hash(value.text.encode())}
    if isinstance(value, pulumi.AssetArchive):
        return {"$archive": {name: normalized(a) for name, a in sorted(value.assets.items())}}
    if isinstance(value, pulumi.FileArchive) and Path(value.path).is_dir():
        files = sorted(p for p in Path(value.path).rglob("*") if p.is_file())
        folder = Path(value.path)
        return {
            "$archive": {p.relative_to(folder).as_posix(): {"$asset": _file_hash(p)} for p in files}
        }
    if isinstance(value, pulumi.FileArchive):
        return {"$archive": _file_hash(Path(value.path))}
    uri = getattr(value, "uri", None)
    kind = "$asset" if isinstance(value, pulumi.Asset) else "$archive"
    return {kind: f"uri {uri}" if uri else f"unknown {type(value).__qualname__}"}


def _file_hash(path: Path) -> str:
    resolved = path if path.is_absolute() else ROOT / path
    return _hash(resolved.read_bytes()) if resolved.is_file() else clean(f"missing {resolved}")


def _hash(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def clean(text: str) -> str:
    """`text` with the checkout's path and temporary directories' names replaced."""
    for pattern, replacement in _PLACES:
        text = pattern.sub(replacement, text)
    return text


if __name__ == "__main__":
    sys.exit(main())
