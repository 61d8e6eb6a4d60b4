"""`multitier:promotion`: where a stack's releases come from. The program declares nothing from
it; `make promote` (tools/promote.py) refuses a promotion from any other stack."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field

from components.config.fields import Allowed, Model, matches

# Pulumi's stack names: letters, digits, hyphens, underscores and periods.
_STACK = re.compile(r"[A-Za-z0-9_.-]{1,100}")

StackName = Annotated[
    str,
    matches(_STACK, "staging (a stack of this program)"),
    Allowed("the name of another stack of this program: letters, digits, - _ ."),
]


class PromotionConfig(Model):
    """`multitier:promotion`"""

    from_: StackName | None = Field(
        None,
        alias="from",
        description="The stack whose release `make promote` copies into this one, and the only "
        "one; unset: releases are set here by hand (the first stack of the chain).",
    )
