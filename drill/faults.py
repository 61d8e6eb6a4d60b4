"""The faults the drill plays, at the durations AWS gives them (drill/report.py names the kinds).
Each, and what is the right answer:

- event: the primary's instance stops: its processes are killed, EC2 reports it stopped, and
  EventBridge runs the function `--event-delay` later. A failover.
- schedule: the same with no event: the schedule alone notices, at a random point of its period.
  A failover.
- hang: the primary's PostgreSQL hangs (SIGSTOP), as on a stuck volume, while the instance, its
  agent and metadata run on: its writes fail, and its `failing` reports run the function through
  the table's stream. A failover, once the hysteresis is over.
- slow-stop: a hang, and EC2's stop of the primary takes `--stop-seconds`, the instance running
  on meanwhile. A failover, after the stop.
- slow-start: the primary stops, and PostgreSQL's start on the promoted node (crash recovery)
  takes `--recovery-seconds`, longer than the reports' staleness. One failover: the promoted
  node keeps its role through its long start.
- cutoff: the primary loses DynamoDB and its metadata service (no answer, as a lost route) while
  PostgreSQL runs. A failover once its reports are stale, when the schedule next runs.
- skew-small, skew-large: every standby is replaced by a node whose clock is `--small-skew`
  seconds ahead (within Amazon Time Sync's bounds, about a millisecond) or `--large-skew` seconds
  behind (beyond the reports' staleness), then the primary stops. A failover to such a node,
  which it keeps: the agents take their time from the file server.
- crash: the primary's postmaster dies; its agent starts it again, and the start takes
  `--recovery-seconds`. No failover: the primary keeps its role.
- spike: the data volume stalls for `--spike-seconds`, under the hysteresis bound. No failover.
"""

from __future__ import annotations

import random
import threading
import time
from typing import TYPE_CHECKING

from drill import emulator
from drill.cluster import wait_for
from drill.events import Schedule, state_change

if TYPE_CHECKING:
    from drill.options import Options
    from drill.run import Drill

_KILLED = ("event", "schedule", "slow-start", "skew-small", "skew-large")
"""Faults that stop the primary's instance, with all on it."""


class Faults:
    """Prepares, inflicts and settles each fault on the drill's cluster."""

    def __init__(self, drill: Drill, options: Options) -> None:
        self._drill, self._options = drill, options

    def prepare(self, kind: str, primary: str) -> str | None:
        """Set the stage; returns the primary to fault, None when the stage could not be set."""
        if kind.startswith("skew"):
            skew = self._options.small_skew if kind == "skew-small" else -self._options.large_skew
            if not self._skew_standbys(primary, skew):
                return None
        return primary

    def inflict(self, kind: str, old: str) -> float:
        """The fault; returns its moment, after which nothing the old primary does can be
        acknowledged."""
        drill, layout = self._drill, self._drill.layout
        if kind in ("slow-start", "crash"):
            layout.start_delay.write_text(str(self._options.recovery_seconds))
        if kind == "slow-stop":
            layout.stop_seconds.write_text(str(self._options.stop_seconds))
        if kind in ("schedule", "cutoff"):
            self._random_schedule_phase()
        if kind in _KILLED:
            drill.cluster.kill(old)
            fault_at = time.time()
            drill.ec2.stop_instances(InstanceIds=[old])
            if kind != "schedule":
                event = state_change(old, "stopped")
                drill.function.later(self._options.event_delay, "event", event)
            return fault_at
        if kind in ("hang", "slow-stop", "spike"):
            drill.cluster.hang(old)
            if kind == "spike":
                seconds = self._options.spike_seconds
                threading.Timer(seconds, drill.cluster.hang, (old,), {"hung": False}).start()
        elif kind == "cutoff":
            drill.cluster.cut(old)
        elif kind == "crash":
            drill.cluster.crash(old)
        return time.time()

    def settle(self, kind: str, old: str) -> None:
        """Undo what the fault changed in the world (not what it did to the node)."""
        layout = self._drill.layout
        layout.start_delay.unlink(missing_ok=True)
        layout.stop_seconds.unlink(missing_ok=True)

    def _random_schedule_phase(self) -> None:
        """Restart the schedule so that the fault lands at a random point of its period, as a
        real fault does: rounds last about a period, so an untouched schedule would meet every
        fault at nearly the same point."""
        drill = self._drill
        drill.schedule.stop()
        period = self._options.schedule_seconds
        drill.schedule = Schedule(drill.function, period, first=random.uniform(0, period))
        drill.schedule.start()

    def _skew_standbys(self, primary: str, skew: float) -> bool:
        """Replace every standby by a node whose clock is `skew` seconds off, ready to be
        promoted: the next failover goes to one of them."""
        drill = self._drill
        standbys = [
            node
            for node in emulator.cluster_nodes(drill.ec2)
            if node != primary and emulator.role_of(drill.ec2, node) == "standby"
        ]
        for node in standbys:
            drill.cluster.terminate(node)
            fresh = drill.cluster.launch(skew=skew)
            if not wait_for(lambda: "idle" in drill.cluster.actions(fresh), 60):  # noqa: B023
                return False
        time.sleep(1)  # its first report reaches the table
        return True
