"""The plan comparison: the core on hand-built plans, one difference of each kind; then whole
revisions planned by their own code, identical ones comparing equal and a changed one reported."""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pulumi
import pytest

from policy.types import INGRESS, SG
from tools import mockrun
from tools.plancompare import extract, report, revisions
from tools.plancompare.cli import main
from tools.plancompare.compare import compare_variant
from tools.plancompare.model import (
    ABSENT,
    JSON_STEP,
    Change,
    Comparison,
    Side,
    Status,
    VariantDiff,
    VariantPlan,
)

PREFIX = "urn:pulumi:dev::multitier::"
STACK_URN = f"{PREFIX}pulumi:pulumi:Stack::multitier-dev"
GROUP = SG
RULE = INGRESS
APP = "multitier:app:AppFleet"
DB = "multitier:database:PostgresHA"


def component(type_: str, name: str, **fields: Any) -> dict[str, Any]:
    """A component under the stack, its URN made as the mocks make it."""
    return resource(type_, name, STACK_URN, custom=False, **fields)


def resource(type_: str, name: str, parent: str, **fields: Any) -> dict[str, Any]:
    """A resource as extract.py writes it, its URN made from its parent's as the mocks do."""
    parent_type = parent.split("::")[2].rsplit("$", maxsplit=1)[-1]
    options = {"protect": False, "waits_for": [], **fields.pop("options", {})}
    return {
        "urn": f"{PREFIX}{parent_type}${type_}::{name}",
        "type": type_,
        "name": name,
        "parent": parent,
        "custom": True,
        "inputs": {},
        "secrets": [],
        "aliases": [],
        "options": options,
    } | fields


def variant(*resources: dict[str, Any], **fields: Any) -> VariantPlan:
    return VariantPlan.from_json({"resources": list(resources), **fields})


def diff(old: VariantPlan, new: VariantPlan) -> VariantDiff:
    return compare_variant("dev/vip", old, new)


def text_of(variant_diff: VariantDiff) -> str:
    return report.text(Comparison(Side("HEAD", "0" * 40), Side("WORKTREE"), (variant_diff,)))


