"""EventBridge rules and their targets (Pulumi's `aws:cloudwatch/event*`) as AWS::Events::Rule.

A target is no resource in CloudFormation: it is an item of its rule's `Targets`, so each
`EventTarget` is written into its rule. A rule is named with `Fn::GetAtt` (`Arn`, `RuleName`)
rather than `Ref`, whose value depends on the rule's event bus.
"""

from __future__ import annotations

from typing import Any

from cfncheck.fields import NAME_PREFIX, Ctx, Custom, Drop, Emitted, tags
from cfncheck.table import Attach, TypeMap

# The provider's target id when the program sets none: terraform's unique-id format.
GENERATED_TARGET_ID = "terraform-20250101000000000000000001"


def _target_arn(value: Any, ctx: Ctx) -> list[Emitted]:
    generated = [] if "targetId" in ctx.inputs else ctx.emit("Id", GENERATED_TARGET_ID)
    return [*ctx.emit("Arn", value), *generated]


TYPES = (
    TypeMap(
        "aws:cloudwatch/eventRule:EventRule",
        "AWS::Events::Rule",
        {
            "name": "Name",
            "namePrefix": NAME_PREFIX,
            "description": "Description",
            "eventBusName": "EventBusName",
            "eventPattern": "EventPattern",
            "scheduleExpression": "ScheduleExpression",
            "roleArn": "RoleArn",
            "state": "State",
            "tags": tags(),
        },
        refs={"id": "RuleName", "name": "RuleName", "arn": "Arn"},
    ),
    TypeMap(
        "aws:cloudwatch/eventTarget:EventTarget",
        "AWS::Events::Rule",
        {
            "arn": Custom(_target_arn),
            "targetId": "Id",
            "input": "Input",
            "inputPath": "InputPath",
            "roleArn": "RoleArn",
            "eventBusName": Drop(
                "The target's rule names the bus; CloudFormation's target has none."
            ),
        },
        attach=Attach(link="rule", item="Targets"),
    ),
)
