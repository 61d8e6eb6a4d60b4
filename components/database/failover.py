"""The vip cluster's failover function (functions/db_failover), its triggers and its permissions.

It runs on every EC2 stop or termination, on every launch into the node group, on every
`failing` report in the cluster's table (its stream, filtered: a primary whose writes fail is
heard of within a second, not at the next scheduled run), and on a schedule as a backstop. One
invocation acts at a time through the lease in the cluster's table, not reserved concurrency
(which fails on accounts whose quota leaves less than 100 unreserved). It runs outside the VPC:
it only calls AWS APIs, and must keep working when a zone or a NAT path fails. Its IAM policy
changes only this cluster's nodes, routes and node group.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from components.config import DatabaseConfig
from components.database.vip import VipCluster
from components.shared import iam
from functions.db_failover import contract

FAILOVER_CODE = Path(__file__).resolve().parents[2] / "functions" / "db_failover"
LAMBDA_RUNTIME = "python3.13"
SOURCE_DEST_CHECK_KEY = "ec2:Attribute/SourceDestCheck"
"""ModifyInstanceAttribute's condition key for the one attribute the function changes."""


@dataclass(frozen=True)
class FailoverArgs:
    config: DatabaseConfig
    """`multitier:database`: the VIP and `vip.checkEveryMinutes`."""
    cluster: VipCluster
    """The cluster it watches: its tag, node group and table."""
    log_retention_days: int
    """The function's log's retention."""
    log_kms_key_arn: pulumi.Input[str] | None = None
    """Encrypts the function's log group."""


@dataclass(frozen=True)
class Failover:
    """The failover function, and its run at deployment."""

    function: aws.lambda_.Function
    """The function (its name for the alarms and the stack outputs)."""
    first_run: aws.lambda_.Invocation
    """The run when the stack is deployed: the cluster's metrics exist from then on, so that the
    alarm on them, created after it, finds data and a new cluster pages nobody."""


def build(name: str, args: FailoverArgs, opts: pulumi.ResourceOptions) -> Failover:
    """Declare the function, its log group, role and triggers, and run it once."""
    cluster = args.cluster.cluster_name
    vip = str(args.config.vip.address)
    log_group = aws.cloudwatch.LogGroup(
        name,
        name=f"/multitier/{cluster}/failover",
        retention_in_days=args.log_retention_days,
        kms_key_id=args.log_kms_key_arn,
        opts=opts,
    )
    role = iam.service_role(
        name,
        "lambda.amazonaws.com",
        pulumi.Output.all(
            log_group.arn,
            args.cluster.table_arn,
            args.cluster.table_stream_arn,
            args.cluster.node_group_arn,
        ).apply(lambda arns: json.dumps(failover_policy(cluster, *arns))),
        opts,
    )
    function = aws.lambda_.Function(
        name,
        description=f"Moves the VIP {vip} of {cluster} to a serving primary, fencing first",
        runtime=LAMBDA_RUNTIME,
        # Deployed as the package it is, so its modules import each other as in the tests.
        handler=f"{FAILOVER_CODE.name}.handler.handler",
        code=pulumi.AssetArchive(
            {
                f"{FAILOVER_CODE.name}/{path.name}": pulumi.FileAsset(str(path))
                for path in sorted(FAILOVER_CODE.glob("*.py"))
            }
        ),
        role=role.arn,
        timeout=300,
        memory_size=256,
        reserved_concurrent_executions=1 if args.config.vip.reserve_concurrency else None,
        environment=aws.lambda_.FunctionEnvironmentArgs(
            variables={
                "CLUSTER_NAME": cluster,
                "VIP_ADDRESS": vip,
                "LEASE_TABLE": args.cluster.table_name,
                "NODE_GROUP": args.cluster.node_group_name,
                "NODE_ROLE_ID": args.cluster.node_role_id,
            }
        ),
        logging_config=aws.lambda_.FunctionLoggingConfigArgs(
            log_format="Text", log_group=log_group.name
        ),
        # Its first run must be allowed to read EC2 and write its log.
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=role.ready)),
    )
    triggers: dict[str, dict[str, Any]] = {
        "state-change": {"event_pattern": json.dumps(contract.state_change_pattern())},
        "node-launched": {
            "event_pattern": args.cluster.node_group_name.apply(
                lambda group: json.dumps(contract.node_launched_pattern(group))
            )
        },
        "schedule": {"schedule_expression": _rate(args.config.vip.check_every_minutes)},
    }
    for label, rule_args in triggers.items():
        rule = aws.cloudwatch.EventRule(
            f"{name}-{label}",
            description=f"Run the {cluster} failover check: {label}",
            **rule_args,
            # Not before the nodes are in service: with none, every run would fail and page.
            opts=pulumi.ResourceOptions.merge(
                opts, pulumi.ResourceOptions(depends_on=[args.cluster.nodes])
            ),
        )
        aws.cloudwatch.EventTarget(f"{name}-{label}", rule=rule.name, arn=function.arn, opts=opts)
        aws.lambda_.Permission(
            f"{name}-{label}",
            action="lambda:InvokeFunction",
            function=function.name,
            principal="events.amazonaws.com",
            source_arn=rule.arn,
            opts=opts,
        )
    # Created once the role may read the stream: Lambda checks that when the mapping is made.
    aws.lambda_.EventSourceMapping(
        f"{name}-reports",
        event_source_arn=args.cluster.table_stream_arn,
        function_name=function.arn,
        starting_position="LATEST",
        batch_size=1,
        maximum_batching_window_in_seconds=0,
        # A failed run (nobody to promote) is retried once; the schedule is the backstop, and a
        # record older than a minute is no news.
        maximum_retry_attempts=1,
        maximum_record_age_in_seconds=60,
        filter_criteria=aws.lambda_.EventSourceMappingFilterCriteriaArgs(
            filters=[
                aws.lambda_.EventSourceMappingFilterCriteriaFilterArgs(pattern=json.dumps(p))
                for p in contract.report_filters()
            ]
        ),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=role.ready)),
    )
    # Once, at creation: the nodes are booting, so it finds `waiting` and publishes that.
    first_run = aws.lambda_.Invocation(
        f"{name}-first-run",
        function_name=function.name,
        input=json.dumps({"source": contract.DEPLOYED}),
        opts=pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(depends_on=[args.cluster.nodes])
        ),
    )
    return Failover(function, first_run)


