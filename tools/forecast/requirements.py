"""The requirements each revision pins, compared: a different provider or SDK can diff the same
declarations differently (a new force-new input, another default), and a different compression
library compresses user data to other bytes. Both sides are planned here with the packages this
environment has installed, TO's; the report says so when FROM pins others.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tools.forecast.model import PinChange
from tools.plancompare.model import Side

FILES = ("requirements.txt", "requirements-dev.txt")
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*(==|>=|<=|~=|!=|>|<)\s*(\S+)")


def pins(text: str) -> dict[str, str]:
    """`name -> version` for each pinned line (comments, includes and options left out); a
    constraint other than `==` keeps its operator (`>=1.2`)."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        match = _PIN.match(line.split("#", 1)[0].strip())
        if match:
            name = re.sub(r"[-_.]+", "-", match[1]).lower()
            found[name] = match[4] if match[3] == "==" else f"{match[3]}{match[4]}"
    return found


def text_at(repo: Path, side: Side, file: str) -> str:
    """The file as the side has it; "" where it has none."""
    if side.commit is None:
        path = repo / file
        return path.read_text() if path.is_file() else ""
    shown = subprocess.run(
        ["git", "-C", str(repo), "show", f"{side.commit}:{file}"],
        capture_output=True,
        text=True,
        check=False,
    )
    return shown.stdout if shown.returncode == 0 else ""


def changes(repo: Path, old: Side, new: Side) -> tuple[PinChange, ...]:
    """Every requirement the two sides pin differently, file by file."""
    found: list[PinChange] = []
    for file in FILES:
        before, after = pins(text_at(repo, old, file)), pins(text_at(repo, new, file))
        found += [
            PinChange(file, name, before.get(name), after.get(name))
            for name in sorted(set(before) | set(after))
            if before.get(name) != after.get(name)
        ]
    return tuple(found)
