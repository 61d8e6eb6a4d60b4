"""Prints the starting deployer policy of a stack: the IAM policy document on standard output,
and on standard error what it is, how far each part is scoped, and how to confirm it.

    python -m tools.deployer STACK [--account ID] [--split]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict

from tools import mockrun
from tools.deployer.document import MANAGED_POLICY_LIMIT, Deployer, build, size, split
from tools.deployer.lint import findings, unaccepted

CAVEAT = """\
This policy is a starting point, derived from the declared resources and a table of the calls
the AWS provider makes (tools/deployer/table*.py). Nothing here can prove it sufficient or
minimal: the provider's calls change between versions, and AWS services call others on the
caller's behalf. Confirm it before trusting it: run a first `pulumi up`, `pulumi refresh` and
`pulumi destroy` of this stack in a sandbox account with CloudTrail on, then have IAM Access
Analyzer generate a policy from that trail (IAM > Roles > the deployer role > Generate policy)
and compare; add what was denied, drop what was never used. Not included: the state backend's
own access (an S3 backend's bucket, a KMS secrets provider's key)."""


def notes(deployer: Deployer) -> list[str]:
    scopes = deployer.scopes
    counts = {how: sum(1 for s in scopes if s.how == how) for how in ("name", "tag", "unscoped")}
    tags = ", ".join(f"{k}={v}" for k, v in deployer.tags.items())
    lines = [
        f"deployer policy of stack {deployer.stack}: {len(scopes)} actions, "
        f"{counts['name']} scoped by resource name, {counts['tag']} by the stack's tags "
        f"({tags}), {counts['unscoped']} unscoped",
        f"size {size(deployer.document)} characters; a managed policy holds "
        f"{MANAGED_POLICY_LIMIT}: --split prints {len(split(deployer.document))} documents",
        f"IAM linter (parliament): {len(findings(deployer))} findings, "
        f"{len(unaccepted(deployer))} not accepted (tools/deployer/lint.py says why)",
        "unscoped, and why:",
    ]
    by_why: dict[str, list[str]] = defaultdict(list)
    for scope in deployer.unscoped:
        by_why[scope.why].append(scope.action)
    for why, actions in sorted(by_why.items()):
        lines.append(f"  {why}: {len(actions)}, e.g. {', '.join(actions[:4])}")
    return [*lines, "", *CAVEAT.splitlines()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack")
    parser.add_argument("--account", default="*", help="the account id to put in the ARNs")
    parser.add_argument("--split", action="store_true", help="one document per managed policy")
    args = parser.parse_args(argv)
    deployer = build(mockrun.run(args.stack), args.account)
    output = split(deployer.document) if args.split else deployer.document
    sys.stdout.write(json.dumps(output, indent=2) + "\n")
    sys.stderr.write("\n".join(notes(deployer)) + "\n")
    return 0
