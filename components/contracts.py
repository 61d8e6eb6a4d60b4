"""What one component hands another: small typed records instead of whole components."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class DatabaseEndpoint:
    """What the app tier needs of the database, whichever mode serves it."""

    endpoint: pulumi.Output[str]
    port: int
    secret_arn: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
