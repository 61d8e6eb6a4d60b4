"""Lambda rules: concurrency, log group, runtime, VPC."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from policy.model import Res, Stack
from policy.props import as_list
from policy.rules.base import rule
from policy.types import (
    FUNCTION,
    LOG_GROUP,
)

SUPPORTED_RUNTIMES = frozenset(
    {
        "python3.11",
        "python3.12",
        "python3.13",
        "nodejs20.x",
        "nodejs22.x",
        "java21",
        "provided.al2023",
    }
)


@rule(
    "lambda-reserved-concurrency",
    "Functions have reserved concurrency, so they neither starve nor are starved (AWSGuard).",
    FUNCTION,
)
def _lambda_reserved_concurrency(function: Res, _: Stack) -> Iterator[str]:
    reserved = function.get("reservedConcurrentExecutions")
    if reserved is None or int(reserved) < 0:
        yield "no reserved concurrency"


@rule(
    "lambda-log-group",
    "Functions log to a declared log group with a retention (no group auto-created forever).",
    FUNCTION,
    needs_stack=True,
)
def _lambda_log_group(function: Res, stack: Stack) -> Iterator[str]:
    config = function.get("loggingConfig")
    wanted = (config or {}).get("logGroup") if isinstance(config, Mapping) else None
    names = {wanted} if wanted else {f"/aws/lambda/{function.get('name')}"}
    groups = [g for g in stack.of_type(LOG_GROUP) if g.get("name") in names]
    if not groups:
        yield f"no declared log group named {' or '.join(sorted(str(n) for n in names))}"
    elif not any(int(g.get("retentionInDays") or 0) for g in groups):
        yield "its log group has no retention"


@rule(
    "lambda-supported-runtime",
    "Functions run on a supported runtime (FSBP Lambda.2).",
    FUNCTION,
)
def _lambda_supported_runtime(function: Res, _: Stack) -> Iterator[str]:
    runtime = function.get("runtime")
    if runtime is not None and runtime not in SUPPORTED_RUNTIMES:
        yield f"runtime {runtime} is not in {sorted(SUPPORTED_RUNTIMES)}"


@rule("lambda-in-vpc", "Functions run inside a VPC (FSBP Lambda.3).", FUNCTION)
def _lambda_in_vpc(function: Res, _: Stack) -> Iterator[str]:
    vpc = function.get("vpcConfig")
    if not (isinstance(vpc, Mapping) and as_list(vpc.get("subnetIds"))):
        yield "not attached to a VPC"
