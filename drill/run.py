"""The failover drill: the vip cluster of PostgresHA, end to end on one machine.

- the AWS API is moto's server on loopback, holding the cluster's route tables and node instances;
- every node runs the project's node agent (drill/node.py) against that API, and the agent starts
  a real PostgreSQL on one shared data directory (the EFS volume's stand-in) on the node's port;
- the project's failover handler is invoked as EventBridge would: on EC2 state changes and ASG
  launches (after `--event-delay`), and on a schedule, each invocation in its own thread, as
  Lambda runs them without reserved concurrency: the handler's lease serialises them;
- a client writes numbered rows through the VIP (route table -> interface -> node -> port).

Each fault SIGKILLs the primary's PostgreSQL and agent and marks its instance stopped; the killed
node later comes back running and must stay fenced; the Auto Scaling group then replaces it with a
new node, which must join as a standby. The same faults are then played with the event trigger
off, the schedule alone, as in the seed's design. The drill prints its figures and exits 1 when a
write was lost, two servers overlapped, or a failover did not complete.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]

from drill import client, emulator, pgctl
from drill.emulator import CLUSTER, VIP
from drill.pgctl import Layout
from drill.report import Failover, Outcome
from functions.db_failover import contract
from functions.db_failover import handler as failover
from functions.hosts.pg_agent import INTERVAL_SECONDS, STALE_AFTER_SECONDS

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Options:
    nodes: int = 2
    faults: int = 5
    schedule_faults: int = 2
    schedule_seconds: float = 60.0
    event_delay: float = 1.0
    steady_seconds: float = 2.0
    interval: float = INTERVAL_SECONDS
    stale_after: float = STALE_AFTER_SECONDS
    keep: bool = False
    json: Path | None = None

    @property
    def failover_timeout(self) -> float:
        """Long enough for the slowest legitimate path: a whole schedule period, then the lease."""
        return self.schedule_seconds + self.stale_after + 60


def say(message: str) -> None:
    """Progress goes to the real stdout: the handler's decision lines are captured meanwhile."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.__stdout__, flush=True)


class ThreadOutput(io.TextIOBase):
    """`sys.stdout` for the drill: a thread inside `capture()` writes to its own buffer (one
    invocation's decision lines), every other write goes to the real stdout."""

    def __init__(self) -> None:
        self._local = threading.local()

    def write(self, text: str) -> int:
        buffer: io.StringIO | None = getattr(self._local, "buffer", None)
        return (buffer or sys.__stdout__ or io.StringIO()).write(text)

    def flush(self) -> None:
        if sys.__stdout__ is not None:
            sys.__stdout__.flush()

    @contextlib.contextmanager
    def capture(self) -> Iterator[io.StringIO]:
        self._local.buffer = io.StringIO()
        try:
            yield self._local.buffer
        finally:
            self._local.buffer = None


class Lambda:
    """The failover function as Lambda runs it without reserved concurrency: invocations may
    overlap, and the handler's lease (a DynamoDB item on moto) lets one act at a time."""

    def __init__(self, log: Path, output: ThreadOutput) -> None:
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._running = 0
        self._log = log
        self._output = output
        self._timers: list[threading.Timer] = []
        self._closed = False
        self.invocations: list[dict[str, Any]] = []

    def invoke(self, trigger: str, event: dict[str, Any]) -> None:
        with self._lock:
            if self._closed:
                return
            self._running += 1
        try:
            self._run(trigger, event)
        finally:
            with self._lock:
                self._running -= 1
                self._idle.notify_all()

    def _run(self, trigger: str, event: dict[str, Any]) -> None:
        started = time.time()
        with self._output.capture() as captured:
            try:
                result = failover.handler(event, None)
                error = None
            except Exception as exc:  # a failed invocation is data: the drill reports it
                result, error = None, f"{type(exc).__name__}: {exc}"
        record = {
            "trigger": trigger,
            "started": started,
            "ended": time.time(),
            "result": result,
            "error": error,
        }
        with self._lock:
            self.invocations.append(record)
            with self._log.open("a") as log:
                log.write(captured.getvalue())
                log.write(json.dumps(record) + "\n")

    def later(self, delay: float, trigger: str, event: dict[str, Any]) -> None:
        timer = threading.Timer(delay, self.invoke, (trigger, event))
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def close(self) -> None:
        """No more invocations: pending deliveries are dropped, running ones are waited for."""
        for timer in self._timers:
            timer.cancel()
        with self._lock:
            self._closed = True
            self._idle.wait_for(lambda: self._running == 0, timeout=120)