def _rate(minutes: int) -> str:
    return f"rate({minutes} minute{'s' if minutes > 1 else ''})"


def failover_policy(
    cluster: str, log_group_arn: str, table_arn: str, stream_arn: str, group_arn: str
) -> dict[str, Any]:
    """Describe anything (EC2 and Auto Scaling cannot scope reads); change only this cluster's
    nodes, routes and node group; hold the lease, read the nodes' reports and their stream in
    this cluster's table."""
    return iam.policy(
        {
            "Sid": "Observe",
            "Effect": "Allow",
            "Action": [
                "ec2:DescribeInstances",
                "ec2:DescribeInstanceStatus",
                "ec2:DescribeRouteTables",
                "autoscaling:DescribeAutoScalingInstances",
            ],
            "Resource": "*",
        },
        {
            "Sid": "ProtectThePrimary",
            "Effect": "Allow",
            "Action": "autoscaling:SetInstanceProtection",
            "Resource": group_arn,
        },
        {
            "Sid": "ReadTheReportsStream",
            "Effect": "Allow",
            "Action": [
                "dynamodb:DescribeStream",
                "dynamodb:GetRecords",
                "dynamodb:GetShardIterator",
            ],
            "Resource": stream_arn,
        },
        {
            "Sid": "ListTheStreams",
            "Effect": "Allow",
            "Action": "dynamodb:ListStreams",
            "Resource": "*",
        },
        {
            "Sid": "FenceClusterNodes",
            "Effect": "Allow",
            "Action": "ec2:StopInstances",
            "Resource": "arn:aws:ec2:*:*:instance/*",
            "Condition": {"StringEquals": {f"aws:ResourceTag/{contract.CLUSTER_TAG}": cluster}},
        },
        {
            # Only the source/dest check, only off: the service reference lists the condition
            # key ec2:Attribute/${AttributeName} for ModifyInstanceAttribute (unverified here: no
            # AWS account; policy rule iam-modify-instance-attribute-scoped holds its shape).
            "Sid": "RouteThroughClusterNodes",
            "Effect": "Allow",
            "Action": "ec2:ModifyInstanceAttribute",
            "Resource": "arn:aws:ec2:*:*:instance/*",
            "Condition": {
                "StringEquals": {
                    f"aws:ResourceTag/{contract.CLUSTER_TAG}": cluster,
                    SOURCE_DEST_CHECK_KEY: "false",
                }
            },
        },
        {
            "Sid": "TagClusterNodeRoles",
            "Effect": "Allow",
            "Action": "ec2:CreateTags",
            "Resource": "arn:aws:ec2:*:*:instance/*",
            "Condition": {
                "StringEquals": {f"aws:ResourceTag/{contract.CLUSTER_TAG}": cluster},
                "ForAllValues:StringEquals": {
                    "aws:TagKeys": [contract.ROLE_TAG, contract.PROMOTED_TAG]
                },
            },
        },
        {
            "Sid": "MoveTheVipRoute",
            "Effect": "Allow",
            "Action": ["ec2:CreateRoute", "ec2:ReplaceRoute"],
            "Resource": "arn:aws:ec2:*:*:route-table/*",
            "Condition": {"StringEquals": {f"aws:ResourceTag/{contract.ROUTES_TAG}": cluster}},
        },
        {
            "Sid": "HoldTheLeaseAndReadReports",
            "Effect": "Allow",
            "Action": [
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:BatchGetItem",
            ],
            "Resource": table_arn,
        },
        {
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"{log_group_arn}:*",
        },
    )
