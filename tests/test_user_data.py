"""User data as EC2 takes it and cloud-init reads it. Every document the program renders (app
hosts, bastion, NAT instance, database nodes), in every stack and variant of the AWS schema check
(both database modes, cache, EFS and bastion on and off, each NAT mode), is a `#cloud-config` that
cloud-init's own schema accepts, with no top-level key Amazon Linux 2023's cloud-init does not
know, and it fits EC2's 16 KB with a margin.

The schema is the JSON file of Debian bookworm's cloud-init package (`make test` unpacks it into
`.cache/cloud-init` with tools/cloud_init_schema.sh). It is cloud-init 22.4.2's; Amazon Linux 2023
runs 22.2.2, which Debian never released. The documents here use keys both know
(`write_files`, `runcmd`), whose definitions did not change between the two, and the keys 22.4.2
added are refused here as unknown.
"""

from __future__ import annotations

import ast
import base64
import gzip
import hashlib
import json
import os
import random
import re
import subprocess
import sys
import zlib
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator

from components.shared import cloud_init
from policy.model import Res, Stack
from policy.rules import RULES
from policy.types import INSTANCE, LAUNCH_TEMPLATE
from tests import policy_order_cases as order
from tests.cfncheck_variants import CASES, IDS, Variant, run_of
from tools import plan
from tools.mockrun import ROOT, Run

SCHEMA_DIR = Path(os.environ.get("CLOUD_INIT_SCHEMA", ROOT / ".cache" / "cloud-init"))
SCHEMA_CLOUD_INIT = "22.4.2"
"""The cloud-init release whose schema judges the documents: Debian bookworm's."""
# Keys newer than the cloud-init Amazon Linux 2023 runs (22.2.2, cloud-init-22.2.2-1.amzn2023.*).
NEWER_THAN_AL2023 = frozenset(
    {
        "ansible",
        "autoinstall",
        "cloud_config_modules",
        "cloud_final_modules",
        "cloud_init_modules",
        "reporting",
        "wireguard",
    }
)
"""Top-level keys of the 22.4.2 schema that 22.2.2's does not have (compared from the two
releases' `schema-cloud-config-v1.json`); the one key 22.2.2 has and 22.4.2 dropped, `debug`, is
refused here with every other unknown key."""

LIBDEFLATE_DIGEST = "43001934c89e04714220e348dc2e3b10c812a02e574350e8171018bfce74393c"
"""libdeflate 1.25's gzip, at level 12, of test_compression_gives_the_bytes_libdeflate_gave."""

MARGIN = 13 * 1024
"""User data as sent stays under 13 KB, so that 3 KB of EC2's 16 KB stay free for the scripts to
grow (the database nodes' is the largest: the plan prints what is free). It was 12 KB until the
nodes' document carried the archive and the operators' verbs too; the next growth of host code
should move it out of user data (a versioned artifact the node fetches) rather than shrink this
again."""

HOSTS = {"app", "bastion", "database-node", "network-nat"}
"""The resources with user data: launch templates, and the NAT instance."""


@dataclass(frozen=True)
class UserData:
    resource: str
    raw: bytes
    """What EC2 stores and hands cloud-init."""

    @property
    def text(self) -> str:
        return cloud_init.decode(self.raw)

    @property
    def compressed(self) -> bool:
        return self.raw.startswith(b"\x1f\x8b")


def user_data(run: Run) -> list[UserData]:
    return [
        UserData(resource.name, raw)
        for resource in [*run.of_type(LAUNCH_TEMPLATE), *run.of_type(INSTANCE)]
        if (raw := plan.user_data(resource)) is not None
    ]


@cache
def validator() -> Draft4Validator:
    """cloud-init's schema, refusing any top-level key it does not define or that Amazon Linux
    2023's cloud-init does not know (the schema itself lets unknown keys through)."""
    path = SCHEMA_DIR / "schema-cloud-config-v1.json"
    assert path.exists(), (
        f"no cloud-init schema at {path}: run `tools/cloud_init_schema.sh {SCHEMA_DIR}` "
        "(make test does)"
    )
    schema = json.loads(path.read_text())
    defined = {
        key
        for part in schema["allOf"]
        for key in schema["$defs"][part["$ref"].removeprefix("#/$defs/")].get("properties", {})
    }
    known = sorted(defined - NEWER_THAN_AL2023)
    strict = {**schema, "properties": {key: {} for key in known}, "additionalProperties": False}
    Draft4Validator.check_schema(strict)
    return Draft4Validator(strict)


def problems(document: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '(top level)'}: {error.message}"
        for error in validator().iter_errors(document)
    ]