class Schedule(threading.Thread):
    """The EventBridge schedule: one invocation every `period` seconds, the first after `first`."""

    def __init__(self, function: Lambda, period: float, first: float | None = None) -> None:
        super().__init__(name="schedule", daemon=True)
        self._function, self._period = function, period
        self._first = period if first is None else first
        self._halt = threading.Event()

    def run(self) -> None:
        delay = self._first
        while not self._halt.wait(delay):
            self._function.invoke("schedule", scheduled_event())
            delay = self._period

    def stop(self) -> None:
        self._halt.set()
        if self.is_alive():
            self.join()


def state_change(instance_id: str, state: str) -> dict[str, Any]:
    return _event(
        "aws.ec2",
        "EC2 Instance State-change Notification",
        {"instance-id": instance_id, "state": state},
    )


def launched(instance_id: str) -> dict[str, Any]:
    return _event(
        "aws.autoscaling",
        "EC2 Instance Launch Successful",
        {"EC2InstanceId": instance_id, "AutoScalingGroupName": f"{CLUSTER}-nodes"},
    )


def scheduled_event() -> dict[str, Any]:
    return _event("aws.events", "Scheduled Event", {})


def _event(source: str, detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "0",
        "source": source,
        "detail-type": detail_type,
        "account": "123456789012",
        "region": emulator.REGION,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "detail": detail,
    }


class Cluster:
    """The node processes: one agent each, PostgreSQL when the agent starts it."""

    def __init__(self, layout: Layout, options: Options, ec2: Any, subnets: list[str]) -> None:
        self.layout, self.options, self.ec2 = layout, options, ec2
        self._subnets = subnets
        self.ports: dict[str, int] = {}
        self._agents: dict[str, subprocess.Popen[bytes]] = {}

    def launch(self) -> str:
        subnet = self._subnets[len(self.ports) % len(self._subnets)]
        node = emulator.launch_node(self.ec2, subnet)
        self.layout.node(node).mkdir(parents=True)
        self.ports[node] = emulator.free_port()
        self.start_agent(node)
        return node

    def start_agent(self, node: str) -> None:
        with (self.layout.node(node) / "agent.log").open("ab") as log:
            self._agents[node] = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "drill.node",
                    "--root",
                    str(self.layout.root),
                    "--instance-id",
                    node,
                    "--port",
                    str(self.ports[node]),
                    "--interval",
                    str(self.options.interval),
                    "--stale-after",
                    str(self.options.stale_after),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO,
                # Its own process group, so that a kill takes a `pgctl start` under way with it.
                start_new_session=True,
            )

    def kill(self, node: str) -> None:
        """The node dies: its agent and its PostgreSQL, with SIGKILL."""
        agent = self._agents.pop(node, None)
        if agent is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(agent.pid, signal.SIGKILL)
            agent.wait()
        pid = pgctl.postmaster_pid(self.layout, node)
        if pid is not None:
            pgctl.kill_group(pid)

    def alive(self) -> set[str]:
        """Nodes with an agent or a PostgreSQL running."""
        running = set(pgctl.running_nodes(self.layout))
        return running | set(self._agents)

    def kill_all(self) -> None:
        for node in list(self.ports):
            self.kill(node)

    def actions(self, node: str) -> list[str]:
        """What the node's agent reported doing, in order."""
        log = self.layout.node(node) / "agent.log"
        return [
            json.loads(line)["action"]
            for line in log.read_text().splitlines()
            if line.startswith('{"agent"')
        ]

    def starts(self, node: str, since: float) -> list[dict[str, Any]]:
        return [
            event
            for event in events(self.layout)
            if event["event"] == "start" and event["node"] == node and event["t"] >= since
        ]


def events(layout: Layout) -> list[dict[str, Any]]:
    if not layout.events.exists():
        return []
    return [json.loads(line) for line in layout.events.read_text().splitlines()]


