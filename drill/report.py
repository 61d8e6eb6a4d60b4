"""What the drill saw, as figures, and whether it passed: pure, so the verdict is tested."""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from drill import restore
from functions.db_credentials import roles


@dataclass(frozen=True)
class Kind:
    """A kind of fault the drill plays."""

    name: str
    label: str
    """What happens, as the figures' table names it."""
    failover: bool
    """A failover is the right answer; else the primary must keep its role."""
    refused_under: float | None = None
    """The longest time writes may be refused (a planned switchover's bound); None: no bound."""


KINDS = (
    Kind("event", "instance stops, event trigger", failover=True),
    Kind("schedule", "instance stops, schedule alone", failover=True),
    Kind("hang", "PostgreSQL hangs", failover=True),
    Kind("slow-stop", "hangs, EC2 stop takes long", failover=True),
    Kind("slow-start", "stops, new primary recovers long", failover=True),
    Kind("cutoff", "cut off from DynamoDB and IMDS", failover=True),
    Kind("skew-small", "clock skew within Time Sync's", failover=True),
    Kind("skew-large", "clock skew far beyond it", failover=True),
    Kind("crash", "PostgreSQL dies, recovers long", failover=False),
    Kind("spike", "data volume stalls briefly", failover=False),
    Kind("switchover", "planned switchover (dbctl)", failover=True, refused_under=5.0),
    Kind("pause", "paused, primary stops, resumed", failover=True),
    Kind("rotation", "app secret rotated (alternating)", failover=False),
)
BY_NAME = {kind.name: kind for kind in KINDS}
TRIGGERS = tuple(kind.name for kind in KINDS)


@dataclass(frozen=True)
class Rotation:
    """One rotation of the app's secret by the credentials function, while the app writes."""

    login_before: str
    login_after: str
    """The login the secret names before and after: the other one, as the logins alternate."""
    steps: tuple[float, ...]
    """Seconds each of the function's steps took, in order (fewer when one failed)."""
    error: str | None
    """Where and why the rotation stopped short; None when all four steps ran."""
    longest_gap: float | None
    """The longest time no write was acknowledged, from the last write before the rotation to
    the first on a connection the app opened after it; None when there was no such write."""
    rereads: int
    """How many times a refused login made the app read its secret again, meanwhile."""
    privileges: str
    """`ok` when the secret's login after the rotation is no superuser, owns nothing itself
    and may not run programs; else what is wrong (drill/client.py `privileges`)."""


@dataclass(frozen=True)
class Failover:
    """One fault at `fault_at`, and what followed; None where it did not happen. (A fault whose
    right answer is no failover is recorded here too: its primary must stay the old one.)"""

    trigger: str
    """The fault's kind (`KINDS`)."""
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
    detected_at: float | None = None
    """The start of the function's run that failed over: when it learned of the fault."""
    last_write_before: float | None = None
    """The last write acknowledged before the fault."""
    promotions: int | None = None
    """How many times the function promoted a node from the fault until the next one."""
    kept_role: bool | None = None
    """A fault that needs no failover: whether the old primary kept serving as primary."""
    lost: int = 0
    """Acknowledged writes, acknowledged from this fault until the next, missing at the end."""
    overlaps: int = 0
    """Samples with two servers running, from this fault until the next."""
    rotation: Rotation | None = None
    """A rotation of the app's secret (no fault): what it took and what the app went through;
    `first_write_at` is then the first write on a connection opened after it."""
    longest_gap: float | None = None
    """A switchover, during which writes go on until the primary stops: the longest time no
    write was acknowledged, from its start to the first write on the new primary."""
    handed_over: str | None = None
    """A switchover: `ok` when the old primary is a running, ready standby and the new primary
    started without crash recovery; else what is wrong."""
    held_while_paused: bool | None = None
    """A paused cluster whose primary stopped: whether nobody was fenced or promoted until the
    cluster was resumed."""

    @property
    def kind(self) -> Kind:
        return BY_NAME[self.trigger]

    @property
    def completed(self) -> bool:
        if self.first_write_at is None or self.new_primary is None:
            return False
        return (self.new_primary != self.old_primary) == self.kind.failover

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
        """None for a rotation: nothing failed to recover from."""
        if self.first_write_at is None or self.rotation is not None:
            return None
        return self.first_write_at - self.fault_at

    @property
    def detection(self) -> float | None:
        return None if self.detected_at is None else self.detected_at - self.fault_at

    @property
    def refused(self) -> float | None:
        """How long no write was acknowledged: the last before the fault to the first after (a
        rotation: the longest such time while the app wrote on through it)."""
        if self.rotation is not None:
            return self.rotation.longest_gap
        if self.longest_gap is not None:
            return self.longest_gap
        if self.first_write_at is None or self.last_write_before is None:
            return None
        return self.first_write_at - self.last_write_before


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
    app_privileges: str | None = None
    """At the end, what the app's login may do beyond its data: `ok`, else what is wrong (drill/
    client.py `privileges`); None when it could not be checked."""
    pitr: restore.Result | None = None
    """The point-in-time restore (drill/restore.py); None when not played."""

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
            found += _fault_problems(f"fault {index} ({failover.trigger})", failover)
        if self.acknowledged == 0:
            found.append("no write was acknowledged")
        if self.app_privileges != "ok":
            found.append(f"the app's login: {self.app_privileges or 'its privileges not checked'}")
        if self.pitr is not None:
            found += self.pitr.problems()
        return found

    def figures(self, options: dict[str, str]) -> dict[str, object]:
        """What `--json` writes: the drill's figures, for benchmarks to compare."""
        return {
            "date": time.strftime("%Y-%m-%d"),
            "options": options,
            **{f"recovery_{t}": self.recoveries(t) for t in TRIGGERS},
            "rotations": [asdict(f.rotation) for f in self.failovers if f.rotation],
            "app_privileges": self.app_privileges,
            "acknowledged": self.acknowledged,
            "missing": None if self.missing is None else len(self.missing),
            "pitr": asdict(self.pitr) if self.pitr is not None else None,
            "problems": self.problems(),
        }

    def recoveries(self, trigger: str) -> list[float]:
        return [
            f.recovery for f in self.failovers if f.trigger == trigger and f.recovery is not None
        ]

    def lines(self) -> list[str]:
        lines = [
            f"nodes                                  {self.nodes}",
            "faults played                          "
            + ", ".join(
                f"{sum(f.completed for f in of)}/{len(of)} {kind.name}"
                for kind in KINDS
                if (of := [f for f in self.failovers if f.trigger == kind.name])
            ),
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
            "app login's privileges                 " + _privileges(self.app_privileges),
            *self._rotations(),
        ]
        phases = self._phases()
        if phases:
            lines.append(f"{'event trigger, median phases (s)':<39}{phases}")
        pitr = ["", *self.pitr.lines()] if self.pitr is not None else []
        return [*lines, "", *self.table(), *pitr]

    def table(self) -> list[str]:
        """Per kind of fault: detection, recovery, writes refused (median and max), lost
        writes, samples with two servers."""
        rows = [
            f"{'fault':<34}{'n':>3}  {'detected':<13}{'recovered':<13}{'refused':<13}"
            f"{'lost':>5}{'2 servers':>10}",
        ]
        for kind in KINDS:
            of = [f for f in self.failovers if f.trigger == kind.name]
            if not of:
                continue
            rows.append(
                f"{kind.label:<34}{len(of):>3}  "
                f"{_pair([f.detection for f in of]):<13}{_pair([f.recovery for f in of]):<13}"
                f"{_pair([f.refused for f in of]):<13}{sum(f.lost for f in of):>5}"
                f"{sum(f.overlaps for f in of):>10}"
            )
        return [
            *rows,
            "(seconds from the fault, median/max; detected: the function's run that failed "
            "over began; refused: no write acknowledged)",
        ]

    def _rotations(self) -> list[str]:
        """Per rotation of the app's secret: the logins, each step's time, the app's longest
        wait for a write, its re-reads of the secret."""
        return [
            f"{f'app secret rotation {number} (s)':<39}"
            f"{r.login_before} -> {r.login_after}: steps "
            + " ".join(f"{step:.2f}" for step in r.steps)
            + f" = {sum(r.steps):.2f}, longest write gap {_seconds(r.longest_gap)}, "
            f"{r.rereads} re-read{'' if r.rereads == 1 else 's'} of the secret"
            for number, r in enumerate(
                (f.rotation for f in self.failovers if f.rotation is not None), 1
            )
        ]

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


