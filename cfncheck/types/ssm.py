"""SSM parameters as AWS::SSM::Parameter (whose Tags are a map, not a list)."""

from __future__ import annotations

from cfncheck.fields import Drop
from cfncheck.model import REF
from cfncheck.table import TypeMap

TYPES = (
    TypeMap(
        "aws:ssm/parameter:Parameter",
        "AWS::SSM::Parameter",
        {
            "name": "Name",
            "type": "Type",
            "value": "Value",
            "description": "Description",
            "tier": "Tier",
            "dataType": "DataType",
            "allowedPattern": "AllowedPattern",
            "overwrite": Drop("Provider behaviour: overwrite a parameter that already exists."),
            "tags": "Tags",
        },
        refs={"id": REF, "name": REF, "arn": "Arn"},
    ),
)
