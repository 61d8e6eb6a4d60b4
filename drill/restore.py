"""The drill's point-in-time restore: the cluster archives to S3 while the app writes, and a base
backup plus the archived WAL bring back exactly what was acknowledged up to a chosen moment.

- The archive: a second moto server, in HTTPS mode (pgBackRest's S3 client speaks TLS only) with
  a certificate for `localhost` (pgBackRest 2.45 matches the host against the certificate's DNS
  names, not its IP addresses) and path-style addressing. Werkzeug closes each connection without
  TLS's close_notify, which OpenSSL 3 reports to pgBackRest as an unexpected EOF: the server here
  sends it (`serve`). The nodes reach it through pgBackRest's own variables
  (`PGBACKREST_REPO1_*`), which override the config the node wrote; nothing else is a seam.
- The nodes archive with their real code: `archive_command` runs `multitier-pg-archive wal-push`,
  the base backup is `multitier-pg-archive backup` on the primary, both with the config its boot
  wrote (functions/hosts/pg_archive.sh), every `vip.archive.timeoutSeconds` (10 s here).
- The check: the moment T is taken while the app writes; the recovery point (RPO) is how long
  after T the WAL holding T reached the archive (a cluster lost from then on loses nothing
  acknowledged before T). The restore, into a fresh data directory, is pgBackRest's
  `--type=time --target=T` with the node's config, then PostgreSQL's recovery to T and its
  promotion: the restore time (RTO) runs from the restore's start until the restored server
  answers. Every write acknowledged by T must be there, none sent after T may be; a write sent
  before T and acknowledged after may be either.
- A missing WAL segment (`--break-archive` deletes the one holding T) must fail the restore:
  PostgreSQL stops with "recovery ended before configured recovery target was reached".
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import shutil
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import boto3  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from components.config.database import ArchiveConfig, VipConfig
from components.database import archive
from drill import emulator
from drill.client import TABLE, Writer
from drill.hosts import Layout
from drill.machine import server_programs

BUCKET = "multitier-drill-db-archive"
ARCHIVE_TIMEOUT = 10
"""`vip.archive.timeoutSeconds` in the drill: the bound its recovery point should keep."""
HOST = "localhost"
WAIT_SECONDS = 120


def settings() -> dict[str, str]:
    """The archive's settings in a node's pg.env, as the program writes them."""
    config = VipConfig(
        archive=ArchiveConfig(timeout_seconds=ARCHIVE_TIMEOUT, retention_full_backups=2)
    )
    return archive.node_settings(config, BUCKET)


def serve(argv: Sequence[str]) -> None:
    """moto's server, whose TLS connections end with close_notify."""
    from drill.hosts import die_with_parent  # noqa: PLC0415 (in the server's process only)

    die_with_parent()
    import moto.server  # noqa: PLC0415

    class Handler(moto.server.MotoRequestHandler):  # type: ignore[misc,name-defined]
        def finish(self) -> None:
            super().finish()
            with contextlib.suppress(OSError, ValueError):
                self.connection.settimeout(0.0)  # send it, do not wait for the client's
                self.connection.unwrap()

    moto.server.MotoRequestHandler = Handler  # type: ignore[attr-defined]
    moto.server.main(list(argv))


@dataclass(frozen=True)
class ArchiveServer:
    port: int
    ca_file: Path

    def s3(self) -> object:
        return boto3.client(
            "s3",
            endpoint_url=f"https://{HOST}:{self.port}",
            region_name=emulator.REGION,
            verify=str(self.ca_file),
        )


@contextlib.contextmanager
def archive_server(root: Path) -> Iterator[ArchiveServer]:
    """The archive's S3, with the bucket; pgBackRest on the nodes pointed at it."""
    if shutil.which("pgbackrest") is None:
        raise FileNotFoundError(
            "pgBackRest was not found: the drill's nodes archive with it; install the Debian "
            "package `pgbackrest` (apt-get install pgbackrest), which .ci/run does"
        )
    directory = root / "archive-tls"
    directory.mkdir()
    directory.chmod(0o755)
    ca, certificate, key = _certificates()
    for name, text in (("ca.pem", ca), ("server.pem", certificate), ("server.key", key)):
        (directory / name).write_text(text)
        (directory / name).chmod(0o644 if name != "server.key" else 0o600)
    port = emulator.free_port()
    with (root / "archive-s3.log").open("ab") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys; from drill.restore import serve; serve(sys.argv[1:])",
                *("-H", "127.0.0.1", "-p", str(port)),
                *("-c", str(directory / "server.pem"), "-k", str(directory / "server.key")),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    found = ArchiveServer(port, directory / "ca.pem")
    try:
        _wait_until_up(found, server)
        found.s3().create_bucket(  # type: ignore[attr-defined]
            Bucket=BUCKET,
            CreateBucketConfiguration={"LocationConstraint": emulator.REGION},
        )
        os.environ.update(
            PGBACKREST_REPO1_S3_ENDPOINT=HOST,
            PGBACKREST_REPO1_STORAGE_PORT=str(port),
            PGBACKREST_REPO1_STORAGE_CA_FILE=str(found.ca_file),
            PGBACKREST_REPO1_S3_URI_STYLE="path",
            PGBACKREST_REPO1_S3_KEY_TYPE="shared",
            PGBACKREST_REPO1_S3_KEY="drill",
            PGBACKREST_REPO1_S3_KEY_SECRET="drill",  # the emulator's, not a secret
        )
        yield found
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_until_up(found: ArchiveServer, server: subprocess.Popen[bytes]) -> None:
    context = ssl.create_default_context(cafile=str(found.ca_file))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the archive's S3 server exited at start: see archive-s3.log")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(
                f"https://{HOST}:{found.port}/moto-api/data.json", context=context, timeout=1
            ),
        ):
            return
        time.sleep(0.1)
    raise RuntimeError("the archive's S3 server did not answer within 30 s")


