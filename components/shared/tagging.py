"""The common tags, applied to every taggable AWS resource by one stack transformation.

Provider `default_tags` cannot carry a per-component tag and never reach Auto Scaling groups, so
the program registers this transformation once instead of passing `tags=` at each call.

It is a stack *transformation* (`register_stack_transformation`), the API Pulumi has since
deprecated for resource *transforms* (`register_resource_transform`), on purpose: Pulumi's mock
engine does not run transforms (it did not as of pulumi 3.272), so under the tests and the
offline plan every resource would lose its tags, and the tag rules would judge nothing. Move to
transforms once the mock engine runs them, and keep tests/test_program.py's tag test passing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

_ASG = "aws:autoscaling/group:Group"


PRODUCTION_TAG = "multitier:production"
"""`true` or `false`: whether the stack is held to the production rules, which the security
policy (policy/model.py, the same key) reads in the plan and in the policy pack."""


def register_common_tags(project: str, stack: str, production: bool | None = None) -> None:
    """Tag everything declared from now on with project, environment and owning component, and
    whether the stack is production (`multitier:production`) when the program says."""
    common = {"Project": project, "Environment": stack, "ManagedBy": "pulumi"}
    if production is not None:
        common[PRODUCTION_TAG] = "true" if production else "false"

    def transformation(
        args: pulumi.ResourceTransformationArgs,
    ) -> pulumi.ResourceTransformationResult | None:
        if not args.type_.startswith("aws:") or "tags" not in args.props:
            return None
        tags = dict(common)
        component = _component_of(args.opts.parent)
        if component:
            tags["Component"] = component
        props = dict(args.props)
        props["tags"] = _merged(args.type_, props["tags"], tags)
        return pulumi.ResourceTransformationResult(props, args.opts)

    pulumi.runtime.register_stack_transformation(transformation)


def _component_of(parent: pulumi.Resource | None) -> str | None:
    """`network` for a child of a `multitier:network:VpcNetwork`."""
    token: str = getattr(parent, "_type", "")
    package, _, rest = token.partition(":")
    return rest.split(":")[0] if package == "multitier" else None


def _merged(type_: str, declared: Any, common: Mapping[str, str]) -> Any:
    if type_ == _ASG:  # Auto Scaling groups take a list and propagate it to their instances
        own = list(declared or [])
        keys = {t["key"] if isinstance(t, Mapping) else t.key for t in own}
        extra = [
            {"key": k, "value": v, "propagate_at_launch": True}
            for k, v in common.items()
            if k not in keys
        ]
        return own + extra
    # Declared tags win; they may still be unresolved outputs.
    return pulumi.Output.from_input(declared).apply(lambda own: {**common, **(own or {})})
