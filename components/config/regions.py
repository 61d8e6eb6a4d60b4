"""The AWS regions a stack (or its DR copies) may live in."""

from __future__ import annotations

from functools import cache

import botocore.session  # type: ignore[import-untyped]


@cache
def aws_regions() -> tuple[str, ...]:
    """The regions of the `aws` partition, from botocore's endpoint data (opt-in regions included).

    Only that partition: the program writes `arn:aws:` ARNs into its IAM policies, which aws-cn and
    aws-us-gov refuse, so a stack there would fail at its first policy.
    """
    session = botocore.session.get_session()
    return tuple(sorted(session.get_available_regions("ec2", partition_name="aws")))
