"""The failover function runs one at a time without reserved concurrency: the lease on moto's
DynamoDB, and two invocations at once against moto's EC2, where only one fences and promotes."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import redirect_stdout
from typing import Any
from unittest import mock

import boto3  # type: ignore[import-untyped]
import pytest
from moto import mock_aws

from functions.db_failover import handler as failover
from functions.db_failover.lease import LEASE_SECONDS, Lease, LostLeaseError
from tests.failover_world import LEASE_TABLE, REGION, World, create_lease_table


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def dynamodb(aws_env: None) -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        create_lease_table(client)
        yield client


@pytest.fixture
def clock() -> Clock:
    return Clock()


def lease(dynamodb: Any, holder: str, clock: Clock) -> Lease:
    return Lease(dynamodb, LEASE_TABLE, holder, clock)


def test_a_free_lease_is_taken_and_a_held_one_refused(dynamodb, clock):
    assert lease(dynamodb, "a", clock).acquire()
    assert not lease(dynamodb, "b", clock).acquire()


def test_an_expired_lease_is_taken_over(dynamodb, clock):
    assert lease(dynamodb, "a", clock).acquire()
    clock.now += LEASE_SECONDS + 1
    assert lease(dynamodb, "b", clock).acquire()


def test_renewing_keeps_the_lease_and_a_taken_over_holder_learns_it_lost(dynamodb, clock):
    first = lease(dynamodb, "a", clock)
    assert first.acquire()
    clock.now += LEASE_SECONDS - 1
    first.renew()
    clock.now += LEASE_SECONDS - 1
    assert not lease(dynamodb, "b", clock).acquire()  # renewed: still held
    clock.now += 2
    assert lease(dynamodb, "b", clock).acquire()
    with pytest.raises(LostLeaseError):
        first.renew()


def test_a_contender_defers_and_the_holder_runs_once_more_before_letting_go(dynamodb, clock):
    holder, contender = lease(dynamodb, "a", clock), lease(dynamodb, "b", clock)
    assert holder.acquire_or_defer()
    assert not contender.acquire_or_defer()  # deferred: it asked the holder to run again
    assert not holder.release()  # the rerun request: the holder keeps the lease
    assert not contender.acquire()
    assert holder.release()  # nobody asked again: released
    assert contender.acquire()


def test_a_contender_takes_an_expired_lease_instead_of_deferring_to_a_dead_holder(dynamodb, clock):
    assert lease(dynamodb, "a", clock).acquire()
    clock.now += LEASE_SECONDS + 1
    assert lease(dynamodb, "b", clock).acquire_or_defer()


def test_a_failed_run_abandons_the_lease_for_the_next_trigger(dynamodb, clock):
    holder = lease(dynamodb, "a", clock)
    assert holder.acquire()
    assert not lease(dynamodb, "b", clock).acquire_or_defer()
    holder.abandon()
    assert lease(dynamodb, "c", clock).acquire()


def _invoke(name: str, results: dict[str, Any]) -> None:
    context = mock.Mock(spec=["aws_request_id"], aws_request_id=f"request-{name}")
    with redirect_stdout(io.StringIO()):
        results[name] = failover.handler({"source": "aws.ec2"}, context)


def test_two_invocations_at_once_never_both_fence_or_promote(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first is held inside its fence while the second runs: the second defers, the first
    fences and promotes once, then runs again for the second and finds nothing to do."""
    primary, standby = world.launch("primary"), world.launch("standby")
    world.route_to(primary)
    world.ec2.stop_instances(InstanceIds=[primary])  # the fault: the primary went down
    first_fencing, second_done = threading.Event(), threading.Event()
    writes: list[tuple[str, str, str]] = []
    real_stop, real_tag = failover.fence, failover.tag_role

    def fence(ec2: Any, nodes: Any, renew: Any = lambda: None) -> None:
        if threading.current_thread().name == "first":
            first_fencing.set()
            assert second_done.wait(30), "the second invocation never finished"
        writes.append(("fence", threading.current_thread().name, nodes[0].instance_id))
        real_stop(ec2, nodes, renew)

    def tag(ec2: Any, instance_ids: list[str], role: str, more: Any = None) -> None:
        writes.append((f"tag {role}", threading.current_thread().name, instance_ids[0]))
        real_tag(ec2, instance_ids, role, more)

    monkeypatch.setattr(failover, "fence", fence)
    monkeypatch.setattr(failover, "tag_role", tag)
    results: dict[str, Any] = {}
    first = threading.Thread(target=_invoke, args=("first", results), name="first")
    first.start()
    assert first_fencing.wait(30)
    second = threading.Thread(target=_invoke, args=("second", results), name="second")
    second.start()
    second.join(30)
    second_done.set()
    first.join(30)

    assert results["second"]["action"] == "deferred"
    assert (results["first"]["action"], results["first"]["primary"]) == ("failed_over", standby)
    assert results["first"]["runs"] == 2  # it ran again for the deferred invocation
    assert writes == [
        ("fence", "first", primary),
        ("tag fenced", "first", primary),
        ("tag primary", "first", standby),
    ]
    assert (world.role(primary), world.role(standby)) == ("fenced", "primary")


def test_a_holder_short_of_time_leaves_the_rerun_to_the_next_trigger(world: World, monkeypatch):
    primary = world.launch("primary")
    world.route_to(primary)
    real_run = failover.run_once

    def run_once(*args: Any, **kwargs: Any) -> dict[str, Any]:
        other = Lease(boto3.client("dynamodb", region_name=REGION), LEASE_TABLE, "other")
        assert not other.acquire_or_defer()  # asks the holder for one more run
        return real_run(*args, **kwargs)

    monkeypatch.setattr(failover, "run_once", run_once)
    context = mock.Mock(aws_request_id="short", get_remaining_time_in_millis=lambda: 100_000)
    with redirect_stdout(io.StringIO()):
        result = failover.handler({"source": "aws.events"}, context)
    assert (result["action"], result["runs"]) == ("unchanged", 1)
    free = Lease(boto3.client("dynamodb", region_name=REGION), LEASE_TABLE, "next")
    assert free.acquire()  # abandoned: the next trigger runs at once
