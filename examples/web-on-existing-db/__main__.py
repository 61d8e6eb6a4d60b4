"""web-on-existing-db: multitier's network, app tier and log encryption, reused in front of a
PostgreSQL that another team runs and that this program only reaches (over a peering or a VPN,
by address).

The components are imported as they are, neither copied nor edited: each takes records
(components/shared/contracts.py), so a `DatabaseConnection` built from config stands in for
multitier's own database. The `multitier:network`, `multitier:app` and
`multitier:observability` sections are validated by the same models as multitier's stacks;
`web-on-existing-db:database` says where the database is.
"""

import sys
from pathlib import Path

import pulumi

# A program of your own installs or vendors multitier's components; this one, shipped inside the
# repository, imports them from it.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from components import config as stack_config
from components.access import Access, database_access
from components.app import AppFleet, AppFleetArgs
from components.database import credentials as database_credentials
from components.network import VpcNetwork, VpcNetworkArgs
from components.observability import Observability, ObservabilityArgs
from components.shared import naming
from components.shared.contracts import DatabaseConnection
from components.shared.tagging import register_common_tags

config = stack_config.from_pulumi()
existing = pulumi.Config().require_object("database")
register_common_tags(pulumi.get_project(), pulumi.get_stack())

label = naming.label(pulumi.get_project(), pulumi.get_stack())
# The alert topic, the key the log groups are encrypted with, the app hosts' agent config.
observability = Observability("observability", ObservabilityArgs(config.observability, label))
network = VpcNetwork(
    "network",
    VpcNetworkArgs(
        config.network,
        flow_log_retention_days=config.flow_log_retention_days,
        log_kms_key_arn=observability.log_key_arn,
    ),
)
database = DatabaseConnection(
    host=existing["host"],
    port=int(existing.get("port", database_credentials.PORT)),
    secret_arn=existing["secretArn"],
    security_group_id=None,  # not this program's
    address_cidr=existing["cidr"],
)
app = AppFleet(
    "app",
    AppFleetArgs(
        config=config.app,
        network=network.ref,
        database=database,
        agent_config_parameter=observability.agent_config_parameter,
        # Names the alarms that stop an instance refresh, `<label>-app-refresh-…`: one per stack.
        stack_label=label,
        errors_per_minute=config.observability.thresholds.alb_5xx_per_minute,
        alert_topic_arn=observability.topic_arn,
    ),
)
# The app hosts' egress to the database; the database's side admits `appSecurityGroupId` (or the
# private subnets' CIDRs, across a peering) in its own program.
Access(
    "app-to-database",
    database_access(database, client_group_id=app.security_group_id, client="app"),
)

pulumi.export("url", app.url)
pulumi.export("appSecurityGroupId", app.security_group_id)
pulumi.export("privateSubnetIds", network.subnet_ids["private"])
