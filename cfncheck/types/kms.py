"""KMS keys as CloudFormation's AWS::KMS::Key."""

from __future__ import annotations

from cfncheck.fields import tags
from cfncheck.model import REF
from cfncheck.table import TypeMap

TYPES = (
    TypeMap(
        "aws:kms/key:Key",
        "AWS::KMS::Key",
        {
            "description": "Description",
            "keyUsage": "KeyUsage",
            "customerMasterKeySpec": "KeySpec",
            "isEnabled": "Enabled",
            "multiRegion": "MultiRegion",
            "enableKeyRotation": "EnableKeyRotation",
            "rotationPeriodInDays": "RotationPeriodInDays",
            "deletionWindowInDays": "PendingWindowInDays",
            "policy": "KeyPolicy",
            "bypassPolicyLockoutSafetyCheck": "BypassPolicyLockoutSafetyCheck",
            "tags": tags(),
        },
        refs={"id": REF, "keyId": REF, "arn": "Arn"},
    ),
)
