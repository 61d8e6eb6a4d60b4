"""References: a value that came from another declared resource becomes `Ref` or `Fn::GetAtt`.

The engine says, per input, which resources its value came from (`Declared.dependencies`). Each
leaf of the input is compared with those resources' id and outputs; a match with an output the
resource's table entry names becomes `{"Ref": ...}` or `{"Fn::GetAtt": [...]}`, so the template
judges what the program wrote, never an id the mocks made up. A match with a resource that has no
CloudFormation equivalent becomes that type's realistic placeholder (a generated password).

Everything else stays as the engine gave it:
- values derived from an output (a subnet's IPv6 block carved from the VPC's, a secret's JSON);
- outputs no CloudFormation attribute returns (an instance's primary network interface id: the
  mocks give `eni-` and 17 hex digits, the shape AWS uses);
- values that are neither references nor literals but answers of lookups, which the mocks give
  in the shape AWS does: the region's zone names (`eu-west-1a`), the AMI id an SSM parameter
  holds (`ami-0` and 16 hex digits), the account id, the ELB log-delivery account;
- values inside JSON strings (IAM policies, event patterns): they stay the strings they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from cfncheck.model import REF, Declared, get_att, ref
from cfncheck.table import NoEquivalent, TypeMap

Candidate = tuple[Any, Any]
"""An output value, and what to write in its place."""


class References:
    def __init__(
        self,
        resources: Sequence[Declared],
        logical: Mapping[str, str],
        types: Mapping[str, TypeMap],
        no_equivalent: Mapping[str, NoEquivalent],
    ) -> None:
        self._by_urn = {r.urn: r for r in resources}
        self._logical = logical
        self._types = types
        self._no_equivalent = no_equivalent
        self._cache: dict[str, list[Candidate]] = {}

    def resolve(self, resource: Declared) -> dict[str, Any]:
        """The resource's inputs with references written as intrinsics."""
        return {
            key: _substitute(value, self._candidates(resource.dependencies.get(key, ())))
            for key, value in resource.inputs.items()
        }

    def _candidates(self, urns: Iterable[str]) -> list[Candidate]:
        return [candidate for urn in urns for candidate in self._of(urn)]

    def _of(self, urn: str) -> list[Candidate]:
        if urn not in self._cache:
            self._cache[urn] = self._compute(urn)
        return self._cache[urn]

    def _compute(self, urn: str) -> list[Candidate]:
        resource = self._by_urn.get(urn)
        if resource is None or not resource.custom:
            return []
        outputs = {"id": resource.id, **resource.state}
        table, logical = self._types.get(resource.type), self._logical.get(urn)
        if table is not None and logical is not None:
            return [
                (value, ref(logical) if expression == REF else get_att(logical, expression))
                for key, expression in table.refs.items()
                if (value := _lookup(outputs, key)) is not None
            ]
        entry = self._no_equivalent.get(resource.type)
        if entry is not None and entry.placeholder is not None:
            return [
                (value, stand_in)
                for key, stand_in in entry.placeholder(resource).items()
                if (value := _lookup(outputs, key)) is not None
            ]
        return []


def _lookup(outputs: Mapping[str, Any], key: str) -> Any:
    """`masterUserSecrets.0.secretArn` of the outputs, or None."""
    value: Any = outputs
    for part in key.split("."):
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def _substitute(value: Any, candidates: list[Candidate]) -> Any:
    if not candidates:
        return value
    if isinstance(value, Mapping):
        return {k: _substitute(v, candidates) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, candidates) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    for output, replacement in candidates:
        if _same(value, output):
            return replacement
    return value


def _same(value: Any, output: Any) -> bool:
    """Equal, or the same number written as a string (a launch template version)."""
    if isinstance(output, bool) or not isinstance(output, str | int | float):
        return False
    if isinstance(value, str) and not isinstance(output, str):
        return value == str(output)
    return bool(value == output)
