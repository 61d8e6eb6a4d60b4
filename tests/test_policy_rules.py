"""Every rule in `policy.rules.RULES` can fail and can pass.

Each case is a small hand-built stack in two variants that differ only in what the rule is about:
in the broken one the rule flags exactly one resource (`flags`), in the fixed one it flags
nothing. Resources carry the common tags unless the case is about tags, so each case fails one
rule for one reason. A rule without a case fails `test_every_rule_has_a_case`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from policy.model import Res, Stack
from policy.rules import RULES
from policy.types import (
    ALARM,
    ASG,
    ATTACHMENT,
    BUCKET,
    BUCKET_LIFECYCLE,
    BUCKET_OWNERSHIP,
    BUCKET_PAB,
    BUCKET_POLICY,
    BUCKET_SSE,
    CACHE,
    DEFAULT_SG,
    EBS_VOLUME,
    EFS,
    EFS_BACKUP,
    EGRESS,
    FLOW_LOG,
    FUNCTION,
    INGRESS,
    INSTANCE,
    KMS_KEY,
    LAUNCH_TEMPLATE,
    LB,
    LISTENER,
    LOG_GROUP,
    MANAGED_POLICY,
    RDS,
    RDS_PARAMETERS,
    ROLE_POLICY,
    SECRET,
    SG,
    SUBNET,
    TOPIC,
    VPC,
)
from tests.policy_cases import (
    RULE,
    TAGS,
    Case,
    Props,
    allow,
    asg_tags,
    document,
    flagged,
    flip,
    ingress,
    judge,
    key,
    messages,
    res,
    stack,
)
from tests.policy_order_cases import ORDER_CASES

# Builders


# Shared resources

vpc = res(VPC, "main", cidrBlock="10.0.0.0/16")
alb_sg = res(SG, "alb", deps={"vpcId": [vpc]}, tags={**TAGS, "multitier:tier": "alb"})
app_sg = res(SG, "app", deps={"vpcId": [vpc]}, tags={**TAGS, "multitier:tier": "app"})
bastion_sg = res(SG, "bastion", deps={"vpcId": [vpc]}, tags={**TAGS, "multitier:tier": "bastion"})
alb = res(
    LB,
    "app",
    deps={"securityGroups": [alb_sg]},
    loadBalancerType="application",
    securityGroups=["sg-alb"],
)
https = res(
    LISTENER,
    "app-https",
    deps={"loadBalancerArn": [alb]},
    protocol="HTTPS",
    port=443,
    sslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06",
    defaultActions=[{"type": "forward", "targetGroupArn": "arn:tg"}],
)
bucket = res(BUCKET, "logs")
function = res(FUNCTION, "failover", name="failover", runtime="python3.12")
LT_ROOT = "/dev/xvda"
ROOT_OK = {"deviceName": LT_ROOT, "ebs": {"encrypted": "true", "volumeSize": 8}}
ASG_OK: Props = {
    "launchTemplate": {"id": "lt-1", "version": "$Latest"},
    "vpcZoneIdentifiers": ["subnet-a", "subnet-b"],
    "targetGroupArns": ["arn:tg"],
    "healthCheckType": "ELB",
}
KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
DB_OK: Props = {
    "engine": "postgres",
    "instanceClass": "db.t4g.micro",
    "storageEncrypted": True,
    "publiclyAccessible": False,
    "backupRetentionPeriod": 7,
    "deletionProtection": True,
    "multiAz": True,
    "monitoringInterval": 60,
    "enabledCloudwatchLogsExports": ["postgresql", "upgrade"],
    "copyTagsToSnapshot": True,
    "autoMinorVersionUpgrade": True,
}
CACHE_OK: Props = {
    "engine": "redis",
    "numCacheClusters": 2,
    "atRestEncryptionEnabled": True,
    "transitEncryptionEnabled": True,
    "authToken": "secret",
    "automaticFailoverEnabled": True,
    "multiAzEnabled": True,
    "snapshotRetentionLimit": 1,
}
LB_OK: Props = {
    "loadBalancerType": "application",
    "dropInvalidHeaderFields": True,
    "enableDeletionProtection": True,
    "accessLogs": {"enabled": True, "bucket": "logs"},
}
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


def flow_log(traffic: str) -> Res:
    return res(FLOW_LOG, "main", deps={"vpcId": [vpc]}, trafficType=traffic)


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


def bucket_setting(type_: str, **props: Any) -> Res:
    return res(type_, "logs", deps={"bucket": [bucket]}, bucket="logs", **props)


def log_group(name: str, retention: int | None = 30) -> Res:
    resource_name = name.rsplit("/", 1)[-1]
    return res(LOG_GROUP, resource_name, name=name, retentionInDays=retention, kmsKeyId="arn:key")


# The table

world_https_on_app = ingress("app-from-world", app_sg, 443, "0.0.0.0/0")
world_ssh_on_alb = ingress("alb-from-world", alb_sg, 22, "0.0.0.0/0")
world6_on_app = ingress("app-from-world", app_sg, 5432, "::/0")
ssh_from_app = ingress("app-ssh", app_sg, 22, app_sg)
ssh_to_app_from_office = ingress("ssh-from-office", app_sg, 22, "203.0.113.0/24")
rdp_from_app = ingress("app-rdp", app_sg, 3389, app_sg)
db_lax = db(parameters("0"))
db_alone = db(None)
http_forwards = res(
    LISTENER,
    "app-http",
    deps={"loadBalancerArn": [alb]},
    protocol="HTTP",
    port=80,
    defaultActions=[{"type": "forward", "targetGroupArn": "arn:tg"}],
)
fs = res(EFS, "shared", encrypted=True)
function_without_group = res(
    FUNCTION, "custom", name="custom", loggingConfig={"logGroup": "/multitier/custom"}
)
sg_without_tags = res(SG, "untagged", tags=None)

CASES: list[Case] = [
    # Network
    Case("vpc-flow-logs", "no flow log", vpc, [vpc], [vpc, flow_log("ALL")]),
    Case(
        "vpc-flow-logs",
        "rejected traffic only",
        vpc,
        [vpc, flow_log("REJECT")],
        [vpc, flow_log("ALL")],
    ),
    Case(
        "vpc-default-sg-managed",
        "default group left alone",
        vpc,
        [vpc],
        [vpc, res(DEFAULT_SG, "main", deps={"vpcId": [vpc]}, ingress=[], egress=[])],
    ),
    flip(
        "default-sg-no-rules",
        DEFAULT_SG,
        {"ingress": [{"protocol": "-1", "fromPort": 0, "toPort": 0, "self": True}]},
        {"ingress": []},
        about="the AWS default ingress",
    ),
    flip(
        "default-sg-no-rules",
        DEFAULT_SG,
        {"egress": [{"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]}]},
        {"egress": []},
        about="the AWS default egress",
    ),
    flip(
        "subnet-no-auto-public-ip",
        SUBNET,
        {"mapPublicIpOnLaunch": True},
        {"mapPublicIpOnLaunch": False},
    ),
    Case(
        "sg-world-ingress-alb-only",
        "world HTTPS to a group no load balancer uses",
        world_https_on_app,
        [alb, alb_sg, app_sg, world_https_on_app],
        [alb, alb_sg, app_sg, ingress("app-from-world", app_sg, 443, "10.0.0.0/16")],
    ),
    Case(
        "sg-world-ingress-alb-only",
        "world SSH to the load balancer's group",
        world_ssh_on_alb,
        [alb, alb_sg, world_ssh_on_alb],
        [alb, alb_sg, ingress("alb-from-world", alb_sg, 443, "0.0.0.0/0")],
    ),
    Case(
        "sg-world-ingress-alb-only",
        "IPv6 world on a database port",
        world6_on_app,
        [alb, alb_sg, app_sg, world6_on_app],
        [alb, alb_sg, app_sg, ingress("app-from-world", app_sg, 5432, "fd00::/8")],
    ),
    flip(
        "sg-world-ingress-alb-only",
        SG,
        {
            "ingress": [
                {"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["0.0.0.0/0"]}
            ]
        },
        {
            "ingress": [
                {"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["10.0.0.0/8"]}
            ]
        },
        about="inline world ingress",
    ),
    Case(
        "sg-ssh-from-bastion-only",
        "SSH from a group that is not the bastion's",
        ssh_from_app,
        [bastion_sg, app_sg, ssh_from_app],
        [bastion_sg, app_sg, ingress("app-ssh", app_sg, 22, bastion_sg)],
    ),
    Case(
        "sg-ssh-from-bastion-only",
        "SSH from addresses to a group that is not the bastion's",
        ssh_to_app_from_office,
        [bastion_sg, app_sg, ssh_to_app_from_office],
        [bastion_sg, app_sg, ingress("ssh-from-office", bastion_sg, 22, "203.0.113.0/24")],
    ),
    Case(
        "sg-ssh-from-bastion-only",
        "RDP from a group that is not the bastion's",
        rdp_from_app,
        [bastion_sg, app_sg, rdp_from_app],
        [bastion_sg, app_sg, ingress("app-rdp", app_sg, 3389, bastion_sg)],
    ),
    flip(
        "sg-rule-description",
        INGRESS,
        {"description": None},
        {"description": "HTTPS from the ALB"},
        base={"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": "10.0.0.0/16"},
    ),
    flip(
        "sg-rule-description",
        EGRESS,
        {"description": ""},
        {"description": "HTTPS to AWS APIs"},
        base={"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": "0.0.0.0/0"},
    ),
    flip(
        "sg-rule-description",
        SG,
        {
            "egress": [
                {"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["0.0.0.0/0"]}
            ]
        },
        {
            "egress": [
                {
                    "protocol": "tcp",
                    "fromPort": 443,
                    "toPort": 443,
                    "cidrBlocks": ["0.0.0.0/0"],
                    "description": "HTTPS out",
                }
            ]
        },
        about="inline rule without description",
    ),
    flip(
        "sg-rules-separate",
        SG,
        {
            "ingress": [
                {"protocol": "tcp", "fromPort": 80, "toPort": 80, "cidrBlocks": ["10.0.0.0/8"]}
            ]
        },
        {"ingress": None},
        about="inline ingress",
        base={"description": "web"},
    ),
    flip(
        "sg-ingress-single-port",
        INGRESS,
        {"ipProtocol": "-1", "fromPort": None, "toPort": None},
        {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443},
        base={"cidrIpv4": "10.0.0.0/16", "description": "from the VPC"},
    ),
    flip(
        "sg-ingress-single-port",
        INGRESS,
        {"fromPort": 8000, "toPort": 8100},
        {"fromPort": 8080, "toPort": 8080},
        base={"ipProtocol": "tcp", "cidrIpv4": "10.0.0.0/16", "description": "from the VPC"},
    ),
    flip(
        "sg-world-egress-limited",
        EGRESS,
        {"ipProtocol": "-1"},
        {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443},
        base={"cidrIpv4": "0.0.0.0/0", "description": "out"},
    ),
    flip(
        "sg-world-egress-limited",
        EGRESS,
        {"cidrIpv6": "::/0"},
        {"cidrIpv6": "fd00::/8"},
        base={"ipProtocol": "-1", "description": "out"},
    ),
    # Compute
    flip(
        "ec2-imdsv2",
        INSTANCE,
        {"metadataOptions": {"httpTokens": "optional", "httpPutResponseHopLimit": 1}},
        {"metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1}},
        about="httpTokens optional",
    ),
    flip(
        "ec2-imdsv2",
        LAUNCH_TEMPLATE,
        {"metadataOptions": None},
        {"metadataOptions": {"httpTokens": "required"}},
        about="launch template without metadata options",
    ),
    flip(
        "ec2-imds-hop-limit",
        LAUNCH_TEMPLATE,
        {"metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 2}},
        {"metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1}},
        about="hop limit 2",
    ),
    flip(
        "ec2-imds-hop-limit",
        INSTANCE,
        {"metadataOptions": {"httpTokens": "required"}},
        {"metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1}},
        about="instance with the default hop limit",
    ),
    flip(
        "ebs-encrypted",
        INSTANCE,
        {"rootBlockDevice": {"encrypted": False}},
        {"rootBlockDevice": {"encrypted": True}},
    ),
    flip(
        "ebs-encrypted",
        INSTANCE,
        {"ebsBlockDevices": [{"deviceName": "/dev/sdf", "encrypted": False}]},
        {"ebsBlockDevices": [{"deviceName": "/dev/sdf", "encrypted": True}]},
        base={"rootBlockDevice": {"encrypted": True}},
        about="an unencrypted data volume",
    ),
    flip(
        "ebs-encrypted",
        LAUNCH_TEMPLATE,
        {"blockDeviceMappings": [{"deviceName": LT_ROOT, "ebs": {"encrypted": "false"}}]},
        {"blockDeviceMappings": [ROOT_OK]},
        about="launch template root volume unencrypted",
    ),
    flip(
        "ebs-encrypted",
        LAUNCH_TEMPLATE,
        {"blockDeviceMappings": None},
        {"blockDeviceMappings": [ROOT_OK]},
        about="launch template without block device mappings",
    ),
    flip("ebs-encrypted", EBS_VOLUME, {"encrypted": False}, {"encrypted": True}, base={"size": 10}),
    flip("ec2-detailed-monitoring", INSTANCE, {"monitoring": False}, {"monitoring": True}),
    flip(
        "ec2-detailed-monitoring",
        LAUNCH_TEMPLATE,
        {"monitoring": {"enabled": False}},
        {"monitoring": {"enabled": True}},
    ),
    flip(
        "ec2-instance-profile",
        INSTANCE,
        {"iamInstanceProfile": None},
        {"iamInstanceProfile": "app-hosts"},
    ),
    flip(
        "ec2-instance-profile",
        LAUNCH_TEMPLATE,
        {"iamInstanceProfile": None},
        {"iamInstanceProfile": {"arn": "arn:aws:iam::123456789012:instance-profile/app-hosts"}},
    ),
    flip(
        "asg-elb-health-check",
        ASG,
        {"healthCheckType": "EC2"},
        {"healthCheckType": "ELB"},
        base=ASG_OK,
    ),
    flip("asg-multi-az", ASG, {"vpcZoneIdentifiers": ["subnet-a"]}, {}, base=ASG_OK),
    flip(
        "asg-launch-template",
        ASG,
        {"launchTemplate": None, "launchConfiguration": "app-lc"},
        {},
        base=ASG_OK,
    ),
    # Load balancer
    flip("alb-drop-invalid-headers", LB, {"dropInvalidHeaderFields": False}, {}, base=LB_OK),
    flip(
        "alb-modern-tls",
        LISTENER,
        {"sslPolicy": "ELBSecurityPolicy-2016-08"},
        {"sslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06"},
        base={"protocol": "HTTPS", "port": 443},
    ),
    Case(
        "alb-http-redirects",
        "HTTP forwards next to HTTPS",
        http_forwards,
        [alb, https, http_forwards],
        [
            alb,
            https,
            replace(
                http_forwards,
                props={
                    **http_forwards.props,
                    "defaultActions": [
                        {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443"}}
                    ],
                },
            ),
        ],
    ),
    flip(
        "alb-deletion-protection-prod",
        LB,
        {"enableDeletionProtection": False},
        {},
        base=LB_OK,
        stack="prod",
    ),
    flip(
        "alb-access-logs-prod",
        LB,
        {"accessLogs": {"enabled": False, "bucket": "logs"}},
        {},
        base=LB_OK,
        stack="prod",
    ),
    flip("alb-access-logs-prod", LB, {"accessLogs": None}, {}, base=LB_OK, stack="prod-eu"),
    # Database
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
    # Cache
    flip("cache-encrypted", CACHE, {"atRestEncryptionEnabled": False}, {}, base=CACHE_OK),
    flip("cache-encrypted", CACHE, {"transitEncryptionEnabled": None}, {}, base=CACHE_OK),
    flip("cache-auth", CACHE, {"authToken": None}, {}, base=CACHE_OK),
    flip(
        "cache-auth",
        CACHE,
        {"authToken": None},
        {"authToken": None, "userGroupIds": ["app"]},
        base=CACHE_OK,
        about="a user group instead of an AUTH token",
    ),
    flip("cache-failover", CACHE, {"automaticFailoverEnabled": False}, {}, base=CACHE_OK),
    flip("cache-failover", CACHE, {"multiAzEnabled": False}, {}, base=CACHE_OK),
    flip(
        "cache-failover",
        CACHE,
        {"automaticFailoverEnabled": False, "multiAzEnabled": False},
        {"automaticFailoverEnabled": False, "multiAzEnabled": False, "numCacheClusters": 1},
        base=CACHE_OK,
        about="a single node needs no failover",
    ),
    flip("cache-backups", CACHE, {"snapshotRetentionLimit": 0}, {}, base=CACHE_OK),
    # File systems and buckets
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
    # Keys, messages, secrets, logs
    flip("sns-encrypted", TOPIC, {"kmsMasterKeyId": None}, {"kmsMasterKeyId": "arn:key"}),
    flip("kms-rotation", KMS_KEY, {"enableKeyRotation": False}, {"enableKeyRotation": True}),
    flip(
        "kms-rotation",
        KMS_KEY,
        {"customerMasterKeySpec": "SYMMETRIC_DEFAULT"},
        {"customerMasterKeySpec": "RSA_2048"},
        base={"enableKeyRotation": False},
        about="rotation off; asymmetric keys are exempt",
    ),
    flip(
        "secrets-recovery-window", SECRET, {"recoveryWindowInDays": 0}, {"recoveryWindowInDays": 7}
    ),
    flip("secrets-cmk", SECRET, {"kmsKeyId": None}, {"kmsKeyId": KEY_ARN}),
    flip("secrets-cmk", SECRET, {"kmsKeyId": "alias/aws/secretsmanager"}, {"kmsKeyId": KEY_ARN}),
    flip(
        "secrets-recovery-window",
        SECRET,
        {"recoveryWindowInDays": 6},
        {"recoveryWindowInDays": None},
    ),
    flip(
        "logs-encrypted",
        LOG_GROUP,
        {"kmsKeyId": None},
        {"kmsKeyId": "arn:key"},
        base={"retentionInDays": 30},
    ),
    flip("logs-retention", LOG_GROUP, {"retentionInDays": None}, {"retentionInDays": 30}),
    flip(
        "logs-retention", LOG_GROUP, {"retentionInDays": 30}, {"retentionInDays": 90}, stack="prod"
    ),
    flip(
        "alarm-has-actions",
        ALARM,
        {"actionsEnabled": False},
        {"actionsEnabled": True},
        base={"alarmActions": ["arn:topic"]},
    ),
    flip("alarm-has-actions", ALARM, {"alarmActions": []}, {"alarmActions": ["arn:topic"]}),
    # Functions
    flip(
        "lambda-reserved-concurrency",
        FUNCTION,
        {"reservedConcurrentExecutions": None},
        {"reservedConcurrentExecutions": 2},
    ),
    flip(
        "lambda-reserved-concurrency",
        FUNCTION,
        {"reservedConcurrentExecutions": -1},
        {"reservedConcurrentExecutions": 2},
    ),
    Case(
        "lambda-log-group",
        "no log group",
        function,
        [function],
        [function, log_group("/aws/lambda/failover")],
    ),
    Case(
        "lambda-log-group",
        "log group kept forever",
        function,
        [function, log_group("/aws/lambda/failover", retention=None)],
        [function, log_group("/aws/lambda/failover")],
    ),
    Case(
        "lambda-log-group",
        "group named in loggingConfig",
        function_without_group,
        [function_without_group, log_group("/aws/lambda/custom")],
        [function_without_group, log_group("/multitier/custom")],
    ),
    flip("lambda-supported-runtime", FUNCTION, {"runtime": "python3.8"}, {"runtime": "python3.12"}),
    flip("lambda-supported-runtime", FUNCTION, {"runtime": "nodejs16.x"}, {"runtime": None}),
    flip(
        "lambda-in-vpc",
        FUNCTION,
        {"vpcConfig": None},
        {"vpcConfig": {"subnetIds": ["subnet-a"], "securityGroupIds": ["sg-fn"]}},
    ),
    flip(
        "lambda-in-vpc",
        FUNCTION,
        {"vpcConfig": {"subnetIds": [], "securityGroupIds": []}},
        {"vpcConfig": {"subnetIds": ["subnet-a"], "securityGroupIds": ["sg-fn"]}},
    ),
    # Identity
    flip(
        "iam-no-admin",
        ROLE_POLICY,
        {"policy": document(allow("*", "*"))},
        {"policy": document(allow("ec2:DescribeInstances", "*"))},
        about="Action * on Resource *",
    ),
    flip(
        "iam-no-admin",
        MANAGED_POLICY,
        {"policy": document(allow(["*"], ["*"]))},
        {"policy": document({"Effect": "Deny", "Action": ["*"], "Resource": ["*"]})},
        about="deny statements are not grants",
    ),
    flip(
        "iam-no-passrole-wildcard",
        ROLE_POLICY,
        {"policy": document(allow("iam:PassRole", "*"))},
        {"policy": document(allow("iam:PassRole", "arn:aws:iam::123456789012:role/app"))},
        about="iam:PassRole on Resource *",
    ),
    flip(
        "iam-no-passrole-wildcard",
        MANAGED_POLICY,
        {"policy": document(allow(["ec2:RunInstances", "IAM:passrole"], "*"))},
        {"policy": document(allow(["ec2:RunInstances"], "*"))},
        about="case-insensitive action",
    ),
    flip(
        "iam-no-service-wildcard",
        ROLE_POLICY,
        {"policy": document(allow("s3:*", "*"))},
        {"policy": document(allow("s3:*", "arn:aws:s3:::logs/*"))},
        about="s3:* on Resource *",
    ),
    flip(
        "iam-no-broad-managed-policies",
        ATTACHMENT,
        {"policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
        {"policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"},
        base={"role": "app"},
    ),
    flip(
        "iam-no-broad-managed-policies",
        ATTACHMENT,
        {"policyArn": "arn:aws:iam::aws:policy/AmazonS3FullAccess"},
        {"policyArn": "arn:aws:iam::123456789012:policy/AmazonS3FullAccess"},
        base={"role": "app"},
        about="a customer policy may have any name",
    ),
    # Tags
    flip(
        "tags-common",
        VPC,
        {"tags": {k: v for k, v in TAGS.items() if k != "Component"}},
        {"tags": TAGS},
        about="tag Component missing",
    ),
    Case(
        "tags-common", "no tags at all", sg_without_tags, [sg_without_tags], [res(SG, "untagged")]
    ),
    flip(
        "tags-common",
        ASG,
        {"tags": asg_tags({k: v for k, v in TAGS.items() if k != "ManagedBy"})},
        {"tags": asg_tags(TAGS)},
        base=ASG_OK,
        about="Auto Scaling group tag list",
    ),
]


# Rules over what the stack does not declare: a group of another stack, the default group.

default_sg = res(DEFAULT_SG, "main", deps={"vpcId": [vpc]}, ingress=[], egress=[])
world_on_outside_group = res(
    INGRESS,
    "from-world",
    securityGroupId="sg-0123456789abcdef0",
    ipProtocol="tcp",
    fromPort=5432,
    toPort=5432,
    cidrIpv4="0.0.0.0/0",
    description="PostgreSQL from anywhere",
)
inline_ssh_group = res(
    SG,
    "legacy",
    deps={"vpcId": [vpc]},
    tags={**TAGS, "multitier:tier": "app"},
    ingress=[{"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["10.0.0.0/8"]}],
)

CASES += [
    Case(
        "sg-world-ingress-alb-only",
        "world ingress on a group declared outside the stack",
        world_on_outside_group,
        [world_on_outside_group],
        [
            replace(
                world_on_outside_group,
                props={**world_on_outside_group.props, "cidrIpv4": "10.0.0.0/16"},
            )
        ],
    ),
    Case(
        "default-sg-no-rules",
        "a separate rule on the default group",
        default_sg,
        [default_sg, ingress("default-ssh", default_sg, 22, "10.0.0.0/16")],
        [default_sg],
    ),
    Case(
        "sg-ssh-from-bastion-only",
        "inline SSH on a group",
        inline_ssh_group,
        [inline_ssh_group],
        [replace(inline_ssh_group, props={**inline_ssh_group.props, "ingress": []})],
    ),
]


CASES += ORDER_CASES


# The table's tests


def test_every_rule_has_a_case() -> None:
    missing = sorted(set(RULE) - {c.rule for c in CASES})
    assert not missing, f"rules without a case in CASES: {missing}"


def test_cases_name_only_known_rules() -> None:
    unknown = sorted({c.rule for c in CASES} - set(RULE))
    assert not unknown, f"CASES names rules that RULES does not have: {unknown}"


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_rule_flags_the_broken_stack_and_passes_the_fixed_one(case: Case) -> None:
    rule = RULE[case.rule]
    assert rule.judges(case.flags), f"{case.rule} does not judge {case.flags.type}"
    assert key(case.flags) in {key(r) for r in case.fixed}, "the fixed stack lacks the resource"

    _, failures = judge(rule, case.broken, case.stack)
    assert failures, f"{case.rule} passes the broken stack"
    assert flagged(failures) == {key(case.flags)}, messages(failures)
    assert all(f.message for f in failures)

    judged, failures = judge(rule, case.fixed, case.stack)
    assert judged
    assert not failures, messages(failures)


@pytest.mark.parametrize(
    "case", [pytest.param(c, id=c.id) for c in CASES if not RULE[c.rule].needs_stack]
)
def test_resource_rules_need_only_the_resource(case: Case) -> None:
    """The policy pack runs these before anything else exists: the stack must not matter."""
    rule = RULE[case.rule]
    for resources in (case.broken, case.fixed):
        whole = stack(case.stack, resources)
        for resource in whole:
            if rule.judges(resource):
                alone = Stack(case.stack, [resource])
                assert list(rule.check(resource, alone)) == list(rule.check(resource, whole))


@pytest.mark.parametrize("rule_id", sorted(r.id for r in RULES if r.needs_stack))
def test_stack_rules_look_beyond_the_resource(rule_id: str) -> None:
    """Some case of each stack rule is judged differently without the rest of the stack."""
    rule = RULE[rule_id]

    def verdicts(case: Case) -> Iterator[bool]:
        for resources in (case.broken, case.fixed):
            whole = stack(case.stack, resources)
            for resource in whole:
                if rule.judges(resource):
                    alone = Stack(case.stack, [resource])
                    yield list(rule.check(resource, alone)) != list(rule.check(resource, whole))

    assert any(any(verdicts(c)) for c in CASES if c.rule == rule_id)


# Production stacks

LAX_IN_DEV = [
    (
        "alb-deletion-protection-prod",
        res(LB, "app", **{**LB_OK, "enableDeletionProtection": False}),
    ),
    ("alb-access-logs-prod", res(LB, "app", **{**LB_OK, "accessLogs": {"enabled": False}})),
    ("rds-backups", res(RDS, "db", **{**DB_OK, "backupRetentionPeriod": 1})),
    ("rds-deletion-protection-prod", res(RDS, "db", **{**DB_OK, "deletionProtection": False})),
    ("rds-multi-az-prod", res(RDS, "db", **{**DB_OK, "multiAz": False})),
    ("logs-retention", log_group("/multitier/app", retention=30)),
]


@pytest.mark.parametrize("stack_name", ["dev", "staging", "preprod", "production2"])
@pytest.mark.parametrize(("rule_id", "lax"), LAX_IN_DEV, ids=[r for r, _ in LAX_IN_DEV])
def test_production_rules_accept_the_lax_setting_elsewhere(
    rule_id: str, lax: Res, stack_name: str
) -> None:
    judged, failures = judge(RULE[rule_id], [lax], stack_name)
    assert judged
    assert not failures, messages(failures)


@pytest.mark.parametrize("stack_name", ["prod", "production", "prod-eu"])
@pytest.mark.parametrize(("rule_id", "lax"), LAX_IN_DEV, ids=[r for r, _ in LAX_IN_DEV])
def test_production_rules_refuse_the_lax_setting_in_production(
    rule_id: str, lax: Res, stack_name: str
) -> None:
    _, failures = judge(RULE[rule_id], [lax], stack_name)
    assert flagged(failures) == {key(lax)}


# Security groups

lonely_alb_sg = res(SG, "old-alb", deps={"vpcId": [vpc]}, tags={**TAGS, "multitier:tier": "alb"})
WEB = [{"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["0.0.0.0/0"]}]


@pytest.mark.parametrize(
    ("subject", "allowed"),
    [
        pytest.param(ingress("in", alb_sg, 443, "0.0.0.0/0"), True, id="HTTPS to the ALB"),
        pytest.param(ingress("in", alb_sg, 80, "0.0.0.0/0"), True, id="HTTP to the ALB"),
        pytest.param(ingress("in", alb_sg, 443, "::/0"), True, id="IPv6 HTTPS to the ALB"),
        pytest.param(
            replace(alb_sg, props={**alb_sg.props, "ingress": WEB}), True, id="inline on the ALB"
        ),
        pytest.param(ingress("in", app_sg, 443, "0.0.0.0/0"), False, id="HTTPS to app hosts"),
        pytest.param(
            replace(app_sg, props={**app_sg.props, "ingress": WEB}), False, id="inline on app"
        ),
        pytest.param(
            ingress("in", lonely_alb_sg, 443, "0.0.0.0/0"),
            False,
            id="HTTPS to a group tagged alb that no load balancer uses",
        ),
        pytest.param(ingress("in", alb_sg, 22, "0.0.0.0/0"), False, id="SSH to the ALB"),
        pytest.param(ingress("in", alb_sg, 8443, "0.0.0.0/0"), False, id="8443 to the ALB"),
        pytest.param(
            ingress("in", alb_sg, 80, "0.0.0.0/0", toPort=443), False, id="80-443 to the ALB"
        ),
        pytest.param(
            ingress("in", alb_sg, 443, "0.0.0.0/0", ipProtocol="udp"), False, id="udp to the ALB"
        ),
        pytest.param(
            ingress("in", alb_sg, 443, "0.0.0.0/0", ipProtocol="-1"),
            False,
            id="every protocol to the ALB",
        ),
        pytest.param(ingress("in", app_sg, 22, "10.0.0.0/8"), True, id="SSH from a private range"),
    ],
)
def test_only_the_load_balancers_group_admits_the_world_and_only_on_web_ports(
    subject: Res, allowed: bool
) -> None:
    groups = [g for g in (alb_sg, app_sg, lonely_alb_sg) if g.urn != subject.urn]
    judged, failures = judge(RULE["sg-world-ingress-alb-only"], [alb, *groups, subject])
    assert judged
    if allowed:
        assert not failures, messages(failures)
    else:
        assert flagged(failures) == {key(subject)}


@pytest.mark.parametrize(
    ("subject", "allowed"),
    [
        pytest.param(ingress("in", app_sg, 22, bastion_sg), True, id="SSH from the bastion"),
        pytest.param(ingress("in", app_sg, 3389, bastion_sg), True, id="RDP from the bastion"),
        pytest.param(
            ingress("in", bastion_sg, 22, "203.0.113.0/24"), True, id="SSH to the bastion"
        ),
        pytest.param(ingress("in", app_sg, 443, "10.0.0.0/16"), True, id="HTTPS from the VPC"),
        pytest.param(
            ingress("in", app_sg, 22, app_sg, ipProtocol="udp"), True, id="udp 22 from app"
        ),
        pytest.param(ingress("in", app_sg, 22, app_sg), False, id="SSH from app"),
        pytest.param(ingress("in", app_sg, 3389, app_sg), False, id="RDP from app"),
        pytest.param(ingress("in", app_sg, 22, "10.0.0.0/16"), False, id="SSH from the VPC"),
        pytest.param(
            ingress("in", app_sg, 20, app_sg, toPort=30), False, id="ports 20-30 from app"
        ),
        pytest.param(
            ingress("in", app_sg, 0, "10.0.0.0/16", ipProtocol="-1"),
            False,
            id="every protocol from the VPC",
        ),
        pytest.param(
            res(
                INGRESS,
                "in",
                deps={"securityGroupId": [app_sg]},
                ipProtocol="tcp",
                fromPort=22,
                toPort=22,
                referencedSecurityGroupId="sg-0123456789abcdef0",
                description="SSH from a group of another stack",
            ),
            False,
            id="SSH from a group outside the stack",
        ),
    ],
)
def test_ssh_and_rdp_come_only_from_the_bastion(subject: Res, allowed: bool) -> None:
    judged, failures = judge(RULE["sg-ssh-from-bastion-only"], [bastion_sg, app_sg, subject])
    assert judged == 3  # the two groups (for inline rules) and the rule
    if allowed:
        assert not failures, messages(failures)
    else:
        assert flagged(failures) == {key(subject)}


# Databases

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
    },
)


@pytest.mark.parametrize(
    "rule_id",
    ["rds-backups", "rds-deletion-protection-prod", "rds-multi-az-prod", "rds-copy-tags"],
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


# Compute


@pytest.mark.parametrize(
    ("encrypted", "ok"),
    [("true", True), ("True", True), (True, True), ("false", False), (False, False), (None, False)],
)
def test_launch_template_booleans_may_be_strings(encrypted: object, ok: bool) -> None:
    mapping = {"deviceName": LT_ROOT, "ebs": {"encrypted": encrypted, "volumeSize": 8}}
    template = res(LAUNCH_TEMPLATE, "app", blockDeviceMappings=[mapping])
    _, failures = judge(RULE["ebs-encrypted"], [template])
    assert (not failures) is ok, messages(failures)


# Tags


@pytest.mark.parametrize(
    "type_",
    [
        "aws:ec2/route:Route",
        ROLE_POLICY,
        BUCKET_POLICY,
        ATTACHMENT,
        "multitier:app:AppFleet",
        "random:index/randomPassword:RandomPassword",
    ],
)
def test_tags_common_skips_what_cannot_be_tagged(type_: str) -> None:
    judged, failures = judge(RULE["tags-common"], [res(type_, "untagged", tags=None)])
    assert (judged, failures) == (0, [])
