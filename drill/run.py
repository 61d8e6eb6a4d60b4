"""The failover drill: the vip cluster of PostgresHA, end to end on one machine, run as deployed.

- AWS is moto's server on loopback (drill/emulator.py): the route tables, the node instances,
  the cluster's table and the two secrets; each node has its own instance metadata service
  (drill/imds.py).
- Each node is a host laid out from the real user data, booted by its real boot script, running
  its real agent on the hosts' Python 3.9 and PostgreSQL through the real `multitier-pg`
  (drill/machine.py, drill/cluster.py), all nodes on one shared data directory (the EFS volume).
- The project's failover handler is invoked as EventBridge would (drill/events.py): on EC2 state
  changes and launches (after `--event-delay`), and on a schedule, concurrently.
- A client writes numbered rows through the VIP as the app does, with the secret's credentials
  and `verify-full` (drill/client.py); after each failover the app connects afresh and writes.

Faults: the primary's instance stops (its processes SIGKILLed), with the event trigger and then
with the schedule alone; and the primary's PostgreSQL hangs (postmaster stopped) while its
instance runs. A killed node comes back and must stay fenced; the group replaces it, and the new
node must join as a standby. The drill prints its figures and exits 1 when a write was lost, two
servers overlapped, a failover did not complete, or the app could not connect.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import boto3  # type: ignore[import-untyped]

from drill import client, emulator, tls
from drill.cluster import Cluster, Hypervisor, OverlapWatch, wait_for
from drill.events import Lambda, Schedule, ThreadOutput, launched, scheduled_event, state_change
from drill.hosts import Layout, events, kill_strays
from drill.machine import host_python, install_shims, server_programs
from drill.report import TRIGGERS, Failover, Outcome
from functions.db_failover import decision
from functions.hosts import pg_agent


@dataclass(frozen=True)
class Options:
    nodes: int = 2
    faults: int = 5
    schedule_faults: int = 2
    hang_faults: int = 1
    schedule_seconds: float = 60.0
    event_delay: float = 1.0
    steady_seconds: float = 2.0
    stale_after: float | None = None
    """The agents' lease staleness; None: as deployed (only the sabotage tests change it)."""
    keep: bool = False
    json: Path | None = None

    @property
    def failover_timeout(self) -> float:
        """The slowest legitimate path: a whole schedule period, the nodes' report staleness,
        the lease, and PostgreSQL's start."""
        return (
            self.schedule_seconds
            + decision.REPORT_STALE_SECONDS
            + pg_agent.STALE_AFTER_SECONDS
            + 60
        )