def _fault_problems(name: str, failover: Failover) -> list[str]:
    found = [] if failover.rotation is None else _rotation_problems(name, failover.rotation)
    if not failover.completed:
        if failover.rotation is not None and failover.first_write_at is None:
            found.append(f"{name}: the app wrote nothing on a connection opened after it")
        elif failover.kind.failover or failover.first_write_at is None:
            found.append(f"{name}: the failover did not complete")
        else:
            found.append(f"{name}: a failover nobody needed: the primary lost its role")
    if failover.kept_role is False:
        found.append(f"{name}: the primary was fenced though it only needed time")
    if failover.promotions is not None and failover.promotions > 1:
        found.append(
            f"{name}: {failover.promotions} promotions: a promoted node was fenced while it started"
        )
    found += _operator_problems(name, failover)
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
    return found


def _operator_problems(name: str, failover: Failover) -> list[str]:
    """A switchover's bound on refused writes and its clean handover; a pause that held."""
    found = []
    bound, refused = failover.kind.refused_under, failover.refused
    if bound is not None and refused is not None and refused >= bound:
        found.append(f"{name}: writes were refused for {refused:.1f} s, {bound:.0f} s allowed")
    if failover.handed_over not in (None, "ok"):
        found.append(f"{name}: {failover.handed_over}")
    if failover.held_while_paused is False:
        found.append(f"{name}: the paused cluster failed over before it was resumed")
    return found


def _rotation_problems(name: str, rotation: Rotation) -> list[str]:
    found = []
    if rotation.error is not None:
        found.append(f"{name}: the rotation stopped at {rotation.error}")
    elif rotation.login_after == rotation.login_before:
        found.append(f"{name}: the app's secret names {rotation.login_after} still: no alternation")
    if rotation.rereads > 1:
        found.append(
            f"{name}: the app read its secret {rotation.rereads} times after refused logins: "
            "the login it read was refused too"
        )
    if rotation.privileges != "ok":
        found.append(f"{name}: the app's login {rotation.login_after}: {rotation.privileges}")
    return found


def _privileges(found: str | None) -> str:
    if found == "ok":
        return f"no superuser, objects owned by {roles.OWNER}, COPY FROM PROGRAM refused"
    return "not checked" if found is None else found


def _seconds(value: float | None) -> str:
    return "not seen" if value is None else f"{value:.2f}"


def _pair(values: Sequence[float | None]) -> str:
    seen = [value for value in values if value is not None]
    if not seen:
        return "-"
    return f"{statistics.median(seen):.1f}/{max(seen):.1f}"


def _count(checks: list[bool | None]) -> str:
    """How many of the checks that were made passed, out of how many."""
    made = [check for check in checks if check is not None]
    return f"{sum(made)}/{len(made)}"
