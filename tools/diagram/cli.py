"""Plans a stack under the mocks and writes its picture: docs/diagram-<stack>.dot, the DOT
source committed and checked for staleness, and the PNG Graphviz renders from it. `--check`
writes nothing and exits 1 when the committed DOT source differs from the plan's."""

from __future__ import annotations

import argparse
from pathlib import Path

from tools import mockrun
from tools.diagram.draw import dot_source, render_png
from tools.diagram.scene import scene

DOCS = mockrun.ROOT / "docs"


def dot_path(stack: str) -> Path:
    return DOCS / f"diagram-{stack}.dot"


def current(stack: str) -> str:
    """The DOT source of what `stack`'s plan declares now."""
    run = mockrun.run(stack)
    return dot_source(scene(run.view, run.region))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack")
    parser.add_argument("--check", action="store_true", help="fail when the DOT source is stale")
    parser.add_argument("--no-png", action="store_true", help="write the DOT source only")
    args = parser.parse_args(argv)
    source, path = current(args.stack), dot_path(args.stack)
    if args.check:
        if not path.exists() or path.read_text() != source:
            print(f"{path.relative_to(mockrun.ROOT)} is stale: make diagram STACK={args.stack}")
            return 1
        return 0
    DOCS.mkdir(exist_ok=True)
    path.write_text(source)
    print(f"wrote {path.relative_to(mockrun.ROOT)}")
    if not args.no_png:
        png = path.with_suffix(".png")
        render_png(path, png)
        print(f"wrote {png.relative_to(mockrun.ROOT)}")
    return 0
