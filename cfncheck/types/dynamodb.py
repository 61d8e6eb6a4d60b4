"""DynamoDB tables as AWS::DynamoDB::Table (the provider's `hashKey` is a KeySchema entry)."""

from __future__ import annotations

from typing import Any

from cfncheck.fields import Ctx, Custom, Drop, Emitted, Items, tags
from cfncheck.model import REF
from cfncheck.table import TypeMap


def _key(kind: str) -> Custom:
    def convert(value: Any, ctx: Ctx) -> list[Emitted]:
        return ctx.emit("KeySchema[]", {"AttributeName": value, "KeyType": kind})

    return Custom(convert)


TYPES = (
    TypeMap(
        "aws:dynamodb/table:Table",
        "AWS::DynamoDB::Table",
        {
            "name": "TableName",
            "attributes": Items(
                "AttributeDefinitions", {"name": "AttributeName", "type": "AttributeType"}
            ),
            "hashKey": _key("HASH"),
            "rangeKey": _key("RANGE"),
            "billingMode": "BillingMode",
            "deletionProtectionEnabled": "DeletionProtectionEnabled",
            "tableClass": "TableClass",
            "streamEnabled": Drop(
                "CloudFormation enables a stream by giving StreamSpecification, rendered from "
                "streamViewType."
            ),
            "streamViewType": "StreamSpecification/StreamViewType",
            "tags": tags(),
        },
        refs={"id": REF, "name": REF, "arn": "Arn", "streamArn": "StreamArn"},
    ),
)
