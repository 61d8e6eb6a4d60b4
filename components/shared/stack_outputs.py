"""The stack outputs, declared once: each output's name, type, which stacks and modes have it, and
what it means. `__main__.py` exports through `export`, which refuses a name not declared here,
and RUNBOOKS.md's table is generated from the same declaration (python -m tools.outputs_doc)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi

EVERY_STACK = "every stack"


@dataclass(frozen=True)
class StackOutput:
    name: str
    """As `pulumi stack output` shows it."""
    type: str
    """Its JSON type, in words."""
    present_in: str
    """`every stack`, or the config and mode that bring it, and which stacks that is today."""
    meaning: str
    """What it is, for RUNBOOKS.md's table."""

    @property
    def always(self) -> bool:
        return self.present_in.startswith(EVERY_STACK)


OUTPUTS: tuple[StackOutput, ...] = (
    StackOutput("vpcId", "string", EVERY_STACK, "The VPC."),
    StackOutput("vpcCidr", "string", EVERY_STACK, "Its IPv4 CIDR (`multitier:network.cidr`)."),
    StackOutput(
        "availabilityZones",
        "list of strings",
        EVERY_STACK,
        "The zones used, in subnet order.",
    ),
    StackOutput(
        "subnetIds",
        "object: `public`, `private`, `data`, each a list of strings",
        EVERY_STACK,
        "Subnet ids per tier, one per zone, in `availabilityZones` order. `private` is the app "
        "tier; `data` holds the database, cache and EFS.",
    ),
    StackOutput(
        "url",
        "string",
        EVERY_STACK,
        "`https://<albDnsName>` when `certificateArn` is set (staging, prod), "
        "`http://<albDnsName>` otherwise (dev). The certificate names your site, not the ALB, so "
        "the `https` URL fails name checks until your DNS name points at the ALB.",
    ),
    StackOutput(
        "albDnsName",
        "string",
        EVERY_STACK,
        "The ALB's DNS name. Point your site's record at it; the program creates no DNS record.",
    ),
    StackOutput("targetGroupArn", "string", EVERY_STACK, "The app's target group."),
    StackOutput("asgName", "string", EVERY_STACK, "The app's Auto Scaling group."),
    StackOutput("appSecurityGroupId", "string", EVERY_STACK, "The app hosts' security group."),
    StackOutput(
        "cacheEndpoint",
        "string",
        "`multitier:app.cache.enabled` (staging, prod)",
        "Redis primary endpoint; TLS, port 6379, AUTH token in Secrets Manager (its ARN is not "
        "exported).",
    ),
    StackOutput(
        "databaseEndpoint",
        "string",
        EVERY_STACK,
        "`managed`: the RDS hostname. `vip`: the virtual IP (`10.10.10.10`).",
    ),
    StackOutput("databasePort", "number", EVERY_STACK, "`5432`."),
    StackOutput(
        "databaseSecretArn",
        "string",
        EVERY_STACK,
        "The app's credentials in Secrets Manager, encrypted with the database's own KMS key: "
        "its own login (`app_user`, or `app_user_clone` after an odd number of rotations), "
        "which acts as the owner of the app's database and is no superuser. Keys `engine`, "
        "`host`, `port`, `dbname`, `username`, `password`, and in `vip` mode `ca_certificate`, "
        "the CA of the VIP's certificate. Rotated every `database.rotation.appDays`: read it "
        "again when a login fails (see Rotate credentials).",
    ),
    StackOutput(
        "databaseReadonlySecretArn",
        "string",
        EVERY_STACK,
        "A read-only login's credentials (`app_reader`; same keys): reads every table the app "
        "creates, writes nothing. Rotated every `database.rotation.readonlyDays`.",
    ),
    StackOutput(
        "databaseMasterSecretArn",
        "string",
        EVERY_STACK,
        "The master user's credentials (same keys): for operators, the database nodes and the "
        "credentials function; no app host may read it. Rotated every "
        "`database.rotation.masterDays`.",
    ),
    StackOutput(
        "credentialsFunctionName",
        "string",
        EVERY_STACK,
        "The function that creates the app's database roles and rotates the three database "
        "secrets (see Rotate credentials).",
    ),
    StackOutput(
        "databaseIdentifier",
        "string",
        "`managed` (staging, prod)",
        "The identifier of the RDS instance that serves, `<project>-<stack>-db-<8 hex>`: the "
        "one the stack was created with, or the active restore's (`database.restore`). The "
        "suffix changes when a change replaces the instance (`databaseName`, `username`) and "
        "with each restore.",
    ),
    StackOutput(
        "databaseSecurityGroupId",
        "string",
        EVERY_STACK,
        "The database's security group. Add an ingress rule to it to admit a client.",
    ),
    StackOutput(
        "databaseReaderEndpoint",
        "string",
        "`managed` with `readReplicas` ≥ 1 (no stack sets it)",
        "The first read replica's hostname.",
    ),
    StackOutput("failoverFunctionName", "string", "`vip` (dev)", "The failover Lambda."),
    StackOutput(
        "databaseArchiveBucket",
        "string",
        "`vip` (dev)",
        "The WAL archive and base backups, under the cluster's name (`vip.restore.bucket`).",
    ),
    StackOutput(
        "alertTopicArn",
        "string",
        EVERY_STACK,
        "The KMS-encrypted SNS alert topic. CloudWatch alarms in the same account may publish "
        "to it. A role that publishes directly also needs `kms:GenerateDataKey*` and "
        "`kms:Decrypt` on the topic's key, which is not exported.",
    ),
    StackOutput(
        "dashboardUrl",
        "string",
        EVERY_STACK,
        "The CloudWatch dashboard `multitier-<stack>-overview`.",
    ),
    StackOutput(
        "alarmNames",
        "list of strings",
        f"{EVERY_STACK}; the members differ by stack and mode",
        "The stack's alarms, named `observability-<condition>-<suffix>`.",
    ),
    StackOutput(
        "bastionSshCommand",
        "string",
        "`multitier:bastion.enabled` (dev)",
        "`ssh -p <sshPort> ec2-user@<Elastic IP>`.",
    ),
    StackOutput(
        "bastionProxyJump",
        "string",
        "`multitier:bastion.enabled` (dev)",
        "`ssh -J ec2-user@<Elastic IP>:<sshPort> ec2-user@<private-ip>`: a template; replace "
        "`<private-ip>`.",
    ),
)
BY_NAME = {output.name: output for output in OUTPUTS}


def export(values: Mapping[str, Any]) -> None:
    """Export each value under its declared name, in the declaration's order; a value of None
    (what this stack does not have) is not exported. A name not declared here is a bug."""
    unknown = sorted(set(values) - set(BY_NAME))
    if unknown:
        raise ValueError(
            f"stack outputs not declared in components/shared/stack_outputs.py: {unknown}"
        )
    for output in OUTPUTS:
        value = values.get(output.name)
        if output.always and value is None:
            raise ValueError(f"stack output {output.name} is declared for every stack: no value")
        if value is not None:
            pulumi.export(output.name, value)


def markdown_table() -> str:
    """RUNBOOKS.md's table of the outputs."""
    rows = ["| output | type | present in | meaning |", "|---|---|---|---|"]
    rows += [f"| `{o.name}` | {o.type} | {o.present_in} | {o.meaning} |" for o in OUTPUTS]
    return "\n".join(rows) + "\n"