class Hypervisor(threading.Thread):
    """EC2's side of a stop or a termination: everything on the instance dies with it. So when
    the Lambda fences a node, the node's agent and PostgreSQL are killed, as on AWS."""

    def __init__(self, cluster: Cluster) -> None:
        super().__init__(name="hypervisor", daemon=True)
        self._cluster = cluster
        self._halt = threading.Event()

    def run(self) -> None:
        ec2 = boto3.client("ec2")
        filters = [
            {"Name": f"tag:{contract.CLUSTER_TAG}", "Values": [CLUSTER]},
            {"Name": "instance-state-name", "Values": ["stopping", "stopped", "terminated"]},
        ]
        while not self._halt.wait(0.2):
            try:
                reservations = ec2.describe_instances(Filters=filters)["Reservations"]
            except Exception:  # the emulator busy or going away: look again
                continue
            down = {i["InstanceId"] for r in reservations for i in r["Instances"]}
            for node in down & self._cluster.alive():
                self._cluster.kill(node)

    def stop(self) -> None:
        self._halt.set()
        self.join()


class OverlapWatch(threading.Thread):
    """Samples every 20 ms how many nodes run a postmaster; two at once is an overlap."""

    def __init__(self, layout: Layout) -> None:
        super().__init__(name="overlap-watch", daemon=True)
        self._layout = layout
        self._halt = threading.Event()
        self.samples = 0

    def run(self) -> None:
        while not self._halt.wait(0.02):
            if len(pgctl.running_nodes(self._layout)) > 1:
                self.samples += 1

    def stop(self) -> None:
        self._halt.set()
        self.join()


