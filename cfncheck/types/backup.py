"""AWS Backup vaults, plans and selections as CloudFormation's Backup types.

The provider's plan and selection are flat; CloudFormation nests them in one property
(`BackupPlan`, `BackupSelection`). Tags of a vault and a plan are maps there, not lists.
"""

from __future__ import annotations

from cfncheck.fields import Block, Items, To
from cfncheck.model import REF
from cfncheck.table import TypeMap

_LIFECYCLE = {
    "deleteAfter": "DeleteAfterDays",
    "coldStorageAfter": "MoveToColdStorageAfterDays",
    "optInToArchiveForSupportedResources": "OptInToArchiveForSupportedResources",
}

TYPES = (
    TypeMap(
        "aws:backup/vault:Vault",
        "AWS::Backup::BackupVault",
        {
            "name": "BackupVaultName",
            "kmsKeyArn": "EncryptionKeyArn",
            "tags": To("BackupVaultTags"),
        },
        refs={"id": REF, "name": REF, "arn": "BackupVaultArn"},
        required_name="BackupVaultName",
    ),
    TypeMap(
        "aws:backup/plan:Plan",
        "AWS::Backup::BackupPlan",
        {
            "name": "BackupPlan/BackupPlanName",
            "rules": Items(
                "BackupPlan/BackupPlanRule",
                {
                    "ruleName": "RuleName",
                    "targetVaultName": "TargetBackupVault",
                    "schedule": "ScheduleExpression",
                    "scheduleExpressionTimezone": "ScheduleExpressionTimezone",
                    "startWindow": "StartWindowMinutes",
                    "completionWindow": "CompletionWindowMinutes",
                    "enableContinuousBackup": "EnableContinuousBackup",
                    "recoveryPointTags": "RecoveryPointTags",
                    "lifecycle": Block("Lifecycle", _LIFECYCLE),
                    "copyActions": Items(
                        "CopyActions",
                        {
                            "destinationVaultArn": "DestinationBackupVaultArn",
                            "lifecycle": Block("Lifecycle", _LIFECYCLE),
                        },
                    ),
                },
            ),
            "tags": To("BackupPlanTags"),
        },
        refs={"id": REF, "arn": "BackupPlanArn", "version": "VersionId"},
        required_name="BackupPlan/BackupPlanName",
    ),
    TypeMap(
        "aws:backup/selection:Selection",
        "AWS::Backup::BackupSelection",
        {
            "planId": "BackupPlanId",
            "name": "BackupSelection/SelectionName",
            "iamRoleArn": "BackupSelection/IamRoleArn",
            "resources": "BackupSelection/Resources",
            "notResources": "BackupSelection/NotResources",
        },
        refs={"id": REF},
        required_name="BackupSelection/SelectionName",
    ),
)
