"""The replacement forecast on hand-built plans: each class from a deliberate change, the reasons
named, replacements spreading to what takes their values, the provider table checked against
the installed providers, and the pins and the last release read from git."""

from __future__ import annotations

import importlib
import inspect
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from policy.types import (
    ASG,
    EIP,
    INGRESS,
    INSTANCE,
    LAUNCH_TEMPLATE,
    LOG_GROUP,
    RANDOM_ID,
    RDS,
    ROUTE,
    ROUTE_TABLE_ASSOCIATION,
    SG,
)
from tools.forecast import provider, release, report, requirements
from tools.forecast.classify import forecast_variant
from tools.forecast.model import Forecast, Kind, PinChange, VariantForecast, Verdict
from tools.plancompare.compare import compare_variant
from tools.plancompare.model import Side, VariantPlan

PREFIX = "urn:pulumi:dev::multitier::"
STACK_URN = f"{PREFIX}pulumi:pulumi:Stack::multitier-dev"
DB = {"engine": "postgres", "instanceClass": "db.t4g.medium", "dbName": "app", "username": "a"}


def urn(type_: str, name: str) -> str:
    return f"{PREFIX}multitier:app:AppFleet${type_}::{name}"


def resource(type_: str, name: str, inputs: dict[str, Any], **options: Any) -> dict[str, Any]:
    """A resource as tools/plancompare/extract.py writes it; `deps` names, per input, the
    resources its value came from."""
    deps = {k: [urn(*v) for v in vs] for k, vs in options.pop("deps", {}).items()}
    return {
        "urn": urn(type_, name),
        "type": type_,
        "name": name,
        "parent": STACK_URN,
        "custom": True,
        "inputs": inputs,
        "aliases": options.pop("aliases", []),
        "options": {"dependencies": deps, "ignore_changes": [], **options},
    }


