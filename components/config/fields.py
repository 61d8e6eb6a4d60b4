"""What the section models are built from: the model base (camelCase keys, unknown keys refused,
values frozen once parsed), `Allowed` (what a key allows, in words, for the README's config
reference) and the value types more than one section uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


@dataclass(frozen=True)
class Allowed:
    """What a key allows, in words: the README's config reference shows it (tools/config_doc)."""

    text: str


class Model(BaseModel):
    """Common settings: camelCase keys, unknown keys refused, values frozen once parsed."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        extra="forbid",
        frozen=True,
    )


# The values CloudWatch Logs accepts for a log group's retention.
LOG_RETENTION_DAYS: tuple[int, ...] = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545)
LOG_RETENTION_DAYS += (731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)

_INSTANCE_TYPE = re.compile(r"[a-z][a-z0-9-]*\.[a-z0-9]+")
_AMI_ID = re.compile(r"ami-[0-9a-f]{8}(?:[0-9a-f]{9})?")


def _log_retention(days: int) -> int:
    if days not in LOG_RETENTION_DAYS:
        allowed = ", ".join(map(str, LOG_RETENTION_DAYS))
        raise ValueError(f"not a CloudWatch Logs retention; allowed: {allowed}")
    return days


def matches(pattern: re.Pattern[str], example: str) -> AfterValidator:
    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(f"expected a value like {example}")
        return value

    return AfterValidator(check)


LogRetention = Annotated[
    int, AfterValidator(_log_retention), Allowed("a CloudWatch Logs retention: 1, 3, 5, ... 3653")
]
Port = Annotated[int, Field(ge=1, le=65535)]
InstanceType = Annotated[
    str, matches(_INSTANCE_TYPE, "t3.micro"), Allowed("an EC2 instance type, like t3.micro")
]
AmiId = Annotated[
    str, matches(_AMI_ID, "ami-0123456789abcdef0"), Allowed("ami- and 8 or 17 hex digits")
]
