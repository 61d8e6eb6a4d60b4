"""The drill's point-in-time restore: the cluster archives to S3 while the app writes, and a base
backup plus the archived WAL bring back exactly what was acknowledged up to a chosen moment.

- The archive: a second moto server, in HTTPS mode with path-style addressing
  (drill/archive_s3.py).
- The nodes archive with their real code: `archive_command` runs pgBackRest's `archive-push` (at
  least every `vip.archive.timeoutSeconds`, 10 s here); the timer's `multitier-pg-archive tick`,
  run once on the primary, creates the stanza, publishes the archive's age (to the emulated
  CloudWatch, through the drill's `aws`) and takes the first full backup; all with the config the
  node's boot wrote (functions/hosts/pg_archive.sh).
- The check: the moment T is taken while the app writes; the recovery point (RPO) is how long
  after T the WAL holding T reached the archive (a cluster lost from then on loses nothing
  acknowledged before T). The restore is `vip.restore` with target T, run by the node's own
  code on a host of its own (`multitier-pg start`: pgBackRest's restore instead of initdb,
  PostgreSQL's recovery to T and its promotion, the stack's passwords) into a fresh data
  directory: the restore time (RTO) runs from its start until the restored server answers.
  Every write acknowledged by T must be there, none sent after T may be; a write sent before T
  and acknowledged after may be either.
- A missing WAL segment (`--break-archive` deletes the one holding T) must fail the restore:
  PostgreSQL stops with "recovery ended before configured recovery target was reached".
"""

from __future__ import annotations

import datetime
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import boto3  # type: ignore[import-untyped]

from components.config.archive import ArchiveConfig
from components.config.database import VipConfig
from components.database import archive
from components.observability.conditions import ARCHIVE_AGE_METRIC
from drill import emulator
from drill.archive_s3 import BUCKET, client
from drill.client import TABLE, Writer
from drill.hosts import Layout
from drill.machine import server_programs
from functions.db_failover import contract

if TYPE_CHECKING:
    from drill.cluster import Cluster

RESTORED_CLUSTER = "multitier-drill-restored"
"""The restored cluster's name: it archives under a prefix of its own."""
RESTORED = "/var/lib/multitier-pg-restored/data"
ARCHIVE_TIMEOUT = 10
"""`vip.archive.timeoutSeconds` in the drill: the bound its recovery point should keep."""
WAIT_SECONDS = 120


def settings() -> dict[str, str]:
    """The archive's settings in a node's pg.env, as the program writes them."""
    config = VipConfig(
        archive=ArchiveConfig(timeout_seconds=ARCHIVE_TIMEOUT, retention_full_backups=2)
    )
    return archive.node_settings(config, BUCKET)


@dataclass
class Result:
    """What the point-in-time restore showed."""

    archive_timeout: int = ARCHIVE_TIMEOUT
    backup_seconds: float | None = None
    rpo: float | None = None
    """Seconds from the moment T until the WAL holding T was in the archive."""
    rto: float | None = None
    """Seconds from the restore's start until the restored server answered."""
    restored_mb: float | None = None
    archive_age: float | None = None
    """The newest archived segment's age the primary published (the alarm's metric)."""
    rows_checked: int = 0
    """Acknowledged writes judged: those acknowledged by T, and those sent after it."""
    missing: list[int] = field(default_factory=list)
    """Acknowledged by T, absent from the restore."""
    extra: list[int] = field(default_factory=list)
    """Sent after T, present in the restore."""
    in_doubt: int = 0
    """Sent before T, acknowledged after it: either is right."""
    broken: str | None = None
    """The WAL segment `--break-archive` deleted."""
    error: str | None = None

    def lines(self) -> list[str]:
        def seconds(value: float | None) -> str:
            return "-" if value is None else f"{value:.1f}"

        lines = [
            f"point-in-time restore (archive timeout {self.archive_timeout} s)",
            f"  first tick: stanza, full backup (s)  {seconds(self.backup_seconds)}",
            f"  archive age published (s)            {seconds(self.archive_age)}",
            f"  recovery point, RPO (s)              {seconds(self.rpo)}",
            f"  restore to the moment, RTO (s)       {seconds(self.rto)}"
            + ("" if self.restored_mb is None else f" for {self.restored_mb:.0f} MB"),
            f"  acknowledged writes checked          {self.rows_checked}",
            f"  missing / present after the moment   {len(self.missing)} / {len(self.extra)}",
            f"  in doubt at the moment               {self.in_doubt}",
        ]
        if self.broken:
            lines.append(f"  archive broken: deleted segment      {self.broken}")
        return lines

    def problems(self) -> list[str]:
        found = []
        if self.error:
            found.append(f"point-in-time restore: {self.error}")
        if self.missing:
            shown = ", ".join(map(str, self.missing[:10]))
            found.append(
                f"point-in-time restore: {len(self.missing)} writes acknowledged by the moment "
                f"are missing ({shown})"
            )
        if self.extra:
            shown = ", ".join(map(str, self.extra[:10]))
            found.append(
                f"point-in-time restore: {len(self.extra)} writes sent after the moment are "
                f"there ({shown})"
            )
        if self.error is None and self.archive_age is None:
            found.append("point-in-time restore: the primary published no ArchiveAgeSeconds")
        if self.error is None and self.rows_checked == 0:
            found.append("point-in-time restore: no acknowledged write was checked")
        return found


