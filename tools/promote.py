"""Promote a release: copy `multitier:app.release` from one stack's file into another's.

    python -m tools.promote dev staging [--root DIR]

The release (image, version, env, pinned AMI) is the one thing that moves between stacks: the
target file keeps every other byte, comments included. The promotion is refused, and nothing
written, when the two stacks are the same or unknown, when either file has uncommitted changes,
when the target is not promoted from the source (`multitier:promotion.from`), when the target
already runs the release, when the source stack's offline plan fails (bad config, the AWS schema
check or a security rule), or when the target's would with the new release. Otherwise it prints
the diff of the target file, writes it and commits it alone, the checks it passed as trailers
(`Promoted-from:`, `Passed:`), which `make rollback` reads back (tools/rollback.py).
"""

from __future__ import annotations

import argparse
import difflib
import sys
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError

import cfncheck
from components.config import ConfigError
from policy.evaluate import Report, evaluate
from policy.model import from_declared
from tools import mockrun, release_git, stackfiles
from tools.release_git import PromotionError

APP = "multitier:app"
PROMOTION = "multitier:promotion"
RELEASE = "release"
KEY = f"{APP}.{RELEASE}"
SHOWN_FAILURES = 5


@dataclass(frozen=True)
class Block:
    """Where the release sits in a stack file: lines `start` (its key) to `end` (exclusive)."""

    start: int
    end: int
    column: int
    nested: bool
    """The value is a block mapping on the lines below the key, not on the key's own line."""


def promote(source: str, target: str, root: Path, out: TextIO) -> None:
    """Copy the release of `source` into `target`'s file in `root`, printing the diff to `out`.

    Raises `PromotionError`, having written nothing, when the promotion must not happen.
    """
    known = mockrun.stacks(root)
    if source == target:
        raise PromotionError(
            f"refusing to promote {source} to itself: name two different stacks, e.g. "
            f"`make promote FROM=dev TO=staging` (stacks here: {', '.join(known)})."
        )
    for stack in (source, target):
        if stack not in known:
            raise PromotionError(
                f"refusing to promote {source} to {target}: there is no stack {stack!r} "
                f"(no Pulumi.{stack}.yaml in {root}); the stacks are {', '.join(known)}."
            )
    refusing = f"refusing to promote {source} to {target}"
    source_file, target_file = root / f"Pulumi.{source}.yaml", root / f"Pulumi.{target}.yaml"
    release_git.require_committed(
        target_file,
        refusing,
        "so that the promotion is the file's only change and can be reviewed and reverted on "
        "its own",
    )
    release_git.require_committed(
        source_file, refusing, "so that only a release that was committed, and reviewed, moves on"
    )
    _require_chain(source, target, target_file, refusing)
    source_text, target_text = _read(source_file), _read(target_file)
    release, current = release_of(source_text, source_file), release_of(target_text, target_file)
    if release == current:
        raise PromotionError(
            f"{refusing}: {target_file.name} already runs the "
            f"release of {source_file.name} ({describe(release)}), so there is nothing to "
            f"promote. Put the new release in {KEY} of {source_file.name} and try it there "
            "first."
        )

    print(f"Promoting {source}'s release to {target}: {describe(release)}", file=out)
    checked = check(source, source_file, refusing, source_file.name, source_file.name)
    if not checked.policy.passed:
        raise PromotionError(
            f"{refusing}: the offline plan of {source} ({source_file.name}) "
            f"{failures(checked.policy)}. Only a stack that passes the security policy hands on "
            f"its release: fix {source_file.name} (`make plan STACK={source}` shows the plan), "
            f"then promote again. {target_file.name} is unchanged."
        )
    print(
        f"  {source}: the offline plan passes the security policy ({summary(checked.policy)})",
        file=out,
    )

    promoted = splice(source_text, source_file, target_text, target_file)
    out.writelines(
        difflib.unified_diff(
            target_text.splitlines(keepends=True),
            promoted.splitlines(keepends=True),
            f"a/{target_file.name}",
            f"b/{target_file.name}",
        )
    )
    what = f"{target_file.name} with {source}'s release"
    checked = check_text(target, promoted, target_file, refusing, what)
    if not checked.policy.passed:
        raise PromotionError(
            f"{refusing}: with {source}'s release, the offline "
            f"plan of {target} {failures(checked.policy)}. {target_file.name} is unchanged; fix "
            f"it (`make plan STACK={target}` shows the plan), commit, then promote again."
        )
    print(
        f"  {target} with the new release: the offline plan passes the security policy "
        f"({summary(checked.policy)})",
        file=out,
    )
    target_file.write_bytes(promoted.encode())
    subject = f"Promote {source} to {target}: {short(release)}"
    body = (
        f"{target} ran {describe(current)}; it now runs {source}'s release, "
        f"{describe(release)}. Checked offline on {target} with the new release before "
        "this commit:"
    )
    sha = release_git.commit(
        target_file, subject, body, [("Promoted-from", source), *checked.trailers()]
    )
    print(
        f"Committed {target_file.name} ({sha[:12]}): {target} now runs {describe(release)} (was "
        f"{describe(current)}); the commit records the checks it passed. `pulumi up -s {target}` "
        "rolls it out; `make rollback STACK={target}` undoes it.".replace("{target}", target),
        file=out,
    )


