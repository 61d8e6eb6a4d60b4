"""multitier: a highly available multi-tier web application on AWS, one stack per environment.

This file only reads the stack config and wires the components; it reads like the diagram. The
components hand each other records (components/shared/contracts.py), never themselves.
"""

import pulumi

from components import config as stack_config
from components.access import Access, BastionHost, BastionHostArgs, database_access
from components.app import AppFleet, AppFleetArgs
from components.config.warnings import config_warnings
from components.database import PostgresHA, PostgresHAArgs, cluster_name
from components.network import VpcNetwork, VpcNetworkArgs
from components.observability import (
    Monitoring,
    MonitoringArgs,
    Observability,
    ObservabilityArgs,
)
from components.recovery import DisasterRecovery, DisasterRecoveryArgs
from components.shared import naming, stack_outputs
from components.shared.tagging import register_common_tags
from functions.db_failover.contract import ROUTES_TAG

project, stack = pulumi.get_project(), pulumi.get_stack()
config = stack_config.from_pulumi()
for warning in config_warnings(config):
    pulumi.log.warn(warning)
register_common_tags(project, stack, production=config.production)
stack_label = naming.label(project, stack)
database_name = cluster_name(project, stack)
vip_mode = config.database.mode == "vip"

observability = Observability(
    "observability", ObservabilityArgs(config.observability, stack_label=stack_label)
)
network = VpcNetwork(
    "network",
    VpcNetworkArgs(
        config.network,
        flow_log_retention_days=config.flow_log_retention_days,
        log_kms_key_arn=observability.log_key_arn,
        # The failover Lambda finds the route tables whose VIP route it owns by this tag.
        inner_route_table_tags={ROUTES_TAG: database_name} if vip_mode else {},
    ),
)
bastion = (
    BastionHost("bastion", BastionHostArgs(config.bastion, network.ref))
    if config.bastion.enabled
    else None
)
bastion_group = bastion.security_group_id if bastion else None
database = PostgresHA(
    "database",
    PostgresHAArgs(
        config=config.database,
        network=network.ref,
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
        network=network.ref,
        database=database.connection,
        bastion_security_group_id=bastion_group,
        agent_config_parameter=observability.agent_config_parameter,
        stack_label=stack_label,
        log_retention_days=config.observability.retention("app"),
        log_kms_key_arn=observability.log_key_arn,
        errors_per_minute=config.observability.thresholds.alb_5xx_per_minute,
        alert_topic_arn=observability.topic_arn,
    ),
)
# The app hosts reach the database: its ingress rule and their egress rule, owned by neither.
Access(
    "app-to-database",
    database_access(database.connection, client_group_id=app.security_group_id, client="app"),
)
# Copies of the data in another region: the database's backups and the file systems.
if config.database.dr:
    DisasterRecovery(
        "dr",
        DisasterRecoveryArgs(
            config.database.dr,
            database_instance_arn=database.data.database_instance_arn,
            file_system_arns=[*database.data.file_system_arns, *app.data.file_system_arns],
        ),
    )
# Named like Observability, whose alarms and dashboard these were: they keep their names.
monitoring = Monitoring(
    "observability",
    MonitoringArgs(
        config=config.observability,
        stack_label=stack_label,
        topic_arn=observability.topic_arn,
        app=app.monitoring,
        database=database.monitoring,
        network=network.monitoring,
        bastion_group_name=bastion.group_name if bastion else None,
    ),
)

stack_outputs.export(
    {
        "vpcId": network.vpc_id,
        "vpcCidr": network.cidr_block,
        "availabilityZones": network.availability_zones,
        "subnetIds": network.subnet_ids,
        "url": app.url,
        "albDnsName": app.alb_dns_name,
        "targetGroupArn": app.target_group_arn,
        "asgName": app.asg_name,
        "appSecurityGroupId": app.security_group_id,
        "cacheEndpoint": app.cache_endpoint,
        "databaseEndpoint": database.endpoint,
        "databasePort": database.port,
        "databaseSecretArn": database.secret_arn,
        "databaseMasterSecretArn": database.master_secret_arn,
        "databaseReadonlySecretArn": database.readonly_secret_arn,
        "credentialsFunctionName": database.credentials_function_name,
        "databaseSecurityGroupId": database.security_group_id,
        "databaseIdentifier": database.identifier,
        "databaseReaderEndpoint": database.reader_endpoint,
        "failoverFunctionName": database.failover_function_name,
        "databaseArchiveBucket": database.archive_bucket,
        "alertTopicArn": observability.topic_arn,
        "dashboardUrl": monitoring.dashboard_url,
        "alarmNames": monitoring.alarm_names,
        "bastionSshCommand": bastion.ssh_command if bastion else None,
        "bastionProxyJump": bastion.proxy_jump if bastion else None,
    }
)
