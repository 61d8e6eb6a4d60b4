"""`multitier:bastion`: the optional SSH bastion's config, and who may reach it."""

from __future__ import annotations

import re
from ipaddress import IPv4Network
from typing import Annotated, Self

from pydantic import AfterValidator, Field, model_validator

from components.config.fields import Allowed, AmiId, InstanceType, Model, Port, matches

_KEY_PAIR_NAME = re.compile(r"[\x20-\x7e]{1,255}")


def _admin_cidr(network: IPv4Network) -> IPv4Network:
    if network.prefixlen < 8:
        raise ValueError("SSH may not be open to the internet; give networks of /8 or narrower")
    return network


AdminCidr = Annotated[IPv4Network, AfterValidator(_admin_cidr), Allowed("/8 or narrower")]
KeyPairName = Annotated[
    str,
    matches(_KEY_PAIR_NAME, "my-key (1 to 255 printable ASCII characters)"),
    Allowed("1 to 255 printable ASCII characters"),
]


class BastionConfig(Model):
    """`multitier:bastion`"""

    enabled: bool = Field(
        False, description="Build the bastion (SSM Session Manager works without it)."
    )
    allowed_cidrs: list[AdminCidr] = Field(
        default_factory=list, description="IPv4 networks allowed to SSH in."
    )
    ssh_port: Port = Field(2222, description="The port sshd listens on.")
    instance_type: InstanceType = Field("t3.micro", description="Bastion instance type.")
    ami: AmiId | None = Field(None, description="AMI id; default: latest Amazon Linux 2023.")
    key_name: KeyPairName | None = Field(
        None, description="EC2 key pair for SSH; none means SSM only."
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.enabled and not self.allowed_cidrs:
            raise ValueError("allowedCidrs must list at least one network when enabled is true")
        for index, network in enumerate(self.allowed_cidrs):
            first = self.allowed_cidrs.index(network)
            if first != index:  # EC2 refuses a second rule identical to one the group has
                raise ValueError(
                    f"allowedCidrs[{index}] = '{network}' repeats allowedCidrs[{first}]; EC2 "
                    "refuses two identical rules (InvalidPermission.Duplicate); allowed: each "
                    "network once"
                )
        return self
