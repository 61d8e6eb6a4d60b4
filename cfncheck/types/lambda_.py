"""Lambda functions and their permissions as AWS::Lambda::Function and AWS::Lambda::Permission."""

from __future__ import annotations

from typing import Any

from cfncheck.fields import Block, Ctx, Custom, Drop, Emitted, Items, tags
from cfncheck.model import REF
from cfncheck.table import TypeMap


def _code(value: Any, ctx: Ctx) -> list[Emitted]:
    # Pulumi sends the archive's bytes in the CreateFunction call; a template names an S3 object
    # instead. A placeholder object stands in: the code itself is no property to judge.
    return ctx.emit(
        "Code", {"S3Bucket": "multitier-artifacts", "S3Key": f"{ctx.resource.name}.zip"}
    )


TYPES = (
    TypeMap(
        "aws:lambda/function:Function",
        "AWS::Lambda::Function",
        {
            "name": "FunctionName",
            "description": "Description",
            "code": Custom(_code),
            "sourceCodeHash": Drop(
                "The provider's change detector for the archive; CloudFormation compares the "
                "S3 object it names."
            ),
            "handler": "Handler",
            "runtime": "Runtime",
            "architectures": "Architectures",
            "role": "Role",
            "memorySize": "MemorySize",
            "timeout": "Timeout",
            "reservedConcurrentExecutions": "ReservedConcurrentExecutions",
            "environment": Block("Environment", {"variables": "Variables"}),
            "loggingConfig": Block(
                "LoggingConfig",
                {
                    "logFormat": "LogFormat",
                    "logGroup": "LogGroup",
                    "applicationLogLevel": "ApplicationLogLevel",
                    "systemLogLevel": "SystemLogLevel",
                },
            ),
            "vpcConfig": Block(
                "VpcConfig", {"subnetIds": "SubnetIds", "securityGroupIds": "SecurityGroupIds"}
            ),
            "tracingConfig": Block("TracingConfig", {"mode": "Mode"}),
            "kmsKeyArn": "KmsKeyArn",
            "layers": "Layers",
            "tags": tags(),
        },
        refs={"id": REF, "name": REF, "arn": "Arn"},
    ),
    TypeMap(
        "aws:lambda/permission:Permission",
        "AWS::Lambda::Permission",
        {
            "action": "Action",
            "function": "FunctionName",
            "principal": "Principal",
            "sourceArn": "SourceArn",
            "sourceAccount": "SourceAccount",
            "statementId": Drop(
                "CloudFormation names the policy statement itself (Id is read-only)."
            ),
            "statementIdPrefix": Drop("CloudFormation names the policy statement itself."),
        },
        refs={"id": REF},
    ),
    TypeMap(
        "aws:lambda/eventSourceMapping:EventSourceMapping",
        "AWS::Lambda::EventSourceMapping",
        {
            "eventSourceArn": "EventSourceArn",
            "functionName": "FunctionName",
            "startingPosition": "StartingPosition",
            "batchSize": "BatchSize",
            "maximumBatchingWindowInSeconds": "MaximumBatchingWindowInSeconds",
            "maximumRetryAttempts": "MaximumRetryAttempts",
            "maximumRecordAgeInSeconds": "MaximumRecordAgeInSeconds",
            "bisectBatchOnFunctionError": "BisectBatchOnFunctionError",
            "parallelizationFactor": "ParallelizationFactor",
            "enabled": "Enabled",
            "filterCriteria": Block(
                "FilterCriteria", {"filters": Items("Filters", {"pattern": "Pattern"})}
            ),
            "tags": tags(),
        },
        refs={"id": REF, "uuid": REF, "arn": "EventSourceMappingArn"},
    ),
)
