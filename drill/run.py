"""The failover drill: the vip cluster of PostgresHA, end to end on one machine, run as deployed,
at AWS's timings.

- AWS is moto's server on loopback (drill/emulator.py): the route tables, the node instances and
  their group, the cluster's table and its stream, the database's secrets (master, app, read-only)
  and the certificate's; each node has its own instance metadata service (drill/imds.py) and its
  own path to DynamoDB (drill/gate.py).
- Each node is a host laid out from the real user data, booted by its real boot script, running
  its real agent on the hosts' Python 3.9 and PostgreSQL through the real `multitier-pg`
  (drill/machine.py, drill/cluster.py), all nodes on one shared data directory (the EFS volume).
- The project's failover handler is invoked as AWS would (drill/events.py): on EC2 state changes
  and launches (after `--event-delay`), on the table's stream records that the deployed filters
  let through (after `--stream-delay`), and on a schedule, concurrently.
- A client writes numbered rows through the VIP as the app does, with its own login from the
  app's secret and `verify-full` (drill/client.py); after each failover the app connects afresh
  and writes. Its login is no superuser, owns nothing itself and may not run programs.
- The app's secret is rotated as Secrets Manager does it with the project's credentials function
  (drill/credentials.py), while the app writes: the logins alternate, and the app reads its
  secret again when its login is refused.

The faults (drill/faults.py) are played at the durations AWS gives them: a forced stop that takes
tens of seconds, crash recovery that outlasts the reports' staleness, a stall of the data volume,
a node cut off from DynamoDB and its metadata, clocks that disagree. The drill prints its figures
per kind of fault and exits 1 when a write was lost, two servers overlapped, a failover did not
complete or happened where none was needed, the app could not connect, a rotation failed or left
the app refused, or the app's login may do more than it should.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, replace
from functools import partial
from pathlib import Path

import boto3  # type: ignore[import-untyped]

from drill import client, emulator, restore, tls
from drill.cluster import Cluster, Hypervisor, OverlapWatch, say, wait_for
from drill.credentials import CredentialsFunction
from drill.events import (
    Lambda,
    Schedule,
    Stream,
    ThreadOutput,
    launched,
    scheduled_event,
    state_change,
)
from drill.faults import Faults
from drill.hosts import Layout, events, kill_strays, postgres_ids
from drill.machine import faketime, host_python, install_shims, server_programs
from drill.options import Options, parse
from drill.report import BY_NAME, KINDS, Failover, Outcome
from drill.verbs import Verbs
from functions.db_failover import decision
from functions.hosts import pg_agent

__all__ = ["Drill", "main", "parse"]


class Drill:
    def __init__(self, options: Options, root: Path) -> None:
        self.options = options
        self.pitr: restore.Result | None = None
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
        self.app = partial(client.read_secret, estate.app_secret_arn, root)
        """The app's credentials, as the app reads them now."""
        self.writer = client.Writer(self.vip.address, self.app)
        self.credentials_function = CredentialsFunction(
            estate, port, self.vip.address, root / "credentials.log", self.output
        )
        self.watch = OverlapWatch(self.layout)
        self.hypervisor = Hypervisor(self.cluster)
        self.schedule = Schedule(self.function, options.schedule_seconds)
        self.stream = Stream(self.function, estate.stream_arn, options.stream_delay)
        self.faults = Faults(self, options)
        self.failovers: list[Failover] = []
        self.errors: list[str] = []

    def run(self) -> Outcome:
        self.layout.shared.mkdir(parents=True)
        os.chown(self.layout.shared, *postgres_ids())
        sys.stdout = self.output
        self.watch.start()
        self.hypervisor.start()
        self.schedule.start()
        self.stream.start()
        try:
            self._first_boot()
            self.writer.start()
            if self.options.pitr:
                self.pitr = restore.play(self, say, break_archive=self.options.break_archive)
            plan = [
                kind.name for kind in KINDS for _ in range(self.options.plays.get(kind.name, 0))
            ]
            for number, kind in enumerate(plan, 1):
                if not self._fault(number, kind):
                    break
            self.writer.stop()
            return replace(self._outcome(), pitr=self.pitr)
        finally:
            try:
                self.stream.stop()
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
        address = wait_for(self.serving_address, 90)
        if address is None:
            raise RuntimeError("the cluster did not come up: no primary serving through the VIP")
        client.create_tables(self.app(), address)
        say(f"{len(nodes)} nodes up, primary {self.primary()} serving on the VIP")

    def serving_address(self) -> str | None:
        try:
            address = self.vip.address()
            if address is not None:
                client.connect(self.app(), address).close()
            return address
        except Exception:  # not yet serving
            return None

    def primary(self) -> str | None:
        found = emulator.primaries(self.ec2)
        return found[0] if len(found) == 1 else None

    def _fault(self, number: int, kind: str) -> bool:
        old = wait_for(self.primary, 30)
        if old is None or not wait_for(lambda: self._writing(self._steady()), 60):
            self.errors.append(f"fault {number}: no single primary serving writes before it")
            return False
        verbs = Verbs(self)
        plays = {"rotation": self._rotation, "switchover": verbs.switchover, "pause": verbs.paused}
        if kind in plays:  # no fault, or an operator's verb: played their own way
            return plays[kind](number, old)
        old = self.faults.prepare(kind, old)
        if old is None:
            self.errors.append(f"fault {number} ({kind}): the cluster could not be prepared")
            return False
        fault_at = self.faults.inflict(kind, old)
        say(f"fault {number} ({kind}): {BY_NAME[kind].label}, primary {old}")
        # Writes stop at the fault, or, for a node cut off from the control plane (whose server
        # serves on), when its fence stops it.
        until = fault_at
        if kind == "cutoff":
            timeout = self.options.failover_timeout
            if wait_for(lambda: self.cluster.killed_at.get(old, 0) > fault_at, timeout):
                until = self.cluster.killed_at[old]
        last_before = self.writer.last_ack_before(until)
        first = wait_for(lambda: self.writer.first_ack_after(until), self.options.failover_timeout)
        self.faults.settle(kind, old)
        new = self.primary()
        result = Failover(
            kind,
            old,
            fault_at,
            new_primary=new,
            first_write_at=first,
            last_write_before=last_before,
        )
        if not result.completed:
            self.failovers.append(result)
            return False
        assert new is not None
        result = replace(
            result,
            detected_at=self._promotion(fault_at, "started"),
            promoted_at=self._promotion(fault_at, "ended"),
            app_connection=self._app_connects(),
        )
        if BY_NAME[kind].failover:
            result = self._after_failover(result, kind, old, new)
        else:
            result = replace(result, kept_role=self._kept(old, fault_at))
        say(f"fault {number}: {new} serves after {result.recovery:.1f} s")
        self.failovers.append(result)
        return True

    def _rotation(self, number: int, old: str) -> bool:
        """One rotation of the app's secret while the app writes (drill/credentials.py)."""
        started = time.time()
        rotation, first = self.credentials_function.rotate_while_writing(
            self.estate.app_secret_arn, self.writer, self.app, self.options.failover_timeout
        )
        result = Failover(
            "rotation",
            old,
            started,
            new_primary=self.primary(),
            first_write_at=first,
            last_write_before=self.writer.last_ack_before(started),
            app_connection=self._app_connects(),
            kept_role=self._kept(old, started),
            rotation=rotation,
        )
        say(
            f"fault {number} (rotation): {rotation.login_before} -> {rotation.login_after} in "
            f"{sum(rotation.steps):.2f} s"
            + ("" if rotation.error is None else f", stopped at {rotation.error}")
            + f"; the app re-read its secret {rotation.rereads} times"
        )
        self.failovers.append(result)
        return rotation.error is None and result.completed

    def _steady(self) -> float:
        return self.options.steady_seconds + random.uniform(0, 1)

    def _after_failover(self, result: Failover, kind: str, old: str, new: str) -> Failover:
        starts = self.cluster.starts(new, result.fault_at)
        result = replace(
            result,
            started_at=float(starts[0]["t"]) if starts else None,
            routes_to_primary=self._routes_to(new),
        )
        if kind.startswith("skew") or kind == "slow-start":
            # Past the reports' staleness: a node whose reports or start the function misjudged
            # would be fenced by now.
            time.sleep(decision.REPORT_STALE_SECONDS + 5)
            result = replace(result, new_primary=self.primary())
        result = replace(result, promotions=len(self.function.failed_over(result.fault_at)))
        result = replace(result, revived_stayed_fenced=self._revive(old))
        return replace(result, replacement_joined_as_standby=self._replace(old, kind))

    def _promotion(self, since: float, moment: str) -> float | None:
        """When the first run after `since` that failed over started, or ended."""
        return next((call[moment] for call in self.function.failed_over(since)), None)

    def _kept(self, old: str, since: float) -> bool:
        """The old primary is primary still, and no run since the fault fenced anybody."""
        return (
            emulator.role_of(self.ec2, old) == "primary"
            and not self.function.failed_over(since)
            and emulator.protected(old) is True
        )

    def _writing(self, seconds: float) -> bool:
        """After `seconds`, the last acknowledged write is less than a second old."""
        time.sleep(seconds)
        last = self.writer.last_ack()
        return last is not None and time.time() - last < 1

    def _routes_to(self, node: str) -> bool:
        """Every managed route table sends the VIP to the node's interface, not just the app's."""
        interface = emulator.primary_interface(self.ec2, node)
        return set(emulator.vip_targets(self.ec2).values()) == {interface}

    def _app_connects(self) -> str:
        address = self.vip.address()
        if address is None:
            return "the VIP has no route"
        problem = client.verify_app(self.app, address)
        return problem or "ok"

    def _revive(self, old: str) -> bool:
        """The stopped node comes back running; it must stay fenced and never start PostgreSQL."""
        wait_for(lambda: emulator.state_of(self.ec2, old) == "stopped", 120)
        wait_for(lambda: old not in self.cluster.alive(), 30)  # the hypervisor saw it stop
        self.ec2.start_instances(InstanceIds=[old])
        revived_at = time.time()
        before = len(self.cluster.actions(old))  # what it said in its earlier life
        self.cluster.cut(old, cut=False)  # a new boot: its network is back
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
        self.cluster.terminate(old)
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
        address = wait_for(self.serving_address, self.options.failover_timeout)
        stored = None
        privileges = None
        if address is not None:
            master = client.read_secret(self.estate.master_secret_arn, self.layout.root)
            stored = client.stored_ids(master, address)
            privileges = client.privileges(self.app(), address)
        in_doubt = set(self.writer.in_doubt)
        acked = self.writer.acked
        missing = None if stored is None else sorted(set(acked) - stored)
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
            failovers=self._attributed(missing or []),
            acknowledged=len(acked),
            missing=missing,
            in_doubt_present=0 if stored is None else len(in_doubt & stored),
            in_doubt_absent=0 if stored is None else len(in_doubt - stored),
            overlapping_starts=overlapping,
            overlap_samples=len(self.watch.overlaps),
            errors=self.errors,
            longest_renewal_gap=self.watch.longest_renewal_gap,
            app_privileges=privileges,
        )

    def _attributed(self, missing: list[int]) -> list[Failover]:
        """Each fault with the lost writes and the overlaps of its time: from it to the next."""
        acked_at = dict(zip(self.writer.acked, self.writer.acked_at, strict=True))
        lost_at = [acked_at[number] for number in missing]
        bounds = [f.fault_at for f in self.failovers[1:]] + [float("inf")]
        return [
            replace(
                f,
                lost=sum(f.fault_at <= t < end for t in lost_at),
                overlaps=sum(f.fault_at <= t < end for t in self.watch.overlaps),
            )
            for f, end in zip(self.failovers, bounds, strict=True)
        ]


