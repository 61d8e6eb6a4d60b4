"""The vip cluster's WAL archive: an S3 bucket of the stack that the primary archives every WAL
segment and its base backups to (pgBackRest on the nodes: functions/hosts/pg_archive.sh).

- The bucket is encrypted with a key of its own (a bucket key: one KMS call per object batch,
  not per object), versioned, blocks every public access, refuses requests without TLS, and owns
  every object (ACLs off).
- Retention is the archiver's: pgBackRest keeps `retentionFullBackups` full backups and the WAL
  that restores from them, and deletes the rest. The lifecycle only expires what S3 keeps besides
  (noncurrent versions, after `noncurrentDays`) and aborts incomplete uploads: it never expires a
  current object, which would break the chain of WAL a restore replays.
- The nodes' role reads and writes only the cluster's prefix (`<cluster>/`); a cluster made from
  another's archive (`vip.restore`) reads that one's prefix and writes nothing there: it has the
  source's system identifier, so pgBackRest would accept its WAL into the source's archive.
- In stacks with `deletionProtection`, the bucket and its key are protected by Pulumi and retained
  when the stack is destroyed.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.config.archive import ArchiveConfig, VipRestoreConfig
from components.config.database import VipConfig
from components.shared import iam
from components.shared.naming import TIER_TAG

TIER = "database-archive"
"""The bucket's tier tag: the policy rule `db-archive-bucket` finds the archive by it."""
INCOMPLETE_UPLOAD_DAYS = 7
# The node's files for the archive (functions/hosts/): the program, its timer, pgBackRest's repo.
NODE_FILES = (
    ("/usr/local/sbin/multitier-pg-archive", "0755", "pg_archive.sh"),
    ("/etc/systemd/system/multitier-pg-archive.service", "0644", "multitier-pg-archive.service"),
    ("/etc/systemd/system/multitier-pg-archive.timer", "0644", "multitier-pg-archive.timer"),
    ("/etc/yum.repos.d/pgdg-common.repo", "0644", "pgdg-common.repo"),
)


@dataclass(frozen=True)
class ArchiveArgs:
    config: VipConfig
    """`multitier:database.vip`: its `archive` and `restore` settings."""
    cluster_name: str
    """The cluster's prefix in the bucket, and pgBackRest's stanza."""
    protect: bool = False
    """Protect the bucket and its key, and keep them when the stack is destroyed."""


@dataclass(frozen=True)
class Archive:
    bucket: aws.s3.Bucket
    """The archive: `<cluster>/archive/` holds the WAL, `<cluster>/backup/` the base backups."""
    key: aws.kms.Key
    """Encrypts every object (the bucket's default encryption)."""
    bucket_name: pulumi.Output[str]
    """Resolved once the bucket's settings exist: the nodes archive only into a settled bucket."""


def build(name: str, args: ArchiveArgs, opts: pulumi.ResourceOptions) -> Archive:
    """Declare the key, the bucket and its settings, each named `name`."""
    config = args.config.archive
    kept = pulumi.ResourceOptions.merge(
        opts, pulumi.ResourceOptions(protect=args.protect, retain_on_delete=args.protect)
    )
    key = iam.kms_key(name, "the database's WAL archive and base backups", kept)
    bucket = aws.s3.Bucket(name, force_destroy=False, tags={TIER_TAG: TIER}, opts=kept)
    settings: list[pulumi.Resource] = [
        aws.s3.BucketVersioning(
            name,
            bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                status="Enabled"
            ),
            opts=opts,
        ),
        aws.s3.BucketPublicAccessBlock(
            name,
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=opts,
        ),
        aws.s3.BucketOwnershipControls(
            name,
            bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=opts,
        ),
        aws.s3.BucketServerSideEncryptionConfiguration(
            name,
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="aws:kms", kms_master_key_id=key.arn
                    ),
                    bucket_key_enabled=True,
                )
            ],
            opts=opts,
        ),
        aws.s3.BucketLifecycleConfiguration(
            name,
            bucket=bucket.id,
            rules=[lifecycle_rule(config)],
            opts=opts,
        ),
        aws.s3.BucketPolicy(
            name,
            bucket=bucket.id,
            policy=bucket.arn.apply(lambda arn: json.dumps(tls_only(arn))),
            opts=opts,
        ),
    ]
    return Archive(
        bucket=bucket,
        key=key,
        bucket_name=pulumi.Output.all(bucket.bucket, *(s.urn for s in settings)).apply(
            lambda values: str(values[0])
        ),
    )


