"""The bucket an Application Load Balancer writes its access logs to: private, owner-enforced,
SSE-S3 (the only encryption ALB log delivery supports), TLS only, expiring its logs, and open to
the region's ELB log-delivery account for writes only."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.shared import iam


@dataclass(frozen=True)
class AccessLogArgs:
    retention_days: int
    """Logs expire after this many days."""


@dataclass(frozen=True)
class AccessLogBucket:
    bucket: aws.s3.Bucket
    """The load balancer's `access_logs.bucket`."""
    policy: aws.s3.BucketPolicy
    """A load balancer that logs here waits for it: AWS refuses access logs into a bucket the
    load balancer may not write to yet."""


# The regions where load balancers deliver access logs as an AWS account of ELB's own, which the
# bucket policy names (Elastic Load Balancing User Guide, "Enable access logs for your Application
# Load Balancer", Regions available before August 2022). Regions opened since grant the
# log-delivery service principal instead, and the provider has no account for them:
# aws.elb.get_service_account fails there (terraform-provider-aws elb_service_account data).
_ACCOUNT_REGIONS = frozenset(
    {
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "af-south-1",
        "ap-east-1",
        "ap-southeast-3",
        "ap-south-1",
        "ap-northeast-3",
        "ap-northeast-2",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-northeast-1",
        "ca-central-1",
        "eu-central-1",
        "eu-west-1",
        "eu-west-2",
        "eu-south-1",
        "eu-west-3",
        "eu-north-1",
        "me-south-1",
        "sa-east-1",
    }
)
LOG_DELIVERY = "logdelivery.elasticloadbalancing.amazonaws.com"


def _log_writer(region: str) -> dict[str, str]:
    """The principal that writes a load balancer's access logs in `region`."""
    if region in _ACCOUNT_REGIONS:
        return {"AWS": aws.elb.get_service_account().arn}
    return {"Service": LOG_DELIVERY}


def build(name: str, args: AccessLogArgs, opts: pulumi.ResourceOptions) -> AccessLogBucket:
    """Declare the bucket and its settings, each named `name`."""
    retention_days = args.retention_days
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
    writer = _log_writer(aws.get_region().region)
    policy = aws.s3.BucketPolicy(
        name,
        bucket=bucket.id,
        policy=bucket.arn.apply(lambda arn: json.dumps(_delivery_policy(arn, writer))),
        opts=opts,
    )
    return AccessLogBucket(bucket=bucket, policy=policy)


def _delivery_policy(bucket_arn: str, writer: dict[str, str]) -> dict[str, Any]:
    return iam.policy(
        {
            "Sid": "AlbLogDelivery",
            "Effect": "Allow",
            "Principal": writer,
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
