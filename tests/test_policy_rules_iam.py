"""The IAM rules (policy/rules/iam.py).

Each case is a broken stack and its fixed twin (tests/policy_cases.py): the rule flags one
resource in the first and nothing in the second. tests/test_policy_rules_base.py fails for a rule
of the module without a case here.
"""

from __future__ import annotations

from typing import Any

import pytest

from components.shared import naming
from policy import props
from policy.model import Res
from policy.types import (
    ATTACHMENT,
    FUNCTION,
    INSTANCE_PROFILE,
    LAUNCH_TEMPLATE,
    MANAGED_POLICY,
    ROLE,
    ROLE_POLICY,
    SECRET,
)
from tests.policy_cases import (
    TAGS,
    Case,
    allow,
    app_sg,
    bastion_sg,
    case_params,
    document,
    flags_the_broken_and_passes_the_fixed,
    flip,
    res,
)

CASES: list[Case] = [
    flip(
        "iam-no-admin",
        ROLE_POLICY,
        {"policy": document(allow("*", "*"))},
        {"policy": document(allow("ec2:DescribeInstances", "*"))},
        about="Action * on Resource *",
    ),
    flip(
        "iam-no-admin",
        MANAGED_POLICY,
        {"policy": document(allow(["*"], ["*"]))},
        {"policy": document({"Effect": "Deny", "Action": ["*"], "Resource": ["*"]})},
        about="deny statements are not grants",
    ),
    flip(
        "iam-no-passrole-wildcard",
        ROLE_POLICY,
        {"policy": document(allow("iam:PassRole", "*"))},
        {"policy": document(allow("iam:PassRole", "arn:aws:iam::123456789012:role/app"))},
        about="iam:PassRole on Resource *",
    ),
    flip(
        "iam-no-passrole-wildcard",
        MANAGED_POLICY,
        {"policy": document(allow(["ec2:RunInstances", "IAM:passrole"], "*"))},
        {"policy": document(allow(["ec2:RunInstances"], "*"))},
        about="case-insensitive action",
    ),
    flip(
        "iam-no-service-wildcard",
        ROLE_POLICY,
        {"policy": document(allow("s3:*", "*"))},
        {"policy": document(allow("s3:*", "arn:aws:s3:::logs/*"))},
        about="s3:* on Resource *",
    ),
    flip(
        "iam-no-broad-managed-policies",
        ATTACHMENT,
        {"policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
        {"policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"},
        base={"role": "app"},
    ),
    flip(
        "iam-no-broad-managed-policies",
        ATTACHMENT,
        {"policyArn": "arn:aws:iam::aws:policy/AmazonS3FullAccess"},
        {"policyArn": "arn:aws:iam::123456789012:policy/AmazonS3FullAccess"},
        base={"role": "app"},
        about="a customer policy may have any name",
    ),
]

# The app hosts and the database's secrets, for iam-app-no-master-secret. The hosts' role is found
# through their launch template (in the app's security group) and instance profile: its own
# Component tag says nothing here.

SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:"
READ = "secretsmanager:GetSecretValue"


def secret(kind: str, **outputs: Any) -> Res:
    return res(SECRET, f"database-{kind}", tags={**TAGS, props.SECRET_TAG: kind}, **outputs)


master, app_secret = secret("master"), secret("app")
hosts_role = res(ROLE, "app-hosts")
hosts_profile = res(INSTANCE_PROFILE, "app-hosts", {"role": [hosts_role]}, role="app-hosts-1")


def hosts(group: Res = app_sg, secrets: tuple[Res, ...] = (master, app_secret)) -> list[Res]:
    """The hosts' launch template in `group`, their profile and role, and the `secrets`."""
    template = res(
        LAUNCH_TEMPLATE,
        "app",
        {"iamInstanceProfile": [hosts_profile], "vpcSecurityGroupIds": [group]},
        iamInstanceProfile={"arn": "arn:aws:iam::123456789012:instance-profile/app-hosts-1"},
        vpcSecurityGroupIds=["sg-1"],
    )
    return [group, template, hosts_profile, hosts_role, *secrets]


def hosts_policy(*statements: dict[str, Any], made_from: tuple[Res, ...] = ()) -> Res:
    """The hosts' inline policy; `made_from`: the secrets its document's value came from."""
    deps = {"role": [hosts_role], "policy": list(made_from)}
    return res(ROLE_POLICY, "app-hosts", deps, role="app-hosts-1", policy=document(*statements))


# ARNs that do not show which secret they are: only the dependencies tell.
reads_master = hosts_policy(allow(READ, f"{SECRET_ARN}creds-1-AbCdEf"), made_from=(master,))
reads_app = hosts_policy(allow(READ, f"{SECRET_ARN}creds-2-AbCdEf"), made_from=(app_secret,))
# Once AWS has given the secret its ARN (the engine's outputs), the ARN itself tells.
MASTER_ARN = f"{SECRET_ARN}database-master-abc1234-AbCdEf"
master_deployed = secret("master", arn=MASTER_ARN)
deployed = (master_deployed, app_secret)
managed = res(MANAGED_POLICY, "app-secrets", policy=document(allow("secretsmanager:*", "*")))
managed_scoped = res(
    MANAGED_POLICY,
    "app-secrets",
    policy=document(allow("secretsmanager:*", f"{SECRET_ARN}database-app-*")),
)


def attached(policy: Res) -> Res:
    return res(ATTACHMENT, "app-secrets", {"role": [hosts_role], "policyArn": [policy]})


def function_role(component: str) -> list[Res]:
    """A role of `component`'s, found by its Component tag alone (a function's), reading every
    secret."""
    role = res(ROLE, "app-function", tags={**TAGS, props.COMPONENT_TAG: component})
    policy = res(
        ROLE_POLICY,
        "app-function",
        {"role": [role]},
        role="app-function-1",
        policy=document(allow("secretsmanager:Get*", "*")),
    )
    return [role, policy, master, res(FUNCTION, "app-function", {"role": [role]})]


CASES += [
    Case(
        "iam-app-no-master-secret",
        "the hosts' document is made from the master secret",
        reads_master,
        [*hosts(), reads_master],
        [*hosts(), reads_app],
    ),
    Case(
        "iam-app-no-master-secret",
        "a pattern that matches the ARN the master secret will have",
        reads_master,
        [*hosts(), hosts_policy(allow(READ, f"{SECRET_ARN}database-*"))],
        [*hosts(), hosts_policy(allow(READ, f"{SECRET_ARN}database-app-*"))],
    ),
    Case(
        "iam-app-no-master-secret",
        "the master secret's ARN as AWS gave it; a Deny of it is no grant",
        reads_master,
        [*hosts(secrets=deployed), hosts_policy(allow(READ, [MASTER_ARN]))],
        [
            *hosts(secrets=deployed),
            hosts_policy(
                {"Effect": "Deny", "Action": READ, "Resource": MASTER_ARN},
                allow(READ, f"{SECRET_ARN}database-app-def5678-GhIjKl"),
                made_from=(master_deployed, app_secret),
            ),
        ],
    ),
    Case(
        "iam-app-no-master-secret",
        "NotResource grants every secret it does not name",
        reads_master,
        [*hosts(), hosts_policy({"Effect": "Allow", "Action": READ, "NotResource": "arn:x"})],
        [*hosts(), hosts_policy(allow(READ, f"{SECRET_ARN}database-app-*"))],
    ),
    Case(
        "iam-app-no-master-secret",
        "a managed policy attached to the hosts' role",
        managed,
        [*hosts(), managed, attached(managed)],
        [*hosts(), managed_scoped, attached(managed_scoped)],
    ),
    Case(
        "iam-app-no-master-secret",
        "only the app tier's hosts are held to it",
        reads_master,
        [*hosts(), reads_master],
        [*hosts(bastion_sg), reads_master],
    ),
    Case(
        "iam-app-no-master-secret",
        "a role tagged Component: app is the app's",
        function_role("app")[1],
        function_role("app"),
        function_role("database"),
    ),
]


OWN = "arn:aws:s3:::multitier-dev-archive"
SOURCE = "arn:aws:s3:::multitier-prod-archive"
WRITES = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
CASES += [
    flip(
        "db-archive-prefix-scoped",
        ROLE_POLICY,
        {"policy": document(allow(WRITES, f"{OWN}/*"))},
        {"policy": document(allow(WRITES, f"{OWN}/multitier-dev-db/*"))},
        about="writes to the whole archive bucket",
    ),
    flip(
        "db-archive-prefix-scoped",
        ROLE_POLICY,
        {
            "policy": document(
                allow(WRITES, f"{OWN}/multitier-dev-db/*"),
                allow(WRITES, f"{SOURCE}/multitier-prod-db/*"),
            )
        },
        {
            "policy": document(
                allow(WRITES, f"{OWN}/multitier-dev-db/*"),
                allow("s3:GetObject", f"{SOURCE}/multitier-prod-db/*"),
            )
        },
        about="a restored cluster may write into its source's archive",
    ),
]


def test_the_program_tags_what_the_master_secret_rule_reads() -> None:
    assert naming.SECRET_TAG == props.SECRET_TAG


# The failover function's ModifyInstanceAttribute (it only turns source/dest check off), and the
# database nodes' reports: each node writes its own item only.

TAG_CONDITION = {"aws:ResourceTag/multitier:db-cluster": "multitier-dev-db"}
CASES += [
    flip(
        "iam-modify-instance-attribute-scoped",
        ROLE_POLICY,
        {
            "policy": document(
                {
                    **allow("ec2:ModifyInstanceAttribute", "*"),
                    "Condition": {"StringEquals": TAG_CONDITION},
                }
            )
        },
        {
            "policy": document(
                {
                    **allow("ec2:ModifyInstanceAttribute", "*"),
                    "Condition": {
                        "StringEquals": {**TAG_CONDITION, "ec2:Attribute/SourceDestCheck": "false"}
                    },
                }
            )
        },
        about="the cluster's tag alone lets it change any attribute",
    ),
    flip(
        "iam-modify-instance-attribute-scoped",
        MANAGED_POLICY,
        {"policy": document(allow(["ec2:StopInstances", "ec2:Modify*"], "*"))},
        {"policy": document(allow("ec2:StopInstances", "*"))},
        about="a pattern covers it too",
    ),
]

TABLE_ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/cluster"
nodes_role = res(
    ROLE, "database-nodes", assumeRolePolicy='{"Principal": {"Service": "ec2.amazonaws.com"}}'
)
failover_role = res(
    ROLE, "database-failover", assumeRolePolicy='{"Principal": {"Service": "lambda.amazonaws.com"}}'
)


def reports(role: Res, *keys: str) -> Res:
    """The role's inline policy: PutItem into the table, with these leading keys (none: any)."""
    statement: dict[str, Any] = {**allow("dynamodb:PutItem", TABLE_ARN), "Sid": "ReportState"}
    if keys:
        statement["Condition"] = {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": list(keys)}}
    return res(ROLE_POLICY, f"{role.name}-policy", {"role": [role]}, policy=document(statement))


CASES += [
    Case(
        "iam-instance-role-own-items",
        "any node may write any node's report (node#*)",
        reports(nodes_role, "node#*"),
        [nodes_role, reports(nodes_role, "node#*")],
        [nodes_role, reports(nodes_role, "node#${aws:userid}")],
    ),
    Case(
        "iam-instance-role-own-items",
        "no leading keys at all: the lease and the pause too",
        reports(nodes_role),
        [nodes_role, reports(nodes_role)],
        [nodes_role, reports(nodes_role, "node#${aws:userid}")],
    ),
    Case(
        "iam-instance-role-own-items",
        "a wildcard beside the caller's id",
        reports(nodes_role, "node#${aws:userid}*"),
        [nodes_role, reports(nodes_role, "node#${aws:userid}*")],
        # The failover function's role holds the lease and reads every report: no instance role.
        [
            nodes_role,
            reports(nodes_role, "node#${aws:userid}"),
            failover_role,
            reports(failover_role),
        ],
    ),
]


@pytest.mark.parametrize("case", case_params(CASES))
def test_rule_flags_the_broken_stack_and_passes_the_fixed_one(case: Case) -> None:
    flags_the_broken_and_passes_the_fixed(case)
