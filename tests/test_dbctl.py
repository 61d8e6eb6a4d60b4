"""The operator verbs (tools/dbctl) on moto: switchover, pause and resume as the failover function
honours them, status. The demoted primary's agent is played by a thread that answers its new
role tag with a `ready` report, as the real agent does once PostgreSQL has stopped cleanly (the
drill plays it with the real agent and PostgreSQL)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest
from botocore.exceptions import ClientError  # type: ignore[import-untyped]

from functions.db_failover import contract
from functions.db_failover import handler as failover
from functions.db_failover.decision import SwitchoverRefusedError
from functions.db_failover.lease import Lease
from tests.failover_world import CLUSTER, LEASE_TABLE, NODE_GROUP, REGION, VIP
from tools.dbctl import cli, operations
from tools.dbctl.operations import Clients, Cluster, SwitchoverFailedError

SETTINGS = Cluster(CLUSTER, VIP, LEASE_TABLE, NODE_GROUP)


def clients() -> Clients:
    return Clients(
        boto3.client("ec2", region_name=REGION),
        boto3.client("dynamodb", region_name=REGION),
        boto3.client("autoscaling", region_name=REGION),
        boto3.client("lambda", region_name=REGION),
    )


class DemotedAgent(threading.Thread):
    """The primary's agent as a switchover meets it: once its role tag is no longer `primary`,
    it reports `stopping`, then `ready` (after `stop_seconds`); or never, when `stops` is False."""

    def __init__(self, world: Any, node: str, stop_seconds: float = 0.3, stops: bool = True):
        super().__init__(daemon=True)
        self.world, self.node, self.stop_seconds, self.stops = world, node, stop_seconds, stops
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(0.05):
            if self.world.role(self.node) != "primary":
                self._report("stopping")
                if not self.stops:
                    return
                time.sleep(self.stop_seconds)
                self._report("ready")
                return

    def _report(self, state: str) -> None:
        now = time.time()
        boto3.client("dynamodb", region_name=REGION).put_item(
            TableName=LEASE_TABLE,
            Item={
                "id": {"S": contract.node_item(self.node)},
                "node": {"S": self.node},
                "state": {"S": state},
                "since": {"N": str(now)},
                "at": {"N": str(now)},
            },
        )


def switch(world: Any, primary: str, target: str | None = None, **kwargs: Any) -> Any:
    agent = DemotedAgent(world, primary, stops=kwargs.pop("stops", True))
    agent.start()
    try:
        return operations.switchover(
            clients(), SETTINGS, target, say=lambda _: None, serve_timeout=0, **kwargs
        )
    finally:
        agent.halt.set()
        agent.join()


def test_a_switchover_hands_the_role_to_the_earliest_ready_standby_and_moves_every_route(world):
    primary, first, second = world.launch("primary"), world.launch(), world.launch()
    world.route_to(primary)
    world.invoke()  # the primary is protected from scale-in, as the function leaves it

    result = switch(world, primary)

    assert (result.old, result.new) == (primary, first)
    assert (world.role(primary), world.role(first), world.role(second)) == (
        "standby",
        "primary",
        "standby",
    )
    assert world.managed_routes() == {world.eni(first)}
    assert world.tags(first)[contract.PROMOTED_TAG]
    assert not world.source_dest_check(first)
    assert (world.protected(first), world.protected(primary)) == (True, False)
    assert world.state(primary) == "running"  # stopped cleanly by its agent, not fenced by EC2
    assert result.demoted <= result.stopped <= result.promoted


def test_a_switchover_goes_to_the_standby_the_operator_chose(world):
    primary, _, chosen = world.launch("primary"), world.launch(), world.launch()
    world.route_to(primary)

    assert switch(world, primary, chosen).new == chosen
    assert world.role(chosen) == "primary"


def test_after_a_switchover_the_function_keeps_the_new_primary(world):
    primary, standby = world.launch("primary"), world.launch()
    world.route_to(primary)
    switch(world, primary)
    world.report(standby, "serving")
    world.report(primary, "ready")

    assert world.invoke()["action"] == "unchanged"
    assert world.invoke()["primary"] == standby


def test_a_switchover_is_refused_without_a_ready_standby_and_changes_nothing(world):
    primary = world.launch("primary")
    world.launch(reports="starting")
    stale = world.launch()
    world.report(stale, "ready", seconds_ago=60)
    world.route_to(primary)
    before = world.vip_routes()

    with pytest.raises(SwitchoverRefusedError, match="no standby is ready"):
        switch(world, primary)
    assert world.role(primary) == "primary"
    assert world.vip_routes() == before
    assert _lease_item() is None  # let go


def test_a_switchover_is_refused_when_the_primary_does_not_serve(world):
    primary, _ = world.launch("primary", reports="failing"), world.launch()
    with pytest.raises(SwitchoverRefusedError, match="does not serve"):
        switch(world, primary)
    assert world.role(primary) == "primary"


def test_a_switchover_to_a_node_that_is_not_a_ready_standby_is_refused_naming_it(world):
    primary, ready = world.launch("primary"), world.launch()
    booting = world.launch(reports="starting")
    with pytest.raises(SwitchoverRefusedError, match=f"{booting} reports starting.*{ready}"):
        switch(world, primary, booting)
    with pytest.raises(SwitchoverRefusedError, match="not a node of the cluster"):
        switch(world, primary, "i-0123456789abcdef0")


def test_a_primary_that_does_not_stop_in_time_is_primary_again_and_nothing_else_changed(world):
    primary, standby = world.launch("primary"), world.launch()
    world.route_to(primary)
    before = world.vip_routes()

    with pytest.raises(SwitchoverFailedError, match="primary again"):
        switch(world, primary, stops=False, stop_timeout=1.0)
    assert (world.role(primary), world.role(standby)) == ("primary", "standby")
    assert world.vip_routes() == before
    assert _lease_item() is None


def test_a_switchover_waits_for_the_functions_lease_and_gives_up_changing_nothing(world):
    primary, _ = world.launch("primary"), world.launch()
    assert Lease(boto3.client("dynamodb", region_name=REGION), LEASE_TABLE, "a-run").acquire()
    with pytest.raises(SwitchoverFailedError, match="held its lease"):
        switch(world, primary, lease_wait=0.5)
    assert world.role(primary) == "primary"


def test_the_function_defers_to_a_running_switchover(world):
    primary, _ = world.launch("primary"), world.launch()
    db = boto3.client("dynamodb", region_name=REGION)
    assert Lease(db, LEASE_TABLE, contract.SWITCHOVER_HOLDER + "op").acquire()
    world.ec2.stop_instances(InstanceIds=[primary])  # whatever it finds, it waits its turn

    assert failover.handler({"source": "aws.events"}, None)["action"] == "deferred"
    assert world.role(primary) == "primary"


def test_a_switchover_is_recorded_among_the_decisions(world):
    primary, standby = world.launch("primary"), world.launch()
    world.route_to(primary)
    switch(world, primary)

    (entry,) = operations.status(clients(), SETTINGS)["decisions"]
    assert (entry["action"], entry["trigger"], entry["primary"]) == (
        "switched_over",
        "operator",
        standby,
    )


# --- pause and resume ----------------------------------------------------------------------------


def test_a_paused_function_fails_nobody_over_and_resumed_it_does(world, capsys):
    primary, standby = world.launch("primary"), world.launch()
    world.route_to(primary)
    operations.pause(boto3.client("dynamodb", region_name=REGION), SETTINGS, "kernel update")
    world.ec2.stop_instances(InstanceIds=[primary])

    assert world.invoke() == {"action": "paused", "primary": standby, "route_tables": []}
    assert (world.role(primary), world.role(standby)) == ("primary", "standby")
    assert world.writes() == []
    (line,) = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    assert line["paused"]["reason"] == "kernel update"
    assert line[contract.SERVING_METRIC] == 0  # the no-primary-serving alarm fires meanwhile

    assert operations.resume(boto3.client("dynamodb", region_name=REGION), SETTINGS)
    assert world.invoke()["action"] == "failed_over"
    assert world.role(standby) == "primary"


def test_a_paused_runs_decision_says_what_it_would_have_done(world):
    primary, _ = world.launch("primary", reports="failing"), world.launch()
    world.report(primary, "failing", seconds_ago=0)
    operations.pause(boto3.client("dynamodb", region_name=REGION), SETTINGS, "upgrade")
    world.invoke()

    (entry,) = operations.status(clients(), SETTINGS)["decisions"]
    assert (entry["action"], entry["would"]) == ("paused", "failed_over")


def test_a_paused_cluster_with_nobody_to_serve_logs_rather_than_fails(world):
    primary = world.launch("primary")
    world.ec2.stop_instances(InstanceIds=[primary])
    operations.pause(boto3.client("dynamodb", region_name=REGION), SETTINGS, "maintenance")
    assert world.invoke()["action"] == "paused"


def test_resume_of_a_cluster_that_was_not_paused_says_so(world):
    assert operations.resume(boto3.client("dynamodb", region_name=REGION), SETTINGS) is None


# --- status --------------------------------------------------------------------------------------


def test_status_shows_the_primary_each_nodes_report_the_lease_the_pause_and_changes_nothing(
    world,
):
    primary, standby = world.launch("primary"), world.launch()
    world.route_to(primary)
    world.invoke()
    operations.pause(boto3.client("dynamodb", region_name=REGION), SETTINGS, "disk resize")
    assert Lease(boto3.client("dynamodb", region_name=REGION), LEASE_TABLE, "a-run").acquire()
    world.calls = []

    view = operations.status(clients(), SETTINGS)

    assert view["primary"] == [primary]
    nodes = {node["id"]: node for node in view["nodes"]}
    assert nodes[primary]["report"]["state"] == "serving"
    assert 0 < nodes[standby]["report"]["age"] < 5
    assert set(view["routes"].values()) == {primary}
    assert view["lease"]["holder"] == "a-run"
    assert view["paused"]["reason"] == "disk resize"
    text = "\n".join(operations.render(view))
    assert "PAUSED" in text and primary in text and "a-run" in text


def test_status_gives_the_earliest_certificate_expiry_the_nodes_report(world):
    node = world.launch("primary")
    expires = time.time() + 20 * 86400
    db = boto3.client("dynamodb", region_name=REGION)
    db.update_item(
        TableName=LEASE_TABLE,
        Key={"id": {"S": contract.node_item(node)}},
        UpdateExpression="SET cert_expires = :e",
        ExpressionAttributeValues={":e": {"N": f"{expires:.0f}"}},
    )
    view = operations.status(clients(), SETTINGS)
    assert view["certificate_expires"] == pytest.approx(expires, abs=1)
    assert "in 20 days" in "\n".join(operations.render(view))


# --- the command ---------------------------------------------------------------------------------


def test_the_command_finds_the_cluster_from_the_failover_functions_environment(world):
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName="failover", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lambda_ = boto3.client("lambda", region_name=REGION)
    lambda_.create_function(
        FunctionName="failover",
        Runtime="python3.13",
        Role=role,
        Handler="db_failover.handler.handler",
        Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
        Environment={
            "Variables": {
                "CLUSTER_NAME": CLUSTER,
                "VIP_ADDRESS": VIP,
                "LEASE_TABLE": LEASE_TABLE,
                "NODE_GROUP": NODE_GROUP,
            }
        },
    )
    assert cli.cluster_of(lambda_, "failover") == Cluster(
        CLUSTER, VIP, LEASE_TABLE, NODE_GROUP, "failover"
    )


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["switchover", "--function", "f", "--to", "node-2"], "--to = 'node-2'"),
        (["pause", "--function", "f"], "pause needs --reason"),
        (["status", "--function", "f", "--to", "i-0123456789abcdef0"], "switchover only"),
    ],
)
def test_bad_arguments_exit_2_naming_the_argument_and_what_is_allowed(argv, says, capsys):
    assert cli.main(argv) == 2
    assert says in capsys.readouterr().err


def _lease_item() -> dict[str, Any] | None:
    found = boto3.client("dynamodb", region_name=REGION).get_item(
        TableName=LEASE_TABLE, Key={"id": {"S": contract.LEASE_ITEM}}
    )
    item: dict[str, Any] | None = found.get("Item")
    return item


def test_an_ec2_event_about_an_instance_outside_the_cluster_exits_at_once(world):
    world.launch("primary")
    other = world.launch(cluster=None, reports=None)
    event = {"source": "aws.ec2", "detail": {"instance-id": other, "state": "stopped"}}
    assert failover.handler(event, None)["action"] == "ignored"
    assert _lease_item() is None


def test_a_decision_the_table_refuses_to_record_does_not_stop_a_failover(world, monkeypatch):
    primary, standby = world.launch("primary"), world.launch()
    world.ec2.stop_instances(InstanceIds=[primary])
    real_read, reads = failover.Journal.read, []

    def read(self: failover.Journal) -> Any:
        reads.append(1)
        if len(reads) > 1:  # the pause was read; the record's read is refused
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "x")
        return real_read(self)

    monkeypatch.setattr(failover.Journal, "read", read)
    assert world.invoke()["action"] == "failed_over"
    assert world.role(standby) == "primary"
