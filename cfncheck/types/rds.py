"""RDS instances, parameter groups and subnet groups as CloudFormation's RDS types.

CloudFormation takes a final snapshot through the `DeletionPolicy: Snapshot` attribute and names it
itself; the provider's final-snapshot inputs are listed as having no equivalent, with that reason.
"""

from __future__ import annotations

from typing import Any

from cfncheck.fields import NAME_PREFIX, Ctx, Custom, Drop, Emitted, To, convert, tags, text
from cfncheck.model import REF
from cfncheck.table import TypeMap

_SNAPSHOT = Drop(
    "CloudFormation takes the final snapshot through the DeletionPolicy attribute (Snapshot) "
    "and names it itself."
)
_INHERITED = Drop(
    "On a read replica: it inherits encryption from its source. The provider sends no "
    "StorageEncrypted with CreateDBInstanceReadReplica (the API has none), and CloudFormation "
    "refuses the property next to SourceDBInstanceIdentifier."
)
_APPLY_METHOD = Drop(
    "CloudFormation applies each parameter as its type requires (dynamic at once, static at the "
    "next reboot); RDS decides, not the template."
)


_BLUE_GREEN = Drop(
    "CloudFormation updates an instance in place or replaces it; a blue/green deployment is an "
    "RDS API of its own (CreateBlueGreenDeployment, SwitchoverBlueGreenDeployment), which the "
    "provider calls around the update."
)
_RESTORED_ENCRYPTION = Drop(
    "On a restored instance: it inherits encryption from its backup. The provider sends no "
    "StorageEncrypted with RestoreDBInstanceFromDBSnapshot or RestoreDBInstanceToPointInTime "
    "(the APIs have none), and CloudFormation refuses the property next to "
    "SourceDBInstanceIdentifier."
)
_RESTORED_PASSWORD = Drop(
    "On a restored instance: the provider sets the master password after the restore, with "
    "ModifyDBInstance; CloudFormation refuses it next to SourceDBInstanceIdentifier."
)


def _restored(ctx: Ctx) -> bool:
    return "restoreToPointInTime" in ctx.inputs or "snapshotIdentifier" in ctx.inputs


def _storage_encrypted(value: Any, ctx: Ctx) -> list[Emitted]:
    if "replicateSourceDb" in ctx.inputs:
        return _INHERITED(value, ctx)
    if _restored(ctx):
        return _RESTORED_ENCRYPTION(value, ctx)
    return ctx.emit("StorageEncrypted", value)


def _password(value: Any, ctx: Ctx) -> list[Emitted]:
    if _restored(ctx):
        return _RESTORED_PASSWORD(value, ctx)
    return ctx.emit("MasterUserPassword", value)


def _point_in_time(value: Any, ctx: Ctx) -> list[Emitted]:
    """The provider's restore block is flat properties in CloudFormation."""
    emitted: list[Emitted] = []
    names = {
        "sourceDbInstanceIdentifier": "SourceDBInstanceIdentifier",
        "sourceDbiResourceId": "SourceDbiResourceId",
        "sourceDbInstanceAutomatedBackupsArn": "SourceDBInstanceAutomatedBackupsArn",
        "restoreTime": "RestoreTime",
        "useLatestRestorableTime": "UseLatestRestorableTime",
    }
    for key, item in (value or {}).items():
        emitted += ctx.at(key).emit(names[key], item)
    return emitted


def _parameters(value: Any, ctx: Ctx) -> list[Emitted]:
    parameters = {}
    for index, parameter in enumerate(value or []):
        here = ctx.at(index)
        for key in parameter:
            if key not in ("name", "value"):
                convert(_APPLY_METHOD if key == "applyMethod" else None, None, here.at(key))
        parameters[parameter["name"]] = parameter["value"]
    return ctx.emit("Parameters", parameters)


