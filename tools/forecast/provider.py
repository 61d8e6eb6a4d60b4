"""Where the provider's force-new differs from CloudFormation's create-only, each with its source.

CloudFormation's schemas say what AWS cannot change in place; Pulumi's AWS provider (Terraform's,
bridged) decides what `pulumi up` replaces, and the two disagree in places: the provider replaces
an instance whose user data changed when asked to, updates a security-group rule's port in
place where CloudFormation replaces the rule, and has resources CloudFormation writes as
properties of another (a role's policy attachment, a bucket's encryption) or has no equivalent
for (random, tls). An input a rule here names is judged by the rule; every other input by the
schemas (schemas.py), or, for the types with no CloudFormation resource of their own, is
updated in place. tests/test_forecast.py holds that each rule names a type and an input the
installed provider has.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from policy.types import (
    ATTACHMENT,
    BUCKET_LIFECYCLE,
    BUCKET_OWNERSHIP,
    BUCKET_PAB,
    BUCKET_SSE,
    DEFAULT_SG,
    DYNAMODB_TABLE,
    EFS_BACKUP,
    EGRESS,
    EIP,
    EVENT_TARGET,
    INGRESS,
    INSTANCE,
    INVOCATION,
    RANDOM_ID,
    RANDOM_PASSWORD,
    ROUTE_TABLE_ASSOCIATION,
    SECRET_VERSION,
    TLS_CERT_REQUEST,
    TLS_LOCALLY_SIGNED_CERT,
    TLS_PRIVATE_KEY,
    TLS_SELF_SIGNED_CERT,
)

EVERY = "*"
"""A rule's input that stands for every input of the type."""

_TF = "https://github.com/hashicorp/terraform-provider-aws/blob/main/internal/service/"
_PULUMI_AWS = ".venv/lib/python3.11/site-packages/pulumi_aws/"

Inputs = Mapping[str, Any]


class Effect(StrEnum):
    REPLACES = "replaces"
    IN_PLACE = "updates in place"


@dataclass(frozen=True)
class Rule:
    type: str
    inputs: tuple[str, ...]
    """Input paths (`rootBlockDevice.encrypted`), or EVERY."""
    effect: Effect
    source: str
    """Where the provider says so: a URL to its code, or a line of its documentation."""
    when: Callable[[Inputs, Inputs], bool] | None = None
    """Only when this holds of the old and new inputs; `condition` says it in words."""
    condition: str = ""

    def covers(self, path: str) -> bool:
        return any(i in (EVERY, path) or path.startswith(f"{i}.") for i in self.inputs)

    def reason(self) -> str:
        condition = f" {self.condition}" if self.condition else ""
        return f"the provider {self.effect}{condition}"


_RULE_SOURCES = ("cidrIpv4", "cidrIpv6", "referencedSecurityGroupId", "prefixListId")


def _source_switched(old: Inputs, new: Inputs) -> bool:
    """A rule's source changed kind (a CIDR for a group): AWS cannot modify that in place."""
    return {k for k in _RULE_SOURCES if old.get(k)} != {k for k in _RULE_SOURCES if new.get(k)}


def _replace_on_change(old: Inputs, new: Inputs) -> bool:
    return bool(new.get("userDataReplaceOnChange"))


def _security_group_rules() -> tuple[Rule, ...]:
    source = f"{_TF}ec2/vpc_security_group_ingress_rule.go"
    rules = []
    for type_ in (INGRESS, EGRESS):
        rules += [
            Rule(
                type_,
                _RULE_SOURCES,
                Effect.REPLACES,
                f"{source}: ModifyPlan, `you cannot change the rule's source type`",
                when=_source_switched,
                condition="when the rule's source changes kind",
            ),
            Rule(
                type_,
                (*_RULE_SOURCES, "fromPort", "toPort", "ipProtocol", "description"),
                Effect.IN_PLACE,
                f"{source}: only security_group_id RequiresReplace; Update calls "
                "ModifySecurityGroupRules",
            ),
        ]
    return tuple(rules)


def _attached(type_: str, link: str, path: str) -> Rule:
    """A resource CloudFormation writes into its host: naming another host replaces it."""
    return Rule(type_, (link,), Effect.REPLACES, f"{_TF}{path}: `{link}` is ForceNew")


