"""What the drill plays and how: the faults of each kind and their durations, from `make drill`'s
command line (`--only KIND=N,...`, `--stop-seconds`, ...)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from drill.report import BY_NAME, TRIGGERS
from functions.db_failover import decision
from functions.hosts import pg_agent

# What `make drill` plays, by kind (drill/report.py, KINDS).
FULL = {
    "event": 5,
    "schedule": 2,
    "hang": 3,
    "slow-stop": 1,
    "slow-start": 1,
    "cutoff": 1,
    "skew-small": 1,
    "skew-large": 1,
    "crash": 1,
    "spike": 1,
    "switchover": 2,
    "pause": 1,
}


@dataclass(frozen=True)
class Options:
    nodes: int = 2
    plays: dict[str, int] = field(default_factory=lambda: dict(FULL))
    """How many faults of each kind, played in the order of KINDS."""
    schedule_seconds: float = 60.0
    event_delay: float = 1.0
    stream_delay: float = 1.0
    stop_seconds: float = 30.0
    """How long EC2 takes to stop an instance, in the slow-stop fault."""
    recovery_seconds: float = 30.0
    """How long PostgreSQL's start (crash recovery) takes, in the slow-start and crash faults."""
    spike_seconds: float = 4.0
    """How long the data volume stalls, in the spike fault."""
    pause_seconds: float = 10.0
    """How long a paused cluster is left with its primary stopped before it is resumed."""
    small_skew: float = 0.001
    large_skew: float = 30.0
    steady_seconds: float = 2.0
    stale_after: float | None = None
    """The agents' lease staleness; None: as deployed (only the sabotage tests change it)."""
    keep: bool = False
    json: Path | None = None
    pitr: bool = True
    """Restore the archive to a moment after the first boot (drill/restore.py)."""
    break_archive: bool = False
    """Delete the archived WAL segment the restore needs: the drill must then fail."""

    @property
    def failover_timeout(self) -> float:
        """The slowest legitimate path: a whole schedule period, the nodes' report staleness,
        a slow stop, the lease, a slow start, and margin."""
        return (
            self.schedule_seconds
            + decision.REPORT_STALE_SECONDS
            + self.stop_seconds
            + pg_agent.STALE_AFTER_SECONDS
            + self.recovery_seconds
            + 60
        )


def parse(argv: Sequence[str] | None) -> Options:
    defaults = Options()
    parser = argparse.ArgumentParser(
        prog="make drill", description="the vip cluster's failover drill, on this machine"
    )
    parser.add_argument("--nodes", type=int, default=defaults.nodes, help="cluster size")
    parser.add_argument(
        "--only",
        metavar="KIND=N,...",
        help="play only these faults, N of each (kinds: " + ", ".join(TRIGGERS) + ")",
    )
    parser.add_argument(
        "--schedule-seconds",
        type=float,
        default=defaults.schedule_seconds,
        help="period of the Lambda's schedule (vip.checkEveryMinutes is 1 by default)",
    )
    for name, help_ in (
        ("event-delay", "seconds from an EC2 state change to the Lambda's invocation (assumed)"),
        ("stream-delay", "seconds from a report to the Lambda's invocation by the stream"),
        ("stop-seconds", "how long EC2 takes to stop an instance in the slow-stop fault"),
        ("recovery-seconds", "how long PostgreSQL's start takes in the slow-start and crash"),
        ("spike-seconds", "how long the data volume stalls in the spike fault"),
        ("large-skew", "a node's clock offset in the skew-large fault (s)"),
        ("pause-seconds", "how long the pause fault holds a paused cluster without a primary"),
    ):
        parser.add_argument(
            f"--{name}", type=float, default=getattr(defaults, name.replace("-", "_")), help=help_
        )
    parser.add_argument("--keep", action="store_true", help="keep the drill's directory")
    parser.add_argument(
        "--no-pitr", dest="pitr", action="store_false", help="skip the point-in-time restore"
    )
    parser.add_argument(
        "--break-archive",
        action="store_true",
        help="delete the WAL segment the point-in-time restore needs (the drill must fail)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.nodes < 2:
        parser.error("--nodes must be at least 2: a failover needs a standby")
    plays = dict(FULL)
    if args.only:
        plays = {}
        for item in args.only.split(","):
            name, _, count = item.partition("=")
            if name not in BY_NAME or not (count or "1").isdigit():
                parser.error(f"--only {item!r}: KIND=N with a kind of {', '.join(TRIGGERS)}")
            plays[name] = int(count or "1")
    if sum(plays.values()) < 1:
        parser.error("--only must play at least one fault")
    values = {k: v for k, v in vars(args).items() if k != "only"}
    return Options(**values, plays=plays)
