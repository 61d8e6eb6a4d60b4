"""Every `multitier:*` section of one stack together, and the checks that need two sections."""

from __future__ import annotations

import math
from typing import Self

from pydantic import Field, StrictBool, model_validator

from components.config.app import AppConfig
from components.config.bastion import BastionConfig
from components.config.database import DatabaseConfig
from components.config.fields import Model
from components.config.network import (
    AWS_RESERVED_PER_SUBNET,
    PRIVATE_SUBNET_FUNCTIONS,
    SSM_ENDPOINTS,
    SUBNET_BITS,
    NetworkConfig,
)
from components.config.observability import ObservabilityConfig
from components.config.promotion import PromotionConfig

PRODUCTION = "production"
"""The key (`multitier:production: true|false`) that decides whether the production rules apply."""
PRODUCTION_STACKS = ("prod", "production")
"""The names whose stacks are production unless their file says `multitier:production: false`,
with any name that starts with one of them and a hyphen (`prod-eu`, `production-2`). The policy
pack keeps its own copy (policy/model.py), as it ships without this package; a test holds them
equal."""


def production_by_name(stack: str) -> bool:
    return any(stack == name or stack.startswith(f"{name}-") for name in PRODUCTION_STACKS)


class StackConfig(Model):
    """Every `multitier:*` key of one stack."""

    network: NetworkConfig = Field(default_factory=NetworkConfig)
    bastion: BastionConfig = Field(default_factory=BastionConfig)
    app: AppConfig = Field(default_factory=AppConfig)
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    observability: ObservabilityConfig = Field(default_factory=ObservabilityConfig)
    promotion: PromotionConfig = Field(default_factory=PromotionConfig)
    production: StrictBool = Field(
        False,
        description="Whether the production rules apply (backups kept 7 days, deletion "
        "protection, Multi-AZ, access logs, 90 days of logs); default: from the stack's name.",
    )

    @property
    def flow_log_retention_days(self) -> int:
        return self.network.flow_log_retention_days or self.observability.log_retention_days

    @model_validator(mode="after")
    def _vip_outside_vpc(self) -> Self:
        address = self.database.vip.address
        if self.database.mode == "vip" and address in self.network.cidr:
            raise ValueError(
                f"database.vip.address {address} lies inside the VPC CIDR {self.network.cidr}; "
                "the VIP must be an address outside it"
            )
        if self.database.mode == "vip" and not self.network.data_egress:
            raise ValueError(
                "database.mode vip needs network.dataEgress: true; the nodes install PostgreSQL "
                "and read their secret from Secrets Manager through NAT"
            )
        endpoints = self.network.endpoints
        missing = [name for name in ("s3", "dynamodb") if not getattr(endpoints, name)]
        if self.database.mode == "vip" and missing:
            keys = " and ".join(f"network.endpoints.{name}" for name in missing)
            raise ValueError(
                f"database.mode vip needs {keys}: true (gateway endpoints cost nothing); the "
                "nodes report to the failover function through DynamoDB, and a NAT fault must "
                "not look like a dead primary"
            )
        return self

    @model_validator(mode="after")
    def _app_fits_its_subnets(self) -> Self:
        network, app = self.network, self.app
        subnet_prefix = network.cidr.prefixlen + SUBNET_BITS
        per_subnet = 2 ** (32 - subnet_prefix) - AWS_RESERVED_PER_SUBNET
        per_subnet -= SSM_ENDPOINTS if network.endpoints.ssm else 0
        per_subnet -= 1 if network.endpoints.secrets_manager else 0
        per_subnet -= PRIVATE_SUBNET_FUNCTIONS
        room = network.az_count * per_subnet
        surge = app.instance_refresh.max_healthy_percentage
        peak = math.ceil(app.max_size * surge / 100)
        if peak > room:
            raise ValueError(
                f"app.maxSize {app.max_size}: a roll-out may run {peak} instances "
                f"(instanceRefresh.maxHealthyPercentage {surge}), but the private subnets hold "
                f"{room} ({network.az_count} x /{subnet_prefix} of network.cidr "
                f"{network.cidr}); lower maxSize or widen the VPC"
            )
        return self


SECTIONS = tuple(name for name in StackConfig.model_fields if name != PRODUCTION)
"""The `multitier:*` keys that hold a mapping of a component's keys."""
