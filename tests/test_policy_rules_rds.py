"""The database rules (policy/rules/rds.py).

Each case is a broken stack and its fixed twin (tests/policy_cases.py): the rule flags one
resource in the first and nothing in the second. tests/test_policy_rules_base.py fails for a rule
of the module without a case here.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from policy.model import Res
from policy.types import RDS, RDS_PARAMETERS
from tests.policy_cases import (
    DB_OK,
    KEY_ARN,
    RULE,
    Case,
    case_params,
    flagged,
    flags_the_broken_and_passes_the_fixed,
    flip,
    judge,
    key,
    messages,
    res,
)


def parameters(force_ssl: str) -> Res:
    return res(
        RDS_PARAMETERS,
        "db",
        family="postgres16",
        parameters=[{"name": "rds.force_ssl", "value": force_ssl}],
    )


def db(parameter_group: Res | None) -> Res:
    deps = {"parameterGroupName": [parameter_group]} if parameter_group else {}
    return res(RDS, "db", deps, **DB_OK, parameterGroupName="db-params")


db_lax = db(parameters("0"))
db_alone = db(None)

CASES: list[Case] = [
    flip("rds-encrypted", RDS, {"storageEncrypted": False}, {}, base=DB_OK),
    flip("rds-not-public", RDS, {"publiclyAccessible": True}, {}, base=DB_OK),
    flip(
        "rds-backups", RDS, {"backupRetentionPeriod": 0}, {"backupRetentionPeriod": 1}, base=DB_OK
    ),
    flip(
        "rds-backups",
        RDS,
        {"backupRetentionPeriod": 6},
        {"backupRetentionPeriod": 7},
        base=DB_OK,
        stack="prod",
    ),
    flip(
        "rds-deletion-protection-prod",
        RDS,
        {"deletionProtection": False},
        {},
        base=DB_OK,
        stack="prod",
    ),
    flip(
        "rds-keeps-data-on-delete",
        RDS,
        {"deleteAutomatedBackups": True},
        {},
        base=DB_OK,
        stack="dev",
    ),
    flip(
        "rds-keeps-data-on-delete",
        RDS,
        {"skipFinalSnapshot": True},
        {},
        base=DB_OK,
        stack="staging",
    ),
    flip(
        "rds-deletion-protection-prod",
        RDS,
        {"deletionProtection": False, "tags": {"multitier:retire": "retain"}},
        {"deletionProtection": False, "tags": {"multitier:retire": "delete"}},
        base=DB_OK,
        stack="prod",
    ),
    flip("rds-multi-az-prod", RDS, {"multiAz": False}, {}, base=DB_OK, stack="production"),
    Case(
        "rds-force-ssl",
        "parameter group leaves force_ssl off",
        db_lax,
        [parameters("0"), db_lax],
        [parameters("1"), db(parameters("1"))],
    ),
    Case(
        "rds-force-ssl",
        "no parameter group",
        db_alone,
        [db_alone],
        [parameters("1"), db(parameters("1"))],
    ),
    flip("rds-enhanced-monitoring", RDS, {"monitoringInterval": 0}, {}, base=DB_OK),
    flip("rds-log-exports", RDS, {"enabledCloudwatchLogsExports": ["upgrade"]}, {}, base=DB_OK),
    flip("rds-copy-tags", RDS, {"copyTagsToSnapshot": False}, {}, base=DB_OK),
    flip("rds-minor-upgrades", RDS, {"autoMinorVersionUpgrade": False}, {}, base=DB_OK),
    flip(
        "rds-master-secret-cmk",
        RDS,
        {"manageMasterUserPassword": True},
        {"manageMasterUserPassword": True, "masterUserSecretKmsKeyId": KEY_ARN},
        base=DB_OK,
    ),
]


@pytest.mark.parametrize("case", case_params(CASES))
def test_rule_flags_the_broken_stack_and_passes_the_fixed_one(case: Case) -> None:
    flags_the_broken_and_passes_the_fixed(case)


replica = res(
    RDS,
    "db-replica",
    **{
        **DB_OK,
        "replicateSourceDb": "db",
        "backupRetentionPeriod": 0,
        "deletionProtection": False,
        "multiAz": False,
        "copyTagsToSnapshot": False,
        "skipFinalSnapshot": True,
        "deleteAutomatedBackups": True,
    },
)


@pytest.mark.parametrize(
    "rule_id",
    [
        "rds-backups",
        "rds-deletion-protection-prod",
        "rds-multi-az-prod",
        "rds-copy-tags",
        "rds-keeps-data-on-delete",
    ],
)
def test_read_replicas_leave_backups_and_protection_to_their_source(rule_id: str) -> None:
    judged, failures = judge(RULE[rule_id], [replica], "prod")
    assert judged
    assert not failures, messages(failures)

    primary = replace(
        replica, props={k: v for k, v in replica.props.items() if k != "replicateSourceDb"}
    )
    _, failures = judge(RULE[rule_id], [primary], "prod")
    assert flagged(failures) == {key(primary)}


def test_read_replicas_are_still_judged_on_the_rest() -> None:
    public = replace(replica, props={**replica.props, "publiclyAccessible": True})
    _, failures = judge(RULE["rds-not-public"], [public], "prod")
    assert flagged(failures) == {key(public)}
