"""The shape of a table entry: how one Pulumi resource type is written as CloudFormation.

Each AWS service's module in `cfncheck.types` holds entries of these shapes; `cfncheck.types`
gathers them. An entry says which CloudFormation type the Pulumi type becomes, how each input
converts (`fields`), what CloudFormation's `Ref` and `Fn::GetAtt` return for the outputs other
resources read (`refs`), and, for the few Pulumi resources that CloudFormation writes as a
property of another resource (a bucket's encryption, a rule's target), where they go (`attach`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cfncheck.fields import Field
from cfncheck.model import Declared


@dataclass(frozen=True)
class Companion:
    """A second CloudFormation resource that one Pulumi resource needs (an internet gateway's
    attachment to its VPC). Fields write to it with paths prefixed `<name>:`."""

    cfn: str
    self_ref: str
    """The companion's property that names the main resource (`Ref`)."""


@dataclass(frozen=True)
class Attach:
    """The Pulumi resource is a property of another declared resource in CloudFormation."""

    link: str
    """The input that names the host resource (its dependencies give the host)."""
    item: str | None = None
    """Append the fields as one item of this list property of the host (`Targets`); merge them
    into the host's properties when None."""


@dataclass(frozen=True)
class TypeMap:
    pulumi: str
    cfn: str
    fields: Mapping[str, Field]
    refs: Mapping[str, str] = field(default_factory=dict)
    """Output (`id`, `arn`, `masterUserSecrets.0.secretArn`) → `REF` or a `Fn::GetAtt` attribute.
    An output that other resources read and that is missing here stays the value the engine gave."""
    companions: Mapping[str, Companion] = field(default_factory=dict)
    attach: Attach | None = None
    required_name: str | None = None
    """A name property CloudFormation requires but Pulumi auto-names (`<name>-<7 hex>`): it is
    filled from the engine's `name` output when the program sets none."""


@dataclass(frozen=True)
class NoEquivalent:
    """A Pulumi type that has no CloudFormation equivalent, and why."""

    pulumi: str
    reason: str
    placeholder: Callable[[Declared], Mapping[str, Any]] | None = None
    """Realistic stand-ins for the outputs other resources read (a generated password)."""
