"""RDS rules: encryption, exposure, backups, protection, TLS, monitoring, logs."""

from __future__ import annotations

from collections.abc import Iterator

from policy.model import Res, Stack
from policy.props import as_list, truthy
from policy.rules.base import rule
from policy.types import (
    RDS,
    RDS_PARAMETERS,
)

# An instance the config releases (`database.formerInstances`: delete) loses its protection
# on purpose, the step before Pulumi deletes it with a final snapshot.
RETIRE_TAG = "multitier:retire"


def _is_replica(db: Res) -> bool:
    return bool(db.get("replicateSourceDb"))


def _released(db: Res) -> bool:
    return (db.get("tags") or {}).get(RETIRE_TAG) == "delete"


@rule("rds-encrypted", "Database storage is encrypted (FSBP RDS.3).", RDS)
def _rds_encrypted(db: Res, _: Stack) -> Iterator[str]:
    if not truthy(db.get("storageEncrypted")):
        yield "storageEncrypted is off"


@rule("rds-not-public", "Databases are never publicly accessible (FSBP RDS.2).", RDS)
def _rds_not_public(db: Res, _: Stack) -> Iterator[str]:
    if truthy(db.get("publiclyAccessible")):
        yield "publiclyAccessible is on"


@rule(
    "rds-backups",
    "Automated backups are kept, at least 7 days in production (FSBP RDS.11).",
    RDS,
)
def _rds_backups(db: Res, stack: Stack) -> Iterator[str]:
    if _is_replica(db):
        return
    days = int(db.get("backupRetentionPeriod") or 0)
    needed = 7 if stack.production else 1
    if days < needed:
        yield f"backupRetentionPeriod is {days}, needs at least {needed}"


@rule(
    "rds-deletion-protection-prod",
    "A production database cannot be deleted by accident (FSBP RDS.8).",
    RDS,
)
def _rds_deletion_protection(db: Res, stack: Stack) -> Iterator[str]:
    if _is_replica(db) or _released(db):
        return
    if stack.production and not truthy(db.get("deletionProtection")):
        yield "deletion protection is off in a production stack"


@rule(
    "rds-keeps-data-on-delete",
    "Deleting an instance keeps its automated backups, and outside dev takes a final snapshot "
    "(the provider's defaults delete the backups with it).",
    RDS,
)
def _rds_keeps_data(db: Res, stack: Stack) -> Iterator[str]:
    if _is_replica(db):
        return
    if db.get("deleteAutomatedBackups") is not False:
        yield "deleteAutomatedBackups is not false: deleting the instance deletes its backups"
    if stack.name == "dev":
        return
    if truthy(db.get("skipFinalSnapshot")) or not db.get("finalSnapshotIdentifier"):
        yield "no final snapshot: skipFinalSnapshot is on or finalSnapshotIdentifier is unset"


@rule("rds-multi-az-prod", "A production database runs Multi-AZ (FSBP RDS.5).", RDS)
def _rds_multi_az(db: Res, stack: Stack) -> Iterator[str]:
    if stack.production and not _is_replica(db) and not truthy(db.get("multiAz")):
        yield "Multi-AZ is off in a production stack"


@rule(
    "rds-force-ssl",
    "Clients must use TLS: the parameter group sets rds.force_ssl=1 (AWSGuard).",
    RDS,
    needs_stack=True,
)
def _rds_force_ssl(db: Res, stack: Stack) -> Iterator[str]:
    groups = stack.refs(db, "parameterGroupName", RDS_PARAMETERS)
    forced = any(
        p.get("name") == "rds.force_ssl" and str(p.get("value")) == "1"
        for g in groups
        for p in as_list(g.get("parameters"))
    )
    if not forced:
        yield "no parameter group of this stack sets rds.force_ssl=1 on it"


@rule(
    "rds-enhanced-monitoring",
    "Databases report OS metrics through enhanced monitoring (FSBP RDS.6).",
    RDS,
)
def _rds_enhanced_monitoring(db: Res, _: Stack) -> Iterator[str]:
    if not int(db.get("monitoringInterval") or 0):
        yield "monitoringInterval is 0"


@rule(
    "rds-log-exports",
    "PostgreSQL logs go to CloudWatch Logs (FSBP RDS.36).",
    RDS,
)
def _rds_log_exports(db: Res, _: Stack) -> Iterator[str]:
    if "postgresql" not in as_list(db.get("enabledCloudwatchLogsExports")):
        yield "the postgresql log is not exported"


@rule("rds-copy-tags", "Snapshots carry the database's tags (FSBP RDS.17).", RDS)
def _rds_copy_tags(db: Res, _: Stack) -> Iterator[str]:
    if not _is_replica(db) and not truthy(db.get("copyTagsToSnapshot")):
        yield "copyTagsToSnapshot is off"


@rule("rds-minor-upgrades", "Minor engine upgrades are applied (FSBP RDS.13).", RDS)
def _rds_minor_upgrades(db: Res, _: Stack) -> Iterator[str]:
    if db.get("autoMinorVersionUpgrade") is False:
        yield "autoMinorVersionUpgrade is off"


@rule(
    "rds-master-secret-cmk",
    "The RDS-managed master secret is encrypted with a customer managed key.",
    RDS,
)
def _rds_master_secret_cmk(db: Res, _: Stack) -> Iterator[str]:
    if truthy(db.get("manageMasterUserPassword")) and not db.get("masterUserSecretKmsKeyId"):
        yield "the master secret uses the AWS managed key aws/secretsmanager"
