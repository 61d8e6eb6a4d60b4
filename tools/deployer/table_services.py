"""The table's rows for the managed services: observability, Lambda, DynamoDB, RDS,
ElastiCache, EFS, S3 and WAF."""

from __future__ import annotations

from policy import types as t
from tools.deployer.entry import Entry, arn

ENTRIES: dict[str, Entry] = {
    # --- Observability -------------------------------------------------------------------------
    t.TOPIC: Entry(
        ("sns:CreateTopic",),
        ("sns:GetTopicAttributes", "sns:ListTagsForResource"),
        ("sns:SetTopicAttributes",),
        ("sns:DeleteTopic",),
        ("sns:TagResource", "sns:UntagResource"),
        resource="topic",
        arn=arn("sns", "{name}"),
    ),
    t.TOPIC_SUBSCRIPTION: Entry(
        ("sns:Subscribe",),
        ("sns:GetSubscriptionAttributes", "sns:ListSubscriptionsByTopic"),
        ("sns:SetSubscriptionAttributes",),
        ("sns:Unsubscribe",),
    ),
    t.LOG_GROUP: Entry(
        ("logs:CreateLogGroup",),
        ("logs:DescribeLogGroups", "logs:ListTagsForResource"),
        ("logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy", "logs:AssociateKmsKey"),
        ("logs:DeleteLogGroup",),
        ("logs:TagResource", "logs:UntagResource"),
        resource="log-group",
        arn=arn("logs", "log-group:{name}"),
        name="name",
    ),
    t.ALARM: Entry(
        ("cloudwatch:PutMetricAlarm",),
        ("cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"),
        (),
        ("cloudwatch:DeleteAlarms",),
        ("cloudwatch:TagResource", "cloudwatch:UntagResource"),
        resource="alarm",
        arn=arn("cloudwatch", "alarm:{name}"),
        name="name",
    ),
    t.DASHBOARD: Entry(
        ("cloudwatch:PutDashboard",),
        ("cloudwatch:GetDashboard",),
        (),
        ("cloudwatch:DeleteDashboards",),
        resource="dashboard",
        arn="arn:aws:cloudwatch::{account}:dashboard/{name}",
        name="dashboardName",
    ),
    t.EVENT_RULE: Entry(
        ("events:PutRule",),
        ("events:DescribeRule", "events:ListTagsForResource"),
        ("events:EnableRule", "events:DisableRule"),
        ("events:DeleteRule",),
        ("events:TagResource", "events:UntagResource"),
        resource="rule-on-default-event-bus",
        arn=arn("events", "rule/{name}"),
        name="name",
    ),
    t.EVENT_TARGET: Entry(
        ("events:PutTargets",), ("events:ListTargetsByRule",), (), ("events:RemoveTargets",)
    ),
    # --- Lambda and DynamoDB -------------------------------------------------------------------
    t.FUNCTION: Entry(
        ("lambda:CreateFunction",),
        (
            "lambda:GetFunction",
            "lambda:GetFunctionConfiguration",
            "lambda:GetFunctionCodeSigningConfig",
            "lambda:GetFunctionConcurrency",
            "lambda:GetRuntimeManagementConfig",
            "lambda:ListVersionsByFunction",
            "lambda:ListTags",
        ),
        (
            "lambda:UpdateFunctionCode",
            "lambda:UpdateFunctionConfiguration",
            "lambda:PutFunctionConcurrency",
            "lambda:DeleteFunctionConcurrency",
        ),
        ("lambda:DeleteFunction",),
        ("lambda:TagResource", "lambda:UntagResource"),
        resource="function",
        arn=arn("lambda", "function:{name}"),
        name="name",
    ),
    t.LAMBDA_PERMISSION: Entry(
        ("lambda:AddPermission",), ("lambda:GetPolicy",), (), ("lambda:RemovePermission",)
    ),
    t.INVOCATION: Entry(("lambda:InvokeFunction",), ()),
    t.EVENT_SOURCE_MAPPING: Entry(
        ("lambda:CreateEventSourceMapping",),
        ("lambda:GetEventSourceMapping", "lambda:ListEventSourceMappings"),
        ("lambda:UpdateEventSourceMapping",),
        ("lambda:DeleteEventSourceMapping",),
        ("lambda:TagResource", "lambda:UntagResource"),
        resource="eventSourceMapping",
        arn=arn("lambda", "event-source-mapping:*"),
    ),
    t.DYNAMODB_TABLE: Entry(
        ("dynamodb:CreateTable",),
        (
            "dynamodb:DescribeTable",
            "dynamodb:DescribeContinuousBackups",
            "dynamodb:DescribeTimeToLive",
            "dynamodb:ListTagsOfResource",
        ),
        ("dynamodb:UpdateTable", "dynamodb:UpdateContinuousBackups", "dynamodb:UpdateTimeToLive"),
        ("dynamodb:DeleteTable",),
        ("dynamodb:TagResource", "dynamodb:UntagResource"),
        resource="table",
        arn=arn("dynamodb", "table/{name}"),
        name="name",
    ),
    # --- RDS -----------------------------------------------------------------------------------
    t.RDS: Entry(
        ("rds:CreateDBInstance", "rds:CreateDBInstanceReadReplica"),
        ("rds:DescribeDBInstances", "rds:ListTagsForResource"),
        ("rds:ModifyDBInstance", "rds:RebootDBInstance"),
        # A final snapshot is taken by the delete call.
        ("rds:DeleteDBInstance", "rds:CreateDBSnapshot"),
        ("rds:AddTagsToResource", "rds:RemoveTagsFromResource"),
        resource="db",
        arn=arn("rds", "db:{name}"),
        name="identifier",
        lowercase=True,
        also=(
            ("og", arn("rds", "og:default:*")),
            ("snapshot", arn("rds", "snapshot:*")),
        ),
    ),
    t.RDS_PARAMETERS: Entry(
        ("rds:CreateDBParameterGroup",),
        ("rds:DescribeDBParameterGroups", "rds:DescribeDBParameters"),
        ("rds:ModifyDBParameterGroup", "rds:ResetDBParameterGroup"),
        ("rds:DeleteDBParameterGroup",),
        ("rds:AddTagsToResource", "rds:RemoveTagsFromResource"),
        resource="pg",
        arn=arn("rds", "pg:{name}"),
        name="name",
        lowercase=True,
    ),
    t.RDS_SUBNET_GROUP: Entry(
        ("rds:CreateDBSubnetGroup",),
        ("rds:DescribeDBSubnetGroups",),
        ("rds:ModifyDBSubnetGroup",),
        ("rds:DeleteDBSubnetGroup",),
        ("rds:AddTagsToResource", "rds:RemoveTagsFromResource"),
        resource="subgrp",
        arn=arn("rds", "subgrp:{name}"),
        name="name",
        lowercase=True,
    ),
    # --- ElastiCache ---------------------------------------------------------------------------
    t.CACHE: Entry(
        ("elasticache:CreateReplicationGroup",),
        (
            "elasticache:DescribeReplicationGroups",
            "elasticache:DescribeCacheClusters",
            "elasticache:ListTagsForResource",
        ),
        (
            "elasticache:ModifyReplicationGroup",
            "elasticache:IncreaseReplicaCount",
            "elasticache:DecreaseReplicaCount",
        ),
        ("elasticache:DeleteReplicationGroup",),
        ("elasticache:AddTagsToResource", "elasticache:RemoveTagsFromResource"),
        resource="replicationgroup",
        arn=arn("elasticache", "replicationgroup:{name}"),
        name="replicationGroupId",
        lowercase=True,
        also=(
            ("cluster", arn("elasticache", "cluster:*")),
            ("parametergroup", arn("elasticache", "parametergroup:default.*")),
        ),
    ),
    t.CACHE_SUBNET_GROUP: Entry(
        ("elasticache:CreateCacheSubnetGroup",),
        ("elasticache:DescribeCacheSubnetGroups",),
        ("elasticache:ModifyCacheSubnetGroup",),
        ("elasticache:DeleteCacheSubnetGroup",),
        ("elasticache:AddTagsToResource", "elasticache:RemoveTagsFromResource"),
        resource="subnetgroup",
        arn=arn("elasticache", "subnetgroup:{name}"),
        name="name",
        lowercase=True,
    ),
    # --- EFS: ARNs carry generated ids; scoped by the stack's tags -----------------------------
    t.EFS: Entry(
        ("elasticfilesystem:CreateFileSystem",),
        (
            "elasticfilesystem:DescribeFileSystems",
            "elasticfilesystem:DescribeLifecycleConfiguration",
        ),
        ("elasticfilesystem:UpdateFileSystem", "elasticfilesystem:PutLifecycleConfiguration"),
        ("elasticfilesystem:DeleteFileSystem",),
        (
            "elasticfilesystem:TagResource",
            "elasticfilesystem:UntagResource",
            "elasticfilesystem:ListTagsForResource",
        ),
    ),
    t.EFS_BACKUP: Entry(
        ("elasticfilesystem:PutBackupPolicy",), ("elasticfilesystem:DescribeBackupPolicy",)
    ),
    t.EFS_MOUNT_TARGET: Entry(
        # EFS makes the mount target's network interface with the caller's rights.
        (
            "elasticfilesystem:CreateMountTarget",
            "ec2:CreateNetworkInterface",
            "ec2:DescribeNetworkInterfaces",
        ),
        (
            "elasticfilesystem:DescribeMountTargets",
            "elasticfilesystem:DescribeMountTargetSecurityGroups",
        ),
        ("elasticfilesystem:ModifyMountTargetSecurityGroups",),
        ("elasticfilesystem:DeleteMountTarget", "ec2:DeleteNetworkInterface"),
    ),
    # --- S3: the access-log bucket and its settings, each a resource of its own -----------------
    t.BUCKET: Entry(
        ("s3:CreateBucket",),
        (
            "s3:ListBucket",
            "s3:GetBucketLocation",
            "s3:GetBucketTagging",
            "s3:GetBucketAcl",
            "s3:GetBucketCORS",
            "s3:GetBucketWebsite",
            "s3:GetBucketVersioning",
            "s3:GetAccelerateConfiguration",
            "s3:GetBucketRequestPayment",
            "s3:GetBucketLogging",
            "s3:GetReplicationConfiguration",
            "s3:GetBucketObjectLockConfiguration",
        ),
        (),
        ("s3:DeleteBucket",),
        ("s3:PutBucketTagging",),
        resource="bucket",
        arn="arn:aws:s3:::{name}",
        name="bucket",
        lowercase=True,
    ),
    t.BUCKET_PAB: Entry(("s3:PutBucketPublicAccessBlock",), ("s3:GetBucketPublicAccessBlock",), ()),
    t.BUCKET_SSE: Entry(("s3:PutEncryptionConfiguration",), ("s3:GetEncryptionConfiguration",)),
    t.BUCKET_POLICY: Entry(
        ("s3:PutBucketPolicy",), ("s3:GetBucketPolicy",), (), ("s3:DeleteBucketPolicy",)
    ),
    t.BUCKET_OWNERSHIP: Entry(
        ("s3:PutBucketOwnershipControls",), ("s3:GetBucketOwnershipControls",)
    ),
    t.BUCKET_LIFECYCLE: Entry(("s3:PutLifecycleConfiguration",), ("s3:GetLifecycleConfiguration",)),
    t.BUCKET_VERSIONING: Entry(("s3:PutBucketVersioning",), ("s3:GetBucketVersioning",)),
    # --- WAF: declared by a later change; priced and drawn already -----------------------------
    t.WAF_ACL: Entry(
        ("wafv2:CreateWebACL",),
        ("wafv2:GetWebACL", "wafv2:ListTagsForResource"),
        ("wafv2:UpdateWebACL",),
        ("wafv2:DeleteWebACL",),
        ("wafv2:TagResource", "wafv2:UntagResource"),
        resource="webacl",
        arn=arn("wafv2", "regional/webacl/{name}/*"),
        name="name",
        also=(("managedruleset", arn("wafv2", "regional/managedruleset/*/*")),),
    ),
    t.WAF_ACL_ASSOCIATION: Entry(
        ("wafv2:AssociateWebACL",),
        ("wafv2:GetWebACLForResource",),
        (),
        ("wafv2:DisassociateWebACL",),
    ),
}
