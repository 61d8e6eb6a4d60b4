"""One drill node's host, run as the node runs it: the files its user data writes, the boot script
its user data runs, and the agent its systemd unit starts, with seams only where AWS or the host
alone provide something.

- Files: the real `#cloud-config` the program renders for a node (components.database.vip), its
  `write_files` laid out under the node's root (`MULTITIER_ROOT`).
- Boot: `multitier-pg-boot` itself, under bash, with these stand-ins first on its PATH: `dnf`
  (packages are installed here already), `mount` (the data volume is the drill's shared
  directory, linked at its mount point), `systemctl` (records what the boot enables; the drill
  starts the agent as systemd would), and `aws` (the CLI Amazon Linux ships, answered from the
  emulated Secrets Manager).
- Agent: the unit's own `ExecStart`, its variables from the unit's `EnvironmentFile`, run by the
  hosts' interpreter (CPython 3.9, as Amazon Linux 2023's /usr/bin/python3), which is also the
  `python3` on the node's PATH (`multitier-pg start` runs the roles' program with it).
- PostgreSQL: Debian's server programs (PG_BIN; Debian keeps them off PATH), whose `pg_ctl` is
  wrapped to record each start with the nodes whose own server ran at that moment. Each node
  listens on its own loopback address (its `local-ipv4`), all on one port, and not on the VIP,
  which no interface here carries (PG_LISTEN_VIP=false).
- Network: the agent reaches DynamoDB through the node's gate (drill/gate.py), which the drill
  can cut, as it can cut the node's metadata service.
- Clock: a node may run with its clock skewed (libfaketime, Debian's `libfaketime`, preloaded into
  the agent and everything it starts), while the shared volume's files keep the machine's time,
  as an NFS server stamps them with its own.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from components.database import vip as vip_cluster
from drill.hosts import NODE_VARIABLE, Layout

REPO = Path(__file__).resolve().parent.parent
HOST_PYTHON = Path(os.environ.get("HOST_PYTHON", REPO / ".cache" / "host-python" / "python3"))
BOOT = "/usr/local/sbin/multitier-pg-boot"
AGENT_UNIT = "/etc/systemd/system/multitier-pg-agent.service"
SYSTEMCTL_LOG = "run/drill-systemctl.log"

SHIMS = Path(__file__).resolve().parent / "shims"


def server_programs() -> Path:
    """Debian's PostgreSQL server programs, the newest installed."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    if not found:
        raise FileNotFoundError(
            "PostgreSQL's server programs were not found under /usr/lib/postgresql: install the "
            "Debian package `postgresql` (apt-get install postgresql), which .ci/run does"
        )
    return found[-1].parent


def host_python() -> Path:
    if not HOST_PYTHON.exists():
        raise FileNotFoundError(
            f"no CPython 3.9 at {HOST_PYTHON}, the interpreter the nodes run their agent on: "
            "run `tools/host_python.sh .cache/host-python` (make test and make drill do)"
        )
    return HOST_PYTHON


def faketime() -> Path:
    """libfaketime, for nodes whose clock is skewed."""
    found = sorted(Path("/usr/lib").glob("*/faketime/libfaketime.so.1"))
    if not found:
        raise FileNotFoundError(
            "libfaketime was not found under /usr/lib: the drill skews a node's clock with it; "
            "install the Debian package `libfaketime` (apt-get install libfaketime), which "
            ".ci/run does"
        )
    return found[0]


def install_shims(layout: Layout) -> None:
    """The stand-ins for what only a node and AWS provide (drill/shims; the module's docstring),
    and Debian's server programs beside the watched pg_ctl."""
    real = server_programs()
    commands, postgres = layout.shims / "bin", layout.shims / "pg"
    commands.mkdir(parents=True, exist_ok=True)
    postgres.mkdir(parents=True, exist_ok=True)
    for name in ("dnf", "mount", "systemctl", "aws"):
        shutil.copy2(SHIMS / name, commands / name)
    layout.host_commands.mkdir(parents=True, exist_ok=True)
    (layout.host_commands / "python3").symlink_to(host_python())
    shutil.copy2(SHIMS / "pg_ctl", postgres / "pg_ctl")
    for program in ("initdb", "psql", "postgres", "pg_isready"):
        (postgres / program).unlink(missing_ok=True)
        (postgres / program).symlink_to(real / program)
    layout.events.touch()
    layout.events.chmod(0o666)  # pg_ctl runs as postgres
    for directory in (layout.root, layout.shims, commands, postgres, layout.host_commands):
        directory.chmod(0o755)