def say(message: str) -> None:
    """Progress goes to the real stdout: the handler's decision lines are captured meanwhile."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.__stdout__, flush=True)


class Drill:
    def __init__(self, options: Options, root: Path) -> None:
        self.options = options
        self.layout = Layout(root)
        install_shims(self.layout)
        self.ec2 = boto3.client("ec2")
        port = emulator.free_port()
        estate = emulator.build_estate(self.ec2, tls.make(emulator.VIP, emulator.CLUSTER), port)
        self.estate = estate
        extra = [] if options.stale_after is None else ["--stale-after", str(options.stale_after)]
        self.cluster = Cluster(self.layout, self.ec2, estate, port, extra)
        self.output = ThreadOutput()
        self.function = Lambda(root / "lambda.log", self.output)
        self.vip = emulator.Vip(estate.app_route_table, self.cluster.addresses)
        self.credentials = client.app_credentials(estate.secret_arn, root)
        self.writer = client.Writer(self.vip.address, self.credentials)
        self.watch = OverlapWatch(self.layout)
        self.hypervisor = Hypervisor(self.cluster)
        self.schedule = Schedule(self.function, options.schedule_seconds)
        self.failovers: list[Failover] = []
        self.errors: list[str] = []

    def run(self) -> Outcome:
        self.layout.shared.mkdir(parents=True)
        os.chown(self.layout.shared, *_postgres_ids())
        sys.stdout = self.output
        self.watch.start()
        self.hypervisor.start()
        self.schedule.start()
        try:
            self._first_boot()
            self.writer.start()
            plan = (
                ["event"] * self.options.faults
                + ["schedule"] * self.options.schedule_faults
                + ["hang"] * self.options.hang_faults
            )
            for number, kind in enumerate(plan, 1):
                if not self._fault(number, kind):
                    break
            self.writer.stop()
            return self._outcome()
        finally:
            try:
                self.schedule.stop()
                self.function.close()
                self.hypervisor.stop()
                self.watch.stop()
            finally:
                sys.stdout = sys.__stdout__
                self.cluster.kill_all()
                kill_strays(self.layout)

    def _first_boot(self) -> None:
        nodes = [self.cluster.launch() for _ in range(self.options.nodes)]
        for node in nodes:
            self.function.later(self.options.event_delay, "event", launched(node))
        # The launch events may come before the nodes report ready; the schedule's next run
        # promotes then (here at once, rather than up to a period later).
        if not wait_for(lambda: all("idle" in self.cluster.actions(n) for n in nodes), 60):
            raise RuntimeError("the nodes did not all boot and report: see their agent.log")
        self.function.invoke("schedule", scheduled_event())
        address = wait_for(self._serving_address, 90)
        if address is None:
            raise RuntimeError("the cluster did not come up: no primary serving through the VIP")
        client.create_table(self.credentials, address)
        say(f"{len(nodes)} nodes up, primary {self._primary()} serving on the VIP")

    def _serving_address(self) -> str | None:
        try:
            address = self.vip.address()
            if address is not None:
                client.connect(self.credentials, address).close()
            return address
        except Exception:  # not yet serving
            return None

    def _primary(self) -> str | None:
        found = emulator.primaries(self.ec2)
        return found[0] if len(found) == 1 else None

    def _fault(self, number: int, kind: str) -> bool:
        old = wait_for(self._primary, 30)
        steady = self.options.steady_seconds + random.uniform(0, 1)
        if old is None or not wait_for(lambda: self._writing(steady), 60):
            self.errors.append(f"fault {number}: no single primary serving writes before it")
            return False
        if kind != "event":
            self._random_schedule_phase()
        fault_at = self._inflict(kind, old)
        say(f"fault {number} ({kind}): {'hung' if kind == 'hang' else 'killed'} the primary {old}")
        first = wait_for(
            lambda: self.writer.first_ack_after(fault_at), self.options.failover_timeout
        )
        new = self._primary()
        result = Failover(kind, old, fault_at, new_primary=new, first_write_at=first)
        if not result.completed:
            self.failovers.append(result)
            return False
        assert new is not None
        starts = self.cluster.starts(new, fault_at)
        result = replace(
            result,
            promoted_at=self._promotion_of(new, fault_at),
            started_at=float(starts[0]["t"]) if starts else None,
            routes_to_primary=self._routes_to(new),
            app_connection=self._app_connects(),
        )
        say(f"fault {number}: {new} serves after {result.recovery:.1f} s")
        result = replace(result, revived_stayed_fenced=self._revive(old))
        result = replace(result, replacement_joined_as_standby=self._replace(old, kind))
        self.failovers.append(result)
        return True

    def _inflict(self, kind: str, old: str) -> float:
        """The fault; returns its moment, after which nothing the old primary does can be
        acknowledged."""
        if kind == "hang":
            self.cluster.hang(old)
            return time.time()
        self.cluster.kill(old)
        fault_at = time.time()
        self.ec2.stop_instances(InstanceIds=[old])
        if kind == "event":
            self.function.later(self.options.event_delay, "event", state_change(old, "stopped"))
        return fault_at

    def _random_schedule_phase(self) -> None:
        """Restart the schedule so that the fault lands at a random point of its period, as a
        real fault does: rounds last about a period, so an untouched schedule would meet every
        fault at nearly the same point."""
        self.schedule.stop()
        period = self.options.schedule_seconds
        self.schedule = Schedule(self.function, period, first=random.uniform(0, period))
        self.schedule.start()

    def _writing(self, seconds: float) -> bool:
        """After `seconds`, the last acknowledged write is less than a second old."""
        time.sleep(seconds)
        last = self.writer.last_ack()
        return last is not None and time.time() - last < 1

    def _promotion_of(self, node: str, since: float) -> float | None:
        return next(
            (
                call["ended"]
                for call in self.function.invocations
                if call["started"] >= since
                and call["result"]
                and call["result"]["action"] == "failed_over"
                and call["result"]["primary"] == node
            ),
            None,
        )

    def _routes_to(self, node: str) -> bool:
        """Every managed route table sends the VIP to the node's interface, not just the app's."""
        interface = emulator.primary_interface(self.ec2, node)
        return set(emulator.vip_targets(self.ec2).values()) == {interface}

    def _app_connects(self) -> str:
        address = self.vip.address()
        if address is None:
            return "the VIP has no route"
        problem = client.verify_app(self.estate.secret_arn, self.layout.root, address)
        return problem or "ok"

    def _revive(self, old: str) -> bool:
        """The stopped node comes back running; it must stay fenced and never start PostgreSQL."""
        self.ec2.start_instances(InstanceIds=[old])
        revived_at = time.time()
        before = len(self.cluster.actions(old))  # what it said in its earlier life
        self.cluster.start_agent(old)
        self.function.invoke("schedule", scheduled_event())
        reported = wait_for(lambda: len(self.cluster.actions(old)) > before, 60)
        time.sleep(3 * pg_agent.INTERVAL_SECONDS)  # a few more looks at its role
        self.function.invoke("schedule", scheduled_event())
        role = emulator.role_of(self.ec2, old)
        quiet = not self.cluster.starts(old, revived_at)
        say(f"  {old} back running: role {role}, PostgreSQL started: {not quiet}")
        if not reported:
            self.errors.append(f"{old} came back but its agent said nothing within 60 s")
        return bool(reported) and role == "fenced" and quiet

    def _replace(self, old: str, kind: str) -> bool:
        """The Auto Scaling group terminates the stopped-then-fenced node and launches another."""
        self.cluster.kill(old)
        self.ec2.terminate_instances(InstanceIds=[old])
        if kind == "event":
            self.function.invoke("event", state_change(old, "terminated"))
        joined_at = time.time()
        node = self.cluster.launch()
        if kind == "event":
            self.function.invoke("event", launched(node))
        idle = wait_for(lambda: "idle" in self.cluster.actions(node), 60)
        standby = emulator.role_of(self.ec2, node) == "standby"
        quiet = not self.cluster.starts(node, joined_at)
        say(f"  replaced by {node}: standby {bool(idle and standby and quiet)}")
        return bool(idle and standby and quiet)

    def _outcome(self) -> Outcome:
        address = wait_for(self._serving_address, self.options.failover_timeout)
        stored = client.stored_ids(self.credentials, address) if address is not None else None
        in_doubt = set(self.writer.in_doubt)
        acked = self.writer.acked
        overlapping = [
            f"{event['node']} while {', '.join(event['others_running'])} ran"  # type: ignore[arg-type]
            for event in events(self.layout)
            if event["event"] == "start" and event["others_running"]
        ]
        for call in self.function.invocations:
            if call["error"]:
                self.errors.append(f"a {call['trigger']} invocation failed: {call['error']}")
        return Outcome(
            nodes=self.options.nodes,
            failovers=self.failovers,
            acknowledged=len(acked),
            missing=None if stored is None else sorted(set(acked) - stored),
            in_doubt_present=0 if stored is None else len(in_doubt & stored),
            in_doubt_absent=0 if stored is None else len(in_doubt - stored),
            overlapping_starts=overlapping,
            overlap_samples=self.watch.samples,
            errors=self.errors,
            longest_renewal_gap=self.watch.longest_renewal_gap,
        )


def _postgres_ids() -> tuple[int, int]:
    import pwd  # noqa: PLC0415 (only the drill needs the postgres user)

    entry = pwd.getpwnam("postgres")
    return entry.pw_uid, entry.pw_gid


def parse(argv: Sequence[str] | None) -> Options:
    defaults = Options()
    parser = argparse.ArgumentParser(
        prog="make drill", description="the vip cluster's failover drill, on this machine"
    )
    parser.add_argument("--nodes", type=int, default=defaults.nodes, help="cluster size")
    parser.add_argument(
        "--faults", type=int, default=defaults.faults, help="faults with the event trigger"
    )
    parser.add_argument(
        "--schedule-faults",
        type=int,
        default=defaults.schedule_faults,
        help="faults with the event trigger off (the seed's design)",
    )
    parser.add_argument(
        "--hang-faults",
        type=int,
        default=defaults.hang_faults,
        help="faults where the primary's PostgreSQL hangs while its instance runs",
    )
    parser.add_argument(
        "--schedule-seconds",
        type=float,
        default=defaults.schedule_seconds,
        help="period of the Lambda's schedule (vip.checkEveryMinutes is 1 by default)",
    )
    parser.add_argument(
        "--event-delay",
        type=float,
        default=defaults.event_delay,
        help="seconds from an EC2 state change to the Lambda's invocation (assumed)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the drill's directory")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.nodes < 2:
        parser.error("--nodes must be at least 2: a failover needs a standby")
    counts = (args.faults, args.schedule_faults, args.hang_faults)
    if min(counts) < 0 or sum(counts) < 1:
        parser.error("the fault counts must not be negative, and not all 0")
    return Options(**vars(args))  # each option is named after its field


def main(argv: Sequence[str] | None = None, options: Options | None = None) -> int:
    options = options or parse(argv)
    server_programs()  # fail early, with the package to install, when PostgreSQL is missing
    host_python()  # and when the hosts' interpreter is
    root = Path(tempfile.mkdtemp(prefix="multitier-drill-"))
    root.chmod(0o755)  # the postgres user must reach the shared data directory
    os.environ.update(
        CLUSTER_NAME=emulator.CLUSTER,
        VIP_ADDRESS=emulator.VIP,
        LEASE_TABLE=emulator.LEASE_TABLE,
        PYTHONPATH=str(Path(__file__).resolve().parent.parent),
    )
    say(
        f"drill in {root}: {options.nodes} nodes, {options.faults} faults with the event "
        f"trigger, {options.schedule_faults} with the schedule alone, {options.hang_faults} of a "
        "hung PostgreSQL"
    )
    started = time.monotonic()
    keep = True  # unless the drill ends and passes: its logs are what explains a failure
    try:
        with emulator.moto_server(root / "moto.log"):
            outcome = Drill(options, root).run()
        keep = options.keep or bool(outcome.problems())
    finally:
        if keep:
            say(f"the drill's directory, with every log, is kept: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    print(f"\nfailover drill, {time.strftime('%Y-%m-%d')}, {time.monotonic() - started:.0f} s")
    for line in outcome.lines():
        print(f"  {line}")
    problems = outcome.problems()
    if options.json:
        figures = {
            "date": time.strftime("%Y-%m-%d"),
            "options": {k: str(v) for k, v in asdict(options).items()},
            **{f"recovery_{t}": outcome.recoveries(t) for t in TRIGGERS},
            "acknowledged": outcome.acknowledged,
            "missing": None if outcome.missing is None else len(outcome.missing),
            "problems": problems,
        }
        options.json.write_text(json.dumps(figures, indent=2))
    if problems:
        print("\nFAILED:")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print(
        "\npassed: no acknowledged write lost, never two servers, every failover completed, "
        "the app connected after each"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
