"""The failover drill's verdict, and that the drill fails when the safety net is broken.

The drill itself (`make drill`, a short form in `make test`) shows the cluster passing; these
tests show its checks can fail: the verdict on made-up outcomes, and two real drills against a
deliberately broken Lambda.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import cast

import pytest

from drill.client import Credentials, Writer
from drill.hosts import Layout, postmaster, started_at
from drill.machine import server_programs
from drill.report import Failover, Outcome, Rotation
from drill.restore import Result

REPO = Path(__file__).resolve().parent.parent

ROTATED = Rotation(
    login_before="app_user",
    login_after="app_user_clone",
    steps=(0.1, 0.2, 0.1, 0.1),
    error=None,
    longest_gap=0.3,
    rereads=1,
    privileges="ok",
)
ROTATION = Failover(
    "rotation",
    "i-old",
    fault_at=100.0,
    new_primary="i-old",
    first_write_at=101.0,
    last_write_before=99.9,
    kept_role=True,
    app_connection="ok",
    rotation=ROTATED,
)

GOOD = Failover(
    "event",
    "i-old",
    fault_at=100.0,
    new_primary="i-new",
    promoted_at=101.0,
    started_at=110.0,
    first_write_at=111.0,
    revived_stayed_fenced=True,
    replacement_joined_as_standby=True,
    app_connection="ok",
)


SWITCHOVER = replace(
    GOOD,
    trigger="switchover",
    revived_stayed_fenced=None,
    replacement_joined_as_standby=None,
    longest_gap=1.3,
    handed_over="ok",
)
PAUSE = replace(GOOD, trigger="pause", held_while_paused=True)


def outcome(**changes: object) -> Outcome:
    base = Outcome(
        nodes=2,
        failovers=[GOOD],
        acknowledged=1000,
        missing=[],
        in_doubt_present=1,
        in_doubt_absent=1,
        overlapping_starts=[],
        overlap_samples=0,
        app_privileges="ok",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_clean_drill_passes_and_reports_its_recovery():
    result = outcome()
    assert result.problems() == []
    assert result.recoveries("event") == [11.0]
    (row,) = [line for line in result.lines() if line.startswith("instance stops, event")]
    assert row.split()[-5:] == ["-", "11.0/11.0", "-", "0", "0"], row


def test_each_kind_of_fault_reports_detection_recovery_refused_writes_lost_and_overlaps():
    spike = Failover(
        "spike",
        "i-old",
        fault_at=100.0,
        new_primary="i-old",
        first_write_at=104.0,
        last_write_before=99.9,
        kept_role=True,
        app_connection="ok",
    )
    hang = replace(
        GOOD, trigger="hang", detected_at=108.0, last_write_before=99.5, lost=0, overlaps=0
    )
    result = outcome(failovers=[hang, spike])
    assert result.problems() == []
    rows = {line.split("  ")[0]: line for line in result.table()}
    assert rows["PostgreSQL hangs"].split()[-5:] == ["8.0/8.0", "11.0/11.0", "11.5/11.5", "0", "0"]
    assert rows["data volume stalls briefly"].split()[-5:] == ["-", "4.0/4.0", "4.1/4.1", "0", "0"]


def test_a_rotation_that_alternated_passes_and_shows_its_steps():
    result = outcome(failovers=[GOOD, ROTATION])
    assert result.problems() == []
    (row,) = [line for line in result.lines() if line.startswith("app secret rotation 1")]
    assert "app_user -> app_user_clone: steps 0.10 0.20 0.10 0.10 = 0.50" in row, row
    assert result.recoveries("rotation") == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"missing": [7, 8]}, "2 acknowledged writes are missing (7, 8)"),
        ({"missing": None}, "could not be read back"),
        ({"overlapping_starts": ["i-b while i-a ran"]}, "while another node's server ran"),
        ({"overlap_samples": 3}, "two postmasters ran at once in 3 samples"),
        ({"failovers": [replace(GOOD, first_write_at=None)]}, "did not complete"),
        ({"failovers": [replace(GOOD, new_primary="i-old")]}, "did not complete"),
        ({"failovers": [replace(GOOD, revived_stayed_fenced=False)]}, "did not stay fenced"),
        (
            {"failovers": [replace(GOOD, routes_to_primary=False)]},
            "not every managed route table",
        ),
        (
            {"failovers": [replace(GOOD, replacement_joined_as_standby=False)]},
            "did not join as a standby",
        ),
        ({"acknowledged": 0}, "no write was acknowledged"),
        ({"errors": ["a schedule invocation failed: boom"]}, "invocation failed"),
        (
            {"failovers": [replace(GOOD, app_connection="SSL error: certificate verify failed")]},
            "the app could not connect through the VIP with verify-full",
        ),
        ({"failovers": [replace(GOOD, app_connection=None)]}, "could not connect"),
        (
            {"failovers": [replace(GOOD, trigger="spike", kept_role=False)]},
            "a failover nobody needed",
        ),
        (
            {"failovers": [replace(GOOD, trigger="crash", new_primary="i-old", kept_role=False)]},
            "fenced though it only needed time",
        ),
        (
            {"failovers": [replace(GOOD, trigger="slow-start", promotions=2)]},
            "2 promotions: a promoted node was fenced while it started",
        ),
        ({"app_privileges": "session user is a superuser"}, "the app's login: session user"),
        ({"app_privileges": None}, "the app's login: its privileges not checked"),
        (
            {"failovers": [replace(ROTATION, rotation=replace(ROTATED, error="testSecret: x"))]},
            "the rotation stopped at testSecret: x",
        ),
        (
            {"failovers": [replace(ROTATION, rotation=replace(ROTATED, login_after="app_user"))]},
            "still: no alternation",
        ),
        (
            {"failovers": [replace(ROTATION, rotation=replace(ROTATED, rereads=3))]},
            "read its secret 3 times after refused logins",
        ),
        (
            {"failovers": [replace(ROTATION, first_write_at=None)]},
            "wrote nothing on a connection opened after it",
        ),
    ],
)
def test_the_drill_fails_on(changes, expected):
    problems = outcome(**changes).problems()
    assert any(expected in problem for problem in problems), problems


def test_a_switchover_and_a_pause_that_held_pass_and_show_their_refused_writes():
    result = outcome(failovers=[SWITCHOVER, PAUSE])
    assert result.problems() == []
    rows = {line.split("  ")[0]: line for line in result.table()}
    assert rows["planned switchover (dbctl)"].split()[-3:-2] == ["1.3/1.3"]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"failovers": [replace(SWITCHOVER, longest_gap=5.2)]},
            "writes were refused for 5.2 s, 5 s allowed",
        ),
        (
            {"failovers": [replace(SWITCHOVER, handed_over="i-new did not start from a clean")]},
            "did not start from a clean",
        ),
        (
            {"failovers": [replace(PAUSE, held_while_paused=False)]},
            "the paused cluster failed over before it was resumed",
        ),
    ],
)
def test_the_drill_fails_an_operators_verb_on(changes, expected):
    problems = outcome(**changes).problems()
    assert any(expected in problem for problem in problems), problems


def test_recovery_counts_only_writes_sent_after_the_fault():
    writer = Writer(lambda: None, lambda: cast(Credentials, None))
    # Write 2 was sent before the fault at 2.2 and acknowledged after it: it proves nothing.
    writer.sent_at, writer.acked_at = [1.0, 2.0, 3.0], [1.5, 2.5, 3.5]
    assert writer.first_ack_after(2.2) == 3.5
    assert writer.first_ack_after(3.0) is None


def test_a_pid_the_kernel_gave_to_another_process_is_not_a_nodes_postmaster(tmp_path):
    layout = Layout(tmp_path)
    own = layout.own_pid("i-1")
    own.parent.mkdir(parents=True)
    started = started_at(os.getpid())
    assert started is not None
    own.write_text(f"{os.getpid()} {started}")
    assert postmaster(layout, "i-1") == os.getpid()
    own.write_text(f"{os.getpid()} 1")  # same pid, another start time
    assert postmaster(layout, "i-1") is None


def _postgres_missing() -> bool:
    try:
        server_programs()
    except FileNotFoundError:
        return True
    return False


@pytest.mark.slow
@pytest.mark.skipif(_postgres_missing(), reason="PostgreSQL server binaries are not installed")
@pytest.mark.parametrize(
    ("sabotage", "plays", "expected"),
    [
        ("unfenced", "event=1", "the killed node came back and did not stay fenced"),
        ("no-fence", "event=1", "PostgreSQL was started while another node's server ran"),
        # A node 30 s behind, on its own clock, reports times the function finds stale: it is
        # never promoted, and with nobody else to take over the failover never completes.
        (
            "local-clock",
            "skew-large=1 --stop-seconds 1 --recovery-seconds 1 --schedule-seconds 10",
            "the failover did not complete",
        ),
    ],
)
def test_a_drill_against_a_broken_safety_net_fails(sabotage, plays, expected):
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.drill_sabotage",
            sabotage,
            "--only",
            *plays.split(),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    kept = re.search(r"is kept: (\S+)", run.stdout)  # a failed drill keeps its logs
    if kept:
        shutil.rmtree(kept.group(1), ignore_errors=True)
    assert run.returncode == 1, run.stdout + run.stderr
    assert expected in run.stdout, run.stdout


def test_a_restore_that_could_not_reach_its_moment_fails_the_drill():
    result = outcome(
        pitr=Result(
            backup_seconds=5.0,
            rpo=2.0,
            broken="000000010000000000000003",
            error="PostgreSQL stopped before it reached the moment: recovery ended before "
            "configured recovery target was reached",
        )
    )
    assert result.problems() == [f"point-in-time restore: {result.pitr.error}"]  # type: ignore[union-attr]


def test_a_restore_missing_an_acknowledged_write_or_holding_a_later_one_fails():
    result = outcome(pitr=Result(archive_age=1.0, rows_checked=10, missing=[4], extra=[9]))
    assert [p.split(":")[1].split("(")[0].strip() for p in result.problems()] == [
        "1 writes acknowledged by the moment are missing",
        "1 writes sent after the moment are there",
    ]


@pytest.mark.slow
@pytest.mark.skipif(_postgres_missing(), reason="PostgreSQL server binaries are not installed")
def test_a_drill_whose_archive_lost_a_segment_fails():
    """The archive loses the WAL segment that holds the moment: the restore must fail, loudly,
    rather than stop early and pass with what it had."""
    run = subprocess.run(
        [sys.executable, "-m", "drill", "--only", "spike=1", "--break-archive"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    kept = re.search(r"is kept: (\S+)", run.stdout)
    if kept:
        shutil.rmtree(kept.group(1), ignore_errors=True)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "recovery ended before configured recovery target was reached" in run.stdout, run.stdout


def test_a_primary_that_published_no_archive_age_fails_the_drill():
    result = outcome(pitr=Result(rows_checked=10))
    assert result.problems() == [
        "point-in-time restore: the primary published no ArchiveAgeSeconds"
    ]