class Pitr:
    """The restore's steps, on the primary the cluster has after its first boot."""

    def __init__(
        self,
        layout: Layout,
        writer: Writer,
        run_on: Callable[[str, list[str], dict[str, str]], subprocess.CompletedProcess[str]],
        *,
        port: int,
        say: Callable[[str], None],
    ) -> None:
        self.layout, self.writer, self.run_on = layout, writer, run_on
        self.port, self.say = port, say
        self.bin = server_programs()
        self._bin = layout.root / "pitr-bin"
        """Debian's server programs, unwatched: the drill's pg_ctl would count the restored
        server as a second postmaster of the cluster, which it is not."""
        self._bin.mkdir(exist_ok=True)
        for program in ("pg_ctl", "initdb", "psql", "postgres"):
            link = self._bin / program
            if not link.exists():
                link.symlink_to(self.bin / program)
        self._bin.chmod(0o755)

    def run(self, primary: str, *, seconds: float = 15.0, break_archive: bool = False) -> Result:
        result = Result()
        try:
            self._run(primary, seconds, break_archive, result)
        except (RuntimeError, subprocess.SubprocessError, OSError) as error:
            result.error = str(error)
        self.say(
            "point-in-time restore: "
            + (f"failed: {result.error}" if result.error else f"RPO {result.rpo:.1f} s, RTO "
               f"{result.rto:.1f} s, {result.rows_checked} writes checked")
        )  # fmt: skip
        return result

    def _run(self, primary: str, seconds: float, break_archive: bool, result: Result) -> None:
        # The timer's run on the primary: the stanza, the archive's age, the first full backup
        # (none yet); the AWS CLI is the drill's (its shim), answered by the emulator.
        path = f"{self.layout.shims / 'bin'}:{Path(sys.executable).parent}:{os.environ['PATH']}"
        started = time.monotonic()
        tick = self.run_on(primary, [self._program(primary), "tick"], {"PATH": path})
        if tick.returncode != 0:
            raise RuntimeError(f"the archive's tick failed: {tick.stdout[-600:]}")
        result.backup_seconds = time.monotonic() - started
        result.archive_age = _published_age()
        time.sleep(seconds / 2)  # writes after the backup, replayed from the archive
        segment = self._sql(primary, "SELECT pg_walfile_name(pg_current_wal_lsn())")
        moment = time.time()
        archived = self._wait(
            lambda: self._sql(primary, "SELECT last_archived_wal FROM pg_stat_archiver") >= segment
        )
        if archived is None:
            raise RuntimeError(f"segment {segment}, holding the moment, was never archived")
        result.rpo = archived - moment
        time.sleep(seconds / 2)  # writes after the moment, which the restore must not bring
        if break_archive:
            result.broken = self._delete(segment)
        self._restore(primary, moment, result)

    def _restore(self, primary: str, moment: float, result: Result) -> None:
        """A new cluster restored to the moment as `vip.restore` makes one: a host laid out as
        the primary's, its settings those of a stack whose config restores the drill's cluster,
        its real `multitier-pg start` (pgBackRest's restore instead of initdb, recovery to the
        moment, promotion, the stack's passwords), on a data directory of its own."""
        target = datetime.datetime.fromtimestamp(moment, datetime.UTC).isoformat()
        directory = self.layout.root / "pitr"
        host = self._host(primary, directory, archive.restore_target(target))
        port = emulator.free_port()
        overrides = {"MULTITIER_ROOT": str(host), "PG_PORT": str(port), "PG_BIN": str(self._bin)}
        started = time.monotonic()
        try:
            for command in ("multitier-pg-archive configure", "multitier-pg start"):
                program, verb = command.split()
                run = self.run_on(
                    primary, [str(host / "usr/local/sbin" / program), verb], overrides
                )
                if run.returncode != 0:
                    raise RuntimeError(
                        f"{command} failed: "
                        + (_fatal(host / "var/log/multitier/postgresql.log") or run.stdout[-600:])
                    )
            rows = self._psql(
                host / "run/multitier", port, f"SELECT id FROM {TABLE}", emulator.DB_NAME
            )
            result.rto = time.monotonic() - started
            result.restored_mb = _size(host / RESTORED.lstrip("/")) / 2**20
        finally:
            self.run_on(primary, [str(host / "usr/local/sbin/multitier-pg"), "stop"], overrides)
        self._judge({int(row) for row in rows.split()}, moment, result)
        shutil.rmtree(directory, ignore_errors=True)

    def _host(self, primary: str, directory: Path, target: str) -> Path:
        """The restoring node's files: the primary's programs and secrets (owners kept), and its
        settings with a cluster name, a data directory and a restore of its own."""
        source, host = self.layout.host(primary), directory / "root"
        for part in ("usr", "etc"):
            shutil.copytree(source / part, host / part, symlinks=True)
        for path in [host, *host.rglob("*")]:
            original = source / path.relative_to(host)
            if original.exists() and not original.is_symlink():
                os.chown(path, original.stat().st_uid, original.stat().st_gid)
        with (host / "etc/multitier/pg.env").open("a") as env:
            for key, value in {
                "CLUSTER": RESTORED_CLUSTER,
                "SHARED_DIR": str(Path(RESTORED).parent),
                "PGDATA": RESTORED,
                "RESTORE_BUCKET": BUCKET,
                "RESTORE_CLUSTER": emulator.CLUSTER,
                "RESTORE_TARGET": target,
            }.items():
                env.write(f"{key}='{value}'\n")
        for where, owner in (
            (RESTORED, "postgres"),
            ("/var/log/multitier", "postgres"),
            ("/run", "root"),
        ):
            (host / where.lstrip("/")).mkdir(parents=True, exist_ok=True)
            shutil.chown(host / where.lstrip("/"), owner, owner)
        directory.chmod(0o755)  # postgres walks to its data directory
        host.chmod(0o755)
        return host

    def _judge(self, stored: set[int], moment: float, result: Result) -> None:
        acked = list(zip(self.writer.acked, self.writer.sent_at, self.writer.acked_at, strict=True))
        by_moment = [n for n, _, at in acked if at <= moment]
        after = [n for n, sent, _ in acked if sent > moment]
        result.rows_checked = len(by_moment) + len(after)
        result.missing = sorted(set(by_moment) - stored)
        result.extra = sorted(set(after) & stored)
        result.in_doubt = sum(sent <= moment < at for _, sent, at in acked)

    def _program(self, node: str) -> str:
        return str(self.layout.host(node) / "usr/local/sbin/multitier-pg-archive")

    def _postgres(self, *command: str) -> str:
        run = subprocess.run(
            ["runuser", "-u", "postgres", "--", *command],
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        if run.returncode != 0:
            output = (run.stdout + run.stderr)[-800:]
            raise RuntimeError(f"{Path(command[0]).name} failed: {output}")
        return run.stdout.strip()

    def _psql(self, sockets: Path, port: int, sql: str, database: str) -> str:
        """As the node's admin session: the OS user postgres, the cluster's superuser."""
        return self._postgres(
            str(self.bin / "psql"),
            "--no-psqlrc",
            "--tuples-only",
            "--no-align",
            f"--host={sockets}",
            f"--port={port}",
            f"--username={emulator.MASTER_USER}",
            f"--dbname={database}",
            f"--command={sql}",
        )

    def _sql(self, node: str, sql: str) -> str:
        """On a node's own server, through its socket, as the node's admin session is."""
        return self._psql(self.layout.host(node) / "run/multitier", self.port, sql, "postgres")

    def _wait(self, check: Callable[[], bool]) -> float | None:
        """When `check` first held, within WAIT_SECONDS; None if it never did."""
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            if check():
                return time.time()
            time.sleep(0.1)
        return None

    def _delete(self, segment: str) -> str:
        """Delete the archived WAL segment `segment` (pgBackRest names it segment-checksum)."""
        s3 = client()
        prefix = f"{emulator.CLUSTER}/archive/"
        listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)  # type: ignore[attr-defined]
        keys = [o["Key"] for o in listed.get("Contents", []) if f"/{segment}-" in o["Key"]]
        if not keys:
            raise RuntimeError(f"segment {segment} is not in the archive: nothing to break")
        s3.delete_object(Bucket=BUCKET, Key=keys[0])  # type: ignore[attr-defined]
        return segment