def main(argv: Sequence[str] | None = None, options: Options | None = None) -> int:
    options = options or parse(argv)
    server_programs()  # fail early, with the package to install, when PostgreSQL is missing
    host_python()  # and when the hosts' interpreter is
    if any(options.plays.get(kind) for kind in ("skew-small", "skew-large")):
        faketime()  # and libfaketime, for the skewed clocks
    root = Path(tempfile.mkdtemp(prefix="multitier-drill-"))
    root.chmod(0o755)  # the postgres user must reach the shared data directory
    os.environ.update(
        CLUSTER_NAME=emulator.CLUSTER,
        VIP_ADDRESS=emulator.VIP,
        LEASE_TABLE=emulator.LEASE_TABLE,
        NODE_GROUP=emulator.NODE_GROUP,
        NODE_ROLE_ID=emulator.NODE_ROLE_ID,
        PYTHONPATH=str(Path(__file__).resolve().parent.parent),
    )
    played = ", ".join(f"{n} {k}" for k, n in options.plays.items() if n)
    say(f"drill in {root}: {options.nodes} nodes; faults: {played}")
    started = time.monotonic()
    keep = True  # unless the drill ends and passes: its logs are what explains a failure
    try:
        with emulator.moto_server(root / "moto.log", Layout(root).stop_seconds):
            outcome = Drill(options, root).run()
        keep = options.keep or bool(outcome.problems())
    finally:
        if keep:
            say(f"the drill's directory, with every log, is kept: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    print(f"\nfailover drill, {time.strftime('%Y-%m-%d')}, {time.monotonic() - started:.0f} s")
    for line in outcome.lines():
        print(f"  {line}" if line else "")
    problems = outcome.problems()
    if options.json:
        figures = outcome.figures({k: str(v) for k, v in asdict(options).items()})
        options.json.write_text(json.dumps(figures, indent=2))
    if problems:
        print("\nFAILED:")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    print(
        "\npassed: no acknowledged write lost, never two servers, every failover completed and "
        "none happened unneeded, the app connected after each, on a login of its own that every "
        "rotation left it"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
