"""IAM roles, their policies and instance profiles as CloudFormation's IAM types.

A managed policy attachment is no resource in CloudFormation: it is an entry of the role's
`ManagedPolicyArns`, so each `RolePolicyAttachment` is written into its role.
"""

from __future__ import annotations

from cfncheck.fields import NAME_PREFIX, Custom, Drop, Items, tags
from cfncheck.model import REF
from cfncheck.table import Attach, TypeMap

TYPES = (
    TypeMap(
        "aws:iam/role:Role",
        "AWS::IAM::Role",
        {
            "name": "RoleName",
            "namePrefix": NAME_PREFIX,
            "path": "Path",
            "description": "Description",
            "assumeRolePolicy": "AssumeRolePolicyDocument",
            "managedPolicyArns": "ManagedPolicyArns",
            "inlinePolicies": Items("Policies", {"name": "PolicyName", "policy": "PolicyDocument"}),
            "maxSessionDuration": "MaxSessionDuration",
            "permissionsBoundary": "PermissionsBoundary",
            "forceDetachPolicies": Drop(
                "Provider behaviour on delete: detach policies first. CloudFormation deletes the "
                "policies it attached itself."
            ),
            "tags": tags(),
        },
        refs={"id": REF, "name": REF, "arn": "Arn", "uniqueId": "RoleId"},
    ),
    TypeMap(
        "aws:iam/rolePolicy:RolePolicy",
        "AWS::IAM::RolePolicy",
        {
            "name": "PolicyName",
            "namePrefix": NAME_PREFIX,
            "role": "RoleName",
            "policy": "PolicyDocument",
        },
        required_name="PolicyName",
    ),
    TypeMap(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "AWS::IAM::Role",
        {"policyArn": "ManagedPolicyArns[]"},
        attach=Attach(link="role"),
    ),
    TypeMap(
        "aws:iam/instanceProfile:InstanceProfile",
        "AWS::IAM::InstanceProfile",
        {
            "name": "InstanceProfileName",
            "namePrefix": NAME_PREFIX,
            "path": "Path",
            "role": Custom(lambda value, ctx: ctx.emit("Roles", [value])),
            "tags": Drop(
                "CloudFormation's AWS::IAM::InstanceProfile has no Tags; IAM tags an instance "
                "profile only through its TagInstanceProfile API, which the provider calls."
            ),
        },
        refs={"id": REF, "name": REF, "arn": "Arn"},
    ),
)
