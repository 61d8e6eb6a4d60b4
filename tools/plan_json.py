"""The plan as JSON (`make plan JSON=<file>`): the preamble, the policy's verdict per rule, the
AWS schema check, the reachability matrix, every resource with its inputs, and the outputs, the
secret ones masked."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi

import cfncheck
from policy import reachability
from policy.evaluate import Finding, Report
from tools.mockrun import Run
from tools.plan_preamble import preamble_json

SECRET = "[secret]"


def as_json(
    run: Run,
    report: Report,
    matrix: reachability.Matrix,
    schema: cfncheck.Report,
    config: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "stack": run.stack,
        **preamble_json(run, config or {}),
        "policy": {
            "passed": report.passed,
            "rules": [
                {
                    "id": r.rule.id,
                    "reason": r.rule.reason,
                    "types": list(r.rule.types),
                    "status": r.status,
                    "judged": r.judged,
                    "failures": [_finding(f) for f in r.failures],
                    "exceptions": [_finding(f) for f in r.excepted],
                }
                for r in report.results
            ],
        },
        "schemaCheck": schema.as_dict(),
        "reachability": matrix,
        "resources": [
            {"urn": r.urn, "type": r.type, "name": r.name, "parent": r.parent, "inputs": r.inputs}
            for r in sorted(run.resources, key=lambda r: r.urn)
        ],
        "outputs": {k: SECRET if k in run.secret_outputs else v for k, v in run.outputs.items()},
    }


def _finding(finding: Finding) -> dict[str, Any]:
    found = {
        "type": finding.resource.type,
        "name": finding.resource.name,
        "urn": finding.resource.urn,
        "message": finding.message,
    }
    if finding.exception:
        found["reason"] = finding.exception.reason
    return found


def plain(value: Any) -> Any:
    """What JSON cannot hold as it is: an asset or archive by its contents' names, not its
    address in memory (which differs from run to run); anything else as text."""
    if isinstance(value, pulumi.asset.AssetArchive):
        return {"archive": sorted(value.assets)}
    if isinstance(value, pulumi.asset.FileAsset | pulumi.asset.FileArchive):
        return {"file": Path(value.path).name}
    if isinstance(value, pulumi.asset.StringAsset):
        return {"string": len(value.text)}
    return str(value)