def _fatal(log: Path) -> str | None:
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    return next((line.split("FATAL:", 1)[1].strip() for line in lines if "FATAL:" in line), None)


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


class Played(Protocol):
    """What the restore needs of the drill (drill/run.py's `Drill`)."""

    layout: Layout
    writer: Writer
    cluster: Cluster

    def primary(self) -> str | None: ...


def play(drill: Played, say: Callable[[str], None], *, break_archive: bool) -> Result:
    """While the app writes: a base backup, a moment, and the archive restored to it."""
    primary = drill.primary()
    if primary is None:
        return Result(error="no single primary to back up")
    steps = Pitr(drill.layout, drill.writer, drill.cluster.run, port=drill.cluster.port, say=say)
    return steps.run(primary, break_archive=break_archive)


def _published_age() -> float | None:
    """The archive's age the primary published to CloudWatch (the emulator's), if it did."""
    points = boto3.client("cloudwatch").get_metric_statistics(
        Namespace=contract.METRIC_NAMESPACE,
        MetricName=ARCHIVE_AGE_METRIC,
        Dimensions=[{"Name": "cluster", "Value": emulator.CLUSTER}],
        StartTime=datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=10),
        EndTime=datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=1),
        Period=60,
        Statistics=["Maximum"],
    )["Datapoints"]
    return max((float(p["Maximum"]) for p in points), default=None)
