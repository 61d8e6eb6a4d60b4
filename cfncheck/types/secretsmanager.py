"""Secrets Manager secrets and their values as AWS::SecretsManager::Secret, and their rotation
schedules as AWS::SecretsManager::RotationSchedule.

A secret version is no resource in CloudFormation: its value is the secret's `SecretString`, so
each `SecretVersion` is written into its secret.

A rotation's `rotateImmediately` is the schedule's `RotateImmediatelyOnUpdate`: both are what
Secrets Manager's RotateSecret takes as `RotateImmediately`, and both default to true. False (as
the program sets it) makes Secrets Manager run only the function's testSecret step when rotation
is set up, and rotate on schedule. CloudFormation's name says "on update", but it passes the
value whenever it sets rotation up, a new schedule included (AWS CDK exposes it on a new schedule
for that purpose).
"""

from __future__ import annotations

from cfncheck.fields import NAME_PREFIX, Block, Drop, Items, tags
from cfncheck.model import REF
from cfncheck.table import Attach, TypeMap

TYPES = (
    TypeMap(
        "aws:secretsmanager/secret:Secret",
        "AWS::SecretsManager::Secret",
        {
            "name": "Name",
            "namePrefix": NAME_PREFIX,
            "description": "Description",
            "kmsKeyId": "KmsKeyId",
            "recoveryWindowInDays": Drop(
                "CloudFormation deletes a secret with the default recovery window (30 days); it "
                "has no property for it."
            ),
            "tags": tags(),
        },
        refs={"id": REF, "arn": REF},
    ),
    TypeMap(
        "aws:secretsmanager/secretVersion:SecretVersion",
        "AWS::SecretsManager::Secret",
        {
            "secretString": "SecretString",
            "versionStages": Drop("CloudFormation labels the version it writes AWSCURRENT."),
        },
        attach=Attach(link="secretId"),
    ),
    TypeMap(
        "aws:secretsmanager/secretRotation:SecretRotation",
        "AWS::SecretsManager::RotationSchedule",
        {
            "secretId": "SecretId",
            "rotationLambdaArn": "RotationLambdaARN",
            "rotationRules": Block(
                "RotationRules",
                {
                    "automaticallyAfterDays": "AutomaticallyAfterDays",
                    "duration": "Duration",
                    "scheduleExpression": "ScheduleExpression",
                },
            ),
            "rotateImmediately": "RotateImmediatelyOnUpdate",
            "rotationEnabled": Drop(
                "CloudFormation has no switch: a RotationSchedule turns rotation on, and "
                "deleting it turns rotation off (CancelRotateSecret)."
            ),
            "externalSecretRotationMetadatas": Items(
                "ExternalSecretRotationMetadata", {"key": "Key", "value": "Value"}
            ),
            "externalSecretRotationRoleArn": "ExternalSecretRotationRoleArn",
        },
        # Ref gives the secret's ARN, as the provider's id does.
        refs={"id": REF},
    ),
)
