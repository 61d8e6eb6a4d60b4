"""What AWS needs first is created first: the real program's resources wait for their real
prerequisites (the rules in policy/rules/order.py judge the same on every stack)."""

from __future__ import annotations

import pytest

from policy.types import (
    ASG,
    ATTACHMENT,
    EFS_MOUNT_TARGET,
    EGRESS,
    EIP,
    FLOW_LOG,
    FUNCTION,
    IGW,
    INGRESS,
    INSTANCE,
    LAUNCH_TEMPLATE,
    LB,
    NAT_GATEWAY,
    RDS,
    ROLE_POLICY,
    ROUTE,
    SECRET_VERSION,
)
from tests.conftest import plan
from tools.mockrun import Resource, Run

# Slow (every stack and mode planned): in `make test`, not `make check`.
pytestmark = pytest.mark.slow


def assert_waits(run: Run, resource: Resource, *prerequisites: Resource) -> None:
    before = run.prerequisites(resource)
    missing = [
        f"{p.type.rsplit(':', 1)[-1]} '{p.name}'" for p in prerequisites if p.urn not in before
    ]
    assert not missing, (
        f"{resource.type.rsplit(':', 1)[-1]} '{resource.name}' does not wait for {missing}"
    )


@pytest.mark.parametrize("mode", ["single", "per_az"])
def test_nat_gateways_and_their_addresses_wait_for_the_internet_gateway(mode):
    run = plan("staging", network={"natMode": mode})
    gateway = run.one(IGW)
    nats = run.of_type(NAT_GATEWAY)
    assert nats
    for nat in nats + run.of_type(EIP):
        assert_waits(run, nat, gateway)


def test_the_nat_instance_waits_for_the_gateway_its_route_and_its_role():
    run = plan("dev", network={"natMode": "instance"})
    nat = run.one(INSTANCE, "network-nat")
    public_route = run.one(ROUTE, "network-public-default")
    grants = [r for r in run.of_type(ATTACHMENT) if r.name.startswith("network-nat-")]
    assert_waits(run, nat, run.one(IGW), public_route, *grants)
    assert_waits(run, nat, run.one(EGRESS, "network-nat-to-internet"))


def test_the_load_balancer_waits_for_the_internet_gateway(stack):
    run = plan(stack)
    assert_waits(run, run.one(LB), run.one(IGW))


def test_every_launch_template_waits_for_its_roles_grants(stack):
    run = plan(stack, bastion={"enabled": True, "allowedCidrs": ["203.0.113.0/24"]})
    for template in run.of_type(LAUNCH_TEMPLATE):
        prefix = {"app": "app-hosts", "database-node": "database-nodes"}.get(
            template.name, template.name
        )
        grants = [
            r
            for r in run.of_type(
                ROLE_POLICY,
            )
            + run.of_type(ATTACHMENT)
            if r.name == prefix or r.name.startswith(f"{prefix}-")
        ]
        assert grants, template.name
        assert_waits(run, template, *grants)


def test_the_bastion_claims_its_address_only_once_allowed_to():
    run = plan("dev")
    claim = run.one(ROLE_POLICY, "bastion-claim-address")
    assert_waits(run, run.one(LAUNCH_TEMPLATE, "bastion"), claim, run.one(IGW))
    assert_waits(run, run.one(ASG, "bastion"), run.one(EGRESS, "bastion-https"))


def test_rds_waits_for_the_enhanced_monitoring_attachment():
    run = plan("staging", database={"mode": "managed", "readReplicas": 1})
    attachment = run.one(ATTACHMENT, "database-monitoring")
    instances = run.of_type(RDS)
    assert len(instances) == 2
    for instance in instances:
        assert_waits(run, instance, attachment)


def test_flow_logs_and_the_failover_function_wait_for_their_role_policies():
    run = plan("dev", database={"mode": "vip"})
    assert_waits(run, run.one(FLOW_LOG), run.one(ROLE_POLICY, "network-flow-logs"))
    assert_waits(
        run,
        run.one(FUNCTION, "database-failover"),
        run.one(ROLE_POLICY, "database-failover"),
    )
    assert_waits(
        run,
        run.one(FUNCTION, "database-credentials"),
        run.one(ROLE_POLICY, "database-credentials"),
    )


def test_app_hosts_boot_after_egress_the_cache_secret_and_the_backups_mount_targets():
    run = plan("prod", app={"cache": {"enabled": True}, "efs": {"enabled": True}})
    group = run.one(ASG, "app")
    private_routes = [r for r in run.of_type(ROUTE) if r.name.startswith("network-private-")]
    mount_targets = run.of_type(EFS_MOUNT_TARGET)
    version = run.one(SECRET_VERSION, "app-cache")
    assert private_routes and mount_targets
    assert_waits(run, group, *private_routes, *mount_targets, version)
    # Its group lets it out, into the file system, and the ALB in for the first health check.
    rules = [
        run.one(EGRESS, "app-hosts-https"),
        run.one(INGRESS, "app-backups-from-hosts"),
        run.one(EGRESS, "app-backups-from-hosts-egress"),
        run.one(INGRESS, "app-hosts-from-alb"),
        run.one(EGRESS, "app-alb-to-hosts"),
    ]
    assert_waits(run, group, *rules)


def test_database_nodes_boot_after_egress_the_data_volume_and_their_secret():
    run = plan("dev", database={"mode": "vip"})
    nodes = run.one(ASG, "database-nodes")
    data_routes = [r for r in run.of_type(ROUTE) if r.name.startswith("network-data-")]
    mount_targets = run.of_type(EFS_MOUNT_TARGET)
    version = run.one(SECRET_VERSION, "database-master")
    assert data_routes and mount_targets
    assert_waits(run, nodes, *data_routes, *mount_targets, version)
    rules = [
        run.one(EGRESS, "database-https"),
        run.one(INGRESS, "database-data-from-nodes"),
        run.one(EGRESS, "database-data-from-nodes-egress"),
    ]
    assert_waits(run, nodes, *rules)
    # The app reads the same secret at its first boot.
    assert_waits(run, run.one(ASG, "app"), version)


def test_the_harness_records_depends_on_as_well_as_input_dependencies():
    run = plan("staging", network={"natMode": "single"})
    nat = run.one(NAT_GATEWAY)
    gateway = run.one(IGW)
    assert gateway.urn in nat.waits_for
    assert all(gateway.urn not in urns for urns in nat.dependencies.values())
