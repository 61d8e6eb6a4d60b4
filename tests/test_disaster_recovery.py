"""`database.dr`: copies of the stack's data in another region, and the plan, the security
policy and the AWS schema check of a stack whose resources live in two regions."""

from __future__ import annotations

from typing import Any

import pytest

import cfncheck
from components.config import ConfigError, load_config
from policy.evaluate import evaluate
from policy.model import from_declared
from policy.types import BACKUP_PLAN, BACKUP_VAULT, EFS, KMS_KEY, RDS, RDS_BACKUP_REPLICATION
from tests.conftest import plan
from tools import mockrun
from tools.mockrun import Resource, Run
from tools.plan import render

DR = {"region": "eu-central-1", "retentionDays": 14}
SELECTION = "aws:backup/selection:Selection"


def run_with(stack: str = "prod", **database: Any) -> Run:
    return plan(stack, database={"dr": DR, **database})


def dr_key(run: Run) -> Resource:
    return next(k for k in run.of_type(KMS_KEY) if k.get("region") == DR["region"])


def test_rds_backups_are_replicated_to_the_dr_region_with_a_key_there():
    run = run_with()
    replication = run.one(RDS_BACKUP_REPLICATION)
    assert replication["region"] == DR["region"]
    assert replication["sourceDbInstanceArn"] == run.one(RDS).state["arn"]
    assert replication["retentionPeriod"] == DR["retentionDays"]
    assert replication["kmsKeyId"] == dr_key(run).state["arn"]
    assert f":{DR['region']}:" in replication["kmsKeyId"]


def test_the_file_systems_are_backed_up_and_copied_to_a_vault_in_the_dr_region():
    run = run_with()
    vaults = {v.name: v for v in run.of_type(BACKUP_VAULT)}
    copies = vaults["dr-copies"]
    assert copies["region"] == DR["region"]
    assert copies["kmsKeyArn"] == dr_key(run).state["arn"]
    assert "region" not in vaults["dr-backups"].inputs, "the plan's own vault is the stack's"
    (rule,) = run.one(BACKUP_PLAN)["rules"]
    assert rule["targetVaultName"] == vaults["dr-backups"].state["name"]
    (copy,) = rule["copyActions"]
    assert copy["destinationVaultArn"] == copies.state["arn"]
    assert copy["lifecycle"]["deleteAfter"] == DR["retentionDays"]
    file_systems = {fs.state["arn"] for fs in run.of_type(EFS)}
    assert file_systems and set(run.one(SELECTION)["resources"]) == file_systems


def test_vip_mode_copies_the_data_volume_and_replicates_no_rds_backups():
    run = run_with("dev", mode="vip")
    assert not run.of_type(RDS_BACKUP_REPLICATION)
    file_systems = {fs.state["arn"] for fs in run.of_type(EFS)}
    assert len(file_systems) >= 1
    assert set(run.one(SELECTION)["resources"]) == file_systems


def test_without_dr_nothing_leaves_the_region():
    run = plan("prod")
    assert not run.of_type(RDS_BACKUP_REPLICATION)
    assert not run.of_type(BACKUP_VAULT)
    assert all(not r.get("region") for r in run.resources if r.custom)


def test_the_security_policy_passes_a_stack_in_two_regions():
    report = evaluate(from_declared(run_with()))
    assert report.passed, [str(f) for f in report.failures]
    judged = {r.rule.id: r.judged for r in report.results}
    assert judged["kms-key-same-region"] > 0
    assert judged["backup-copies-elsewhere"] == 1
    assert judged["rds-backup-replication-elsewhere"] == 1


@pytest.mark.slow
def test_the_schema_check_renders_one_template_per_region():
    run = run_with()
    report = cfncheck.validate(run.resources, run.region)
    assert report.passed, [str(e) for e in report.errors] + [str(u) for u in report.unmapped]
    assert report.region == f"{run.region}, {DR['region']}"
    not_rendered = {(t, n): why for t, n, why in report.not_rendered}
    why = not_rendered[(RDS_BACKUP_REPLICATION, "dr-database")]
    assert "AutomaticBackupReplicationRegion" in why


def test_the_plan_shows_where_each_copy_lives():
    run = run_with()
    text = render(run)
    assert "dr-copies: in eu-central-1, key dr-key" in text
    assert "dr-database: database -> eu-central-1, 14 days, key dr-key" in text


@pytest.mark.parametrize(
    ("dr", "expected"),
    [
        ({"region": "eu-west-1"}, "the stack's own region (aws:region)"),
        ({"region": "eu-west-9"}, "not a region of the aws partition"),
        ({"region": "eu-central-1", "retentionDays": 0}, "greater than or equal to 1"),
    ],
)
def test_config_refuses_a_dr_region_that_is_no_other_region(dr: dict[str, Any], expected: str):
    with pytest.raises(ConfigError) as refused:
        load_config({"database": {"dr": dr}}, region="eu-west-1")
    assert "multitier:database.dr." in str(refused.value)
    assert expected in str(refused.value)


DR_STACK_FILE = mockrun.ROOT / "docs" / "dr" / "Pulumi.prod-dr.yaml"


def test_the_dr_stack_file_plans_offline_in_the_dr_region_from_replicated_backups():
    run = mockrun.run("prod-dr", path=DR_STACK_FILE)
    assert run.region == "eu-central-1"
    restored = next(r for r in run.of_type(RDS) if r.name == "database-from-prod")
    point = restored["restoreToPointInTime"]
    assert point["sourceDbInstanceAutomatedBackupsArn"].startswith(
        "arn:aws:rds:eu-central-1:123456789012:auto-backup:ab-"
    )
    assert point["useLatestRestorableTime"] is True
    assert evaluate(from_declared(run)).passed


def test_a_point_in_time_restore_needs_exactly_one_source():
    both = {
        "sourceIdentifier": "multitier-prod-db-5950b69d",
        "sourceAutomatedBackupsArn": "arn:aws:rds:eu-central-1:123456789012:auto-backup:ab-X1",
        "latest": True,
    }
    for point in (both, {"latest": True}):
        restore = {"id": "dr", "pointInTime": point}
        with pytest.raises(ConfigError, match="exactly one of sourceIdentifier or sourceAuto"):
            load_config({"database": {"restore": restore, "formerInstances": {"original": "keep"}}})
