"""Where the app hosts' instance refresh is: its status, checkpoint, the alarms that stop it, a
rollback, and which launch template version each host runs.

    python -m tools.refresh_status <group name> [--region REGION]
    make refresh-status STACK=prod          # the group from `pulumi stack output asgName`

`pulumi up` returns when a refresh *starts*, and a later update cancels a running one: this is
how an operator follows it (RUNBOOKS.md, "Watching the refresh"). Reads only. Exit 0 while the
refresh is on its way or has succeeded, 1 when it failed, was cancelled or rolled back, or a
guard alarm is in ALARM; 2 when the group does not exist.

Two parts: `report`, a pure function of what AWS answered, and `observe`, which asks AWS.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import boto3  # type: ignore[import-untyped]

ON_ITS_WAY = ("Pending", "InProgress", "Baking", "Successful")
ROLLBACK = ("RollbackInProgress", "RollbackSuccessful", "RollbackFailed")


@dataclass(frozen=True)
class Observed:
    """What AWS says about a group's latest refresh."""

    group: str
    refresh: Mapping[str, Any] | None
    """The latest InstanceRefresh of DescribeInstanceRefreshes; None: the group never had one."""
    alarms: Mapping[str, str] = field(default_factory=dict)
    """The state of each alarm the refresh names (OK, ALARM, INSUFFICIENT_DATA; MISSING)."""
    hosts: Sequence[tuple[str, str, str, str]] = ()
    """Each host: id, launch template version, lifecycle state, health."""
    group_version: str | None = None
    """The launch template version the group names (what it launches from now on)."""


@dataclass(frozen=True)
class Report:
    lines: list[str]
    healthy: bool
    """False: the refresh failed, was cancelled or rolled back, or a guard alarm fires."""


def report(seen: Observed) -> Report:
    """What to tell the operator about `seen`."""
    refresh = seen.refresh
    if refresh is None:
        return Report([f"{seen.group}: no instance refresh has run"], True)
    status = str(refresh.get("Status"))
    prefs = refresh.get("Preferences") or {}
    done = int(refresh.get("PercentageComplete") or 0)
    lines = [
        f"{seen.group}: refresh {refresh.get('InstanceRefreshId')} {status}, {done} % replaced, "
        f"{refresh.get('InstancesToUpdate', '?')} hosts to go",
    ]
    if refresh.get("StatusReason"):
        lines.append(f"  reason: {refresh['StatusReason']}")
    lines.append("  " + _checkpoint(status, done, prefs))
    firing = sorted(name for name, state in seen.alarms.items() if state == "ALARM")
    if seen.alarms:
        states = ", ".join(f"{name} {state}" for name, state in sorted(seen.alarms.items()))
        stop = "; the refresh stops on ALARM" if status in ("Pending", "InProgress") else ""
        lines.append(f"  alarms: {states}{stop}")
    else:
        lines.append("  alarms: none named: nothing stops this refresh")
    lines.append("  " + _rollback(status, prefs, refresh.get("RollbackDetails") or {}))
    if seen.group_version is not None:
        lines.append(f"  the group launches from template version {seen.group_version}")
    for host, version, state, health in seen.hosts:
        lines.append(f"    {host}  version {version}  {state}  {health}")
    healthy = status in ON_ITS_WAY and not firing
    return Report(lines, healthy)


def _checkpoint(status: str, done: int, prefs: Mapping[str, Any]) -> str:
    points = [int(p) for p in prefs.get("CheckpointPercentages") or []]
    if not points:
        return "checkpoints: none (the refresh does not pause)"
    delay = prefs.get("CheckpointDelay")
    pause = f", each pauses {delay} s" if delay is not None else ""
    listed = ", ".join(f"{p} %" for p in points)
    reached = [p for p in points if p <= done]
    if status == "InProgress" and reached and reached[-1] == done and done < 100:
        return f"checkpoints: {listed}{pause}; paused at {done} %: look now (RUNBOOKS.md)"
    ahead = [p for p in points if p > done]
    if status in ("Pending", "InProgress") and ahead:
        return f"checkpoints: {listed}{pause}; next at {ahead[0]} %"
    return f"checkpoints: {listed}{pause}"


def _rollback(status: str, prefs: Mapping[str, Any], details: Mapping[str, Any]) -> str:
    automatic = "on" if prefs.get("AutoRollback") else "off"
    if status not in ROLLBACK:
        return f"automatic rollback: {automatic}"
    why = details.get("RollbackReason") or "no reason given"
    at = details.get("PercentageCompleteOnRollback")
    where = f" at {at} % replaced" if at is not None else ""
    left = details.get("InstancesToUpdateOnRollback")
    to_go = f", {left} hosts to go back" if left is not None and status != ROLLBACK[1] else ""
    after = (
        "; git still names the bad release: `make rollback STACK=<stack>`, commit, `pulumi up`"
        if status == "RollbackSuccessful"
        else ""
    )
    return f"rollback ({automatic}): {status}{where}{to_go}: {why}{after}"


def observe(group: str, autoscaling: Any, cloudwatch: Any) -> Observed | None:
    """Ask AWS about `group`'s latest refresh, its alarms and hosts; None: no such group."""
    groups = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group])
    if not groups["AutoScalingGroups"]:
        return None
    described = groups["AutoScalingGroups"][0]
    refreshes = autoscaling.describe_instance_refreshes(AutoScalingGroupName=group, MaxRecords=1)
    latest = (refreshes.get("InstanceRefreshes") or [None])[0]
    names = ((latest or {}).get("Preferences") or {}).get("AlarmSpecification", {}).get("Alarms")
    alarms: dict[str, str] = {}
    if names:
        found = cloudwatch.describe_alarms(AlarmNames=list(names))["MetricAlarms"]
        alarms = {name: "MISSING" for name in names}
        alarms.update({a["AlarmName"]: a["StateValue"] for a in found})
    hosts = [
        (
            i["InstanceId"],
            str((i.get("LaunchTemplate") or {}).get("Version", "?")),
            i["LifecycleState"],
            i["HealthStatus"],
        )
        for i in sorted(described.get("Instances", []), key=lambda i: i["InstanceId"])
    ]
    version = (described.get("LaunchTemplate") or {}).get("Version")
    return Observed(group, latest, alarms, hosts, version)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("group", help="the app hosts' Auto Scaling group (stack output asgName)")
    parser.add_argument("--region", help="default: the AWS CLI's configured region")
    args = parser.parse_args(argv)
    session = boto3.session.Session(region_name=args.region)
    seen = observe(args.group, session.client("autoscaling"), session.client("cloudwatch"))
    if seen is None:
        print(f"error: no Auto Scaling group {args.group!r} in this region", file=sys.stderr)
        return 2
    result = report(seen)
    print("\n".join(result.lines))
    return 0 if result.healthy else 1


if __name__ == "__main__":
    sys.exit(main())
