"""EFS file systems and mount targets as CloudFormation's EFS types.

A backup policy is a property of its file system in CloudFormation (`BackupPolicy`), so each
`BackupPolicy` is written into its file system.
"""

from __future__ import annotations

from cfncheck.fields import Block, Drop, Items, tags
from cfncheck.model import REF
from cfncheck.table import Attach, TypeMap

TYPES = (
    TypeMap(
        "aws:efs/fileSystem:FileSystem",
        "AWS::EFS::FileSystem",
        {
            "encrypted": "Encrypted",
            "kmsKeyId": "KmsKeyId",
            "performanceMode": "PerformanceMode",
            "throughputMode": "ThroughputMode",
            "provisionedThroughputInMibps": "ProvisionedThroughputInMibps",
            "lifecyclePolicies": Items(
                "LifecyclePolicies",
                {
                    "transitionToIa": "TransitionToIA",
                    "transitionToArchive": "TransitionToArchive",
                    "transitionToPrimaryStorageClass": "TransitionToPrimaryStorageClass",
                },
            ),
            "creationToken": Drop(
                "The idempotency token of the provider's CreateFileSystem call; CloudFormation "
                "makes its own."
            ),
            "tags": tags("FileSystemTags"),
        },
        refs={"id": REF, "arn": "Arn"},
    ),
    TypeMap(
        "aws:efs/mountTarget:MountTarget",
        "AWS::EFS::MountTarget",
        {
            "fileSystemId": "FileSystemId",
            "subnetId": "SubnetId",
            "securityGroups": "SecurityGroups",
            "ipAddress": "IpAddress",
        },
        refs={"id": REF},
    ),
    TypeMap(
        "aws:efs/backupPolicy:BackupPolicy",
        "AWS::EFS::FileSystem",
        {"backupPolicy": Block("BackupPolicy", {"status": "Status"})},
        attach=Attach(link="fileSystemId"),
    ),
)