def app_and_group(**group: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    app = component(APP, "app")
    return app, resource(GROUP, "app", app["urn"], **group)


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clone of this repository's HEAD: its working tree is HEAD, whatever is edited here."""
    path = tmp_path_factory.mktemp("clone") / "repo"
    subprocess.run(["git", "clone", "--quiet", str(mockrun.ROOT), str(path)], check=True)
    return path


# First: two runs of one revision plan the same, or no comparison means anything.
@pytest.mark.slow
def test_two_runs_of_one_revision_plan_identically(
    clone: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    specs = revisions.variants("dev")

    def planned(seed: str) -> dict[str, Any]:
        monkeypatch.setenv("PYTHONHASHSEED", seed)
        return revisions.extract(clone, specs)

    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(planned, ["1", "2"])
    assert first == second
    assert all(first["variants"][s.name]["resources"] for s in specs)


def test_identical_plans_have_no_difference() -> None:
    plan = variant(*app_and_group(inputs={"vpcId": "vpc-1"}))
    found = diff(plan, plan)
    assert not found.different
    assert [r.status for r in found.resources] == [Status.KEPT, Status.KEPT]
    assert "no difference (2 resources)" in text_of(found)


def test_a_resource_only_the_new_side_declares_is_added() -> None:
    app, group = app_and_group()
    found = diff(variant(app), variant(app, group))
    assert [(r.urn, r.status) for r in found.resources if r.different] == [
        (group["urn"], Status.ADDED)
    ]
    assert f"+ added    {APP}${GROUP}::app" in text_of(found)


def test_a_resource_only_the_old_side_declares_is_removed() -> None:
    app, group = app_and_group()
    found = diff(variant(app, group), variant(app))
    assert [(r.urn, r.status) for r in found.of_status(Status.REMOVED)] == [
        (group["urn"], Status.REMOVED)
    ]
    assert found.different


def test_a_nested_input_change_names_its_path_and_both_values() -> None:
    health = {"path": "/", "matchers": ["200", "301"], "interval": 30}
    app, old = app_and_group(inputs={"healthCheck": health, "port": 80})
    _, new = app_and_group(
        inputs={"healthCheck": health | {"path": "/up", "matchers": ["200", "302"]}, "port": 80}
    )
    (changed,) = diff(variant(app, old), variant(app, new)).changed
    assert changed.inputs == (
        Change(("healthCheck", "matchers", 1), "301", "302"),
        Change(("healthCheck", "path"), "/", "/up"),
    )
    assert changed.changed_inputs == ("healthCheck",)


def test_an_input_set_on_one_side_only_is_absent_on_the_other() -> None:
    app, old = app_and_group(inputs={"description": "app hosts"})
    _, new = app_and_group(inputs={"description": "app hosts", "revokeRulesOnDelete": True})
    (changed,) = diff(variant(app, old), variant(app, new)).changed
    assert changed.inputs == (Change(("revokeRulesOnDelete",), ABSENT, True),)
    assert "revokeRulesOnDelete: (absent) -> true" in text_of(
        diff(variant(app, old), variant(app, new))
    )


def test_true_and_one_differ_as_they_do_to_the_provider() -> None:
    app, old = app_and_group(inputs={"count": 1})
    _, new = app_and_group(inputs={"count": True})
    assert diff(variant(app, old), variant(app, new)).different


def test_a_json_document_in_a_string_is_compared_inside() -> None:
    def policy(action: str) -> dict[str, Any]:
        statement = {"Effect": "Allow", "Action": action, "Resource": "*"}
        return {"policy": json.dumps({"Version": "2012-10-17", "Statement": [statement]})}

    app, old = app_and_group(inputs=policy("ec2:DescribeInstances"))
    _, new = app_and_group(inputs=policy("ec2:*"))
    (changed,) = diff(variant(app, old), variant(app, new)).changed
    assert changed.inputs == (
        Change(("policy", JSON_STEP, "Statement", 0, "Action"), "ec2:DescribeInstances", "ec2:*"),
    )


def test_a_secret_input_change_is_reported_and_its_values_masked() -> None:
    app, old = app_and_group(inputs={"secretString": "hunter2"}, secrets=["secretString"])
    _, new = app_and_group(inputs={"secretString": "hunter3"}, secrets=["secretString"])
    found = diff(variant(app, old), variant(app, new))
    comparison = Comparison(Side("HEAD", "0" * 40), Side("WORKTREE"), (found,))
    shown = report.text(comparison) + json.dumps(report.to_json(comparison))
    assert found.changed[0].inputs[0].secret
    assert "secretString" in shown
    assert "hunter" not in shown


def test_an_option_change_is_reported_with_both_values() -> None:
    app, old = app_and_group(options={"protect": False, "ignore_changes": []})
    _, new = app_and_group(options={"protect": True, "ignore_changes": ["description"]})
    (changed,) = diff(variant(app, old), variant(app, new)).changed
    assert changed.options == (
        Change(("ignore_changes",), [], ["description"]),
        Change(("protect",), False, True),
    )
    assert "option protect: false -> true" in text_of(diff(variant(app, old), variant(app, new)))


def test_an_option_one_side_does_not_record_is_not_compared() -> None:
    app, old = app_and_group()
    _, new = app_and_group(options={"delete_before_replace": True})
    assert not diff(variant(app, old), variant(app, new)).different


def test_a_move_through_its_own_alias_is_no_difference() -> None:
    app, database = component(APP, "app"), component(DB, "database")
    old_rule = resource(RULE, "database-from-app", database["urn"])
    new_rule = resource(RULE, "database-from-app", app["urn"], aliases=[old_rule["urn"]])
    old_user = resource(GROUP, "x", app["urn"], options={"waits_for": [old_rule["urn"]]})
    new_user = resource(GROUP, "x", app["urn"], options={"waits_for": [new_rule["urn"]]})
    found = diff(
        variant(app, database, old_rule, old_user), variant(app, database, new_rule, new_user)
    )
    assert not found.different
    (moved,) = found.moved
    assert (moved.old_urn, moved.urn) == (old_rule["urn"], new_rule["urn"])
    assert f"> moved (aliased)  {DB}${RULE}::database-from-app  ->  {APP}${RULE}" in text_of(found)


def test_children_keep_their_urns_through_an_aliased_parent() -> None:
    old_parent = component(DB, "database")
    new_parent = component(APP, "app", aliases=[old_parent["urn"]])
    # A child named after its parent had the parent's old name in its own.
    old_child = resource(GROUP, "database-nodes", old_parent["urn"])
    new_child = resource(GROUP, "app-nodes", new_parent["urn"])
    old_grandchild = resource(RULE, "in", old_child["urn"])
    new_grandchild = resource(RULE, "in", new_child["urn"])
    found = diff(
        variant(old_parent, old_child, old_grandchild),
        variant(new_parent, new_child, new_grandchild),
    )
    assert {(r.old_urn, r.urn) for r in found.moved} == {
        (old_parent["urn"], new_parent["urn"]),
        (old_child["urn"], new_child["urn"]),
    }
    # The mocks make a URN of the last type of the parent's chain: the grandchild's is the same,
    # and its parent, the old child's URN, reads as the new one.
    assert old_grandchild["urn"] == new_grandchild["urn"]
    assert not found.different


def test_children_of_an_aliased_parent_follow_the_engines_urns_too() -> None:
    old_parent = {**component(DB, "database"), "urn": f"{PREFIX}{DB}::database"}
    new_parent = {
        **component(APP, "app"),
        "urn": f"{PREFIX}{APP}::app",
        "aliases": [old_parent["urn"]],
    }
    old_child = {**resource(GROUP, "g", old_parent["urn"]), "urn": f"{PREFIX}{DB}${GROUP}::g"}
    new_child = {**resource(GROUP, "g", new_parent["urn"]), "urn": f"{PREFIX}{APP}${GROUP}::g"}
    old_leaf = {**resource(RULE, "r", old_child["urn"]), "urn": f"{PREFIX}{DB}${GROUP}${RULE}::r"}
    new_leaf = {**resource(RULE, "r", new_child["urn"]), "urn": f"{PREFIX}{APP}${GROUP}${RULE}::r"}
    found = diff(variant(old_parent, old_child, old_leaf), variant(new_parent, new_child, new_leaf))
    assert len(found.moved) == 3
    assert not found.different


def test_a_move_without_an_alias_is_removed_and_added() -> None:
    app, database = component(APP, "app"), component(DB, "database")
    old_rule = resource(RULE, "database-from-app", database["urn"])
    new_rule = resource(RULE, "database-from-app", app["urn"])
    found = diff(variant(app, database, old_rule), variant(app, database, new_rule))
    assert [(r.urn, r.status) for r in found.resources if r.different] == sorted(
        [(new_rule["urn"], Status.ADDED), (old_rule["urn"], Status.REMOVED)]
    )
    assert "an alias would keep it" in text_of(found)


def refers_to(urn: str) -> dict[str, Any]:
    """Options that name a resource: an input's dependency and a provider reference."""
    return {"dependencies": {"securityGroupId": [urn]}, "provider": f"{urn}::sg-1234"}


def test_an_option_that_names_a_moved_resource_by_its_old_urn_is_unchanged() -> None:
    app, database = component(APP, "app"), component(DB, "database")
    old_group = resource(GROUP, "db", database["urn"])
    new_group = resource(GROUP, "db", app["urn"], aliases=[old_group["urn"]])
    old_rule = resource(RULE, "in", database["urn"], options=refers_to(old_group["urn"]))
    new_rule = resource(RULE, "in", database["urn"], options=refers_to(new_group["urn"]))
    found = diff(
        variant(app, database, old_group, old_rule), variant(app, database, new_group, new_rule)
    )
    assert not found.different


def test_a_changed_stack_output_is_a_difference() -> None:
    app, group = app_and_group()
    old = variant(app, group, outputs={"url": "http://a"})
    new = variant(app, group, outputs={"url": "https://a"})
    assert diff(old, new).outputs == (Change(("url",), "http://a", "https://a"),)


def test_a_variant_only_one_side_plans_is_a_difference() -> None:
    found = compare_variant("examples/web-on-existing-db/example", None, variant())
    assert found.only_in == "to"
    assert found.different


def test_a_variant_that_fails_to_plan_is_a_difference() -> None:
    found = diff(variant(), variant(error="ConfigError: multitier:app.port: not a port"))
    assert found.errors == {"to": "ConfigError: multitier:app.port: not a port"}
    assert "TO could not be planned: ConfigError" in text_of(found)


def test_a_urn_declared_twice_is_a_failed_plan() -> None:
    app, group = app_and_group()
    assert diff(variant(app, group), variant(app, group, group)).errors


def test_an_asset_compares_by_content_not_path(tmp_path: Path) -> None:
    for folder, text in (("a", "x = 1\n"), ("b", "x = 1\n"), ("c", "x = 2\n")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "handler.py").write_text(text)

    def archive(folder: str) -> Any:
        path = tmp_path / folder / "handler.py"
        return extract.normalized(
            pulumi.AssetArchive({"f/handler.py": pulumi.FileAsset(str(path))})
        )

    assert archive("a") == archive("b") != archive("c")
    assert str(tmp_path) not in json.dumps(archive("a"))


def test_the_checkouts_path_is_the_same_in_every_checkout() -> None:
    assert extract.clean(f"{extract.ROOT}/functions/x.py") == "$CHECKOUT/functions/x.py"


def test_an_unknown_revision_is_bad_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["no-such-revision", "--stack", "dev"]) == 2
    assert "not a revision" in capsys.readouterr().err


def test_an_unknown_stack_is_bad_usage() -> None:
    assert main(["HEAD", "--stack", "nosuchstack"]) == 2


def test_every_stack_in_both_modes_and_the_example_are_compared() -> None:
    names = {v.name for v in revisions.variants()}
    assert {f"{s}/{m}" for s in mockrun.stacks() for m in ("managed", "vip")} <= names
    assert "examples/web-on-existing-db/example" in names


@pytest.mark.slow
def test_head_and_the_working_tree_of_a_clean_checkout_plan_the_same(clone: Path) -> None:
    comparison = revisions.compare_revisions(clone, "HEAD", revisions.WORKTREE, "dev")
    assert {v.name for v in comparison.variants} == {s.name for s in revisions.variants("dev")}
    assert not comparison.different, report.text(comparison)


@pytest.mark.slow
def test_a_changed_input_in_a_stack_file_is_reported(tmp_path: Path, clone: Path) -> None:
    repo = tmp_path / "repo"
    subprocess.run(["git", "clone", "--quiet", str(clone), str(repo)], check=True)
    stack_file = repo / "Pulumi.dev.yaml"
    stack_file.write_text(
        stack_file.read_text().replace("instanceType: t3.small", "instanceType: t3.large")
    )
    subprocess.run(
        ["git", "-C", str(repo), "commit", "--quiet", "-am", "a bigger app host"], check=True
    )
    result = tmp_path / "result.json"
    assert (
        main(["HEAD~1", "HEAD", "--stack", "dev", "--repo", str(repo), "--json", str(result)]) == 1
    )
    found = json.loads(result.read_text())["variants"]["dev/vip"]
    changed = [r for r in found["resources"] if r["inputs"]]
    assert [(r["urn"].rsplit("::", 1)[-1], r["inputs"]) for r in changed] == [
        ("app", [{"path": ["instanceType"], "old": "t3.small", "new": "t3.large", "secret": False}])
    ]
