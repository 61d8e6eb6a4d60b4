"""The deployer policy judged by an IAM linter (parliament), and the findings accepted, with why.

Parliament checks every action, ARN, condition key and their fit against its copy of AWS's
service authorization data, and flags `Resource: *` where an action could be scoped. A finding
is accepted only where this module says why; anything else is a defect of the table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import parliament

from tools.deployer.document import Deployer

AWS_MANAGED_POLICIES = "arn:aws:iam::aws:policy/"
ACCEPTED = {
    "RESOURCE_STAR": "on * only for actions the policy scopes by the stack's tags instead, or "
    "that AWS authorizes on * only, create with ids not yet generated, or touch untagged "
    "resources (document.py gives each its reason)",
    "RESOURCE_MISMATCH": "AWS lists a type's siblings as required too (`listener/net` beside "
    "`listener/app`): accepted where the action's ARNs name a sibling of the same family",
    "INVALID_ARN": "AWS managed policies live in the account `aws` "
    f"({AWS_MANAGED_POLICIES}…), which parliament expects to be digits",
}


@dataclass(frozen=True)
class Finding:
    issue: str
    detail: str


def findings(deployer: Deployer) -> list[Finding]:
    policy = parliament.analyze_policy_string(
        json.dumps(deployer.document), include_community_auditors=True
    )
    return [Finding(str(f.issue), _detail(f)) for f in policy.findings]


def unaccepted(deployer: Deployer) -> list[Finding]:
    """What parliament finds that no reason here accepts."""
    star = {s.action for s in deployer.scopes if s.how in {"tag", "unscoped"}}
    found = []
    for finding in findings(deployer):
        if finding.issue == "RESOURCE_STAR" and set(json.loads(finding.detail)) <= star:
            continue
        if finding.issue == "INVALID_ARN" and finding.detail.startswith(AWS_MANAGED_POLICIES):
            continue
        if finding.issue == "RESOURCE_MISMATCH" and _siblings(finding, deployer):
            continue
        found.append(finding)
    return found


def _siblings(finding: Finding, deployer: Deployer) -> bool:
    """Whether every mismatched format has a sibling the action's ARNs do name."""
    scopes = {s.action: s for s in deployer.scopes}
    for item in json.loads(finding.detail):
        family = item["required_format"].split(":", 5)[5].split("/")[0]
        scope = scopes.get(item["action"])
        named = scope.resources if scope else ()
        if not any(arn.split(":", 5)[5].startswith(f"{family}/") for arn in named):
            return False
    return True


def _detail(finding: object) -> str:
    """RESOURCE_STAR's actions as JSON, INVALID_ARN's ARN, or parliament's own detail."""
    issue = getattr(finding, "issue", "")
    if issue == "RESOURCE_STAR":
        return json.dumps(sorted(getattr(finding, "detail", [])))
    if issue == "RESOURCE_MISMATCH":
        return json.dumps(getattr(finding, "detail", []))
    if issue == "INVALID_ARN":
        return str(getattr(finding, "location", {}).get("string", ""))
    return str(getattr(finding, "detail", ""))
