"""Production is config (`multitier:production`), and placeholders cannot slip through: the plan
lists them, and under a real engine a production stack holding one is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc  # type: ignore[import-untyped]
import pulumi
import pytest
import yaml
from pulumi.runtime.proto import resource_pb2_grpc

import cfncheck
from components import config as stack_config
from components.config import ConfigError, placeholders
from policy import model
from policy.evaluate import evaluate
from policy.model import PRODUCTION_TAG, Res, Stack
from tools import mockrun
from tools.plan import render
from tools.plan_json import as_json
from tools.plan_preamble import production_line
from tools.stackfiles import ROOT
from tools.stackfiles import stack_config as read_stack


def stack_file(tmp_path: Path, name: str, **overrides: Any) -> Path:
    """prod's stack file as `Pulumi.<name>.yaml`, with `multitier:<key>` overrides (None drops)."""
    config = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())["config"]
    for key, value in overrides.items():
        if value is None:
            config.pop(f"multitier:{key}", None)
        else:
            config[f"multitier:{key}"] = value
    path = tmp_path / f"Pulumi.{name}.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    return path


def failed_rules(run: mockrun.Run) -> set[str]:
    return {f.rule for f in evaluate(run.view).failures}


WEAK_DATABASE = {
    **yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())["config"]["multitier:database"],
    "deletionProtection": False,
    "multiAz": False,
}


def test_a_stack_named_live_with_production_true_gets_the_production_rules(tmp_path: Path):
    path = stack_file(tmp_path, "live", production=True, database=WEAK_DATABASE)
    run = mockrun.run("live", path=path)
    assert run.view.production
    assert {"rds-deletion-protection-prod", "rds-multi-az-prod"} <= failed_rules(run)
    line = production_line(run, read_stack("live", path=path))
    assert line == "Production rules: apply (multitier:production: true in its stack file)"


def test_the_same_stack_without_the_key_is_judged_by_its_name(tmp_path: Path):
    path = stack_file(tmp_path, "live", production=None, database=WEAK_DATABASE)
    run = mockrun.run("live", path=path)
    assert not run.view.production
    assert not {"rds-deletion-protection-prod", "rds-multi-az-prod"} & failed_rules(run)
    assert "'live' is none of prod, production, prod-*, production-*" in production_line(
        run, read_stack("live", path=path)
    )


def test_a_stack_named_prod_may_say_it_is_not_production(tmp_path: Path):
    run = mockrun.run("prod", path=stack_file(tmp_path, "prod", production=False))
    assert not run.view.production
    assert {r.tags.get(PRODUCTION_TAG) for r in run.view if r.tags} == {"false"}


@pytest.mark.parametrize(
    ("name", "production"),
    [
        ("prod", True),
        ("production", True),
        ("prod-eu", True),
        ("production-2", True),
        ("dev", False),
        ("products", False),
        ("preprod", False),
        ("live", False),
    ],
)
def test_the_names_that_default_to_production(name: str, production: bool):
    assert stack_config.production_by_name(name) is production
    assert stack_config.load_config({}, stack=name).production is production


def test_the_policy_pack_keeps_the_same_production_names_as_the_config():
    assert model.PRODUCTION_STACKS == stack_config.PRODUCTION_STACKS


@pytest.mark.parametrize(
    ("stack", "tag", "production"),
    [("live", "true", True), ("prod", "false", False), ("prod", None, True), ("live", None, False)],
)
def test_the_pack_judges_one_resource_by_its_tag_else_by_the_stack_name(
    stack: str, tag: str | None, production: bool
):
    tags = {"Project": "multitier"} | ({PRODUCTION_TAG: tag} if tag else {})
    urn = f"urn:pulumi:{stack}::multitier::aws:rds/instance:Instance::database"
    resource = Res(urn, "aws:rds/instance:Instance", "database", {"tags": tags})
    assert Stack(stack, [resource]).production is production


# --- placeholders -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("203.0.113.10/32", "documentation range 203.0.113.0/24"),
        ("198.51.100.7", "documentation range 198.51.100.0/24"),
        ("192.0.2.0/25", "documentation range 192.0.2.0/24"),
        ("2001:db8::/48", "documentation range 2001:db8::/32"),
        ("ops@example.com", "an e-mail address in a domain reserved for examples"),
        ("alerts@team.example.org", "an e-mail address in a domain reserved for examples"),
        ("db.corp.example", "a host name in a domain reserved for examples"),
        ("arn:aws:sns:eu-west-1:123456789012:topic", "example account 123456789012"),
        ("arn:aws:iam::111122223333:role/x", "example account 111122223333"),
        ("REPLACE-ME", "marked as a placeholder (replace-me)"),
        ("my-placeholder-key", "marked as a placeholder (placeholder)"),
    ],
)
def test_a_placeholder_is_found_with_its_reason(value: str, why: str):
    [found] = placeholders.find({"multitier:x": {"key": [value]}})
    assert (found.key, found.value) == ("multitier:x.key[0]", value)
    assert why in found.why