def forecast(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> VariantForecast:
    diff = compare_variant(
        "dev/managed",
        VariantPlan.from_json({"resources": old}),
        VariantPlan.from_json({"resources": new}),
    )
    return forecast_variant(diff)


def verdict(found: VariantForecast, type_: str, name: str) -> Verdict:
    (match,) = [v for v in found.verdicts if v.type == type_ and v.name == name]
    return match


def text_of(found: VariantForecast) -> str:
    return report.text(Forecast("FROM", "TO", (found,)))


@pytest.mark.parametrize(("key", "prop"), [("dbName", "DBName"), ("username", "MasterUsername")])
def test_a_new_database_name_or_user_replaces_the_database(key: str, prop: str) -> None:
    found = forecast([resource(RDS, "database", DB)], [resource(RDS, "database", DB | {key: "b"})])
    database = verdict(found, RDS, "database")
    assert database.kind is Kind.REPLACED, f"Instance 'database' {key}: {database}"
    assert [(r.input, r.why) for r in database.reasons] == [
        (key, f"create-only in CloudFormation (AWS::RDS::DBInstance {prop})")
    ]


def test_a_replaced_database_is_listed_first_and_loudly() -> None:
    group = resource(LOG_GROUP, "app", {"retentionInDays": 14})
    found = forecast(
        [group, resource(RDS, "database", DB)],
        [group, resource(RDS, "database", DB | {"dbName": "b"})],
    )
    lines = text_of(found).splitlines()
    assert lines[2].startswith("!! 1 STATEFUL RESOURCE(S) REPLACED OR DELETED")
    assert lines[3].startswith("!!   dev/managed: replaced Instance 'database' (its data")


def test_a_new_security_group_description_replaces_the_group() -> None:
    old = resource(SG, "app", {"description": "app hosts", "vpcId": "vpc-1"})
    new = resource(SG, "app", {"description": "the app hosts", "vpcId": "vpc-1"})
    group = verdict(forecast([old], [new]), SG, "app")
    assert group.kind is Kind.REPLACED, f"SecurityGroup 'app' description: {group}"
    assert "AWS::EC2::SecurityGroup GroupDescription" in group.reasons[0].why


def test_a_description_change_the_program_ignores_leaves_the_group_unchanged() -> None:
    old = resource(SG, "app", {"description": "app hosts"}, ignore_changes=["description"])
    new = resource(SG, "app", {"description": "the app hosts"}, ignore_changes=["description"])
    found = forecast([old], [new])
    assert verdict(found, SG, "app").kind is Kind.UNCHANGED
    assert "=  ignored  SecurityGroup 'app': changes ignored (ignore_changes): description" in (
        text_of(found)
    )


def test_a_new_log_retention_updates_the_group_in_place() -> None:
    found = forecast(
        [resource(LOG_GROUP, "app", {"name": "/app", "retentionInDays": 14})],
        [resource(LOG_GROUP, "app", {"name": "/app", "retentionInDays": 30})],
    )
    group = verdict(found, LOG_GROUP, "app")
    assert (group.kind, group.changed) == (Kind.UPDATED, ("retentionInDays",))
    assert "~  updated  LogGroup 'app': retentionInDays" in text_of(found)


def fleet(user_data: str, refresh: bool = True) -> list[dict[str, Any]]:
    group_inputs: dict[str, Any] = {"minSize": 1, "maxSize": 2, "launchTemplate": {"id": "lt-1"}}
    if refresh:
        group_inputs["instanceRefresh"] = {"strategy": "Rolling"}
    return [
        resource(LAUNCH_TEMPLATE, "app", {"imageId": "ami-1", "userData": user_data}),
        resource(ASG, "app", group_inputs, deps={"launchTemplate": [(LAUNCH_TEMPLATE, "app")]}),
    ]


def test_new_user_data_rolls_the_instances_of_the_templates_group() -> None:
    found = forecast(fleet("H4sIAAAA"), fleet("H4sIBBBB"))
    template, group = verdict(found, LAUNCH_TEMPLATE, "app"), verdict(found, ASG, "app")
    assert template.kind is Kind.ROLLED, f"LaunchTemplate 'app' userData: {template}"
    assert template.note == "group 'app' replaces its instances by instance refresh"
    assert (group.kind, group.changed) == (Kind.UPDATED, ("launchTemplate",))


def test_a_group_without_instance_refresh_keeps_its_running_instances() -> None:
    found = forecast(fleet("a", refresh=False), fleet("b", refresh=False))
    assert "keep the old version until replaced" in verdict(found, LAUNCH_TEMPLATE, "app").note


def test_new_tags_on_a_template_roll_nothing() -> None:
    old, new = fleet("a"), fleet("a")
    new[0]["inputs"]["tags"] = {"Owner": "ops"}
    assert verdict(forecast(old, new), LAUNCH_TEMPLATE, "app").kind is Kind.UPDATED


def nat(user_data: str, replace_on_change: bool = True) -> dict[str, Any]:
    inputs = {"ami": "ami-1", "subnetId": "subnet-1", "userData": user_data}
    return resource(
        INSTANCE, "network-nat", inputs | {"userDataReplaceOnChange": replace_on_change}
    )


def test_new_user_data_replaces_the_nat_instance_and_says_so_loudly() -> None:
    found = forecast([nat("#cloud-config\na: 1\n")], [nat("#cloud-config\na: 2\n")])
    instance = verdict(found, INSTANCE, "network-nat")
    assert instance.kind is Kind.ROLLED
    assert instance.reasons[0].source.endswith(
        "`will trigger a destroy and recreate of the EC2 instance when set to true`"
    )
    assert "!!   dev/managed: replaced Instance 'network-nat'" in text_of(found)


def test_new_user_data_without_replace_on_change_updates_the_instance() -> None:
    found = forecast([nat("a", False)], [nat("b", False)])
    assert verdict(found, INSTANCE, "network-nat").kind is Kind.UPDATED


def test_an_ignored_image_change_leaves_the_nat_instance_alone() -> None:
    old = nat("a") | {"options": {"ignore_changes": ["ami"], "dependencies": {}}}
    new = nat("a") | {"options": {"ignore_changes": ["ami"], "dependencies": {}}}
    new["inputs"] = new["inputs"] | {"ami": "ami-2"}
    assert verdict(forecast([old], [new]), INSTANCE, "network-nat").kind is Kind.UNCHANGED


def test_a_replacement_spreads_to_what_takes_its_value() -> None:
    """RDS's identifier suffix is a RandomId kept by dbName: a new name replaces the suffix, and
    the identifier, create-only, takes the new suffix."""
    suffix = {"byteLength": 4, "keepers": {"dbName": "app"}}
    identified = DB | {"identifier": "database-1a2b3c4d"}
    database = resource(RDS, "database", identified, deps={"identifier": [(RANDOM_ID, "id")]})
    found = forecast(
        [resource(RANDOM_ID, "id", suffix), database],
        [resource(RANDOM_ID, "id", suffix | {"keepers": {"dbName": "b"}}), database],
    )
    assert verdict(found, RANDOM_ID, "id").kind is Kind.REPLACED
    reasons = verdict(found, RDS, "database").reasons
    assert [(r.input, r.why) for r in reasons] == [
        (
            "identifier",
            "takes a value of replaced RandomId 'id'; create-only in CloudFormation "
            "(AWS::RDS::DBInstance DBInstanceIdentifier)",
        )
    ]


def test_a_resource_that_takes_a_replaced_value_into_an_updatable_input_is_updated() -> None:
    route = resource(
        ROUTE,
        "default",
        {"routeTableId": "rtb-1", "networkInterfaceId": "eni-1"},
        deps={"networkInterfaceId": [(INSTANCE, "network-nat")]},
    )
    found = forecast([nat("a"), route], [nat("b"), route])
    assert verdict(found, ROUTE, "default").kind is Kind.UPDATED


def test_a_template_that_only_takes_a_replaced_value_rolls_nothing() -> None:
    """A secret's ARN outlives a replaced version of it: the template may not change at all."""
    old, new = fleet("a"), fleet("a")
    for side, version in ((old, "1"), (new, "2")):
        side[0]["options"]["dependencies"] = {"userData": [urn(RANDOM_ID, "v")]}
        side.append(resource(RANDOM_ID, "v", {"byteLength": 4, "keepers": {"v": version}}))
    template = verdict(forecast(old, new), LAUNCH_TEMPLATE, "app")
    assert template.kind is Kind.UPDATED, f"LaunchTemplate 'app': {template}"
    assert "changes if the value it takes does" in template.reasons[0].why


def test_a_rules_new_port_updates_it_in_place_though_cloudformation_would_replace() -> None:
    rule = {"securityGroupId": "sg-1", "ipProtocol": "tcp", "cidrIpv4": "10.0.0.0/16"}
    found = forecast(
        [resource(INGRESS, "in", rule | {"fromPort": 80, "toPort": 80})],
        [resource(INGRESS, "in", rule | {"fromPort": 443, "toPort": 443})],
    )
    assert verdict(found, INGRESS, "in").kind is Kind.UPDATED


def test_a_rule_whose_source_changes_kind_is_replaced() -> None:
    rule = {"securityGroupId": "sg-1", "ipProtocol": "tcp", "fromPort": 80, "toPort": 80}
    found = forecast(
        [resource(INGRESS, "in", rule | {"cidrIpv4": "10.0.0.0/16"})],
        [resource(INGRESS, "in", rule | {"referencedSecurityGroupId": "sg-2"})],
    )
    assert verdict(found, INGRESS, "in").kind is Kind.REPLACED


def test_an_association_moved_to_another_route_table_is_updated_in_place() -> None:
    found = forecast(
        [resource(ROUTE_TABLE_ASSOCIATION, "a", {"subnetId": "subnet-1", "routeTableId": "rtb-1"})],
        [resource(ROUTE_TABLE_ASSOCIATION, "a", {"subnetId": "subnet-1", "routeTableId": "rtb-2"})],
    )
    assert verdict(found, ROUTE_TABLE_ASSOCIATION, "a").kind is Kind.UPDATED


def test_a_resource_moved_through_an_alias_is_not_replaced() -> None:
    old = resource(EIP, "nat", {"domain": "vpc"})
    new = {
        **old,
        "urn": f"{PREFIX}multitier:network:VpcNetwork${EIP}::nat",
        "aliases": [old["urn"]],
    }
    found = forecast([old], [new])
    moved = verdict(found, EIP, "nat")
    assert (moved.kind, moved.moved) == (Kind.UNCHANGED, True)
    assert "kept by alias" in text_of(found)


def test_created_and_deleted_resources_are_classed_so() -> None:
    found = forecast([resource(EIP, "old", {})], [resource(EIP, "new", {})])
    assert verdict(found, EIP, "new").kind is Kind.CREATED
    assert verdict(found, EIP, "old").kind is Kind.DELETED
    assert [v.name for v in found.losing_state] == ["old"]


def _provider_class(type_: str) -> Any:
    package, module_path, name = re.fullmatch(r"(\w+):([\w/]+):(\w+)", type_).groups()  # type: ignore[union-attr]
    module_name = module_path.split("/")[0]
    root = {"aws": "pulumi_aws", "random": "pulumi_random", "tls": "pulumi_tls"}[package]
    module = importlib.import_module(
        root if module_name == "index" else f"{root}.{module_name.replace('lambda', 'lambda_')}"
    )
    return getattr(module, name)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@pytest.mark.parametrize("rule", provider.RULES, ids=lambda r: f"{r.type}:{','.join(r.inputs)}")
def test_each_provider_rule_names_inputs_the_installed_provider_has(rule: provider.Rule) -> None:
    parameters = inspect.signature(_provider_class(rule.type)._internal_init).parameters
    for path in rule.inputs:
        if path != provider.EVERY:
            assert _snake(path.split(".")[0]) in parameters, f"{rule.type} has no input {path}"
    assert rule.source.startswith(("https://", ".venv/", "pulumi_", "terraform-provider")), rule


def test_requirements_pinned_differently_are_listed() -> None:
    old = requirements.pins("pulumi==3.1.0\n# a comment\nPyYAML==6.0 # why\n-r other.txt\n")
    new = requirements.pins("pulumi==3.2.0\npyyaml==6.0\ndeflate>=0.9\n")
    assert old == {"pulumi": "3.1.0", "pyyaml": "6.0"}
    assert new == {"pulumi": "3.2.0", "pyyaml": "6.0", "deflate": ">=0.9"}


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def stack_file(image: str, size: str = "t3.small") -> str:
    return (
        "config:\n  multitier:app:\n    # The release: promoted.\n    release:\n"
        f"      image: {image}\n    instanceType: {size}\n"
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.email", "t@example.com")
    git(tmp_path, "config", "user.name", "t")
    return tmp_path


def commit(repo: Path, text: str, message: str) -> str:
    (repo / release.PROD_FILE).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def test_a_repository_without_a_promotion_has_no_last_release(repo: Path) -> None:
    commit(repo, stack_file("nginx:1"), "the prod stack")
    commit(repo, stack_file("nginx:1", "t3.large"), "a bigger host, no release")
    assert release.last_release(repo) is None


def test_the_last_release_is_the_last_commit_that_only_moved_the_release(repo: Path) -> None:
    commit(repo, stack_file("nginx:1"), "the prod stack")
    promoted = commit(repo, stack_file("nginx:2"), "promote nginx:2")
    commit(repo, stack_file("nginx:2", "t3.large"), "a bigger host")
    assert release.last_release(repo) == promoted


def test_the_changelog_must_name_each_stateful_loss_since_the_release(repo: Path) -> None:
    (repo / release.CHANGELOG).write_text("# Changelog\n")
    since = commit(repo, stack_file("nginx:1"), "the prod stack")
    (repo / release.CHANGELOG).write_text("# Changelog\n\n- `database` is replaced: restore.\n")
    losing = [
        ("prod/managed", Verdict("u1", RDS, "database", Kind.REPLACED)),
        ("dev/vip", Verdict("u2", INSTANCE, "network-nat", Kind.ROLLED)),
    ]
    assert release.unnamed(losing, release.changelog_since(repo, since)) == [
        f"dev/vip: {Kind.ROLLED} {INSTANCE} 'network-nat'"
    ]


def test_a_revision_pinning_other_packages_is_said(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("pulumi==3.2.0\n")
    found = requirements.changes(tmp_path, Side("WORKTREE"), Side("WORKTREE"))
    assert found == ()
    text = report.text(Forecast("A", "B", (), pins=(PinChange("r.txt", "x", "1", None),)))
    assert "requirements DIFFER" in text
    assert "r.txt: - x==1" in text