def _require_chain(source: str, target: str, target_file: Path, refusing: str) -> None:
    """Refuses unless the target's file names `source` as the stack it is promoted from."""
    try:
        named = stackfiles.stack_config(target, path=target_file).get(PROMOTION) or {}
    except ConfigError as error:
        raise PromotionError(f"{refusing}: {error}; fix it first.") from None
    upstream = named.get("from") if isinstance(named, dict) else None
    if upstream is None:
        raise PromotionError(
            f"{refusing}: {target_file.name} names no stack that {target} is promoted from "
            f"({PROMOTION}.from), so {target}'s release is set by hand there, never promoted in. "
            f"{target_file.name} is unchanged."
        )
    if upstream != source:
        raise PromotionError(
            f"{refusing}: {target} is promoted from {upstream} ({PROMOTION}.from in "
            f"{target_file.name}), not from {source}: promote {source}'s release to {upstream} "
            f"first if it has not got it, then `make promote FROM={upstream} TO={target}`. "
            f"{target_file.name} is unchanged."
        )


def splice(source_text: str, source_file: Path, target_text: str, target_file: Path) -> str:
    """`target_text` with its release block replaced by the source's, every other line kept.

    The source's block is copied as written (its quoting and inner comments), re-indented to
    where the target's sits; the target keeps its own `release:` line when both are nested.
    """
    source, target = locate(source_text, source_file), locate(target_text, target_file)
    source_lines = source_text.splitlines(keepends=True)
    target_lines = target_text.splitlines(keepends=True)
    newline = _newline(target_lines)
    shift = target.column - source.column
    if source.nested and target.nested:
        block = target_lines[target.start : target.start + 1]
        block += _reindent(source_lines[source.start + 1 : source.end], shift, newline)
    else:
        block = _reindent(source_lines[source.start : source.end], shift, newline)
    promoted = "".join(target_lines[: target.start] + block + target_lines[target.end :])

    expected = yaml.safe_load(target_text)
    expected["config"][APP][RELEASE] = release_of(source_text, source_file)
    try:
        spliced_right = yaml.safe_load(promoted) == expected
    except yaml.YAMLError:
        spliced_right = False
    if not spliced_right:
        raise PromotionError(
            f"refusing to promote into {target_file.name}: its {KEY} block could not be "
            "replaced without touching the lines around it (an unusual layout). Copy the "
            f"mapping from {source_file.name} by hand. {target_file.name} is unchanged."
        )
    return promoted


def _read(path: Path) -> str:
    return path.read_bytes().decode()


def _load(text: str, path: Path) -> Any:
    try:
        return YAML(typ="rt").load(text)
    except YAMLError as error:
        raise PromotionError(
            f"refusing to promote: {path.name} is not valid YAML ({error}); fix it first."
        ) from None


def locate(text: str, path: Path) -> Block:
    """The release block of a stack file, found through the round-trip parser's positions."""
    document = _load(text, path)
    config = document.get("config") if isinstance(document, CommentedMap) else None
    app = config.get(APP) if isinstance(config, CommentedMap) else None
    value = app.get(RELEASE) if isinstance(app, CommentedMap) else None
    if not isinstance(app, CommentedMap) or not isinstance(value, CommentedMap):
        raise PromotionError(
            f"refusing to promote: {path.name} has no {KEY} mapping (image, version); write "
            "the release there as the other stack files do, commit it, then promote."
        )
    line, column = app.lc.key(RELEASE)
    lines = text.splitlines(keepends=True)
    end = line + 1
    for index in range(line + 1, len(lines)):
        content = lines[index].strip()
        if not content:
            continue
        if len(lines[index]) - len(lines[index].lstrip(" ")) <= column:
            break
        if not content.startswith("#"):
            end = index + 1
    return Block(line, end, column, nested=not value.fa.flow_style() and end > line + 1)