TYPES = (
    TypeMap(
        "aws:rds/instance:Instance",
        "AWS::RDS::DBInstance",
        {
            "identifier": "DBInstanceIdentifier",
            "identifierPrefix": NAME_PREFIX,
            "engine": "Engine",
            "engineVersion": "EngineVersion",
            "instanceClass": "DBInstanceClass",
            "replicateSourceDb": "SourceDBInstanceIdentifier",
            "dbName": "DBName",
            "snapshotIdentifier": "DBSnapshotIdentifier",
            "restoreToPointInTime": Custom(_point_in_time),
            "username": "MasterUsername",
            "password": Custom(_password),
            "manageMasterUserPassword": "ManageMasterUserPassword",
            "masterUserSecretKmsKeyId": "MasterUserSecret/KmsKeyId",
            "dbSubnetGroupName": "DBSubnetGroupName",
            "parameterGroupName": "DBParameterGroupName",
            "optionGroupName": "OptionGroupName",
            "vpcSecurityGroupIds": "VPCSecurityGroups",
            "availabilityZone": "AvailabilityZone",
            "multiAz": "MultiAZ",
            "port": To("Port", text),
            "networkType": "NetworkType",
            "publiclyAccessible": "PubliclyAccessible",
            "storageType": "StorageType",
            "allocatedStorage": To("AllocatedStorage", text),
            "maxAllocatedStorage": "MaxAllocatedStorage",
            "iops": "Iops",
            "storageThroughput": "StorageThroughput",
            "storageEncrypted": Custom(_storage_encrypted),
            "kmsKeyId": "KmsKeyId",
            "caCertIdentifier": "CACertificateIdentifier",
            "iamDatabaseAuthenticationEnabled": "EnableIAMDatabaseAuthentication",
            "autoMinorVersionUpgrade": "AutoMinorVersionUpgrade",
            "allowMajorVersionUpgrade": "AllowMajorVersionUpgrade",
            "applyImmediately": "ApplyImmediately",
            "backupRetentionPeriod": "BackupRetentionPeriod",
            "backupWindow": "PreferredBackupWindow",
            "maintenanceWindow": "PreferredMaintenanceWindow",
            "copyTagsToSnapshot": "CopyTagsToSnapshot",
            "deleteAutomatedBackups": "DeleteAutomatedBackups",
            "deletionProtection": "DeletionProtection",
            "blueGreenUpdate": _BLUE_GREEN,
            "skipFinalSnapshot": _SNAPSHOT,
            "finalSnapshotIdentifier": _SNAPSHOT,
            "enabledCloudwatchLogsExports": "EnableCloudwatchLogsExports",
            "monitoringInterval": "MonitoringInterval",
            "monitoringRoleArn": "MonitoringRoleArn",
            "performanceInsightsEnabled": "EnablePerformanceInsights",
            "performanceInsightsRetentionPeriod": "PerformanceInsightsRetentionPeriod",
            "performanceInsightsKmsKeyId": "PerformanceInsightsKMSKeyId",
            "tags": tags(),
        },
        refs={
            "identifier": REF,
            "id": "DbiResourceId",
            "resourceId": "DbiResourceId",
            "arn": "DBInstanceArn",
            "address": "Endpoint.Address",
            "port": "Endpoint.Port",
            "masterUserSecrets.0.secretArn": "MasterUserSecret.SecretArn",
        },
    ),
    TypeMap(
        "aws:rds/parameterGroup:ParameterGroup",
        "AWS::RDS::DBParameterGroup",
        {
            "name": "DBParameterGroupName",
            "namePrefix": NAME_PREFIX,
            "family": "Family",
            "description": "Description",
            "parameters": Custom(_parameters),
            "tags": tags(),
        },
        refs={"id": REF, "name": REF, "arn": "DBParameterGroupArn"},
    ),
    TypeMap(
        "aws:rds/subnetGroup:SubnetGroup",
        "AWS::RDS::DBSubnetGroup",
        {
            "name": "DBSubnetGroupName",
            "namePrefix": NAME_PREFIX,
            "description": "DBSubnetGroupDescription",
            "subnetIds": "SubnetIds",
            "tags": tags(),
        },
        refs={"id": REF, "name": REF, "arn": "DBSubnetGroupArn"},
    ),
)
