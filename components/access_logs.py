"""The bucket an Application Load Balancer writes its access logs to: private, owner-enforced,
SSE-S3 (the only encryption ALB log delivery supports), TLS only, expiring its logs, and open to
the region's ELB log-delivery account for writes only."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components import iam


@dataclass(frozen=True)
class AccessLogBucket:
    bucket: aws.s3.Bucket
    """The load balancer's `access_logs.bucket`."""
    policy: aws.s3.BucketPolicy
    """A load balancer that logs here waits for it: AWS refuses access logs into a bucket the
    load balancer may not write to yet."""


def access_log_bucket(
    name: str, retention_days: int, opts: pulumi.ResourceOptions
) -> AccessLogBucket:
    """Declare the bucket and its settings, each named `name`; logs expire after
    `retention_days`."""
    bucket = aws.s3.Bucket(name, force_destroy=False, opts=opts)
    aws.s3.BucketPublicAccessBlock(
        name,
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=opts,
    )
    aws.s3.BucketOwnershipControls(
        name,
        bucket=bucket.id,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
        opts=opts,
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        name,
        bucket=bucket.id,
        rules=[
            aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="AES256"
                )
            )
        ],
        opts=opts,
    )
    aws.s3.BucketLifecycleConfiguration(
        name,
        bucket=bucket.id,
        rules=[
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-access-logs",
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                    days=retention_days
                ),
                abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                    days_after_initiation=7
                ),
            )
        ],
        opts=opts,
    )
    elb_account = aws.elb.get_service_account().arn
    policy = aws.s3.BucketPolicy(
        name,
        bucket=bucket.id,
        policy=bucket.arn.apply(lambda arn: json.dumps(_delivery_policy(arn, elb_account))),
        opts=opts,
    )
    return AccessLogBucket(bucket=bucket, policy=policy)


def _delivery_policy(bucket_arn: str, elb_account_arn: str) -> dict[str, Any]:
    return iam.policy(
        {
            "Sid": "AlbLogDelivery",
            "Effect": "Allow",
            "Principal": {"AWS": elb_account_arn},
            "Action": "s3:PutObject",
            "Resource": f"{bucket_arn}/*",
        },
        {
            "Sid": "TlsOnly",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn, f"{bucket_arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    )
