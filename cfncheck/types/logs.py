"""CloudWatch Logs log groups (Pulumi's `aws:cloudwatch/logGroup`) as AWS::Logs::LogGroup."""

from __future__ import annotations

from cfncheck.fields import NAME_PREFIX, Drop, tags
from cfncheck.model import REF
from cfncheck.table import TypeMap

TYPES = (
    TypeMap(
        "aws:cloudwatch/logGroup:LogGroup",
        "AWS::Logs::LogGroup",
        {
            "name": "LogGroupName",
            "namePrefix": NAME_PREFIX,
            "retentionInDays": "RetentionInDays",
            "kmsKeyId": "KmsKeyId",
            "logGroupClass": "LogGroupClass",
            "skipDestroy": Drop(
                "Provider behaviour on delete: keep the group. CloudFormation does it with the "
                "DeletionPolicy attribute (Retain)."
            ),
            "tags": tags(),
        },
        refs={"id": REF, "name": REF, "arn": "Arn"},
    ),
)
