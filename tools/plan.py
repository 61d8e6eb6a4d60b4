"""The offline plan: what a stack would deploy, computed under Pulumi's mock engine.

    python -m tools.plan dev [--json plan-dev.json]

Prints the resources grouped by component (count per type, then the settings a reviewer checks),
the security policy's results, the AWS schema check (cfn-lint over every resource rendered as
CloudFormation), the network reachability between tiers, and the stack outputs, secrets masked.
Exits 1 when a policy rule fails or the schema check finds an error, 2 with the message on bad
config.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import cfncheck
from components.config import ConfigError
from components.config.warnings import stack_warnings
from components.shared import cloud_init
from policy import reachability
from policy.evaluate import Report, evaluate
from policy.model import PRODUCTION_TAG, from_declared
from policy.types import (
    ALARM,
    ASG,
    BUCKET_LIFECYCLE,
    BUCKET_VERSIONING,
    CACHE,
    DEFAULT_SG,
    DYNAMODB_TABLE,
    EFS,
    EGRESS,
    EVENT_RULE,
    EVENT_SOURCE_MAPPING,
    FLOW_LOG,
    FUNCTION,
    INGRESS,
    INSTANCE,
    INVOCATION,
    LAUNCH_TEMPLATE,
    LB,
    LISTENER,
    LOG_GROUP,
    NAT_GATEWAY,
    ROUTE,
    ROUTE_TABLE,
    SCALING_POLICY,
    SUBNET,
    TARGET_GROUP,
    VPC,
    VPC_ENDPOINT,
)
from tools import mockrun
from tools.mockrun import Resource, Run
from tools.plan_data import DATA_DETAILS
from tools.plan_json import SECRET, as_json, plain
from tools.plan_preamble import preamble_lines

_LAUNCH_TEMPLATE = LAUNCH_TEMPLATE


def _ports(r: Resource) -> str:
    if r["ipProtocol"] == "-1":
        return "all traffic"
    low, high = r.get("fromPort"), r.get("toPort")
    return f"{r['ipProtocol']}/{low}" + (f"-{high}" if high != low else "")


def _peer(r: Resource, run: Run) -> str:
    if r.get("referencedSecurityGroupId"):
        group = run.find(r["referencedSecurityGroupId"])
        return f"sg {group.name if group else r['referencedSecurityGroupId']}"
    return r.get("cidrIpv4") or r.get("cidrIpv6") or r.get("prefixListId") or "?"


def _target(r: Resource, run: Run) -> str:
    for key in ("gatewayId", "natGatewayId", "networkInterfaceId", "egressOnlyGatewayId"):
        if r.get(key):
            found = run.find(r[key])
            return f"{key.removesuffix('Id')} {found.name if found else r[key]}"
    return "?"


def _named(run: Run, id_: str) -> str:
    found = run.find(id_)
    return found.name if found else id_


def user_data(r: Resource) -> bytes | None:
    """The user data EC2 stores for a launch template or an instance: launch templates and an
    instance's `userDataBase64` take base64, an instance's `userData` plain text."""
    if r.get("userDataBase64"):
        return cloud_init.sent(r["userDataBase64"], base64_encoded=True)
    if r.get("userData"):
        return cloud_init.sent(r["userData"], base64_encoded=r.type == _LAUNCH_TEMPLATE)
    return None


def _user_data_size(r: Resource) -> str:
    """User data as sent against EC2's limit, and as cloud-init reads it when compressed."""
    raw = user_data(r)
    if raw is None:
        return "no user data"
    size = f"user data {len(raw):,} of {cloud_init.USER_DATA_LIMIT:,} bytes"
    text = cloud_init.decode(raw)
    if len(text.encode()) != len(raw):
        size += f" (gzip of {len(text.encode()):,})"
    return size + f", {cloud_init.USER_DATA_LIMIT - len(raw):,} free"


