"""multitier: a highly available multi-tier web application on AWS, one stack per environment.

This file only reads the stack config and wires the components; it reads like the diagram.
"""

import pulumi

from components import config as stack_config
from components import naming
from components.app_fleet import AppFleet, AppFleetArgs
from components.bastion import BastionHost
from components.config.warnings import config_warnings
from components.network import VpcNetwork
from components.observability import AppTargets, DatabaseTargets, NetworkTargets, Observability
from components.postgres_ha import PostgresHA, PostgresHAArgs, cluster_name
from components.tagging import register_common_tags
from functions.db_failover.contract import ROUTES_TAG

project, stack = pulumi.get_project(), pulumi.get_stack()
config = stack_config.from_pulumi()
for warning in config_warnings(config):
    pulumi.log.warn(warning)
register_common_tags(project, stack)
database_name = cluster_name(project, stack)
vip_mode = config.database.mode == "vip"

observability = Observability(
    "observability", config.observability, stack_label=naming.label(project, stack)
)
network = VpcNetwork(
    "network",
    config.network,
    flow_log_retention_days=config.flow_log_retention_days,
    log_kms_key_arn=observability.log_key_arn,
    # The failover Lambda finds the route tables whose VIP route it owns by this tag.
    inner_route_table_tags={ROUTES_TAG: database_name} if vip_mode else None,
)
bastion = BastionHost("bastion", config.bastion, network) if config.bastion.enabled else None
bastion_group = bastion.security_group_id if bastion else None
database = PostgresHA(
    "database",
    PostgresHAArgs(
        config=config.database,
        network=network,
        cluster_name=database_name,
        bastion_security_group_id=bastion_group,
        log_retention_days=config.observability.retention("database"),
        log_kms_key_arn=observability.log_key_arn,
    ),
)
app = AppFleet(
    "app",
    AppFleetArgs(
        config=config.app,
        network=network,
        database=database.connection,
        bastion_security_group_id=bastion_group,
        agent_config_parameter=observability.agent_config_parameter,
    ),
)
database.admit("app", app.security_group_id)
observability.watch(
    app=AppTargets(
        alb_arn_suffix=app.alb_arn_suffix,
        target_group_arn_suffix=app.target_group_arn_suffix,
        group_name=app.asg_name,
        min_size=config.app.min_size,
        cache_member_clusters=app.cache_member_clusters,
        cache_node_count=config.app.cache.node_count,
    ),
    database=DatabaseTargets(
        mode=config.database.mode,
        instance_identifiers=database.managed.instance_identifiers if database.managed else [],
        failover_function_name=database.failover_function_name,
        node_group_name=database.cluster.node_group_name if database.cluster else None,
        file_system_id=database.cluster.file_system_id if database.cluster else None,
        cluster_name=database.cluster.cluster_name if database.cluster else None,
        check_every_minutes=config.database.vip.check_every_minutes,
    ),
    network=NetworkTargets(network.nat_gateway_ids, network.nat_instance_id),
    bastion_group_name=bastion.group_name if bastion else None,
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
pulumi.export("databaseEndpoint", database.endpoint)
pulumi.export("databasePort", database.port)
pulumi.export("databaseSecretArn", database.secret_arn)
pulumi.export("databaseSecurityGroupId", database.security_group_id)
if database.managed:
    pulumi.export("databaseIdentifier", database.managed.instance_identifiers[0])
    if database.managed.reader_endpoint is not None:
        pulumi.export("databaseReaderEndpoint", database.managed.reader_endpoint)
if database.failover_function_name is not None:
    pulumi.export("failoverFunctionName", database.failover_function_name)
pulumi.export("alertTopicArn", observability.topic_arn)
pulumi.export("dashboardUrl", observability.dashboard_url)
pulumi.export("alarmNames", observability.alarm_names)
if bastion:
    pulumi.export("bastionSshCommand", bastion.ssh_command)
    pulumi.export("bastionProxyJump", bastion.proxy_jump)
