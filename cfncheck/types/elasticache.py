"""ElastiCache replication groups and subnet groups as CloudFormation's ElastiCache types."""

from __future__ import annotations

from cfncheck.fields import Drop, tags
from cfncheck.model import REF
from cfncheck.table import TypeMap

TYPES = (
    TypeMap(
        "aws:elasticache/replicationGroup:ReplicationGroup",
        "AWS::ElastiCache::ReplicationGroup",
        {
            "replicationGroupId": "ReplicationGroupId",
            "description": "ReplicationGroupDescription",
            "engine": "Engine",
            "engineVersion": "EngineVersion",
            "nodeType": "CacheNodeType",
            "numCacheClusters": "NumCacheClusters",
            "port": "Port",
            "parameterGroupName": "CacheParameterGroupName",
            "subnetGroupName": "CacheSubnetGroupName",
            "securityGroupIds": "SecurityGroupIds",
            "preferredCacheClusterAzs": "PreferredCacheClusterAZs",
            "automaticFailoverEnabled": "AutomaticFailoverEnabled",
            "multiAzEnabled": "MultiAZEnabled",
            "atRestEncryptionEnabled": "AtRestEncryptionEnabled",
            "transitEncryptionEnabled": "TransitEncryptionEnabled",
            "kmsKeyId": "KmsKeyId",
            "authToken": "AuthToken",
            "autoMinorVersionUpgrade": "AutoMinorVersionUpgrade",
            "snapshotRetentionLimit": "SnapshotRetentionLimit",
            "snapshotWindow": "SnapshotWindow",
            "maintenanceWindow": "PreferredMaintenanceWindow",
            "notificationTopicArn": "NotificationTopicArn",
            "applyImmediately": Drop(
                "Provider option: apply changes now rather than in the maintenance window; "
                "CloudFormation applies them as it updates the stack."
            ),
            "finalSnapshotIdentifier": Drop(
                "CloudFormation takes the final snapshot through the DeletionPolicy attribute."
            ),
            "tags": tags(),
        },
        refs={
            "id": REF,
            "replicationGroupId": REF,
            "primaryEndpointAddress": "PrimaryEndPoint.Address",
            "readerEndpointAddress": "ReaderEndPoint.Address",
        },
    ),
    TypeMap(
        "aws:elasticache/subnetGroup:SubnetGroup",
        "AWS::ElastiCache::SubnetGroup",
        {
            "name": "CacheSubnetGroupName",
            "description": "Description",
            "subnetIds": "SubnetIds",
            "tags": tags(),
        },
        refs={"id": REF, "name": REF},
    ),
)