def lifecycle_rule(config: ArchiveConfig) -> aws.s3.BucketLifecycleConfigurationRuleArgs:
    """Old versions and abandoned uploads only: current objects are the archiver's to expire."""
    return aws.s3.BucketLifecycleConfigurationRuleArgs(
        id="noncurrent-versions-and-incomplete-uploads",
        status="Enabled",
        filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
        noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
            noncurrent_days=config.noncurrent_days
        ),
        abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
            days_after_initiation=INCOMPLETE_UPLOAD_DAYS
        ),
    )


def tls_only(bucket_arn: str) -> dict[str, Any]:
    return iam.policy(
        {
            "Sid": "TlsOnly",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn, f"{bucket_arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )


def node_settings(config: VipConfig, bucket: str) -> dict[str, str]:
    """What `multitier-pg-archive` reads from the node's pg.env."""
    settings = {
        "ARCHIVE_BUCKET": bucket,
        "ARCHIVE_TIMEOUT": str(config.archive.timeout_seconds),
        "ARCHIVE_FULL_BACKUP_HOURS": str(config.archive.full_backup_hours),
        "ARCHIVE_RETENTION_FULL": str(config.archive.retention_full_backups),
    }
    if config.restore is not None:
        settings |= {
            "RESTORE_BUCKET": config.restore.bucket,
            "RESTORE_CLUSTER": config.restore.cluster,
            "RESTORE_TARGET": restore_target(config.restore.target),
        }
    return settings


def restore_target(target: str) -> str:
    """`latest`, or the moment in UTC as pgBackRest's `--target` takes it (a space, not `T`; a
    zone of hours, not `Z`)."""
    if target == "latest":
        return target
    moment = datetime.datetime.fromisoformat(target.replace(" ", "T")).astimezone(datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f+00")


def node_policy(
    region: str, cluster: str, bucket: str, key_arn: str, restore: VipRestoreConfig | None
) -> dict[str, Any]:
    """Read and write the cluster's own prefix; read, and only read, a restore's source prefix."""
    own = f"arn:aws:s3:::{bucket}"
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ListOwnArchive",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": own,
            "Condition": {"StringLike": {"s3:prefix": [cluster, f"{cluster}/*"]}},
        },
        {
            "Sid": "WriteOwnArchive",
            "Effect": "Allow",
            "Action": [
                "s3:GetObject",
                "s3:PutObject",
                "s3:DeleteObject",
                "s3:AbortMultipartUpload",
            ],
            "Resource": f"{own}/{cluster}/*",
        },
        {
            "Sid": "UseArchiveKey",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": key_arn,
            "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
        },
    ]
    if restore is not None and (restore.bucket, restore.cluster) != (bucket, cluster):
        source = f"arn:aws:s3:::{restore.bucket}"
        statements += [
            {
                "Sid": "ListRestoreSource",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": source,
                "Condition": {
                    "StringLike": {"s3:prefix": [restore.cluster, f"{restore.cluster}/*"]}
                },
            },
            {
                "Sid": "ReadRestoreSource",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": f"{source}/{restore.cluster}/*",
            },
            {
                # The source's key is another stack's: whichever key S3 names, through S3, for
                # that bucket only (a bucket key's encryption context is the bucket's ARN).
                "Sid": "DecryptRestoreSource",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": f"arn:aws:kms:{region}:*:key/*",
                "Condition": {
                    "StringEquals": {
                        "kms:ViaService": f"s3.{region}.amazonaws.com",
                        "kms:EncryptionContext:aws:s3:arn": source,
                    }
                },
            },
        ]
    return iam.policy(*statements)
