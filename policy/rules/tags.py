"""Tag rules: every taggable resource carries the common tags."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from policy.model import Res, Stack
from policy.rules.base import ANY_TYPE, rule

COMMON_TAGS = ("Project", "Environment", "ManagedBy", "Component")


@rule(
    "tags-common",
    "Every taggable resource carries the Project, Environment, ManagedBy and Component tags.",
    ANY_TYPE,
)
def _tags_common(resource: Res, _: Stack) -> Iterator[str]:
    tags = resource.get("tags")
    if isinstance(tags, Sequence) and not isinstance(tags, str):  # Auto Scaling groups
        keys = {t.get("key") for t in tags if isinstance(t, Mapping)}
    else:
        keys = set(tags or {})
    missing = [t for t in COMMON_TAGS if t not in keys]
    if missing:
        yield f"missing tags {', '.join(missing)}"