RULES: tuple[Rule, ...] = (
    Rule(
        INSTANCE,
        ("userData", "userDataBase64"),
        Effect.REPLACES,
        f"{_PULUMI_AWS}ec2/instance.py, user_data_replace_on_change: `will trigger a destroy "
        "and recreate of the EC2 instance when set to true`",
        when=_replace_on_change,
        condition="when userDataReplaceOnChange is set",
    ),
    Rule(
        INSTANCE,
        ("rootBlockDevice.encrypted", "rootBlockDevice.kmsKeyId"),
        Effect.REPLACES,
        f"{_TF}ec2/ec2_instance.go: root_block_device encrypted and kms_key_id are ForceNew",
    ),
    Rule(
        INSTANCE,
        ("vpcSecurityGroupIds",),
        Effect.IN_PLACE,
        f"{_TF}ec2/ec2_instance.go: vpc_security_group_ids is not ForceNew (CloudFormation "
        "writes the groups into NetworkInterfaces, create-only, when a public address is asked)",
    ),
    Rule(
        ROUTE_TABLE_ASSOCIATION,
        ("routeTableId",),
        Effect.IN_PLACE,
        f"{_TF}ec2/vpc_route_table_association.go: route_table_id is not ForceNew; Update calls "
        "ReplaceRouteTableAssociation",
    ),
    *_security_group_rules(),
    Rule(EIP, ("domain",), Effect.REPLACES, f"{_TF}ec2/ec2_eip.go: `domain` is ForceNew"),
    Rule(
        DYNAMODB_TABLE,
        ("hashKey", "rangeKey"),
        Effect.REPLACES,
        f"{_TF}dynamodb/table.go: hash_key and range_key are ForceNew",
    ),
    Rule(
        SECRET_VERSION,
        ("secretId", "secretString", "secretBinary"),
        Effect.REPLACES,
        f"{_TF}secretsmanager/secret_version.go: secret_id, secret_string, secret_binary are "
        "ForceNew",
    ),
    Rule(
        ATTACHMENT,
        ("role", "policyArn"),
        Effect.REPLACES,
        f"{_TF}iam/role_policy_attachment.go: role and policy_arn are ForceNew (no Update)",
    ),
    _attached(BUCKET_PAB, "bucket", "s3/bucket_public_access_block.go"),
    _attached(BUCKET_SSE, "bucket", "s3/bucket_server_side_encryption_configuration.go"),
    _attached(BUCKET_OWNERSHIP, "bucket", "s3/bucket_ownership_controls.go"),
    _attached(BUCKET_LIFECYCLE, "bucket", "s3/bucket_lifecycle_configuration.go"),
    _attached(EFS_BACKUP, "fileSystemId", "efs/backup_policy.go"),
    Rule(
        EVENT_TARGET,
        ("rule", "targetId", "eventBusName"),
        Effect.REPLACES,
        f"{_TF}events/target.go: rule, target_id and event_bus_name are ForceNew",
    ),
    _attached(DEFAULT_SG, "vpcId", "ec2/vpc_default_security_group.go"),
    Rule(
        INVOCATION,
        ("functionName", "input", "qualifier", "triggers"),
        Effect.REPLACES,
        f"{_PULUMI_AWS}lambda_/invocation.py: `By default this resource _only_ invokes the "
        "function when the arguments call for a create or replace`",
    ),
    *(
        Rule(
            type_,
            (EVERY,),
            Effect.REPLACES,
            "pulumi_random: `keepers: Arbitrary map of values that, when changed, will trigger "
            "recreation of resource`; every argument of terraform-provider-random's resources "
            "is RequiresReplace (https://github.com/hashicorp/terraform-provider-random)",
        )
        for type_ in (RANDOM_ID, RANDOM_PASSWORD)
    ),
    *(
        Rule(
            type_,
            (EVERY,),
            Effect.REPLACES,
            "terraform-provider-tls: every argument is RequiresReplace; a key or certificate "
            "is never modified (https://github.com/hashicorp/terraform-provider-tls)",
        )
        for type_ in (
            TLS_PRIVATE_KEY,
            TLS_SELF_SIGNED_CERT,
            TLS_CERT_REQUEST,
            TLS_LOCALLY_SIGNED_CERT,
        )
    ),
)


def rule_for(type_: str, path: str, old: Inputs, new: Inputs) -> Rule | None:
    """The first rule of the type that covers the input path and whose condition holds."""
    return next(
        (
            rule
            for rule in RULES
            if rule.type == type_
            and rule.covers(path)
            and (rule.when is None or rule.when(old, new))
        ),
        None,
    )