def _launch_template(r: Resource, run: Run) -> str:
    meta = r.get("metadataOptions") or {}
    ebs = ((r.get("blockDeviceMappings") or [{}])[0]).get("ebs") or {}
    return (
        f"{r.get('instanceType')}, image {r.get('imageId')}, IMDS tokens {meta.get('httpTokens')} "
        f"(hop limit {meta.get('httpPutResponseHopLimit')}), root {ebs.get('volumeType')} "
        f"encrypted={ebs.get('encrypted')}, {_user_data_size(r)}"
    )


_EXPIRIES = ("expiration", "noncurrentVersionExpiration", "abortIncompleteMultipartUpload")
# What a reviewer wants to see of each resource type, one line per resource.
_DETAILS: dict[str, Callable[[Resource, Run], str]] = {
    VPC: lambda r, _: f"{r['cidrBlock']}, IPv6 {bool(r.get('assignGeneratedIpv6CidrBlock'))}",
    SUBNET: lambda r, _: (
        f"{r['tags']['multitier:tier']:<8} {r['availabilityZone']}  {r['cidrBlock']}"
    ),
    NAT_GATEWAY: lambda r, run: f"in {_named(run, r['subnetId'])}",
    ROUTE: lambda r, run: (
        f"{_named(run, r['routeTableId'])}: "
        f"{r.get('destinationCidrBlock') or r.get('destinationIpv6CidrBlock')} -> {_target(r, run)}"
    ),
    INGRESS: lambda r, run: (
        f"{_named(run, r['securityGroupId'])} <- {_ports(r)} from {_peer(r, run)}"
    ),
    EGRESS: lambda r, run: f"{_named(run, r['securityGroupId'])} -> {_ports(r)} to {_peer(r, run)}",
    DEFAULT_SG: lambda r, _: (
        f"ingress rules {len(r.get('ingress') or [])}, egress rules {len(r.get('egress') or [])}"
    ),
    LOG_GROUP: lambda r, _: f"retention {r.get('retentionInDays')} days",
    FLOW_LOG: lambda r, _: f"{r['trafficType']} traffic to {r['logDestinationType']}",
    VPC_ENDPOINT: lambda r, _: (
        f"{r['vpcEndpointType']} {r['serviceName']}"
        + (f" on {len(r['routeTableIds'])} route tables" if r.get("routeTableIds") else "")
    ),
    INSTANCE: lambda r, _: (
        f"{r['instanceType']}, IMDS tokens {(r.get('metadataOptions') or {}).get('httpTokens')}, "
        f"source/dest check {r.get('sourceDestCheck')}, {_user_data_size(r)}"
    ),
    LAUNCH_TEMPLATE: _launch_template,
    LB: lambda r, _: (
        f"{'internal' if r.get('internal') else 'internet-facing'}, "
        f"drop invalid headers {r.get('dropInvalidHeaderFields')}, "
        f"deletion protection {r.get('enableDeletionProtection')}, "
        f"access logs {bool((r.get('accessLogs') or {}).get('enabled'))}"
    ),
    LISTENER: lambda r, _: (
        f"{r['protocol']} {r['port']}"
        + (f" ({r['sslPolicy']})" if r.get("sslPolicy") else "")
        + f" -> {r['defaultActions'][0]['type']}"
    ),
    TARGET_GROUP: lambda r, _: (
        f"{r['protocol']} {r['port']}, health {r['healthCheck']['path']} "
        f"({r['healthCheck']['matcher']}), sticky {r['stickiness']['enabled']}"
    ),
    SCALING_POLICY: lambda r, _: (
        f"{r['policyType']}"
        + (
            f" CPU {r['targetTrackingConfiguration']['targetValue']}%"
            if r.get("targetTrackingConfiguration")
            else f" {r.get('scalingAdjustment'):+d}"
        )
    ),
    ALARM: lambda r, _: f"{_alarm_metric(r)} {r['comparisonOperator']} {r['threshold']}",
    DYNAMODB_TABLE: lambda r, _: (
        f"{r.get('billingMode')}, "
        f"stream {r.get('streamViewType') if r.get('streamEnabled') else 'off'}"
    ),
    INVOCATION: lambda r, _: f"{r.get('lifecycleScope') or 'CREATE_ONLY'}, input {r['input']}",
    EVENT_SOURCE_MAPPING: lambda r, _: (
        f"from {r.get('startingPosition')}, batch {r.get('batchSize')}, retries "
        f"{r.get('maximumRetryAttempts')}, filters "
        + "; ".join(f["pattern"] for f in (r.get("filterCriteria") or {}).get("filters", []))
    ),
    CACHE: lambda r, _: (
        f"{r['engine']} {r['engineVersion']}, {r['numCacheClusters']} x {r['nodeType']}, "
        f"failover {r['automaticFailoverEnabled']}, TLS {r['transitEncryptionEnabled']}, "
        f"at rest {r['atRestEncryptionEnabled']}"
    ),
    EFS: lambda r, _: f"encrypted {r.get('encrypted')}",
    BUCKET_VERSIONING: lambda r, _: f"versioning {r['versioningConfiguration']['status']}",
    BUCKET_LIFECYCLE: lambda r, _: "; ".join(
        f"{x['id']}: " + ", ".join(f"{k} {v}" for k, v in x.items() if k in _EXPIRIES)
        for x in r["rules"]
    ),
    FUNCTION: lambda r, _: (
        f"{r['runtime']}, reserved concurrency {r.get('reservedConcurrentExecutions')}, "
        f"env {sorted((r.get('environment') or {}).get('variables', {}))}"
    ),
    EVENT_RULE: lambda r, _: (
        r.get("scheduleExpression") or json.loads(r["eventPattern"])["detail-type"][0]
    ),
    ROUTE_TABLE: lambda r, _: ", ".join(
        f"{k}={v}"
        for k, v in sorted(r["tags"].items())
        if k.startswith("multitier:") and k != PRODUCTION_TAG
    ),
    **DATA_DETAILS,
    ASG: lambda r, _: (
        f"min {r['minSize']} / desired {r.get('desiredCapacity')} / max {r['maxSize']}, "
        f"health check {r.get('healthCheckType')}, {len(r['vpcZoneIdentifiers'])} subnets"
        + (
            f", suspended {', '.join(r['suspendedProcesses'])}"
            if r.get("suspendedProcesses")
            else ""
        )
    ),
}


