"""multitier: a highly available multi-tier web application on AWS, one stack per environment.

This file only reads the stack config and wires the components; it reads like the diagram.
"""

import pulumi

from components import config as stack_config
from components.bastion import BastionHost
from components.network import VpcNetwork
from components.tagging import register_common_tags

config = stack_config.from_pulumi()
register_common_tags(pulumi.get_project(), pulumi.get_stack())

network = VpcNetwork("network", config.network)
bastion = BastionHost("bastion", config.bastion, network) if config.bastion.enabled else None

pulumi.export("vpcId", network.vpc_id)
pulumi.export("vpcCidr", network.cidr_block)
pulumi.export("availabilityZones", network.availability_zones)
pulumi.export("subnetIds", network.subnet_ids)
if bastion:
    pulumi.export("bastionSshCommand", bastion.ssh_command)
    pulumi.export("bastionProxyJump", bastion.proxy_jump)
