"""The operators' verbs played by the drill (`tools/dbctl`, as from the operator's machine): a
planned switchover while the app writes, which must refuse writes for under 5 s, lose nothing
and start the new primary from a clean shutdown; and a paused cluster whose primary stops, which
must fence and promote nobody until it is resumed."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING

import boto3  # type: ignore[import-untyped]

from drill import emulator
from drill.cluster import say, wait_for
from drill.events import scheduled_event, state_change
from drill.report import Failover
from functions.db_failover.decision import SwitchoverRefusedError
from tools.dbctl import operations as dbctl

if TYPE_CHECKING:
    from drill.run import Drill


class Verbs:
    """The verbs, each played on the drill's cluster as one of its faults."""

    def __init__(self, drill: Drill) -> None:
        self._drill = drill

    def _dbctl(self) -> tuple[dbctl.Clients, dbctl.Cluster]:
        """The operator's verbs, against the emulator, as from the operator's machine."""
        clients = dbctl.Clients(
            boto3.client("ec2"), boto3.client("dynamodb"), boto3.client("autoscaling")
        )
        cluster = dbctl.Cluster(
            emulator.CLUSTER,
            emulator.VIP,
            emulator.LEASE_TABLE,
            emulator.NODE_GROUP,
            node_role_id=emulator.NODE_ROLE_ID,
        )
        return clients, cluster

    def switchover(self, number: int, old: str) -> bool:
        """A planned switchover (`make switchover`) while the app writes: writes go on through
        the checkpoint, are refused from the clean stop until the new primary serves."""
        clients, cluster = self._dbctl()
        started = time.time()
        say(f"fault {number} (switchover): planned switchover from {old}")
        try:
            done = dbctl.switchover(clients, cluster, say=lambda line: say(f"  {line}"))
        except (SwitchoverRefusedError, dbctl.SwitchoverFailedError) as error:
            self._drill.errors.append(f"fault {number} (switchover): {error}")
            return False
        timeout = self._drill.options.failover_timeout
        first = wait_for(lambda: self._drill.writer.first_ack_after(done.promoted), timeout)
        new = self._drill.primary()
        result = Failover(
            "switchover",
            old,
            started,
            new_primary=new,
            first_write_at=first,
            last_write_before=self._drill.writer.last_ack_before(started),
            promoted_at=done.promoted,
            longest_gap=None if first is None else self._drill.writer.longest_gap(started, first),
        )
        if not result.completed or new is None:
            self._drill.failovers.append(result)
            return False
        starts = self._drill.cluster.starts(new, started)
        result = replace(
            result,
            started_at=float(starts[0]["t"]) if starts else None,
            routes_to_primary=self._drill._routes_to(new),
            promotions=len(self._drill.function.failed_over(started)),
            app_connection=self._drill._app_connects(),
            handed_over=self._handed_over(old, new),
        )
        say(
            f"fault {number}: {new} serves after {result.recovery:.1f} s, writes refused "
            f"{_seconds(result.refused)} s"
        )
        self._drill.failovers.append(result)
        return True

    def _handed_over(self, old: str, new: str) -> str:
        """The old primary is a running standby whose agent stopped PostgreSQL cleanly, and the
        new primary's server started from a clean shutdown (no crash recovery)."""
        ec2 = self._drill.ec2
        if emulator.state_of(ec2, old) != "running" or emulator.role_of(ec2, old) != "standby":
            return f"the old primary {old} is not a running standby"
        if not wait_for(lambda: "stopped" in self._drill.cluster.actions(old), 10):
            return f"the old primary {old}'s agent did not stop PostgreSQL cleanly"
        log = self._drill.cluster.postgres_log(new)
        starts = [line for line in log if "database system was" in line]
        if not starts or "shut down at" not in starts[-1]:
            last = starts[-1].strip() if starts else "no start logged"
            return f"{new} did not start from a clean shutdown: {last}"
        return "ok"

    def paused(self, number: int, old: str) -> bool:
        """Failover paused (`make pause`), the primary's instance stops: nobody is fenced or
        promoted while paused, whatever runs the function; resumed, the next run fails over."""
        clients, cluster = self._dbctl()
        dbctl.pause(clients.dynamodb, cluster, "drill: paused while the primary stops")
        self._drill.cluster.kill(old)
        fault_at = time.time()
        self._drill.ec2.stop_instances(InstanceIds=[old])
        delay = self._drill.options.event_delay
        self._drill.function.later(delay, "event", state_change(old, "stopped"))
        say(f"fault {number} (pause): failover paused, primary {old} stopped")
        time.sleep(self._drill.options.pause_seconds / 2)
        self._drill.function.invoke("schedule", scheduled_event())
        time.sleep(self._drill.options.pause_seconds / 2)
        held = not self._drill.function.failed_over(fault_at) and self._drill.primary() is None
        held = held and emulator.role_of(self._drill.ec2, old) == "primary"
        dbctl.resume(clients.dynamodb, cluster)
        resumed_at = time.time()
        say(f"  held {self._drill.options.pause_seconds:.0f} s: {held}; resumed")
        self._drill.function.invoke("schedule", scheduled_event())
        timeout = self._drill.options.failover_timeout
        first = wait_for(lambda: self._drill.writer.first_ack_after(resumed_at), timeout)
        new = self._drill.primary()
        result = Failover(
            "pause",
            old,
            fault_at,
            new_primary=new,
            first_write_at=first,
            last_write_before=self._drill.writer.last_ack_before(fault_at),
            held_while_paused=held,
        )
        if not result.completed or new is None:
            self._drill.failovers.append(result)
            return False
        result = replace(
            result,
            detected_at=self._drill._promotion(fault_at, "started"),
            promoted_at=self._drill._promotion(fault_at, "ended"),
            app_connection=self._drill._app_connects(),
        )
        result = self._drill._after_failover(result, "pause", old, new)
        say(f"fault {number}: {new} serves {result.recovery:.1f} s after the stop")
        self._drill.failovers.append(result)
        return True


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