def _alarm_metric(r: Resource) -> str:
    """The alarm's metric, or its metric-math expression with the metrics it adds."""
    if r.get("metricName"):
        return str(r["metricName"])
    queries = r.get("metricQueries") or []
    names = {q["id"]: q["metric"]["metricName"] for q in queries if q.get("metric")}
    expression = next((q["expression"] for q in queries if q.get("expression")), "")
    for id_, name in names.items():
        expression = expression.replace(id_, name)
    return expression


def render_policy(report: Report) -> list[str]:
    results = report.results
    count = {s: sum(r.status == s for r in results) for s in ("pass", "pass*", "FAIL", "n/a")}
    lines = [
        f"Policy: {len(results)} rules; {count['pass']} passed, {count['FAIL']} failed, "
        f"{count['pass*']} passed with exceptions, {count['n/a']} judged nothing in this stack",
    ]
    width = max(len(r.rule.id) for r in results)
    for result in results:
        lines.append(
            f"  {result.status:<5} {result.rule.id:<{width}}  {result.judged:>3} judged  "
            f"{result.rule.reason}"
        )
    if report.failures:
        lines += ["", "Failed:"]
        lines += [f"  {f.rule}: {f.where}: {f.message}" for f in report.failures]
    if report.excepted:
        lines += ["", "Exceptions applied (policy/exceptions.py):"]
        for finding in report.excepted:
            reason = finding.exception.reason if finding.exception else ""
            lines.append(f"  {finding.rule}: {finding.where}: {finding.message}")
            lines.append(f"      reason: {reason}")
    if report.unused_exceptions:
        lines += ["", "Exceptions that matched nothing in this stack:"]
        lines += [
            f"  {e.rule}: {e.type.split(':')[-1]} '{e.name}'" for e in report.unused_exceptions
        ]
    return lines


