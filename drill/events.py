"""How AWS runs the failover function in the drill: EventBridge's events (an EC2 state change, a
launch into the node group, the schedule) and the cluster table's stream (Lambda's event source
mapping, with the deployed filters) delivered to the project's handler, each invocation in its own
thread as Lambda runs them without reserved concurrency, so that only the handler's lease (on the
emulated DynamoDB) keeps them from acting at once.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]

from drill import emulator
from functions.db_failover import contract
from functions.db_failover import handler as failover


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

    def failed_over(self, since: float) -> list[dict[str, Any]]:
        """The invocations started at or after `since` that failed over, in order."""
        return [
            call
            for call in self.invocations
            if call["started"] >= since
            and call["result"]
            and call["result"]["action"] == "failed_over"
        ]

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


class Stream(threading.Thread):
    """Lambda's event source mapping on the cluster table's stream: each new record that the
    deployed filters (`contract.report_filters`) let through runs the function `delay` seconds
    later (the stream's propagation and Lambda's polling, four times a second: assumed)."""

    def __init__(self, function: Lambda, stream_arn: str, delay: float) -> None:
        super().__init__(name="stream", daemon=True)
        self._function, self._arn, self._delay = function, stream_arn, delay
        self._halt = threading.Event()

    def run(self) -> None:
        streams = boto3.client("dynamodbstreams")
        shards = streams.describe_stream(StreamArn=self._arn)["StreamDescription"]["Shards"]
        iterators = {
            shard["ShardId"]: streams.get_shard_iterator(
                StreamArn=self._arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST"
            )["ShardIterator"]
            for shard in shards
        }
        while not self._halt.wait(0.25):
            for shard, iterator in list(iterators.items()):
                try:
                    answer = streams.get_records(ShardIterator=iterator)
                except Exception:  # the emulator busy or going away: poll again
                    continue
                iterators[shard] = answer["NextShardIterator"]
                for record in answer["Records"]:
                    if any(matches(f, record) for f in contract.report_filters()):
                        self._function.later(self._delay, "stream", {"Records": [record]})

    def stop(self) -> None:
        self._halt.set()
        if self.is_alive():
            self.join()


def matches(pattern: Any, value: Any) -> bool:
    """Lambda's event filtering, for the patterns the program deploys: every key of the pattern
    in the value; a list of literals matches a value equal to one of them."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(
            key in value and matches(inner, value[key]) for key, inner in pattern.items()
        )
    return value in pattern


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
        {"EC2InstanceId": instance_id, "AutoScalingGroupName": f"{emulator.CLUSTER}-nodes"},
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
