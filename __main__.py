"""multitier: a highly available multi-tier web application on AWS, one stack per environment.

This file only reads the stack config and wires the components; it reads like the diagram.
"""

import pulumi

from components import config as stack_config
from components.app_fleet import AppFleet, AppFleetArgs
from components.bastion import BastionHost
from components.network import VpcNetwork
from components.tagging import register_common_tags

config = stack_config.from_pulumi()
register_common_tags(pulumi.get_project(), pulumi.get_stack())

network = VpcNetwork("network", config.network)
bastion = BastionHost("bastion", config.bastion, network) if config.bastion.enabled else None
app = AppFleet(
    "app",
    AppFleetArgs(
        config=config.app,
        network=network,
        bastion_security_group_id=bastion.security_group_id if bastion else None,
    ),
)

pulumi.export("vpcId", network.vpc_id)
pulumi.export("vpcCidr", network.cidr_block)
pulumi.export("availabilityZones", network.availability_zones)
pulumi.export("subnetIds", network.subnet_ids)
pulumi.export("url", app.url)
pulumi.export("albDnsName", app.alb_dns_name)
pulumi.export("targetGroupArn", app.target_group_arn)
pulumi.export("asgName", app.asg_name)
pulumi.export("appSecurityGroupId", app.security_group_id)
if app.cache_endpoint is not None:
    pulumi.export("cacheEndpoint", app.cache_endpoint)
if bastion:
    pulumi.export("bastionSshCommand", bastion.ssh_command)
    pulumi.export("bastionProxyJump", bastion.proxy_jump)