def release_of(text: str, path: Path) -> dict[str, Any]:
    """The release as the plan reads it (plain values), for comparing two stacks."""
    locate(text, path)  # refuses a file without a release mapping
    release: dict[str, Any] = yaml.safe_load(text)["config"][APP][RELEASE]
    return release


def _reindent(lines: list[str], shift: int, newline: str) -> list[str]:
    shifted = []
    for line in lines:
        body = line.rstrip("\r\n")
        if body.strip():
            body = " " * shift + body if shift >= 0 else body[-shift:]
        shifted.append(body + newline)
    return shifted


def _newline(lines: list[str]) -> str:
    first = lines[0] if lines else "\n"
    return first[len(first.rstrip("\r\n")) :] or "\n"


@dataclass(frozen=True)
class Checked:
    """The offline checks a stack's config passed, and the security policy's report."""

    resources: int
    schema: str
    policy: Report

    def trailers(self) -> list[tuple[str, str]]:
        """The checks, as the git trailers of a commit that records them."""
        return [
            ("Passed", "stack config"),
            ("Passed", f"AWS schema check ({self.schema}, {self.resources} resources)"),
            (
                "Passed" if self.policy.passed else "Failed",
                f"security policy ({summary(self.policy)})",
            ),
        ]


def check_text(stack: str, text: str, path: Path, refusing: str, what: str) -> Checked:
    """`check` of `stack` with `text` as its stack file (a promoted or rolled-back release)."""
    with tempfile.TemporaryDirectory() as scratch:
        candidate = Path(scratch) / path.name
        candidate.write_bytes(text.encode())
        return check(stack, candidate, refusing, what, path.name)


def check(stack: str, path: Path, refusing: str, what: str, fix: str) -> Checked:
    """The plan's checks on `stack` run with the config in `path`: the config, the AWS schema
    check and the security policy.

    Bad config or a schema error refuses, with `what` naming the config and `fix` the file to
    correct; the policy's report is the caller's to judge.
    """
    try:
        run = mockrun.run(stack, path=path)
    except ConfigError as error:
        problems = "; ".join(
            line.strip()
            for line in str(error).splitlines()
            if line.strip() and line.strip() != "Invalid stack config:"
        )
        raise PromotionError(
            f"{refusing}: {what} is not valid stack config: {problems}. Fix {fix} "
            f"(`make plan STACK={stack}` shows the same message), commit, then try again. "
            "Nothing was written."
        ) from None
    schema = cfncheck.validate(run.resources, run.region)
    if not schema.passed:
        problems = "; ".join(
            [str(f) for f in schema.errors]
            + [f"{t} {i}: not in the table" for t, i in schema.unmapped]
        )
        raise PromotionError(
            f"{refusing}: {what} fails the AWS schema check: {problems}. Fix {fix} "
            f"(`make plan STACK={stack}` shows the check), commit, then try again. "
            "Nothing was written."
        )
    return Checked(schema.rendered, f"cfn-lint {schema.cfn_lint}", evaluate(from_declared(run)))


def failures(report: Report) -> str:
    failures = report.failures
    shown = "; ".join(f"{f.rule}: {f.where}: {f.message}" for f in failures[:SHOWN_FAILURES])
    more = f"; and {len(failures) - SHOWN_FAILURES} more" if len(failures) > SHOWN_FAILURES else ""
    rules = len({f.rule for f in failures})
    return f"fails {rules} security rule{'s' if rules != 1 else ''}: {shown}{more}"


def summary(report: Report) -> str:
    return f"{len(report.results)} rules, {len(report.failures)} failures"


def short(release: dict[str, Any]) -> str:
    return f"version {release.get('version')}"


def describe(release: dict[str, Any]) -> str:
    described = f"image {release.get('image')}, version {release.get('version')}"
    if release.get("ami"):
        described += f", AMI {release['ami']}"
    env = release.get("env")
    return described + (f", env {', '.join(sorted(env))}" if env else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", metavar="FROM", help="the stack whose release is promoted")
    parser.add_argument("target", metavar="TO", help="the stack that gets it")
    parser.add_argument(
        "--root",
        type=Path,
        default=mockrun.ROOT,
        help="the git work tree holding the Pulumi.<stack>.yaml files (default: this repository)",
    )
    args = parser.parse_args(argv)
    try:
        promote(args.source, args.target, args.root.resolve(), sys.stdout)
    except PromotionError as refusal:
        sys.stdout.flush()
        message = textwrap.fill(
            f"error: {refusal}", width=100, break_long_words=False, break_on_hyphens=False
        )
        print(message, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
