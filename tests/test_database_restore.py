"""Restoring the managed database as config (`database.restore`, `database.formerInstances`).

A restore is a new RDS instance beside the current one, its URN named by the restore's id, with
the restore inputs and `ignoreChanges` on them; what clients, alarms and log groups see follows
the active instance; the former ones stay declared until the config releases them. The mocks
keep no state, so these tests assert what each config declares, URNs included: that is what
decides what `pulumi up` keeps, creates or deletes.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.config import ConfigError, load_config
from policy.evaluate import evaluate
from policy.model import from_declared
from policy.types import ALARM, DASHBOARD, FUNCTION, INVOCATION, LOG_GROUP, RDS, SECRET_VERSION
from tests.conftest import STACKS, plan
from tools.mockrun import Resource, Run
from tools.plan import _DETAILS

SOURCE = "multitier-prod-db-5950b69d"
SNAPSHOT = {"id": "from-snapshot", "snapshotIdentifier": "multitier-prod-db-5950b69d-final"}
POINT_IN_TIME = {
    "id": "before-incident",
    "pointInTime": {"sourceIdentifier": SOURCE, "time": "2026-06-01T11:30:00+02:00"},
}
LATEST = {"id": "latest", "pointInTime": {"sourceIdentifier": SOURCE, "latest": True}}
PREFIX = "urn:pulumi:prod::multitier::multitier:database:PostgresHA$aws:rds/instance:Instance::"


def run_with(**database: Any) -> Run:
    return plan("prod", database=database)


def instances(run: Run) -> dict[str, Resource]:
    """The primaries (not the replicas), by resource name."""
    return {r.name: r for r in run.of_type(RDS) if not r.get("replicateSourceDb")}


def urns(run: Run) -> set[str]:
    return {r.urn for r in instances(run).values()}


def test_a_restore_is_a_new_instance_with_its_own_urn_beside_the_original():
    before, after = run_with(), run_with(restore=SNAPSHOT, formerInstances={"original": "keep"})
    assert urns(before) == {PREFIX + "database"}
    assert urns(after) == {PREFIX + "database", PREFIX + "database-from-snapshot"}
    original = instances(after)["database"]
    assert original.inputs == instances(before)["database"].inputs, "the original is unchanged"
    restored = instances(after)["database-from-snapshot"]
    assert restored["snapshotIdentifier"] == SNAPSHOT["snapshotIdentifier"]
    assert restored["identifier"] != original["identifier"]


def test_a_restore_ignores_its_restore_inputs_and_password_on_later_runs():
    restored = instances(run_with(restore=SNAPSHOT, formerInstances={"original": "keep"}))
    assert set(restored["database-from-snapshot"].ignore_changes) == {
        "snapshotIdentifier",
        "restoreToPointInTime",
        "password",
    }
    assert restored["database"].ignore_changes == ()


def test_a_point_in_time_restore_names_its_source_and_the_moment_in_utc():
    run = run_with(restore=POINT_IN_TIME, formerInstances={"original": "keep"})
    restored = instances(run)["database-before-incident"]
    assert restored["restoreToPointInTime"] == {
        "sourceDbInstanceIdentifier": SOURCE,
        "restoreTime": "2026-06-01T09:30:00Z",
    }
    assert "snapshotIdentifier" not in restored.inputs


def test_a_latest_point_in_time_restore_asks_for_the_latest_restorable_time():
    run = run_with(restore=LATEST, formerInstances={"original": "keep"})
    assert instances(run)["database-latest"]["restoreToPointInTime"] == {
        "sourceDbInstanceIdentifier": SOURCE,
        "useLatestRestorableTime": True,
    }


def test_a_restored_instance_takes_its_names_from_the_backup_and_the_current_master_password():
    run = run_with(restore=SNAPSHOT, formerInstances={"original": "keep"})
    restored = instances(run)["database-from-snapshot"]
    assert "dbName" not in restored.inputs and "username" not in restored.inputs
    assert "allocatedStorage" not in restored.inputs, "at least the backup's size: RDS decides"
    assert "password" in restored.secrets
    # The mocks answer the master secret's current value with `current-...`; the original keeps
    # the generated password it was created with.
    assert restored["password"].startswith("current-")
    assert not instances(run)["database"]["password"].startswith("current-")


def test_the_restored_instance_is_protected_and_keeps_its_data_on_deletion():
    for stack in ("prod", "staging"):
        run = plan(stack, database={"restore": SNAPSHOT, "formerInstances": {"original": "keep"}})
        restored = instances(run)["database-from-snapshot"]
        assert restored.protect is True, stack
        assert restored["deleteAutomatedBackups"] is False
        assert restored["skipFinalSnapshot"] is False
        assert restored["finalSnapshotIdentifier"] == f"{restored['identifier']}-final"


def test_changing_the_restore_id_adds_an_instance_and_keeps_the_former_ones():
    first = run_with(restore=SNAPSHOT, formerInstances={"original": "keep"})
    second = run_with(
        restore=POINT_IN_TIME, formerInstances={"original": "keep", "from-snapshot": "keep"}
    )
    assert urns(second) == urns(first) | {PREFIX + "database-before-incident"}
    for name in ("database", "database-from-snapshot"):
        assert instances(second)[name]["identifier"] == instances(first)[name]["identifier"]
    former = instances(second)["database-from-snapshot"]
    assert former.protect is True
    assert set(former.ignore_changes) >= {"snapshotIdentifier", "restoreToPointInTime"}


def test_changing_a_restore_s_source_under_the_same_id_keeps_its_urn():
    first = run_with(restore=SNAPSHOT, formerInstances={"original": "keep"})
    other = {**SNAPSHOT, "snapshotIdentifier": "another-snapshot"}
    second = run_with(restore=other, formerInstances={"original": "keep"})
    assert urns(second) == urns(first)
    # ... and the source is one of the inputs a later run ignores: nothing is restored again.
    assert "snapshotIdentifier" in instances(second)["database-from-snapshot"].ignore_changes


def test_removing_the_restore_makes_the_original_active_again():
    run = run_with(formerInstances={"from-snapshot": "keep"})
    assert urns(run) == {PREFIX + "database", PREFIX + "database-from-snapshot"}
    original = instances(run)["database"]
    assert run.outputs["databaseIdentifier"] == original["identifier"]


@pytest.mark.parametrize("restore", [SNAPSHOT, POINT_IN_TIME], ids=["snapshot", "point-in-time"])
def test_outputs_follow_the_active_instance(restore):
    run = run_with(restore=restore, formerInstances={"original": "keep"})
    active = instances(run)[f"database-{restore['id']}"]
    assert run.outputs["databaseIdentifier"] == active["identifier"]
    assert run.outputs["databaseEndpoint"] == active.state["address"]
    env = run.one(FUNCTION, "database-credentials")["environment"]["variables"]
    assert env["DB_HOST"] == active.state["address"]
    bootstrap = run.one(INVOCATION, "database-credentials-bootstrap")
    assert bootstrap["triggers"]["host"] == active.state["address"], "roles set in the new one"
    assert active.urn in bootstrap.waits_for
    master = json.loads(run.one(SECRET_VERSION, "database-master")["secretString"])
    assert master["host"] == active.state["address"]


def test_alarms_and_the_dashboard_watch_the_active_instance():
    run = run_with(restore=SNAPSHOT, formerInstances={"original": "keep"})
    active = instances(run)["database-from-snapshot"]["identifier"]
    original = instances(run)["database"]["identifier"]
    rds_alarms = [a for a in run.of_type(ALARM) if a["namespace"] == "AWS/RDS"]
    assert rds_alarms
    for alarm in rds_alarms:
        assert alarm["dimensions"] == {"DBInstanceIdentifier": active}, alarm.name
    body = run.one(DASHBOARD)["dashboardBody"]
    assert active in body and original not in body


def test_read_replicas_follow_the_active_instance():
    run = run_with(restore=SNAPSHOT, formerInstances={"original": "keep"}, readReplicas=1)
    replica = run.one(RDS, "database-replica-1")
    assert replica["replicateSourceDb"] == instances(run)["database-from-snapshot"]["identifier"]


def test_each_instance_exports_its_logs_to_its_own_log_groups():
    run = run_with(restore=SNAPSHOT, formerInstances={"original": "keep"})
    names = {g.get("name"): g for g in run.of_type(LOG_GROUP)}
    for resource in instances(run).values():
        for kind in ("postgresql", "upgrade"):
            group = names[f"/aws/rds/instance/{resource['identifier']}/{kind}"]
            assert group.urn in resource.waits_for
            assert group.name == f"{resource.name}-{kind}"


def test_retain_lets_pulumi_forget_the_former_instance_without_deleting_it():
    run = run_with(restore=SNAPSHOT, formerInstances={"original": "retain"})
    original = instances(run)["database"]
    assert original.retain_on_delete is True
    assert original.protect is False
    assert original["deletionProtection"] is True, "AWS still refuses to delete it"


def test_delete_unprotects_the_former_instance_and_takes_a_final_snapshot():
    run = plan(
        "staging",
        database={
            "restore": SNAPSHOT,
            "formerInstances": {"original": "delete"},
            "finalSnapshot": False,
        },
    )
    original = instances(run)["database"]
    assert (original.protect, original.retain_on_delete) == (False, False)
    assert original["deletionProtection"] is False
    assert original["skipFinalSnapshot"] is False, "even with finalSnapshot: false"
    assert original["finalSnapshotIdentifier"] == f"{original['identifier']}-final"
    assert original["tags"]["multitier:retire"] == "delete"
    assert instances(run)["database-from-snapshot"]["skipFinalSnapshot"] is True


def test_removed_undeclares_the_former_instance():
    run = run_with(restore=SNAPSHOT, formerInstances={"original": "removed", "earlier": "removed"})
    assert urns(run) == {PREFIX + "database-from-snapshot"}


def test_a_production_plan_with_a_released_instance_passes_the_policy():
    run = run_with(restore=SNAPSHOT, formerInstances={"original": "delete"})
    report = evaluate(from_declared(run))
    assert not report.failures, report.failures


BAD = [
    (
        "original-unsaid",
        {"restore": SNAPSHOT},
        "restore is set but formerInstances has no 'original'",
    ),
    (
        "two-sources",
        {
            "restore": {**SNAPSHOT, "pointInTime": POINT_IN_TIME["pointInTime"]},
            "formerInstances": {"original": "keep"},
        },
        "needs exactly one of snapshotIdentifier or pointInTime",
    ),
    (
        "time-and-latest",
        {
            "restore": {"id": "x", "pointInTime": {"sourceIdentifier": SOURCE}},
            "formerInstances": {"original": "keep"},
        },
        "needs exactly one of time (RFC 3339, with a zone) or latest: true",
    ),
    (
        "time-without-zone",
        {
            "restore": {
                "id": "x",
                "pointInTime": {"sourceIdentifier": SOURCE, "time": "2026-06-01T09:30:00"},
            },
            "formerInstances": {"original": "keep"},
        },
        "multitier:database.restore.pointInTime.time = '2026-06-01T09:30:00': expected an RFC "
        "3339 date-time with its zone, such as 2026-12-01T09:30:00Z",
    ),
    (
        "future",
        {
            "restore": {
                "id": "x",
                "pointInTime": {"sourceIdentifier": SOURCE, "time": "2999-01-01T00:00:00Z"},
            },
            "formerInstances": {"original": "keep"},
        },
        "a moment in the future",
    ),
    (
        "id-original",
        {"restore": {**SNAPSHOT, "id": "original"}, "formerInstances": {"original": "keep"}},
        "restore.id = 'original' names the instance the stack was created with",
    ),
    (
        "id-of-a-replica",
        {"restore": {**SNAPSHOT, "id": "replica-1"}, "formerInstances": {"original": "keep"}},
        "multitier:database.restore.id = 'replica-1': the name of a read replica",
    ),
    (
        "active-and-former",
        {"restore": SNAPSHOT, "formerInstances": {"original": "keep", "from-snapshot": "keep"}},
        "restore.id = 'from-snapshot' is also in formerInstances",
    ),
    (
        "original-while-active",
        {"formerInstances": {"original": "keep"}},
        "formerInstances.original: without restore the original instance is the active one",
    ),
    (
        "bad-fate",
        {"restore": SNAPSHOT, "formerInstances": {"original": "drop"}},
        "multitier:database.formerInstances.original = 'drop': Input should be 'keep', 'retain', "
        "'delete' or 'removed'",
    ),
    (
        "vip",
        {"mode": "vip", "restore": SNAPSHOT, "formerInstances": {"original": "keep"}},
        "restore and formerInstances are for RDS instances (mode managed)",
    ),
]


@pytest.mark.parametrize(("database", "expected"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_a_bad_restore_config_names_the_key_and_what_is_allowed(database, expected):
    network = {"dataEgress": True}
    with pytest.raises(ConfigError) as error:
        load_config({"database": database, "network": network})
    assert expected in str(error.value)


@pytest.mark.parametrize("stack", STACKS)
def test_the_plan_shows_backup_retention_and_what_survives_a_deletion(stack):
    run = plan(stack, database={"mode": "managed"})
    expected = {"dev": 7, "staging": 7, "prod": 14}[stack]  # the default; the stack files'
    for resource in instances(run).values():
        line = _DETAILS[RDS](resource, run)
        assert f"backups {expected} days" in line, line
        assert "on delete: automated backups kept" in line, line
        assert f"final snapshot {resource['identifier']}-final" in line, line
