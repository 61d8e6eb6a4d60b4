"""The example programs reuse the components as they are: each runs under the same mock harness
as multitier itself, passes the same security policy and AWS schema check, and holds nothing but
its own program and stack files (no copy of a component)."""

from __future__ import annotations

import functools

import cfncheck
from components.shared import cloud_init
from policy.evaluate import evaluate
from policy.model import from_declared
from policy.types import EGRESS, INGRESS, LAUNCH_TEMPLATE, SG
from tools import mockrun
from tools.mockrun import Run

EXAMPLE = mockrun.ROOT / "examples" / "web-on-existing-db"


@functools.cache
def example() -> Run:
    return mockrun.run("example", program=EXAMPLE)


def test_the_example_builds_a_network_and_an_app_tier_and_no_database() -> None:
    components = {r.type for r in example().components}
    assert components == {
        "multitier:observability:Observability",
        "multitier:network:VpcNetwork",
        "multitier:app:AppFleet",
        "multitier:network:Access",
    }


def test_the_app_is_told_the_existing_database_and_may_reach_it_only() -> None:
    run = example()
    config = mockrun.stack_config("example", program=EXAMPLE)["web-on-existing-db:database"]
    template = run.one(LAUNCH_TEMPLATE, "app")
    text = cloud_init.decode(cloud_init.sent(template["userData"], base64_encoded=True))
    assert f"DB_HOST={config['host']}\n" in text
    assert f"DB_PORT={config['port']}\n" in text
    (egress,) = [r for r in run.of_type(EGRESS) if r.get("cidrIpv4") == config["cidr"]]
    assert (egress["fromPort"], egress["toPort"]) == (config["port"], config["port"])
    assert egress["securityGroupId"] == run.outputs["appSecurityGroupId"]
    # The database's group is not the example's: it declares no rule into it.
    groups = {r.id for r in run.of_type(SG)}
    assert {r["securityGroupId"] for r in run.of_type(INGRESS)} <= groups


def test_the_example_passes_the_policy_and_the_schema_check() -> None:
    run = example()
    report = evaluate(from_declared(run))
    assert report.passed, [f"{f.rule} {f.where}: {f.message}" for f in report.failures]
    schema = cfncheck.validate(run.resources, "eu-west-1")
    assert schema.passed, schema.lines()


def test_the_example_holds_its_program_and_stack_files_only() -> None:
    files = {p.name for p in EXAMPLE.iterdir() if p.name != "__pycache__"}
    assert files == {"Pulumi.yaml", "Pulumi.example.yaml", "__main__.py"}


def test_the_example_names_its_own_project() -> None:
    assert mockrun.project_name(EXAMPLE) == "web-on-existing-db"
    assert all(":web-on-existing-db::" in r.urn for r in example().resources)
    assert (EXAMPLE / "__main__.py").read_text().count("from components") >= 4