def test_the_schema_is_cloud_init_22_4_2():
    version = (SCHEMA_DIR / "VERSION").read_text().strip()
    assert version.startswith(f"{SCHEMA_CLOUD_INIT}-"), version


@pytest.mark.parametrize(("stack", "variant"), CASES, ids=IDS)
def test_every_user_data_is_cloud_config_that_cloud_init_accepts(stack: str, variant: Variant):
    for data in user_data(run_of(stack, variant)):
        document = cloud_init.parse(data.text)
        assert not problems(document), f"{data.resource}: {problems(document)}"


@pytest.mark.parametrize(("stack", "variant"), CASES, ids=IDS)
def test_every_user_data_keeps_a_margin_under_the_16_kb_limit(stack: str, variant: Variant):
    for data in user_data(run_of(stack, variant)):
        assert len(data.raw) <= MARGIN, (
            f"{data.resource}: {len(data.raw)} bytes of user data (EC2 takes "
            f"{cloud_init.USER_DATA_LIMIT}; this test keeps {MARGIN})"
        )


def test_every_host_with_user_data_is_checked():
    checked = {
        data.resource for stack, variant in CASES for data in user_data(run_of(stack, variant))
    }
    assert checked == HOSTS


def test_launch_templates_take_gzip_and_the_nat_instance_plain_text():
    data = {d.resource: d for d in user_data(run_of("dev", Variant("as committed", {})))}
    assert {name for name, d in data.items() if d.compressed} == HOSTS - {"network-nat"}
    assert data["network-nat"].text.startswith("#cloud-config\n")
    # Uncompressed, the database nodes' document alone would leave almost no room.
    assert len(data["database-node"].text.encode()) > 2 * len(data["database-node"].raw)


def test_the_schema_refuses_unknown_and_newer_keys_and_malformed_files():
    file = {"path": "/etc/x", "content": "x", "permissions": "0644"}
    assert not problems({"write_files": [file], "runcmd": [["true"]]})
    assert problems({"runcmds": [["true"]]}), "a misspelt key"
    assert problems({"wireguard": {"interfaces": []}}), "a key AL2023's cloud-init lacks"
    assert problems({"write_files": [{**file, "mode": "0644"}]}), "an unknown file key"
    assert problems({"write_files": [{"content": "x"}]}), "a file without a path"


def test_compressed_user_data_is_reproducible():
    document = {"runcmd": [["true"]]}
    first, second = cloud_init.render_base64(document), cloud_init.render_base64(document)
    assert first == second
    raw = base64.b64decode(first)
    assert raw[4:8] == b"\0\0\0\0", "a timestamp in the gzip header"
    assert cloud_init.decode(raw) == cloud_init.render(document)


def test_compression_gives_the_bytes_libdeflate_gave_when_pinned():
    """The pinned `deflate` builds in libdeflate 1.25, whose bytes these are: a machine whose
    install gives other bytes (another version, a build from source against a system libdeflate)
    would give every launch template a new version, and says so here."""
    text = "".join(
        f"line {i}: retry curl -sSf --max-time 2 http://169.254.169.254/latest/{i % 7}\n"
        for i in range(300)
    )
    digest = hashlib.sha256(cloud_init.compress(text)).hexdigest()
    assert digest == LIBDEFLATE_DIGEST


def script_like_text() -> str:
    """165 KB of shell-like lines, on which zlib-ng's level 9 parses differently from zlib's."""
    pick = random.Random(0)
    return "".join(
        " ".join(pick.choices(SHELL_WORDS, k=pick.randint(3, 12))) + "\n" for _ in range(2500)
    )


SHELL_WORDS = [
    "retry",
    "curl",
    "aws",
    "ssm",
    "get-parameter",
    "--name",
    "--query",
    "Parameter.Value",
    "--output",
    "text",
    "systemctl",
    "restart",
    "multitier-app.service",
    "docker",
    "pull",
    "if",
    "then",
    "fi",
    "echo",
    "$HOST",
    "${REGION}",
    "/usr/local/lib/multitier/lib.sh",
]

UNDER_ZLIB_NG = """
import gzip, hashlib, json, sys
from zlib_ng import zlib_ng
# zlib-ng where Python's zlib was, as on Fedora 40: for every later import, and for gzip (which
# zlib_ng's own package has imported already).
sys.modules["zlib"] = gzip.zlib = zlib_ng
from components.shared import cloud_init
text = sys.stdin.read()
old = gzip.compress(text.encode(), compresslevel=9, mtime=0)
print(json.dumps({
    "old": hashlib.sha256(old).hexdigest(),
    "new": hashlib.sha256(cloud_init.compress(text)).hexdigest(),
    "zlib_ng": zlib_ng.ZLIBNG_VERSION,
}))
"""


