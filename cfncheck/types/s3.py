"""S3 buckets as AWS::S3::Bucket, and bucket policies as AWS::S3::BucketPolicy.

Public access block, default encryption, ownership controls, versioning and lifecycle rules are
separate resources in Pulumi but properties of the bucket in CloudFormation, so each is
written into its bucket.
"""

from __future__ import annotations

from cfncheck.fields import NAME_PREFIX, Block, Drop, Items, tags
from cfncheck.model import REF
from cfncheck.table import Attach, TypeMap

_INTO_BUCKET = Attach(link="bucket")
_OWNER = Drop("A guard of the provider's API calls (the expected account); no bucket property.")

TYPES = (
    TypeMap(
        "aws:s3/bucket:Bucket",
        "AWS::S3::Bucket",
        {
            "bucket": "BucketName",
            "bucketPrefix": NAME_PREFIX,
            "forceDestroy": Drop(
                "Pulumi empties the bucket before deleting it; CloudFormation cannot delete a "
                "bucket that holds objects."
            ),
            "objectLockEnabled": "ObjectLockEnabled",
            "tags": tags(),
        },
        refs={
            "id": REF,
            "bucket": REF,
            "arn": "Arn",
            "bucketDomainName": "DomainName",
            "bucketRegionalDomainName": "RegionalDomainName",
        },
    ),
    TypeMap(
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "AWS::S3::Bucket",
        {
            "blockPublicAcls": "PublicAccessBlockConfiguration/BlockPublicAcls",
            "blockPublicPolicy": "PublicAccessBlockConfiguration/BlockPublicPolicy",
            "ignorePublicAcls": "PublicAccessBlockConfiguration/IgnorePublicAcls",
            "restrictPublicBuckets": "PublicAccessBlockConfiguration/RestrictPublicBuckets",
        },
        attach=_INTO_BUCKET,
    ),
    TypeMap(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "AWS::S3::Bucket",
        {
            "rules": Items(
                "BucketEncryption/ServerSideEncryptionConfiguration",
                {
                    "applyServerSideEncryptionByDefault": Block(
                        "ServerSideEncryptionByDefault",
                        {"sseAlgorithm": "SSEAlgorithm", "kmsMasterKeyId": "KMSMasterKeyID"},
                    ),
                    "bucketKeyEnabled": "BucketKeyEnabled",
                },
            ),
            "expectedBucketOwner": _OWNER,
        },
        attach=_INTO_BUCKET,
    ),
    TypeMap(
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
        "AWS::S3::Bucket",
        {"rule": Block("OwnershipControls/Rules/0", {"objectOwnership": "ObjectOwnership"})},
        attach=_INTO_BUCKET,
    ),
    TypeMap(
        "aws:s3/bucketVersioning:BucketVersioning",
        "AWS::S3::Bucket",
        {
            "versioningConfiguration": Block(
                "VersioningConfiguration",
                {
                    "status": "Status",
                    "mfaDelete": Drop(
                        "MFA delete is set by the root user's API call with an MFA code; no "
                        "bucket property."
                    ),
                },
            ),
            "expectedBucketOwner": _OWNER,
        },
        attach=_INTO_BUCKET,
    ),
    TypeMap(
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "AWS::S3::Bucket",
        {
            "rules": Items(
                "LifecycleConfiguration/Rules",
                {
                    "id": "Id",
                    "status": "Status",
                    "filter": Block(
                        "", {"prefix": "Prefix", "objectSizeGreaterThan": "ObjectSizeGreaterThan"}
                    ),
                    "expiration": Block("", {"days": "ExpirationInDays", "date": "ExpirationDate"}),
                    "abortIncompleteMultipartUpload": Block(
                        "AbortIncompleteMultipartUpload",
                        {"daysAfterInitiation": "DaysAfterInitiation"},
                    ),
                    "noncurrentVersionExpiration": Block(
                        "NoncurrentVersionExpiration", {"noncurrentDays": "NoncurrentDays"}
                    ),
                },
            ),
            "expectedBucketOwner": _OWNER,
        },
        attach=_INTO_BUCKET,
    ),
    TypeMap(
        "aws:s3/bucketPolicy:BucketPolicy",
        "AWS::S3::BucketPolicy",
        {"bucket": "Bucket", "policy": "PolicyDocument"},
    ),
)