def wait_for(check: Callable[[], Any], timeout: float, step: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(step)
    return None


class Drill:
    def __init__(self, options: Options, root: Path) -> None:
        self.options = options
        self.layout = Layout(root)
        self.ec2 = boto3.client("ec2")
        estate = emulator.build_estate(self.ec2)
        self.cluster = Cluster(self.layout, options, self.ec2, estate.data_subnets)
        self.output = ThreadOutput()
        self.function = Lambda(root / "lambda.log", self.output)
        self.vip = emulator.Vip(estate.app_route_table, self.cluster.ports)
        self.writer = client.Writer(self.vip.port)
        self.watch = OverlapWatch(self.layout)
        self.hypervisor = Hypervisor(self.cluster)
        self.schedule = Schedule(self.function, options.schedule_seconds)
        self.failovers: list[Failover] = []
        self.errors: list[str] = []

    def run(self) -> Outcome:
        self.layout.shared.mkdir(parents=True)
        sys.stdout = self.output
        self.watch.start()
        self.hypervisor.start()
        self.schedule.start()
        try:
            self._first_boot()
            self.writer.start()
            for index in range(self.options.faults):
                if not self._fault(index + 1, event_trigger=True):
                    break
            else:
                for index in range(self.options.schedule_faults):
                    if not self._fault(self.options.faults + index + 1, event_trigger=False):
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
                pgctl.kill_strays(self.layout)

    def _first_boot(self) -> None:
        nodes = [self.cluster.launch() for _ in range(self.options.nodes)]
        for node in nodes:
            self.function.later(self.options.event_delay, "event", launched(node))
        port = wait_for(self._serving_port, 90)
        if port is None:
            raise RuntimeError("the cluster did not come up: no primary serving through the VIP")
        client.create_table(port)
        say(f"{len(nodes)} nodes up, primary {self._primary()} serving on the VIP")

    def _serving_port(self) -> int | None:
        try:
            port = self.vip.port()
            if port is not None:
                client.connect(port).close()
            return port
        except Exception:  # not yet serving
            return None

    def _primary(self) -> str | None:
        found = emulator.primaries(self.ec2)
        return found[0] if len(found) == 1 else None

    def _fault(self, number: int, event_trigger: bool) -> bool:
        trigger = "event" if event_trigger else "schedule"
        old = wait_for(self._primary, 30)
        steady = self.options.steady_seconds + random.uniform(0, 1)
        if old is None or not wait_for(lambda: self._writing(steady), 60):
            self.errors.append(f"fault {number}: no single primary serving writes before it")
            return False
        if not event_trigger:
            self._random_schedule_phase()
        self.cluster.kill(old)
        fault_at = time.time()  # from here on nothing the old primary does can be acknowledged
        self.ec2.stop_instances(InstanceIds=[old])
        if event_trigger:
            self.function.later(self.options.event_delay, "event", state_change(old, "stopped"))
        say(f"fault {number} ({trigger}): killed the primary {old}")
        first = wait_for(
            lambda: self.writer.first_ack_after(fault_at), self.options.failover_timeout
        )
        new = self._primary()
        result = Failover(trigger, old, fault_at, new_primary=new, first_write_at=first)
        if not result.completed:
            self.failovers.append(result)
            return False
        assert new is not None
        starts = self.cluster.starts(new, fault_at)
        result = replace(
            result,
            promoted_at=self._promotion_of(new, fault_at),
            started_at=starts[0]["t"] if starts else None,
            routes_to_primary=self._routes_to(new),
        )
        say(f"fault {number}: {new} serves after {result.recovery:.1f} s")
        result = replace(result, revived_stayed_fenced=self._revive(old))
        result = replace(result, replacement_joined_as_standby=self._replace(old, event_trigger))
        self.failovers.append(result)
        return True

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

    def _revive(self, old: str) -> bool:
        """The killed node comes back running; it must stay fenced and never start PostgreSQL."""
        self.ec2.start_instances(InstanceIds=[old])
        revived_at = time.time()
        before = len(self.cluster.actions(old))  # what it said in its earlier life
        self.cluster.start_agent(old)
        self.function.invoke("schedule", scheduled_event())
        reported = wait_for(lambda: len(self.cluster.actions(old)) > before, 30)
        time.sleep(3 * self.options.interval)  # a few more looks at its role
        self.function.invoke("schedule", scheduled_event())
        role = emulator.role_of(self.ec2, old)
        quiet = not self.cluster.starts(old, revived_at)
        say(f"  {old} back running: role {role}, PostgreSQL started: {not quiet}")
        return bool(reported) and role == "fenced" and quiet

    def _replace(self, old: str, event_trigger: bool) -> bool:
        """The Auto Scaling group terminates the stopped-then-fenced node and launches another."""
        self.cluster.kill(old)
        self.ec2.terminate_instances(InstanceIds=[old])
        if event_trigger:
            self.function.invoke("event", state_change(old, "terminated"))
        joined_at = time.time()
        node = self.cluster.launch()
        if event_trigger:
            self.function.invoke("event", launched(node))
        idle = wait_for(lambda: "idle" in self.cluster.actions(node), 30)
        standby = emulator.role_of(self.ec2, node) == "standby"
        quiet = not self.cluster.starts(node, joined_at)
        say(f"  replaced by {node}: standby {bool(idle and standby and quiet)}")
        return bool(idle and standby and quiet)

    def _outcome(self) -> Outcome:
        port = wait_for(self._serving_port, self.options.failover_timeout)
        stored = client.stored_ids(port) if port is not None else None
        in_doubt = set(self.writer.in_doubt)
        acked = self.writer.acked
        overlapping = [
            f"{event['node']} while {', '.join(event['others_running'])} ran"
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
        )


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
    if args.faults < 0 or args.schedule_faults < 0 or args.faults + args.schedule_faults < 1:
        parser.error("--faults and --schedule-faults must not be negative, and not both 0")
    return Options(**vars(args))  # each option is named after its field


def main(argv: Sequence[str] | None = None) -> int:
    options = parse(argv)
    pgctl.bin_dir()  # fails early, with the package to install, when PostgreSQL is missing
    root = Path(tempfile.mkdtemp(prefix="multitier-drill-"))
    root.chmod(0o755)  # the postgres user must reach the shared data directory
    os.environ.update(
        CLUSTER_NAME=CLUSTER,
        VIP_ADDRESS=VIP,
        LEASE_TABLE=emulator.LEASE_TABLE,
        PYTHONPATH=str(REPO),
    )
    say(
        f"drill in {root}: {options.nodes} nodes, {options.faults} faults with the event "
        f"trigger, {options.schedule_faults} with the schedule alone"
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
            "recovery_event": outcome.recoveries("event"),
            "recovery_schedule": outcome.recoveries("schedule"),
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
    print("\npassed: no acknowledged write lost, never two servers, every failover completed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
