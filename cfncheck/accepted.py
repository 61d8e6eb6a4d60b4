"""Explicit accepted findings: one cfn-lint rule, one resource (and input), and why.

A resource is named by its Pulumi type and logical name, as the plan prints them; `input` narrows
an acceptance to one input when the rule could fire on several. The plan lists every accepted
finding with its reason, and a test fails on an acceptance that no stack variant uses any more.

Accept only what cfn-lint gets wrong about this program, in words a reviewer can check; a finding
the rendering causes is fixed in the rendering, and a real one in the program.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cfncheck.report import Finding

RDS_INSTANCE = "aws:rds/instance:Instance"


@dataclass(frozen=True)
class Accepted:
    rule: str
    type: str
    name: str
    reason: str
    input: str = ""
    """The Pulumi input the finding is on; any input when empty."""
    restored_too: bool = False
    """Also the instances restored beside it, named `<name>-<restore id>` by the config."""

    def covers(self, finding: Finding) -> bool:
        resource = finding.resource
        return (
            resource is not None
            and self.rule == finding.rule
            and self.type == resource.type
            and (
                self.name == resource.name
                or (self.restored_too and resource.name.startswith(f"{self.name}-"))
            )
            and (not self.input or self.input == finding.input)
        )


ACCEPTED: tuple[Accepted, ...] = (
    Accepted(
        "W3691",
        RDS_INSTANCE,
        "database",
        "engineVersion is a bare major, 16. cfn-lint's list of deprecated versions adds a "
        "major whenever one of its minors is deprecated (16.1 to 16.8 are), so any bare major "
        "is flagged; RDS accepts a major and creates the instance at that major's default minor "
        "(the provider: 'you can provide a prefix of the version'; engineVersionActual says "
        "which). We do not pin the minor: autoMinorVersionUpgrade (rule rds-minor-upgrades) lets "
        "RDS move it in the maintenance window, and the provider keeps a prefix that still "
        "matches the running version as it is. A pinned minor would turn every upgrade AWS "
        "applies into drift that Pulumi tries to revert, a downgrade RDS refuses. The same "
        "holds for an instance restored beside it (database-<restore id>).",
        restored_too=True,
    ),
)
