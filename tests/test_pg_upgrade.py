"""A major upgrade of the vip cluster's data directory, for real: `multitier-pg upgrade` runs
pg_upgrade from PostgreSQL 13 (Debian bullseye's, unpacked by `tools/old_postgres.sh`, as the
hosts' Python 3.9 is) to this machine's 15, on a node's file layout, and 15 then serves the data
13 wrote. What stays unverified: Amazon Linux's packages of two majors side by side on a node,
and the majors AWS runs (15 to 16 or 17)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from drill.emulator import free_port
from drill.machine import server_programs
from tools.mockrun import ROOT

pytestmark = pytest.mark.slow  # real PostgreSQL, twice, and pg_upgrade

OLD = ROOT / ".cache" / "postgres-13"
OLD_BIN = OLD / "usr" / "lib" / "postgresql" / "13" / "bin"
OLD_LIBS = OLD / "usr" / "lib" / "x86_64-linux-gnu"
HOSTS = ROOT / "functions" / "hosts"
USER = "app_admin"


class Node:
    """A node's files: the service script's library and settings under a root of its own, the
    data directory on its 'shared volume'."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "var/lib/multitier-pg/data"
        self.conf = root / "etc/multitier/pg"
        self.run_dir = root / "run/multitier"
        (root / "usr/local/lib/multitier").mkdir(parents=True)
        shutil.copy(HOSTS / "lib.sh", root / "usr/local/lib/multitier/lib.sh")
        self.conf.mkdir(parents=True)
        (root / "etc/multitier/pg.env").write_text(
            "VIP=10.10.10.10\nAPP_CIDRS=127.0.0.0/8\nPGDATA=/var/lib/multitier-pg/data\n"
        )
        (self.conf / "cluster.env").write_text(f"DB_USER={USER}\nDB_NAME=app\n")
        (self.conf / "pwfile").write_text("master-" + os.urandom(8).hex())
        self.data.parent.mkdir(parents=True)
        entry = pwd.getpwnam("postgres")
        for path in (self.data.parent, self.conf, self.conf / "pwfile"):
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def env(self, bin_: Path) -> dict[str, str]:
        return {
            **os.environ,
            "MULTITIER_ROOT": str(self.root),
            "PG_BIN": str(bin_),
            "LD_LIBRARY_PATH": str(OLD_LIBS),  # the old major's libraries; 15 has other sonames
        }

    def as_postgres(self, *args: str, bin_: Path = OLD_BIN) -> str:
        return subprocess.run(
            ["runuser", "-u", "postgres", "--", *args],
            env=self.env(bin_),
            cwd="/tmp",
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    def service(self, *args: str, bin_: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(HOSTS / "pg_service.sh"), *args],
            env=self.env(bin_),
            capture_output=True,
            text=True,
            check=False,
        )

    def start(self, bin_: Path, port: int) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        shutil.chown(self.run_dir, "postgres", "postgres")
        self.as_postgres(
            str(bin_ / "pg_ctl"), f"--pgdata={self.data}", f"--log={self.run_dir / 'pg.log'}",
            "--wait", "start",
            "-o", f"-c listen_addresses='' -c port={port} "
            f"-c unix_socket_directories={self.run_dir}",
            bin_=bin_,
        )  # fmt: skip

    def stop(self, bin_: Path) -> None:
        self.as_postgres(
            str(bin_ / "pg_ctl"), f"--pgdata={self.data}", "--mode=fast", "--wait", "stop",
            bin_=bin_,
        )  # fmt: skip

    def sql(self, sql: str, bin_: Path, port: int, database: str = "app") -> str:
        """Through this machine's psql (bullseye's server package has none), to either server."""
        return self.as_postgres(
            str(server_programs() / "psql"), "-At", "-h", str(self.run_dir), "-p", str(port),
            "-U", USER, "-d", database, "-c", sql,
            bin_=bin_,
        ).strip()  # fmt: skip


@pytest.fixture
def node() -> Iterator[Node]:
    assert (OLD_BIN / "postgres").exists(), (
        f"no PostgreSQL 13 at {OLD}: run `tools/old_postgres.sh .cache/postgres-13` "
        "(make test does)"
    )
    try:
        server_programs()
        pwd.getpwnam("postgres")
    except (FileNotFoundError, KeyError):
        pytest.skip("PostgreSQL's server programs (Debian's postgresql) are not installed")
    # Not under pytest's tmp_path, whose root is the current user's alone: postgres walks down.
    directory = Path(tempfile.mkdtemp(prefix="multitier-pg-upgrade-"))
    directory.chmod(0o755)
    try:
        yield Node(directory / "node")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def test_the_upgrade_carries_a_13_cluster_to_15_and_keeps_the_old_directory(node: Node):
    new_bin = server_programs()
    # A cluster as a vip node makes it (multitier-pg start: initdb with checksums, peer admin).
    node.as_postgres(
        str(OLD_BIN / "initdb"), f"--pgdata={node.data}", f"--username={USER}",
        f"--pwfile={node.conf / 'pwfile'}", "--auth-local=peer", "--auth-host=scram-sha-256",
        "--data-checksums",
    )  # fmt: skip
    (node.data / "pg_hba.conf").write_text("local all all peer map=node\n")
    (node.data / "pg_ident.conf").write_text(f"node postgres {USER}\n")
    port = free_port()
    node.start(OLD_BIN, port)
    node.sql("CREATE DATABASE app", OLD_BIN, port, database="postgres")
    node.sql(
        "CREATE ROLE app_owner NOLOGIN; CREATE TABLE orders (id int PRIMARY KEY, item text);"
        "INSERT INTO orders SELECT n, 'item ' || n FROM generate_series(1, 1000) n;"
        "ALTER TABLE orders OWNER TO app_owner",
        OLD_BIN,
        port,
    )
    node.stop(OLD_BIN)

    upgraded = node.service("upgrade", str(OLD_BIN), bin_=new_bin)

    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
    assert "upgraded from PostgreSQL 13 to 15" in upgraded.stdout
    assert (node.data / "PG_VERSION").read_text().strip() == "15"
    assert (node.data.with_name("data.13") / "PG_VERSION").read_text().strip() == "13"
    node.start(new_bin, port)
    try:
        assert node.sql("SELECT count(*), max(item) FROM orders", new_bin, port) == "1000|item 999"
        assert node.sql(
            "SELECT tableowner FROM pg_tables WHERE tablename = 'orders'", new_bin, port
        ) == ("app_owner")
        assert node.sql("SHOW data_checksums", new_bin, port) == "on"
        assert node.sql("SHOW server_version_num", new_bin, port).startswith("15")
    finally:
        node.stop(new_bin)


def test_the_upgrade_refuses_a_directory_of_its_own_major(node: Node):
    new_bin = server_programs()
    node.as_postgres(
        str(new_bin / "initdb"), f"--pgdata={node.data}", f"--username={USER}", bin_=new_bin
    )
    refused = node.service("upgrade", str(OLD_BIN), bin_=new_bin)
    assert refused.returncode == 1
    assert "is PostgreSQL 15 already" in refused.stderr
