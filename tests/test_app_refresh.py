"""The app hosts' guarded instance refresh (components/app/refresh.py): the alarms that stop it,
its checkpoints, and automatic rollback only with a pinned image."""

from __future__ import annotations

import yaml

from components.app.refresh import alarm_names
from policy.types import ALARM, ASG, LAUNCH_TEMPLATE, LB, TARGET_GROUP, TOPIC
from tests.conftest import plan
from tools import plan as plan_command


def test_the_alarm_names_are_known_from_the_stack_label_alone():
    assert alarm_names("multitier-prod") == (
        "multitier-prod-app-refresh-5xx",
        "multitier-prod-app-refresh-unhealthy",
    )


def test_the_app_tiers_own_alarms_stop_the_refresh(stack):
    run = plan(stack)
    prefs = run.one(ASG, "app")["instanceRefresh"]["preferences"]
    label = f"multitier-{stack}"
    names = [f"{label}-app-refresh-5xx", f"{label}-app-refresh-unhealthy"]
    assert prefs["alarmSpecification"]["alarms"] == names
    target = {
        "LoadBalancer": run.one(LB).state["arnSuffix"],
        "TargetGroup": run.one(TARGET_GROUP).state["arnSuffix"],
    }
    for name, label_ in zip(names, ("5xx", "unhealthy"), strict=True):
        alarm = run.one(ALARM, f"app-refresh-{label_}")
        assert alarm["name"] == name, "the name is fixed before the group exists"
        assert alarm["dimensions"] == target, f"{name}: on the ALB and target group, not the group"
        topic = run.one(TOPIC).state["arn"]
        assert alarm["alarmActions"] == [topic], f"{name}: says the refresh stopped"


def test_the_refresh_alarms_do_not_depend_on_the_group():
    run = plan("prod")
    group_urn = run.one(ASG, "app").urn
    for label in ("5xx", "unhealthy"):
        alarm = run.one(ALARM, f"app-refresh-{label}")
        assert group_urn not in alarm.waits_for
    assert {run.one(ALARM, f"app-refresh-{x}").urn for x in ("5xx", "unhealthy")} <= set(
        run.one(ASG, "app").waits_for
    ), "the group waits for the alarms its refresh names"


def test_prods_refresh_pauses_at_its_checkpoints():
    prefs = plan("prod").one(ASG, "app")["instanceRefresh"]["preferences"]
    assert prefs["checkpointPercentages"] == [50, 100]
    assert prefs["checkpointDelay"] == "600"


def test_without_checkpoints_the_refresh_does_not_pause():
    prefs = plan("dev").one(ASG, "app")["instanceRefresh"]["preferences"]
    assert "checkpointPercentages" not in prefs
    assert "checkpointDelay" not in prefs


def test_without_alarms_nothing_stops_the_refresh():
    run = plan("dev", app={"instanceRefresh": {"alarms": False}})
    assert "alarmSpecification" not in run.one(ASG, "app")["instanceRefresh"]["preferences"]
    assert not [a for a in run.of_type(ALARM) if "refresh" in a.name]


def test_a_pinned_release_image_allows_automatic_rollback():
    pinned = {"image": "example.org/app:2.0", "version": "2.0", "ami": "ami-0123456789abcdef0"}
    run = plan("dev", app={"release": pinned, "instanceRefresh": {"autoRollback": True}})
    assert run.one(LAUNCH_TEMPLATE, "app")["imageId"] == "ami-0123456789abcdef0"
    assert run.one(ASG, "app")["instanceRefresh"]["preferences"]["autoRollback"] is True


def test_the_plan_refuses_auto_rollback_with_the_ssm_image_with_exit_2(tmp_path, capsys):
    stack_file = tmp_path / "Pulumi.bad.yaml"
    stack_file.write_text(
        yaml.safe_dump({"config": {"multitier:app": {"instanceRefresh": {"autoRollback": True}}}})
    )
    assert plan_command.main(["bad", "--stack-file", str(stack_file)]) == 2
    message = " ".join(capsys.readouterr().err.split())
    assert "multitier:app: instanceRefresh.autoRollback = True" in message, "the key and value"
    assert "allowed: false, or true with the image pinned in release.ami" in message
