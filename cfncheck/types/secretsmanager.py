"""Secrets Manager secrets and their values as AWS::SecretsManager::Secret.

A secret version is no resource in CloudFormation: its value is the secret's `SecretString`, so
each `SecretVersion` is written into its secret.
"""

from __future__ import annotations

from cfncheck.fields import NAME_PREFIX, Drop, tags
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
)