class Machine:
    """The host of one node."""

    def __init__(
        self,
        layout: Layout,
        node_id: str,
        address: str,
        port: int,
        settings: Mapping[str, str],
        *,
        skew: float = 0.0,
    ) -> None:
        self.layout, self.node_id, self.address, self.port = layout, node_id, address, port
        self.root = layout.host(node_id)
        self._settings = dict(settings)
        self.skew = skew
        """Seconds this node's clock is ahead of the machine's (behind when negative)."""

    def install(self) -> None:
        """Write the node's user data files, as cloud-init does, under the node's root."""
        document = vip_cluster.node_user_data(self._settings)
        for item in document["write_files"]:
            path = self.root / item["path"].lstrip("/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(item["content"])
            path.chmod(int(item["permissions"], 8))
        mount_point = self.root / self._settings["SHARED_DIR"].lstrip("/")
        mount_point.parent.mkdir(parents=True, exist_ok=True)
        mount_point.symlink_to(self.layout.shared)
        (self.root / "etc" / "fstab").touch()
        (self.root / "run").mkdir(exist_ok=True)
        self.layout.node(self.node_id).chmod(0o755)
        for directory, _, _ in os.walk(self.root):  # as on a host, postgres may walk the tree
            Path(directory).chmod(0o755)

    def environment(self, imds_endpoint: str) -> dict[str, str]:
        """What the node's processes see: the seams, on top of the drill's environment."""
        return {
            **os.environ,
            "PATH": f"{self.layout.host_commands}:{os.environ['PATH']}",
            "MULTITIER_ROOT": str(self.root),
            "IMDS_ENDPOINT": imds_endpoint,
            "PG_BIN": str(self.layout.shims / "pg"),
            "PG_PORT": str(self.port),
            "PG_LISTEN_VIP": "false",
            "DRILL_ROOT": str(self.layout.root),
            "DRILL_PG_CTL": str(server_programs() / "pg_ctl"),
            NODE_VARIABLE: self.node_id,
        }

    def boot(self, imds_endpoint: str) -> subprocess.CompletedProcess[str]:
        """Run the boot script as cloud-init's runcmd does (as root, under bash)."""
        environment = self.environment(imds_endpoint)
        # The shims first; then this interpreter's directory, whose python3 (with boto3) the aws
        # shim needs.
        path = [str(self.layout.shims / "bin"), str(Path(sys.executable).parent)]
        environment["PATH"] = ":".join([*path, environment["PATH"]])
        environment["RETRY_FIRST_DELAY"] = "1"
        with (self.layout.node(self.node_id) / "boot.log").open("w") as log:
            return subprocess.run(
                ["bash", str(self.root / BOOT.lstrip("/"))],
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
                check=False,
                timeout=300,
            )

    def enabled(self, unit: str) -> bool:
        """Whether the boot enabled and started `unit` (systemctl enable --now)."""
        log = self.root / SYSTEMCTL_LOG
        return log.exists() and any(
            line.startswith("enable --now") and unit in line.split()
            for line in log.read_text().splitlines()
        )

    def agent_command(self, extra: list[str] | None = None) -> list[str]:
        """The agent unit's ExecStart, its ${VARIABLES} from its EnvironmentFile, run by the
        hosts' interpreter, its program under the node's root."""
        unit = (self.root / AGENT_UNIT.lstrip("/")).read_text()
        (line,) = [x for x in unit.splitlines() if x.startswith("ExecStart=")]
        variables = _environment_file(self.root / "etc/multitier/pg.env")
        words = shlex.split(
            re.sub(r"\$\{(\w+)\}", lambda m: variables[m.group(1)], line.removeprefix("ExecStart="))
        )
        if words[0] != "/usr/bin/python3":
            raise ValueError(f"the agent's unit runs {words[0]}, not the system Python")
        return [
            str(host_python()),
            str(self.root / words[1].lstrip("/")),
            *words[2:],
            *(extra or []),
        ]

    def agent_environment(self, imds_endpoint: str, dynamodb_endpoint: str) -> dict[str, str]:
        """The unit's EnvironmentFile, on top of the node's environment; DynamoDB through the
        node's gate; the node's clock."""
        environment = {
            **self.environment(imds_endpoint),
            **_environment_file(self.root / "etc/multitier/pg.env"),
            "AWS_ENDPOINT_URL": dynamodb_endpoint,
        }
        if self.skew:
            environment.update(
                LD_PRELOAD=str(faketime()),
                FAKETIME=f"{self.skew:+.6f}",
                NO_FAKE_STAT="1",  # the file server's time stays its own
                FAKETIME_DONT_FAKE_MONOTONIC="1",
            )
        return environment


def _environment_file(path: Path) -> dict[str, str]:
    """KEY='value' lines, as systemd and the shell read the file cloud-init writes."""
    values: dict[str, Any] = {}
    for line in path.read_text().splitlines():
        key, _, quoted = line.partition("=")
        values[key] = shlex.split(quoted)[0] if quoted else ""
    return values
