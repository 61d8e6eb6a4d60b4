"""What the drill saw, as figures, and whether it passed: pure, so the verdict is tested."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

TRIGGERS = ("event", "schedule", "hang")


@dataclass(frozen=True)
class Failover:
    """One fault: the primary killed at `fault_at`; the rest is None when it did not happen."""

    trigger: str
    """`event`: the primary's instance stops, EventBridge's rule runs the function (and the
    schedule); `schedule`: the same, the schedule alone; `hang`: the primary's PostgreSQL hangs
    while its instance runs, which only the schedule and the node's reports can see."""
    old_primary: str
    fault_at: float
    new_primary: str | None = None
    promoted_at: float | None = None  # the Lambda invocation that promoted ended
    started_at: float | None = None  # the new primary's agent started PostgreSQL
    first_write_at: float | None = None  # first acknowledged write through the VIP afterwards
    routes_to_primary: bool | None = None  # every managed route table, not only the app's
    revived_stayed_fenced: bool | None = None
    replacement_joined_as_standby: bool | None = None
    app_connection: str | None = None
    """`ok` when the app, reading the secret afresh, wrote through the VIP with verify-full
    after the failover; else why it could not; None when not tried."""

    @property
    def completed(self) -> bool:
        return self.first_write_at is not None and self.new_primary not in (
            None,
            self.old_primary,
        )

    @property
    def phases(self) -> tuple[float, float, float] | None:
        """Fault to promotion, promotion to PostgreSQL start, start to first write; None until
        all of them happened."""
        if self.promoted_at is None or self.started_at is None or self.first_write_at is None:
            return None
        return (
            self.promoted_at - self.fault_at,
            self.started_at - self.promoted_at,
            self.first_write_at - self.started_at,
        )

    @property
    def recovery(self) -> float | None:
        return None if self.first_write_at is None else self.first_write_at - self.fault_at


@dataclass
class Outcome:
    nodes: int
    failovers: list[Failover]
    acknowledged: int
    missing: list[int] | None  # None: the rows could not be read back
    in_doubt_present: int
    in_doubt_absent: int
    overlapping_starts: list[str]
    overlap_samples: int
    errors: list[str] = field(default_factory=list)
    longest_renewal_gap: float | None = None
    """The longest time between two renewals of the lease by the same node."""

    def problems(self) -> list[str]:
        """Every reason the drill fails; empty when it passes."""
        found = list(self.errors)
        if self.missing is None:
            found.append("the written rows could not be read back through the VIP at the end")
        elif self.missing:
            shown = ", ".join(str(number) for number in self.missing[:10])
            found.append(f"{len(self.missing)} acknowledged writes are missing ({shown})")
        if self.overlapping_starts:
            found.append(
                "PostgreSQL was started while another node's server ran on the data directory: "
                + "; ".join(self.overlapping_starts)
            )
        if self.overlap_samples:
            found.append(f"two postmasters ran at once in {self.overlap_samples} samples")
        for index, failover in enumerate(self.failovers, 1):
            name = f"fault {index} ({failover.trigger})"
            if not failover.completed:
                found.append(f"{name}: the failover did not complete")
            if failover.routes_to_primary is False:
                found.append(f"{name}: not every managed route table sends the VIP to the primary")
            if failover.revived_stayed_fenced is False:
                found.append(f"{name}: the killed node came back and did not stay fenced")
            if failover.replacement_joined_as_standby is False:
                found.append(f"{name}: the replacement node did not join as a standby")
            if failover.completed and failover.app_connection != "ok":
                found.append(
                    f"{name}: the app could not connect through the VIP with verify-full: "
                    f"{failover.app_connection}"
                )
        if self.acknowledged == 0:
            found.append("no write was acknowledged")
        return found

    def recoveries(self, trigger: str) -> list[float]:
        return [
            f.recovery for f in self.failovers if f.trigger == trigger and f.recovery is not None
        ]

    def lines(self) -> list[str]:
        done = {
            trigger: sum(1 for f in self.failovers if f.trigger == trigger and f.completed)
            for trigger in TRIGGERS
        }
        planned = {
            trigger: sum(1 for f in self.failovers if f.trigger == trigger) for trigger in TRIGGERS
        }
        lines = [
            f"nodes                                  {self.nodes}",
            f"failovers completed                    {done['event']}/{planned['event']} with the "
            f"event trigger, {done['schedule']}/{planned['schedule']} with the schedule alone, "
            f"{done['hang']}/{planned['hang']} of a hung PostgreSQL",
            f"acknowledged writes                    {self.acknowledged}",
            "acknowledged writes missing            "
            + ("not counted" if self.missing is None else str(len(self.missing))),
            f"in-doubt writes (commit unanswered)    {self.in_doubt_present} stored, "
            f"{self.in_doubt_absent} not stored",
            f"starts while another server ran        {len(self.overlapping_starts)}",
            f"samples with two servers running       {self.overlap_samples}",
            "longest lease renewal gap (s)          " + _seconds(self.longest_renewal_gap),
            "killed nodes back and still fenced     "
            + _count([f.revived_stayed_fenced for f in self.failovers]),
            "replacements joined as standby         "
            + _count([f.replacement_joined_as_standby for f in self.failovers]),
            "app connections (secret, verify-full)  "
            + _count([f.app_connection == "ok" for f in self.failovers if f.completed]),
        ]
        for trigger, label in (
            ("event", "recovery, event trigger"),
            ("schedule", "recovery, schedule alone"),
            ("hang", "recovery, hung PostgreSQL"),
        ):
            values = self.recoveries(trigger)
            if values:
                lines.append(f"{label + ' (s)':<39}{_spread(values)}")
        event, schedule = self.recoveries("event"), self.recoveries("schedule")
        if event and schedule:
            ratio = statistics.median(schedule) / statistics.median(event)
            lines.append(f"{'event trigger vs schedule (medians)':<39}{ratio:.1f} times faster")
        phases = self._phases()
        if phases:
            lines.append(f"{'event trigger, median phases (s)':<39}{phases}")
        return lines

    def _phases(self) -> str:
        rows = [
            f.phases
            for f in self.failovers
            if f.trigger == "event" and f.completed and f.phases is not None
        ]
        if not rows:
            return ""
        promote, lease, serve = (statistics.median(phase) for phase in zip(*rows, strict=True))
        return (
            f"fault to promoted {promote:.1f}, promoted to PostgreSQL start {lease:.1f}, "
            f"start to first write {serve:.1f}"
        )


def _seconds(value: float | None) -> str:
    return "not seen" if value is None else f"{value:.2f}"


def _spread(values: list[float]) -> str:
    each = " ".join(f"{value:.1f}" for value in values)
    return f"median {statistics.median(values):.1f}, max {max(values):.1f}  (each: {each})"


def _count(checks: list[bool | None]) -> str:
    """How many of the checks that were made passed, out of how many."""
    made = [check for check in checks if check is not None]
    return f"{sum(made)}/{len(made)}"
