"""What the offline plan says about where data lives: each RDS instance (what survives its
deletion, what it was restored from, blue/green), and the copies in another region (keys,
vaults, backup plans, replicated automated backups), each with the region it lives in."""

from __future__ import annotations

from collections.abc import Callable

from policy.types import BACKUP_PLAN, BACKUP_VAULT, KMS_KEY, RDS, RDS_BACKUP_REPLICATION
from tools.mockrun import Resource, Run


def _named_of(run: Run, type_: str, value: str) -> str:
    """The `type_` resource whose id or an output is `value` (an ARN other resources hold too)."""
    found = next((r for r in run.of_type(type_) if value in (r.id, *r.state.values())), None)
    return found.name if found else value


def _region(r: Resource, run: Run) -> str:
    """Where the resource lives: its own region, else the stack's."""
    return str(r.get("region") or run.region)


def _rds_data(r: Resource) -> str:
    """What survives the instance's deletion, and what it was restored from."""
    kept = "kept" if r.get("deleteAutomatedBackups") is False else "DELETED"
    final = "none" if r.get("skipFinalSnapshot") else r.get("finalSnapshotIdentifier")
    point = r.get("restoreToPointInTime") or {}
    source = (
        r.get("snapshotIdentifier")
        or point.get("sourceDbInstanceIdentifier")
        or point.get("sourceDbInstanceAutomatedBackupsArn")
    )
    restored = f", restored from {source} {point.get('restoreTime', '')}".rstrip() if source else ""
    return f", on delete: automated backups {kept}, final snapshot {final}{restored}"


DATA_DETAILS: dict[str, Callable[[Resource, Run], str]] = {
    RDS: lambda r, _: (
        f"{r.get('engine', 'replica')} {r.get('engineVersion', '')} {r['instanceClass']}, "
        f"Multi-AZ {r.get('multiAz')}, encrypted {r['storageEncrypted']}, "
        f"public {r['publiclyAccessible']}, backups {r.get('backupRetentionPeriod')} days, "
        f"deletion protection {r.get('deletionProtection')}"
        + (", blue/green updates" if (r.get("blueGreenUpdate") or {}).get("enabled") else "")
        + _rds_data(r)
    ),
    KMS_KEY: lambda r, run: f"in {_region(r, run)}, rotation {r.get('enableKeyRotation')}",
    BACKUP_VAULT: lambda r, run: (
        f"in {_region(r, run)}, key {_named_of(run, KMS_KEY, r.get('kmsKeyArn', ''))}"
    ),
    BACKUP_PLAN: lambda r, run: "; ".join(
        f"{rule['ruleName']} {rule.get('schedule')} into "
        f"{_named_of(run, BACKUP_VAULT, rule['targetVaultName'])}, "
        f"kept {(rule.get('lifecycle') or {}).get('deleteAfter')} days, copied to "
        + ", ".join(
            f"{_named_of(run, BACKUP_VAULT, copy['destinationVaultArn'])} "
            f"({(copy.get('lifecycle') or {}).get('deleteAfter')} days)"
            for copy in rule.get("copyActions") or []
        )
        for rule in r["rules"]
    ),
    RDS_BACKUP_REPLICATION: lambda r, run: (
        f"{_named_of(run, RDS, r['sourceDbInstanceArn'])} -> {_region(r, run)}, "
        f"{r.get('retentionPeriod')} days, key {_named_of(run, KMS_KEY, r.get('kmsKeyId', ''))}"
    ),
}
