"""Builds the policy pack as `pulumi policy publish` uploads it: one directory that needs nothing
else of this repository.

    python -m tools.policy_pack [build/policy-pack]

The directory holds the pack's own files (policy/pack/: PulumiPolicy.yaml, __main__.py,
.gitignore), a copy of the policy package beside them, and a requirements.txt pinning each
distribution policy/pack/requirements.in names at the version this repository's requirements
pin. A rebuild replaces the directory's contents but the virtualenv the Pulumi CLI made there
(`pulumi install`), which it keeps only while the requirements are the same: a pack never runs
on the pins of an older build.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "policy"
SOURCE = PACKAGE / "pack"
WANTED = SOURCE / "requirements.in"
PINNED = (ROOT / "requirements.txt", ROOT / "requirements-dev.txt")
DEFAULT = ROOT / "build" / "policy-pack"
MARKER = "PulumiPolicy.yaml"
"""The file that makes a directory a policy pack; a build replaces only such a directory."""
VENV = str(yaml.safe_load((SOURCE / MARKER).read_text())["runtime"]["options"]["virtualenv"])
"""Where the Pulumi CLI installs the pack's requirements, inside the pack."""

_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*==\s*(?P<version>\S+)$")


class PackError(Exception):
    """The pack cannot be built: a requirement without a pin, or a target that is not a pack."""


def build(target: Path) -> Path:
    """The pack, built in `target`, which must be absent, empty or an earlier build."""
    header = f"# Built by tools/policy_pack.py from policy/pack/{WANTED.name}: do not edit."
    requirements = "\n".join([header, *pinned(names(WANTED), pins(PINNED))]) + "\n"
    _clear(target, requirements)
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(SOURCE.iterdir()):
        if path.is_file() and path != WANTED:
            shutil.copy2(path, target / path.name)
    shutil.copytree(PACKAGE, target / PACKAGE.name, ignore=_not_shipped)
    (target / "requirements.txt").write_text(requirements)
    return target


def names(path: Path) -> list[str]:
    """The distribution names a requirements.in lists, one a line, comments aside."""
    return _lines(path.read_text())


def pins(paths: Iterable[Path]) -> dict[str, str]:
    """Every `name==version` of the requirements files, by normalised name."""
    found: dict[str, str] = {}
    for path in paths:
        for line in _lines(path.read_text()):
            match = _PIN.match(line)
            if match is None:
                continue
            name, version = normalise(match["name"]), match["version"]
            if found.setdefault(name, version) != version:
                raise PackError(f"{name} is pinned at {found[name]} and at {version}")
    return found


def pinned(wanted: Iterable[str], versions: Mapping[str, str]) -> list[str]:
    missing = [name for name in wanted if normalise(name) not in versions]
    if missing:
        files = " or ".join(p.name for p in PINNED)
        raise PackError(f"{WANTED.name} names {', '.join(missing)}, which no {files} pins")
    return [f"{name}=={versions[normalise(name)]}" for name in wanted]


def normalise(name: str) -> str:
    """A distribution name as the package index compares it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _lines(text: str) -> list[str]:
    lines = (line.split(" #", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith(("#", "-"))]


def _clear(target: Path, requirements: str) -> None:
    """Empty `target`, but for a virtualenv made from the same `requirements`."""
    if not target.exists():
        return
    if not target.is_dir() or (any(target.iterdir()) and not (target / MARKER).is_file()):
        raise PackError(f"{target} exists and is not a policy pack: not replacing it")
    built = target / "requirements.txt"
    same = built.is_file() and built.read_text() == requirements
    for entry in target.iterdir():
        if same and entry.name == VENV:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _not_shipped(directory: str, entries: list[str]) -> set[str]:
    """What the copy of the package leaves out: the pack's source, and compiled files."""
    left_out = {e for e in entries if e == "__pycache__" or e.endswith(".pyc")}
    if Path(directory) == PACKAGE:
        left_out.add(SOURCE.name)
    return left_out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "target", nargs="?", type=Path, default=DEFAULT, help=f"default {DEFAULT.relative_to(ROOT)}"
    )
    args = parser.parse_args(argv)
    try:
        target = build(args.target)
    except PackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"policy pack built in {target}")
    print(f"  pulumi preview --policy-pack {target}")
    print(f"  (cd {target} && pulumi policy publish <org>)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
