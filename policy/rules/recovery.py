"""Disaster-recovery rules: copies that live in another region than the stack's.

A resource's region is its `region` property (pulumi-aws 7 takes one on every resource); without
one it lives in the stack's region. Under the engine every resource carries the provider's
region; under the mocks only those the program gave one, so both read the same way here: two
resources are in the same region when their `region` properties are equal.
"""

from __future__ import annotations

from collections.abc import Iterator

from policy.model import Res, Stack
from policy.rules.base import rule
from policy.types import (
    BACKUP_PLAN,
    BACKUP_VAULT,
    EFS,
    KMS_KEY,
    LOG_GROUP,
    RDS,
    RDS_BACKUP_REPLICATION,
    SECRET,
    TOPIC,
)

_KEY_PROPS = ("kmsKeyId", "kmsKeyArn", "kmsMasterKeyId")


def _region(resource: Res) -> str:
    return str(resource.get("region") or "the stack's region")


@rule(
    "kms-key-same-region",
    "A resource is encrypted with a key of its own region: KMS keys are regional, and AWS "
    "refuses a key of another region (a copy in the DR region needs a key there).",
    BACKUP_VAULT,
    RDS_BACKUP_REPLICATION,
    RDS,
    EFS,
    LOG_GROUP,
    SECRET,
    TOPIC,
    needs_stack=True,
)
def _kms_key_same_region(resource: Res, stack: Stack) -> Iterator[str]:
    for prop in _KEY_PROPS:
        for key in stack.refs(resource, prop, KMS_KEY):
            if key.get("region") != resource.get("region"):
                yield (
                    f"{prop} is key '{key.name}' of {_region(key)}, but the resource lives in "
                    f"{_region(resource)}"
                )


@rule(
    "backup-copies-elsewhere",
    "A backup plan's copies go to a vault in another region than the plan's, encrypted with a "
    "customer managed key: a copy in the same region is lost with it.",
    BACKUP_PLAN,
    needs_stack=True,
)
def _backup_copies_elsewhere(plan: Res, stack: Stack) -> Iterator[str]:
    # The vaults the rules name: the plan's own (targetVaultName) and its copies' destinations
    # (copyActions). Matched by region, not by name or ARN, which a preview does not know yet.
    copies = any(rule_.get("copyActions") for rule_ in plan.get("rules") or [])
    vaults = stack.refs(plan, "rules", BACKUP_VAULT)
    elsewhere = [v for v in vaults if v.get("region") != plan.get("region")]
    if copies and vaults and not elsewhere:
        yield f"every vault of its rules is in the plan's own region ({_region(plan)})"
    for vault in elsewhere:
        if not vault.get("kmsKeyArn"):
            yield f"vault '{vault.name}' is encrypted with the AWS managed key, not a CMK"


@rule(
    "rds-backup-replication-elsewhere",
    "Automated backups are replicated to another region than their instance's, encrypted "
    "there with a customer managed key.",
    RDS_BACKUP_REPLICATION,
    needs_stack=True,
)
def _rds_replication_elsewhere(replication: Res, stack: Stack) -> Iterator[str]:
    for source in stack.refs(replication, "sourceDbInstanceArn", RDS):
        if source.get("region") == replication.get("region"):
            yield (
                f"replicates instance '{source.name}' into its own region ({_region(replication)})"
            )
    if not replication.get("kmsKeyId"):
        yield "no kmsKeyId: the replicated backups need a key of the destination region"
