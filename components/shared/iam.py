"""IAM documents as data, the instance role every EC2 tier uses, and the keys of secrets."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

SSM_CORE = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
CLOUDWATCH_AGENT = "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"
# A function in a VPC: create, describe and delete its network interfaces (and write logs).
LAMBDA_VPC_ACCESS = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"


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
    name: str,
    purpose: str,
    opts: pulumi.ResourceOptions,
    policy: str | None = None,
    region: str | None = None,
) -> aws.kms.Key:
    """A customer managed key that rotates yearly, in the stack's region unless `region` says
    otherwise. Without `policy`, the default key policy lets IAM policies of the account grant
    its use."""
    return aws.kms.Key(
        name,
        description=f"Encrypts {purpose}",
        enable_key_rotation=True,
        deletion_window_in_days=30,
        policy=policy,
        region=region,
        opts=opts,
    )


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


class Role:
    """An IAM role and the grants that give it its permissions (inline policies and managed
    policy attachments). What acts through the role waits for `ready`: AWS evaluates a role's
    permissions when it is used, and a grant created in parallel may not exist yet."""

    def __init__(
        self,
        name: str,
        service: str,
        opts: pulumi.ResourceOptions,
        managed_policy_arns: Sequence[str] = (),
    ) -> None:
        self._name = name
        self._opts = opts
        self.role = aws.iam.Role(name, assume_role_policy=assume_role_policy(service), opts=opts)
        self.grants: list[pulumi.Resource] = []
        for arn in managed_policy_arns:
            short = arn.rsplit("/", 1)[-1]
            self.grants.append(
                aws.iam.RolePolicyAttachment(
                    f"{name}-{short}", role=self.role.name, policy_arn=arn, opts=opts
                )
            )

    @property
    def arn(self) -> pulumi.Output[str]:
        return self.role.arn

    def allow(self, policy_json: pulumi.Input[str], name: str | None = None) -> None:
        """Add an inline policy (named after the role unless `name` says otherwise)."""
        self.grants.append(
            aws.iam.RolePolicy(
                name or self._name, role=self.role.id, policy=policy_json, opts=self._opts
            )
        )

    @property
    def ready(self) -> list[pulumi.Resource]:
        """Depend on these before acting through the role."""
        return [self.role, *self.grants]


def service_role(
    name: str, service: str, policy_json: pulumi.Input[str], opts: pulumi.ResourceOptions
) -> Role:
    """A role that `service` assumes, with one inline policy."""
    role = Role(name, service, opts)
    role.allow(policy_json)
    return role


class InstanceRole(Role):
    """An EC2 role with managed policies attached and its instance profile. Launch templates and
    instances name `profile` and wait for `ready` (the profile and every grant)."""

    def __init__(
        self,
        name: str,
        opts: pulumi.ResourceOptions,
        managed_policy_arns: Sequence[str] = (SSM_CORE,),
    ) -> None:
        super().__init__(name, "ec2.amazonaws.com", opts, managed_policy_arns)
        self.profile = aws.iam.InstanceProfile(name, role=self.role.name, opts=opts)

    @property
    def ready(self) -> list[pulumi.Resource]:
        return [self.profile, *super().ready]
