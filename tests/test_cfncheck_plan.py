"""The offline plan prints the AWS schema check and writes it into its JSON."""

from __future__ import annotations

import pytest

from policy import reachability
from policy.evaluate import evaluate
from policy.model import from_declared
from tests.cfncheck_variants import VARIANTS, report_of, run_of
from tools import plan as plan_command
from tools import plan_json

# Slow (the AWS schema check): in `make test`, not `make check`.
pytestmark = pytest.mark.slow

COMMITTED = VARIANTS[0]


def test_plan_prints_counts_coverage_and_accepted_findings_with_their_reason():
    run, schema = run_of("prod", COMMITTED), report_of("prod", COMMITTED)
    text = plan_command.render(run, schema=schema)
    assert f"{schema.rendered} resources and {schema.inputs_rendered} inputs rendered" in text
    assert "Inputs with no CloudFormation equivalent:" in text
    assert "aws:s3/bucket:Bucket forceDestroy: Pulumi empties the bucket" in text
    assert "W3691 Engine version '16'" in text
    assert "reason: engineVersion is a bare major" in text


def test_plan_json_carries_the_schema_check():
    run, schema = run_of("prod", COMMITTED), report_of("prod", COMMITTED)
    stack = from_declared(run)
    document = plan_json.as_json(run, evaluate(stack), reachability.analyse(stack), schema)
    check = document["schemaCheck"]
    assert check["passed"] is True
    assert check["resourcesRendered"] == schema.rendered
    assert [f["rule"] for f in check["findings"] if "accepted" in f] == ["W3691"]
