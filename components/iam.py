"""IAM documents as data, the instance role every EC2 tier uses, and the keys of secrets."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

SSM_CORE = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"


def assume_role_policy(service: str) -> str:
    """A trust policy letting one AWS service assume the role."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
            ],
        }
    )


def read_secrets(region: str, secret_arns: list[str]) -> list[dict[str, Any]]:
    """Read these Secrets Manager secrets, and decrypt them whatever KMS key encrypts them: the
    key is used only through Secrets Manager and only for these secrets."""
    return [
        {
            "Sid": "ReadSecrets",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": secret_arns,
        },
        {
            "Sid": "DecryptTheseSecrets",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": f"secretsmanager.{region}.amazonaws.com",
                    "kms:EncryptionContext:SecretARN": secret_arns,
                }
            },
        },
    ]


def kms_key(
    name: str, purpose: str, opts: pulumi.ResourceOptions, policy: str | None = None
) -> aws.kms.Key:
    """A customer managed key that rotates yearly. Without `policy`, the default key policy lets
    IAM policies of the account grant its use."""
    return aws.kms.Key(
        name,
        description=f"Encrypts {purpose}",
        enable_key_rotation=True,
        deletion_window_in_days=30,
        policy=policy,
        opts=opts,
    )


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def service_role(
    name: str, service: str, policy_json: pulumi.Input[str], opts: pulumi.ResourceOptions
) -> aws.iam.Role:
    """A role that `service` assumes, with one inline policy."""
    role = aws.iam.Role(name, assume_role_policy=assume_role_policy(service), opts=opts)
    aws.iam.RolePolicy(name, role=role.id, policy=policy_json, opts=opts)
    return role


def instance_profile(
    name: str,
    parent: pulumi.Resource,
    managed_policy_arns: Sequence[str] = (SSM_CORE,),
) -> tuple[aws.iam.Role, aws.iam.InstanceProfile]:
    """An EC2 role with the given managed policies attached, and its instance profile."""
    opts = pulumi.ResourceOptions(parent=parent)
    role = aws.iam.Role(name, assume_role_policy=assume_role_policy("ec2.amazonaws.com"), opts=opts)
    for arn in managed_policy_arns:
        short = arn.rsplit("/", 1)[-1]
        aws.iam.RolePolicyAttachment(f"{name}-{short}", role=role.name, policy_arn=arn, opts=opts)
    profile = aws.iam.InstanceProfile(name, role=role.name, opts=opts)
    return role, profile