def render(
    run: Run,
    report: Report | None = None,
    matrix: reachability.Matrix | None = None,
    schema: cfncheck.Report | None = None,
    config: Mapping[str, Any] | None = None,
) -> str:
    lines = [f"Offline plan of stack '{run.stack}' (Pulumi mock engine; nothing is deployed)"]
    lines += preamble_lines(run, config) if config is not None else [""]
    # Components by type and name (`run.resources` is sorted by URN), resources by name: the
    # engine registers resources as their inputs resolve, in an order that differs between runs.
    by_component: dict[str, list[Resource]] = {f"{c.type} '{c.name}'": [] for c in run.components}
    for resource in sorted(run.resources, key=lambda r: r.name):
        if resource.custom:
            owner = run.component_of(resource)
            key = f"{owner.type} '{owner.name}'" if owner else "(no component)"
            by_component.setdefault(key, []).append(resource)
    for component, resources in by_component.items():
        lines.append(f"{component}: {len(resources)} resources")
        for type_, count in sorted(Counter(r.type for r in resources).items()):
            lines.append(f"  {count:>3} x {type_}")
            detail = _DETAILS.get(type_)
            if detail:
                lines.extend(
                    f"        {r.name}: {detail(r, run)}" for r in resources if r.type == type_
                )
        lines.append("")
    total = sum(len(rs) for rs in by_component.values())
    lines.append(f"{total} resources in {len(by_component)} components")
    if report is not None:
        lines += ["", *render_policy(report)]
    if schema is not None:
        lines += ["", *schema.lines()]
    if matrix is not None:
        lines += [
            "",
            "Reachability (who may open connections to whom; from security groups, subnets and "
            "routes):",
            *reachability.render(matrix),
        ]
    lines.append("")
    lines.append("Outputs:")
    for key, value in run.outputs.items():
        shown = SECRET if key in run.secret_outputs else json.dumps(value)
        lines.append(f"  {key}: {shown}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack", help="stack name: Pulumi.<stack>.yaml holds its config")
    parser.add_argument("--json", metavar="FILE", help="also write the plan as JSON to FILE")
    parser.add_argument(
        "--stack-file", metavar="FILE", type=Path, help="config file (default Pulumi.<stack>.yaml)"
    )
    parser.add_argument(
        "--program",
        metavar="DIR",
        type=Path,
        default=mockrun.ROOT,
        help="the program's directory (default: multitier; e.g. examples/web-on-existing-db)",
    )
    args = parser.parse_args(argv)
    try:
        run = mockrun.run(args.stack, path=args.stack_file, program=args.program.resolve())
    except (ConfigError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    # The engine registers resources as their inputs resolve, in an order that differs from run
    # to run: the plan lists them by URN, so that two plans of the same config are the same text.
    run.resources.sort(key=lambda r: r.urn)
    stack = from_declared(run)
    report = evaluate(stack)
    matrix = reachability.analyse(stack)
    config = mockrun.stack_config(args.stack, path=args.stack_file, program=args.program.resolve())
    for warning in stack_warnings(config):
        print(f"warning: {warning}")
    schema = cfncheck.validate(run.resources, run.region)
    print(render(run, report, matrix, schema, config))
    if args.json:
        document = as_json(run, report, matrix, schema, config)
        Path(args.json).write_text(json.dumps(document, indent=2, default=plain))
    if not report.passed:
        print(
            f"\nerror: {len(report.failures)} policy violations (see Failed above)", file=sys.stderr
        )
    if not schema.passed:
        problems = len(schema.errors) + len(schema.unmapped)
        print(f"\nerror: {problems} AWS schema check errors (see above)", file=sys.stderr)
    return 0 if report.passed and schema.passed else 1


if __name__ == "__main__":
    sys.exit(main())
