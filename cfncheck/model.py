"""What the validator reads (a declared resource) and writes (CloudFormation intrinsics).

`Declared` is what the validator needs to know of one resource the program declared; the mock
harness's `tools.mockrun.Resource` satisfies it as it is, and so would a record built from a real
`pulumi preview`. Nothing here imports the harness: dependencies run one way, tools to cfncheck.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

REF = "Ref"
"""In a type's reference table: the output is what CloudFormation's `Ref` returns."""


class Declared(Protocol):
    """One declared resource: its registration and the state the engine answered with."""

    @property
    def urn(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def custom(self) -> bool: ...
    @property
    def inputs(self) -> Mapping[str, Any]: ...
    @property
    def id(self) -> str | None: ...
    @property
    def state(self) -> Mapping[str, Any]: ...
    @property
    def secrets(self) -> frozenset[str]: ...
    @property
    def dependencies(self) -> Mapping[str, Sequence[str]]:
        """Per input, the URNs of the resources its value came from."""
        ...


def ref(logical: str) -> dict[str, Any]:
    return {"Ref": logical}


def get_att(logical: str, attribute: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical, attribute]}


def is_intrinsic(value: Any) -> bool:
    """A `{"Ref": ...}` or `{"Fn::...": ...}` the renderer wrote in place of a value."""
    if not (isinstance(value, dict) and len(value) == 1):
        return False
    key = str(next(iter(value)))
    return key == "Ref" or key.startswith("Fn::")


def short_type(type_: str) -> str:
    """`SecurityGroup` of `aws:ec2/securityGroup:SecurityGroup`."""
    return type_.rsplit(":", maxsplit=1)[-1]
