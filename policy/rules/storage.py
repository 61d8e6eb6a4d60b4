"""Storage rules: EFS file systems and S3 buckets."""

from __future__ import annotations

from collections.abc import Iterator

from policy.model import Res, Stack
from policy.props import statements, tier, truthy
from policy.rules.base import rule
from policy.types import (
    BUCKET,
    BUCKET_LIFECYCLE,
    BUCKET_OWNERSHIP,
    BUCKET_PAB,
    BUCKET_POLICY,
    BUCKET_SSE,
    BUCKET_VERSIONING,
    EFS,
    EFS_BACKUP,
)


@rule("efs-encrypted", "EFS file systems are encrypted (FSBP EFS.1).", EFS)
def _efs_encrypted(fs: Res, _: Stack) -> Iterator[str]:
    if not truthy(fs.get("encrypted")):
        yield "encrypted is off"


@rule(
    "efs-backups",
    "EFS file systems are in AWS Backup (FSBP EFS.2).",
    EFS,
    needs_stack=True,
)
def _efs_backups(fs: Res, stack: Stack) -> Iterator[str]:
    policies = stack.referring(fs, "fileSystemId", EFS_BACKUP)
    if not any((p.get("backupPolicy") or {}).get("status") == "ENABLED" for p in policies):
        yield "no enabled backup policy"


def _bucket_settings(bucket: Res, stack: Stack, type_: str) -> list[Res]:
    return stack.referring(bucket, "bucket", type_)


@rule(
    "s3-block-public-access",
    "Buckets block every form of public access (FSBP S3.8, CIS 2.1.4).",
    BUCKET,
    needs_stack=True,
)
def _s3_block_public_access(bucket: Res, stack: Stack) -> Iterator[str]:
    keys = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    blocks = _bucket_settings(bucket, stack, BUCKET_PAB)
    if not any(all(truthy(b.get(k)) for k in keys) for b in blocks):
        yield "no public access block with all four settings on"


@rule(
    "s3-encrypted",
    "Buckets encrypt objects by default (FSBP S3.4).",
    BUCKET,
    needs_stack=True,
)
def _s3_encrypted(bucket: Res, stack: Stack) -> Iterator[str]:
    if not (
        bucket.get("serverSideEncryptionConfiguration")
        or _bucket_settings(bucket, stack, BUCKET_SSE)
    ):
        yield "no default encryption"


@rule(
    "s3-tls-only",
    "Bucket policies refuse requests without TLS (FSBP S3.5, CIS 2.1.1).",
    BUCKET,
    needs_stack=True,
)
def _s3_tls_only(bucket: Res, stack: Stack) -> Iterator[str]:
    for policy in _bucket_settings(bucket, stack, BUCKET_POLICY):
        for statement in statements(policy.get("policy")):
            condition = statement.get("Condition") or {}
            insecure = (condition.get("Bool") or {}).get("aws:SecureTransport")
            if statement.get("Effect") == "Deny" and str(insecure).lower() == "false":
                return
    yield "no bucket policy denies requests made without TLS"


@rule(
    "s3-acls-disabled",
    "Bucket ACLs are disabled: the bucket owner owns every object (FSBP S3.12).",
    BUCKET,
    needs_stack=True,
)
def _s3_acls_disabled(bucket: Res, stack: Stack) -> Iterator[str]:
    controls = _bucket_settings(bucket, stack, BUCKET_OWNERSHIP)
    if not any(
        (c.get("rule") or {}).get("objectOwnership") == "BucketOwnerEnforced" for c in controls
    ):
        yield "object ownership is not BucketOwnerEnforced"


@rule(
    "s3-lifecycle",
    "Buckets expire what they collect (FSBP S3.13).",
    BUCKET,
    needs_stack=True,
)
def _s3_lifecycle(bucket: Res, stack: Stack) -> Iterator[str]:
    if not _bucket_settings(bucket, stack, BUCKET_LIFECYCLE):
        yield "no lifecycle configuration"


@rule(
    "db-archive-bucket",
    "The database's WAL archive is versioned, encrypted with a KMS key, and no lifecycle rule "
    "expires its current objects: the archiver owns retention, and a WAL segment S3 expired "
    "breaks every restore that replays it.",
    BUCKET,
    needs_stack=True,
)
def _db_archive_bucket(bucket: Res, stack: Stack) -> Iterator[str]:
    if tier(bucket) != "database-archive":
        return
    versioning = _bucket_settings(bucket, stack, BUCKET_VERSIONING)
    if not any(
        (v.get("versioningConfiguration") or {}).get("status") == "Enabled" for v in versioning
    ):
        yield "versioning is not enabled"
    algorithms = {
        ((rule_.get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm"))
        for sse in _bucket_settings(bucket, stack, BUCKET_SSE)
        for rule_ in sse.get("rules") or []
    }
    if "aws:kms" not in algorithms:
        yield "not encrypted with a KMS key (sseAlgorithm aws:kms)"
    for lifecycle in _bucket_settings(bucket, stack, BUCKET_LIFECYCLE):
        for rule_ in lifecycle.get("rules") or []:
            if rule_.get("expiration") and rule_.get("status") != "Disabled":
                yield f"lifecycle rule {rule_.get('id')!r} expires current objects"