@pytest.mark.parametrize(
    "value",
    [
        "10.0.0.0/16",
        "198.18.0.1/32",
        "ops@corp.com",
        "public.ecr.aws/nginx/nginx:1.27",
        "16",
        "arn:aws:acm:eu-west-1:210987654321:certificate/1b2c3d4e-0000-4000-8000-0123456789ab",
    ],
)
def test_real_looking_values_are_no_placeholders(value: str):
    assert placeholders.find({"multitier:x": value}) == []


def test_the_plan_lists_prods_placeholders_in_their_own_section():
    run = mockrun.run("prod")
    text = render(run, config=read_stack("prod"))
    section = text.split("\n\n")[1].splitlines()
    assert section[0].startswith("Placeholders still in the stack file (2; `pulumi preview` and")
    assert section[1].startswith("  multitier:app.certificateArn = 'arn:aws:acm:eu-west-1:1234")
    assert "example account 123456789012" in section[1]
    assert section[2].startswith("  multitier:observability.alarmEmails[0] = 'ops@example.com'")


def test_the_plans_json_says_whether_production_and_lists_the_placeholders():
    run = mockrun.run("prod")
    document = as_json(
        run, evaluate(run.view), {}, cfncheck.validate([], run.region), read_stack("prod")
    )
    assert document["production"] is True
    assert [p["key"] for p in document["placeholders"]] == [
        "multitier:app.certificateArn",
        "multitier:observability.alarmEmails[0]",
    ]


def test_under_the_mocks_the_seam_says_no_real_engine():
    seen: list[bool] = []
    mockrun.component(lambda: seen.append(placeholders.real_engine()))
    assert seen == [False]


def test_a_grpc_resource_monitor_is_a_real_engine(monkeypatch: pytest.MonkeyPatch):
    channel = grpc.insecure_channel("127.0.0.1:1")  # never dialled: the stub only wraps it
    stub = resource_pb2_grpc.ResourceMonitorStub(channel)
    monkeypatch.setattr(pulumi.runtime.settings, "get_monitor", lambda: stub)
    try:
        assert placeholders.real_engine()
    finally:
        channel.close()


def test_committed_production_stack_is_refused_under_a_real_engine(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setattr(placeholders, "real_engine", lambda: True)
    monkeypatch.chdir(ROOT)  # the engine runs the program in its project's directory
    run = mockrun.attempt("prod")
    assert isinstance(run.error, ConfigError), run.error
    message = str(run.error)
    assert "stack 'prod' is production and still holds placeholders" in message
    assert "multitier:app.certificateArn = 'arn:aws:acm:eu-west-1:123456789012:" in message
    assert "multitier:observability.alarmEmails[0] = 'ops@example.com'" in message
    assert run.resources == []


def test_without_a_real_engine_the_same_stack_plans(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(placeholders, "real_engine", lambda: False)
    assert mockrun.attempt("prod").error is None


def test_a_stack_that_is_not_production_is_warned_of_its_placeholders_under_a_real_engine(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    monkeypatch.setattr(placeholders, "real_engine", lambda: True)
    monkeypatch.chdir(ROOT)
    assert mockrun.attempt("dev").error is None
    warned = [r.getMessage() for r in caplog.records if "placeholder:" in r.getMessage()]
    assert len(warned) == 2
    assert "multitier:bastion.allowedCidrs[0] = '203.0.113.10/32'" in warned[0]


def test_a_production_stack_with_real_values_deploys_under_a_real_engine(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    monkeypatch.setattr(placeholders, "real_engine", lambda: True)
    monkeypatch.chdir(tmp_path)
    prod = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())["config"]
    app = {
        **prod["multitier:app"],
        "certificateArn": "arn:aws:acm:eu-west-1:210987654321:certificate/"
        "1b2c3d4e-1111-4222-8333-0123456789ab",
    }
    observability = {**prod["multitier:observability"], "alarmEmails": ["ops@corp.com"]}
    path = stack_file(tmp_path, "prod", app=app, observability=observability)
    assert mockrun.attempt("prod", path=path).error is None


def test_under_a_real_engine_a_misspelt_config_key_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    monkeypatch.setattr(placeholders, "real_engine", lambda: True)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "Pulumi.dev.yaml").write_text("confg:\n  multitier:app: {port: 8080}\n")
    run = mockrun.attempt("dev", path=ROOT / "Pulumi.dev.yaml")
    assert isinstance(run.error, ConfigError)
    assert "Pulumi.dev.yaml: top-level key 'confg' is not one Pulumi reads" in str(run.error)
