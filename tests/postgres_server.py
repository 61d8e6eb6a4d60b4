"""A real PostgreSQL for the tests that need one (a pytest plugin, registered in tests/conftest.py):
Debian's server programs, a cluster in a temporary directory owned by the `postgres` user,
TLS on with a certificate for 127.0.0.1 signed by a CA of its own, password logins over TCP.
Its superuser plays the database's master user."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from drill import emulator, tls
from drill.machine import server_programs

MASTER = "app_admin"


@dataclass(frozen=True)
class Server:
    port: int
    master_password: str
    ca: str
    """The CA the server's certificate is signed by (PEM)."""
    directory: Path

    def master(self) -> dict[str, object]:
        """The master secret's value, as the program writes it."""
        return {
            "engine": "postgres",
            "host": "127.0.0.1",
            "port": self.port,
            "dbname": "app",
            "username": MASTER,
            "password": self.master_password,
            "ca_certificate": self.ca,
        }

    def psql(self, sql: str, database: str = "postgres", *, script: bool = False) -> str:
        """As the OS user postgres over the socket (peer): the tests' look behind the scenes.
        `script`: `sql` is psql's input, as a vip node pipes it (stopping at the first error)."""
        command = ["-c", sql] if not script else ["-v", "ON_ERROR_STOP=1"]
        result = subprocess.run(
            ["runuser", "-u", "postgres", "--", str(server_programs() / "psql"), "-At",
             "-h", str(self.directory), "-p", str(self.port), "-U", MASTER, "-d", database,
             *command],
            input=sql if script else None, capture_output=True, text=True, check=True,
        )  # fmt: skip
        return result.stdout.strip()


def _postgres_missing() -> bool:
    try:
        server_programs()
        pwd.getpwnam("postgres")
    except (FileNotFoundError, KeyError):
        return True
    return False


@pytest.fixture(scope="session")
def postgres() -> Iterator[Server]:
    if _postgres_missing():
        pytest.skip("PostgreSQL's server programs (Debian's postgresql) are not installed")
    bin_ = server_programs()
    directory = Path(tempfile.mkdtemp(prefix="multitier-pg-"))
    data = directory / "data"
    certificates = tls.make("127.0.0.1", "tests")
    (directory / "server.crt").write_text(certificates.certificate)
    (directory / "server.key").write_text(certificates.private_key)
    (directory / "pwfile").write_text("master-" + os.urandom(8).hex())
    entry = pwd.getpwnam("postgres")
    for path in (directory, *directory.iterdir()):
        os.chown(path, entry.pw_uid, entry.pw_gid)
    (directory / "server.key").chmod(0o600)
    directory.chmod(0o755)
    port = emulator.free_port()

    def as_postgres(*args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True)

    as_postgres(
        str(bin_ / "initdb"), f"--pgdata={data}", f"--username={MASTER}",
        f"--pwfile={directory / 'pwfile'}", "--auth-local=peer", "--auth-host=scram-sha-256",
    )  # fmt: skip
    (data / "pg_hba.conf").write_text(
        "local all all peer map=node\nhostssl all all 127.0.0.1/32 scram-sha-256\n"
    )
    (data / "pg_ident.conf").write_text(f"node postgres {MASTER}\n")
    as_postgres(
        str(bin_ / "pg_ctl"), f"--pgdata={data}", f"--log={directory / 'log'}", "--wait", "start",
        "-o", f"-c listen_addresses=127.0.0.1 -c port={port} -c ssl=on "
        f"-c ssl_cert_file={directory / 'server.crt'} -c ssl_key_file={directory / 'server.key'} "
        f"-c unix_socket_directories={directory}",
    )  # fmt: skip
    server = Server(port, (directory / "pwfile").read_text(), certificates.ca, directory)
    server.psql("CREATE DATABASE app")
    try:
        yield server
    finally:
        as_postgres(str(bin_ / "pg_ctl"), f"--pgdata={data}", "--mode=immediate", "stop")
        shutil.rmtree(directory, ignore_errors=True)
