"""The stack outputs are declared once (components/shared/stack_outputs.py): every stack and mode
exports declared names only, each `every stack` output in every stack, and RUNBOOKS.md's table and
its list of outputs stable across modes come from the same declaration."""

from __future__ import annotations

import re

import pytest

from components.shared import stack_outputs
from components.shared.stack_outputs import BY_NAME, OUTPUTS
from tools import outputs_doc, urns
from tools.mockrun import run

# Slow (every stack and mode planned): in `make test`, not `make check`.
pytestmark = pytest.mark.slow


@pytest.mark.parametrize("variant", sorted(urns.variants()))
def test_each_stack_and_mode_exports_declared_outputs_only(variant: str) -> None:
    stack = variant.split("/", maxsplit=1)[0]
    exported = set(run(stack, urns.variants()[variant]).outputs)
    assert exported <= set(BY_NAME), sorted(exported - set(BY_NAME))
    assert {o.name for o in OUTPUTS if o.always} <= exported


@pytest.mark.parametrize(
    ("variant", "present", "absent"),
    [
        (
            "dev/vip",
            {"failoverFunctionName", "databaseArchiveBucket", "bastionSshCommand"},
            {"databaseIdentifier"},
        ),
        (
            "prod/managed",
            {"databaseIdentifier", "cacheEndpoint"},
            {"failoverFunctionName", "databaseArchiveBucket"},
        ),
        ("dev/managed/everything", {"databaseReaderEndpoint"}, {"failoverFunctionName"}),
    ],
)
def test_optional_outputs_follow_config_and_mode(
    variant: str, present: set[str], absent: set[str]
) -> None:
    exported = set(run(variant.split("/", maxsplit=1)[0], urns.variants()[variant]).outputs)
    assert present <= exported
    assert not absent & exported


def test_the_runbooks_table_is_generated_from_the_declaration() -> None:
    text = outputs_doc.RUNBOOKS.read_text()
    assert outputs_doc.with_table(text) == text, "run: python -m tools.outputs_doc --write"


def test_the_runbooks_names_the_outputs_stable_across_modes() -> None:
    text = outputs_doc.RUNBOOKS.read_text()
    paragraph = text.split("**Stable across database modes:**", 1)[1].split("Read these", 1)[0]
    assert set(re.findall(r"`(\w+)`", paragraph)) == {o.name for o in OUTPUTS if o.always}


def test_an_undeclared_output_is_refused() -> None:
    with pytest.raises(ValueError, match="not declared"):
        stack_outputs.export({"vpcID": "vpc-1"})