def test_user_data_compresses_to_the_same_bytes_under_zlib_ng():
    """The deploying machine's zlib does not reach the bytes: the former compression (Python's
    gzip at level 9) gives other bytes once `zlib` is zlib-ng; the current one gives the same."""
    text = script_like_text()
    run = subprocess.run(
        [sys.executable, "-c", UNDER_ZLIB_NG],
        input=text,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    under_ng = json.loads(run.stdout)
    old = gzip.compress(text.encode(), compresslevel=9, mtime=0)
    assert under_ng["old"] != hashlib.sha256(old).hexdigest(), (
        f"zlib {zlib.ZLIB_RUNTIME_VERSION} and zlib-ng {under_ng['zlib_ng']} gave the same "
        "bytes: the text no longer shows what this test is about"
    )
    assert under_ng["new"] == hashlib.sha256(cloud_init.compress(text)).hexdigest(), (
        f"user data compressed under zlib-ng {under_ng['zlib_ng']} differs from under zlib "
        f"{zlib.ZLIB_RUNTIME_VERSION}: every launch template would get a new version"
    )


def test_user_data_is_gzip_that_pythons_gzip_reads_as_cloud_init_does():
    """cloud-init recognises the gzip magic and decompresses with Python's gzip module."""
    text = script_like_text()
    raw = cloud_init.compress(text)
    assert raw[:3] == b"\x1f\x8b\x08", "gzip magic and the deflate method"
    assert gzip.decompress(raw).decode() == text
    assert len(raw) < len(gzip.compress(text.encode(), compresslevel=9, mtime=0))


def test_the_first_boot_order_rule_reads_compressed_user_data():
    """order-first-boot finds the SSM parameters a host fetches at boot in its user data."""
    rule = next(r for r in RULES if r.id == "order-first-boot")
    compressed = cloud_init.render_base64({"runcmd": [["fetch", order.parameter.get("name")]]})
    reads = replace(order.reads, props={**order.reads.props, "userData": compressed})
    case = order.boot_case("gzip", order.reader, [order.parameter], [order.parameter, reads])

    def judged(resources: list[Res]) -> list[str]:
        (host,) = [r for r in resources if r.urn == order.reader.urn]
        return list(rule.check(host, Stack("dev", resources)))

    assert judged(list(case.broken)) == [
        "its hosts may boot before the parameters named in its user data 'agent' exist"
    ]
    assert judged(list(case.fixed)) == []


def test_the_plan_prints_each_user_data_size_against_the_limit():
    run = run_of("dev", Variant("as committed", {}))
    lines = plan.render(run).splitlines()
    for data in user_data(run):
        (line,) = [
            line
            for line in lines
            if line.startswith(f"        {data.resource}: ") and "user data" in line
        ]
        assert f"user data {len(data.raw):,} of 16,384 bytes" in line, line
        if data.compressed:
            assert f"(gzip of {len(data.text.encode()):,})" in line, line
        assert line.endswith(f", {16384 - len(data.raw):,} free"), line


SCRIPTS = sorted(
    p.name
    for p in cloud_init.SCRIPTS.iterdir()
    if p.suffix in (".sh", ".py") and p.name != "__init__.py"
)


@pytest.mark.parametrize("name", SCRIPTS)
def test_hosts_get_their_scripts_without_comments_and_nothing_else_changed(name: str):
    """Comments (and a Python program's docstrings and annotations) are dropped to keep the
    nodes' user data small. Nothing else may change: a Python program keeps every name it
    defines (python-minifier renames nothing here; tests/test_host_python.py runs what is
    shipped on 3.9), a shell script holds no heredoc (whose text lines could start with #), and
    only lines starting with # go."""
    original, shipped = cloud_init.verbatim(name), cloud_init.script(name)
    if name.endswith(".py"):
        assert defined_names(shipped) == defined_names(original)
        assert shipped.startswith(original.splitlines()[0] + "\n"), "the shebang stays"
        assert len(shipped) < len(original)
    else:
        dropped = [line for line in original.splitlines() if line not in shipped.splitlines()]
        assert all(line.lstrip().startswith("#") for line in dropped), dropped
        assert not re.search(r"<<-?\s*['\"]?\w", original), f"{name} has a heredoc"
        assert shipped.startswith("#!/bin/bash\n")


def defined_names(source: str) -> list[str]:
    """Every function, class, argument and assigned name the program defines, in order."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found.append(node.name)
        elif isinstance(node, ast.arg):
            found.append(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            found.append(node.id)
    return found
