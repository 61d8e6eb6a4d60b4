"""The disaster-recovery rules (policy/rules/recovery.py): copies in another region.

Each case is a broken stack and its fixed twin (tests/policy_cases.py): the rule flags one
resource in the first and nothing in the second. A resource without `region` lives in the
stack's region, as under the mocks.
"""

from __future__ import annotations

from typing import Any

import pytest

from policy.model import Res
from policy.types import BACKUP_PLAN, BACKUP_VAULT, KMS_KEY, RDS, RDS_BACKUP_REPLICATION
from tests.policy_cases import Case, case_params, flags_the_broken_and_passes_the_fixed, res

DR = "eu-central-1"
local_key = res(KMS_KEY, "local", enableKeyRotation=True)
dr_key = res(KMS_KEY, "dr", enableKeyRotation=True, region=DR)
database = res(RDS, "database", storageEncrypted=True)


def _vault(name: str, key: Res, **props: Any) -> Res:
    return res(BACKUP_VAULT, name, {"kmsKeyArn": [key]}, kmsKeyArn="arn:key", **props)


def _plan(*vaults: Res) -> Res:
    rules = [{"ruleName": "daily", "copyActions": [{"destinationVaultArn": "arn:vault"}]}]
    return res(BACKUP_PLAN, "plan", {"rules": list(vaults)}, rules=rules)


def _replication(key: Res, **props: Any) -> Res:
    return res(
        RDS_BACKUP_REPLICATION,
        "replication",
        {"sourceDbInstanceArn": [database], "kmsKeyId": [key]},
        kmsKeyId="arn:key",
        **props,
    )


_vault_local = _vault("backups", local_key)
_vault_dr = _vault("copies", dr_key, region=DR)
_vault_dr_wrong_key = _vault("copies", local_key, region=DR)
_vault_same_region = _vault("copies", local_key)
_vault_dr_no_cmk = res(BACKUP_VAULT, "copies", region=DR)
_plan_ok = _plan(_vault_local, _vault_dr)
_plan_same_region = _plan(_vault_local, _vault_same_region)
_plan_no_cmk = _plan(_vault_local, _vault_dr_no_cmk)
_replication_dr = _replication(dr_key, region=DR)

CASES: list[Case] = [
    Case(
        "kms-key-same-region",
        "a vault in the DR region encrypted with a key of the stack's region",
        _vault_dr_wrong_key,
        [local_key, dr_key, _vault_dr_wrong_key],
        [local_key, dr_key, _vault_dr],
    ),
    Case(
        "kms-key-same-region",
        "backups replicated with a key of the source's region",
        _replication(local_key, region=DR),
        [local_key, dr_key, database, _replication(local_key, region=DR)],
        [local_key, dr_key, database, _replication_dr],
    ),
    Case(
        "backup-copies-elsewhere",
        "copies to a vault in the plan's own region",
        _plan_same_region,
        [local_key, _vault_local, _vault_same_region, _plan_same_region],
        [local_key, dr_key, _vault_local, _vault_dr, _plan_ok],
    ),
    Case(
        "backup-copies-elsewhere",
        "copies to a vault with the AWS managed key",
        _plan_no_cmk,
        [local_key, _vault_local, _vault_dr_no_cmk, _plan_no_cmk],
        [local_key, dr_key, _vault_local, _vault_dr, _plan_ok],
    ),
    Case(
        "rds-backup-replication-elsewhere",
        "backups replicated into the instance's own region",
        _replication(local_key),
        [local_key, database, _replication(local_key)],
        [local_key, dr_key, database, _replication_dr],
    ),
]


@pytest.mark.parametrize("case", case_params(CASES))
def test_rule_flags_the_broken_stack_and_passes_the_fixed_one(case: Case) -> None:
    flags_the_broken_and_passes_the_fixed(case)
