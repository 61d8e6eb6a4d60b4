"""Every stack, in every variant, passes the AWS schema check; every acceptance is still used."""

from __future__ import annotations

import pytest

from cfncheck import ACCEPTED
from tests.cfncheck_variants import CASES, IDS, Variant, report_of

# Slow (the AWS schema check, every stack in every variant): `make test` runs it, not `make check`.
pytestmark = pytest.mark.slow


@pytest.mark.parametrize(("stack", "variant"), CASES, ids=IDS)
def test_no_resource_has_an_unaccepted_schema_error(stack: str, variant: Variant):
    errors = report_of(stack, variant).errors
    assert not errors, "\n".join(str(finding) for finding in errors)


@pytest.mark.parametrize(("stack", "variant"), CASES, ids=IDS)
def test_no_resource_has_an_unaccepted_schema_warning(stack: str, variant: Variant):
    warnings = report_of(stack, variant).warnings
    assert not warnings, "\n".join(str(finding) for finding in warnings)


def test_every_accepted_finding_is_still_raised_in_some_variant():
    used = set()
    for stack, variant in CASES:
        try:
            used |= {finding.accepted for finding in report_of(stack, variant).accepted}
        except pytest.skip.Exception:
            continue
    unused = [f"{a.rule} {a.type} '{a.name}'" for a in ACCEPTED if a not in used]
    assert not unused, f"remove from cfncheck/accepted.py: {unused}"
