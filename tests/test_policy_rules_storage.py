"""The storage rules (policy/rules/storage.py): EFS file systems and S3 buckets.

Each case is a broken stack and its fixed twin (tests/policy_cases.py): the rule flags one
resource in the first and nothing in the second. tests/test_policy_rules_base.py fails for a rule
of the module without a case here.
"""

from __future__ import annotations

from typing import Any

import pytest

from policy.model import Res
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
from tests.policy_cases import (
    TAGS,
    Case,
    allow,
    case_params,
    document,
    flags_the_broken_and_passes_the_fixed,
    flip,
    res,
)

bucket = res(BUCKET, "logs")
PUBLIC_ACCESS_BLOCK = dict.fromkeys(
    ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"), True
)
TLS_ONLY = {
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": ["arn:aws:s3:::logs", "arn:aws:s3:::logs/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}


def bucket_setting(type_: str, **props: Any) -> Res:
    return res(type_, "logs", deps={"bucket": [bucket]}, bucket="logs", **props)


fs = res(EFS, "shared", encrypted=True)

# The database's WAL archive (components/database/archive.py), found by its tier tag.
archive = res(BUCKET, "archive", tags={**TAGS, "multitier:tier": "database-archive"})


def archive_setting(type_: str, **props: Any) -> Res:
    return res(type_, "archive", deps={"bucket": [archive]}, bucket="archive", **props)


VERSIONED = archive_setting(BUCKET_VERSIONING, versioningConfiguration={"status": "Enabled"})
SUSPENDED = archive_setting(BUCKET_VERSIONING, versioningConfiguration={"status": "Suspended"})
KMS = archive_setting(
    BUCKET_SSE, rules=[{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]
)
AES = archive_setting(
    BUCKET_SSE, rules=[{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]
)
OLD_VERSIONS_ONLY = archive_setting(
    BUCKET_LIFECYCLE,
    rules=[
        {"id": "old", "status": "Enabled", "noncurrentVersionExpiration": {"noncurrentDays": 30}}
    ],
)
EXPIRES_WAL = archive_setting(
    BUCKET_LIFECYCLE,
    rules=[{"id": "all", "status": "Enabled", "expiration": {"days": 30}}],
)
ARCHIVE_FIXED = [archive, VERSIONED, KMS, OLD_VERSIONS_ONLY]

CASES: list[Case] = [
    Case(
        "db-archive-bucket",
        "a lifecycle rule expires current WAL",
        archive,
        [archive, VERSIONED, KMS, EXPIRES_WAL],
        ARCHIVE_FIXED,
    ),
    Case(
        "db-archive-bucket",
        "versioning suspended",
        archive,
        [archive, SUSPENDED, KMS, OLD_VERSIONS_ONLY],
        ARCHIVE_FIXED,
    ),
    Case(
        "db-archive-bucket",
        "encrypted with S3's key, not a KMS key",
        archive,
        [archive, VERSIONED, AES, OLD_VERSIONS_ONLY],
        ARCHIVE_FIXED,
    ),
    flip("efs-encrypted", EFS, {"encrypted": False}, {"encrypted": True}),
    Case(
        "efs-backups",
        "no backup policy",
        fs,
        [fs],
        [
            fs,
            res(
                EFS_BACKUP,
                "shared",
                deps={"fileSystemId": [fs]},
                backupPolicy={"status": "ENABLED"},
            ),
        ],
    ),
    Case(
        "efs-backups",
        "backup policy disabled",
        fs,
        [
            fs,
            res(
                EFS_BACKUP,
                "shared",
                deps={"fileSystemId": [fs]},
                backupPolicy={"status": "DISABLED"},
            ),
        ],
        [
            fs,
            res(
                EFS_BACKUP,
                "shared",
                deps={"fileSystemId": [fs]},
                backupPolicy={"status": "ENABLED"},
            ),
        ],
    ),
    Case(
        "s3-block-public-access",
        "no public access block",
        bucket,
        [bucket],
        [bucket, bucket_setting(BUCKET_PAB, **PUBLIC_ACCESS_BLOCK)],
    ),
    Case(
        "s3-block-public-access",
        "public policies allowed",
        bucket,
        [bucket, bucket_setting(BUCKET_PAB, **{**PUBLIC_ACCESS_BLOCK, "blockPublicPolicy": False})],
        [bucket, bucket_setting(BUCKET_PAB, **PUBLIC_ACCESS_BLOCK)],
    ),
    Case(
        "s3-encrypted",
        "no default encryption",
        bucket,
        [bucket],
        [
            bucket,
            bucket_setting(
                BUCKET_SSE,
                rules=[{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}],
            ),
        ],
    ),
    Case(
        "s3-encrypted",
        "no default encryption, fixed inline",
        bucket,
        [bucket],
        [
            res(
                BUCKET,
                "logs",
                serverSideEncryptionConfiguration={
                    "rule": {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}
                },
            )
        ],
    ),
    Case(
        "s3-tls-only",
        "bucket policy without a TLS deny",
        bucket,
        [
            bucket,
            bucket_setting(
                BUCKET_POLICY, policy=document(allow("s3:GetObject", "arn:aws:s3:::logs/*"))
            ),
        ],
        [
            bucket,
            bucket_setting(
                BUCKET_POLICY,
                policy=document(allow("s3:GetObject", "arn:aws:s3:::logs/*"), TLS_ONLY),
            ),
        ],
    ),
    Case(
        "s3-tls-only",
        "no bucket policy",
        bucket,
        [bucket],
        [bucket, bucket_setting(BUCKET_POLICY, policy=document(TLS_ONLY))],
    ),
    Case(
        "s3-acls-disabled",
        "object writer owns objects",
        bucket,
        [bucket, bucket_setting(BUCKET_OWNERSHIP, rule={"objectOwnership": "ObjectWriter"})],
        [bucket, bucket_setting(BUCKET_OWNERSHIP, rule={"objectOwnership": "BucketOwnerEnforced"})],
    ),
    Case(
        "s3-lifecycle",
        "no lifecycle configuration",
        bucket,
        [bucket],
        [
            bucket,
            bucket_setting(
                BUCKET_LIFECYCLE,
                rules=[{"id": "expire", "status": "Enabled", "expiration": {"days": 365}}],
            ),
        ],
    ),
]


@pytest.mark.parametrize("case", case_params(CASES))
def test_rule_flags_the_broken_stack_and_passes_the_fixed_one(case: Case) -> None:
    flags_the_broken_and_passes_the_fixed(case)
