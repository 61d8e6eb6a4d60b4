"""Pin the hosts' image in a stack's release: resolve the Amazon Linux 2023 SSM parameter the
launch template would read at each launch, and write the id as `multitier:app.release.ami`.

    python -m tools.pin_image dev [--root DIR]
    make pin-image STACK=dev

A pinned release brings the operating system back with it when it is rolled back, and is what
AWS's automatic rollback of a refresh needs (`instanceRefresh.autoRollback`). The pin then moves
with the release: `make promote` copies it, `make rollback` restores it. Run it where a release
starts (dev), review the diff and commit it; it changes only that line of the file. Reads the
parameter with the AWS credentials of the environment, in the stack's `aws:region`.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
import textwrap
from pathlib import Path
from typing import Any, TextIO

import boto3  # type: ignore[import-untyped]
import yaml

from components.config import AppConfig, ConfigError
from components.shared.ec2 import al2023_parameter
from tools import mockrun, stackfiles
from tools.promote import APP, KEY, RELEASE, locate
from tools.release_git import PromotionError

DEFAULT_REGION = "eu-west-1"


def pin(stack: str, root: Path, ssm: Any, out: TextIO) -> str:
    """Write the image `ssm` resolves for `stack`'s hosts into its release; return the id."""
    path = root / f"Pulumi.{stack}.yaml"
    refusing = f"refusing to pin the image of {stack}"
    if not path.exists():
        raise PromotionError(
            f"{refusing}: there is no {path.name} in {root}; the stacks are "
            f"{', '.join(mockrun.stacks(root))}."
        )
    app = AppConfig.model_validate(stackfiles.stack_config(stack, path=path).get(APP) or {})
    if app.ami is not None:
        raise PromotionError(
            f"{refusing}: {path.name} sets multitier:app.ami ({app.ami}), which stays with the "
            f"stack; remove it to pin the image with the release instead."
        )
    parameter = al2023_parameter(app.instance_type)
    image = str(ssm.get_parameter(Name=parameter)["Parameter"]["Value"])
    text = path.read_bytes().decode()
    pinned = with_ami(text, path, image)
    out.writelines(
        difflib.unified_diff(
            text.splitlines(keepends=True),
            pinned.splitlines(keepends=True),
            f"a/{path.name}",
            f"b/{path.name}",
        )
    )
    path.write_bytes(pinned.encode())
    print(
        f"Wrote {path.name}: {KEY}.ami = {image} ({parameter} today). Review and commit it; "
        f"`pulumi up -s {stack}` rolls the hosts onto it if it is new to them.",
        file=out,
    )
    return image


def with_ami(text: str, path: Path, image: str) -> str:
    """`text` with `ami: <image>` in its release block, every other line kept."""
    block = locate(text, path)
    lines = text.splitlines(keepends=True)
    if not block.nested:
        raise PromotionError(
            f"refusing to pin the image: {path.name} writes {KEY} on one line; write it as a "
            "block mapping (one key a line), or add `ami:` by hand."
        )
    first = lines[block.start + 1]
    indent = first[: len(first) - len(first.lstrip(" "))]
    newline = first[len(first.rstrip("\r\n")) :] or "\n"
    entry = f"{indent}ami: {image}{newline}"
    key = re.compile(rf"{indent}ami\s*:")
    found = [i for i in range(block.start + 1, block.end) if key.match(lines[i])]
    if found:
        lines[found[0]] = entry
    else:
        lines.insert(block.end, entry)
    pinned = "".join(lines)
    expected = yaml.safe_load(text)
    expected["config"][APP][RELEASE]["ami"] = image
    if yaml.safe_load(pinned) != expected:
        raise PromotionError(
            f"refusing to pin the image: {path.name}'s release block could not take an `ami:` "
            "line without touching others (an unusual layout); add it by hand."
        )
    return pinned


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack", help="the stack whose release gets the image")
    parser.add_argument("--root", type=Path, default=mockrun.ROOT, help="the stack files' folder")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    try:
        config = stackfiles.stack_config(args.stack, path=root / f"Pulumi.{args.stack}.yaml")
        region = str(config.get("aws:region") or DEFAULT_REGION)
        pin(args.stack, root, boto3.client("ssm", region_name=region), sys.stdout)
    except (PromotionError, ConfigError, FileNotFoundError) as refusal:
        message = textwrap.fill(f"error: {refusal}", width=100, break_long_words=False)
        print(message, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