def _certificates() -> tuple[str, str, str]:
    """A CA, and a certificate for `localhost` (DNS name and loopback address) signed by it."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "drill archive CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(issuer)
        .issuer_name(issuer)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    names = [x509.DNSName(HOST), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    return (
        ca.public_bytes(pem).decode(),
        certificate.public_bytes(pem).decode(),
        key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
    )


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
            f"  base backup (s)                      {seconds(self.backup_seconds)}",
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
        if self.error is None and self.rows_checked == 0:
            found.append("point-in-time restore: no acknowledged write was checked")
        return found


class Pitr:
    """The restore's steps, on the primary the cluster has after its first boot."""

    def __init__(
        self,
        layout: Layout,
        server: ArchiveServer,
        writer: Writer,
        run_on: Callable[[str, list[str]], subprocess.CompletedProcess[str]],
        *,
        port: int,
        say: Callable[[str], None],
    ) -> None:
        self.layout, self.server, self.writer, self.run_on = layout, server, writer, run_on
        self.port, self.say = port, say
        self.bin = server_programs()

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
        started = time.monotonic()
        backup = self.run_on(primary, [self._program(primary), "backup"])
        if backup.returncode != 0:
            raise RuntimeError(f"the base backup failed: {backup.stdout[-600:]}")
        result.backup_seconds = time.monotonic() - started
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
        target = datetime.datetime.fromtimestamp(moment, datetime.UTC).isoformat(sep=" ")
        directory = self.layout.root / "pitr"
        data, sockets = directory / "data", directory / "run"
        for path in (data, sockets):
            path.mkdir(parents=True, mode=0o700)
            shutil.chown(path, "postgres", "postgres")
        directory.chmod(0o755)
        config = self.layout.host(primary) / "etc/pgbackrest/pgbackrest.conf"
        started = time.monotonic()
        self._postgres(
            "pgbackrest",
            f"--config={config}",
            f"--stanza={emulator.CLUSTER}",
            f"--pg1-path={data}",
            "restore",
            "--type=time",
            f"--target={target}",
            "--target-action=promote",
        )
        port = emulator.free_port()
        log = sockets / "postgresql.log"  # postgres's to write
        options = (
            f"-c port={port} -c listen_addresses='' -c unix_socket_directories='{sockets}' "
            "-c archive_mode=off"
        )
        try:
            started_server = subprocess.run(
                ["runuser", "-u", "postgres", "--", str(self.bin / "pg_ctl"), "--pgdata",
                 str(data), "--log", str(log), "--wait", "--timeout=300", "start", "-o", options],
                capture_output=True, text=True, check=False, timeout=320,
            )  # fmt: skip
            promoted = started_server.returncode == 0 and self._wait(
                lambda: self._restored_sql(sockets, port, "SELECT pg_is_in_recovery()") == "f",
                alive=lambda: self._running(data),
            )
            if not promoted:
                raise RuntimeError(
                    "PostgreSQL stopped before it reached the moment: "
                    + (_fatal(log) or f"no FATAL line in its log; {started_server.stderr}")
                )
            rows = self._restored_sql(sockets, port, f"SELECT id FROM {TABLE}", database=True)
            result.rto = time.monotonic() - started
            result.restored_mb = _size(data) / 2**20
        finally:
            subprocess.run(
                ["runuser", "-u", "postgres", "--", str(self.bin / "pg_ctl"), "--pgdata",
                 str(data), "--mode=immediate", "stop"],
                capture_output=True, check=False, timeout=60,
            )  # fmt: skip
        self._judge({int(row) for row in rows.split()}, moment, result)
        shutil.rmtree(directory, ignore_errors=True)

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

    def _restored_sql(self, sockets: Path, port: int, sql: str, database: bool = False) -> str:
        try:
            return self._psql(sockets, port, sql, emulator.DB_NAME if database else "postgres")
        except RuntimeError:
            if database:
                raise
            return ""

    def _running(self, data: Path) -> bool:
        status = subprocess.run(
            ["runuser", "-u", "postgres", "--", str(self.bin / "pg_ctl"), "--pgdata", str(data),
             "status"],
            capture_output=True, check=False, timeout=30,
        )  # fmt: skip
        return status.returncode == 0

    def _wait(
        self, check: Callable[[], bool], alive: Callable[[], bool] | None = None
    ) -> float | None:
        """When `check` first held (within WAIT_SECONDS), None if never or `alive` stopped."""
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            if check():
                return time.time()
            if alive is not None and not alive():
                return None
            time.sleep(0.1)
        return None

    def _delete(self, segment: str) -> str:
        """Delete the archived WAL segment `segment` (pgBackRest names it segment-checksum)."""
        s3 = self.server.s3()
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
