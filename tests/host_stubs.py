"""A host laid out in a temporary directory from rendered user data, with stub commands for what
touches the machine, the network or AWS: each stub logs its call and fails its first calls, or
for good, as a rule says. The boot-script tests run the real scripts with bash against it."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from components.shared import cloud_init
from policy.types import INSTANCE, LAUNCH_TEMPLATE
from tools.mockrun import Run

APP_BOOT = "/usr/local/sbin/multitier-app-boot"

APP_PULL = "/usr/local/sbin/multitier-app-pull"

NAT = "/usr/local/sbin/multitier-nat"

AGENT_CTL = "/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl"

ECR_IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop:2.1"

INSTANCE_ID = "i-0123456789abcdef0"

# Commands the scripts run that touch the machine, the network or AWS: each is a stub.
STUBBED = (
    "aws",
    "curl",
    "dnf",
    "docker",
    "ip",
    "iptables",
    "journalctl",
    "mount",
    "rpm",
    "sshd",
    "sysctl",
    "systemctl",
)

# A stand-in for a host command: logs its call, then follows the first rule of $STUBS/rules that
# matches (tab-separated: a glob over "command args", how many calls fail ("always" or a count),
# and the output of a call that succeeds, printf %b escapes allowed). No rule: it succeeds
# silently.
STUB = r"""#!/bin/bash
call="${0##*/} $*"
printf '%s\n' "$call" >> "$STUBS/calls"
while IFS=$'\t' read -r pattern failures output; do
  [[ $call == $pattern ]] || continue
  counter="$STUBS/count.$(printf '%s' "$pattern" | md5sum | cut -c1-16)"
  count=$(( $(cat "$counter" 2>/dev/null || echo 0) + 1 ))
  echo "$count" > "$counter"
  if [[ $failures == always ]] || (( count <= failures )); then
    echo "stub: $call: failed (call $count)" >&2
    exit 1
  fi
  printf '%b' "$output"
  exit 0
done < "$STUBS/rules"
"""


@dataclass
class Host:
    """A host laid out under `root` from its `#cloud-config`, with stub commands."""

    root: Path
    stubs: Path

    def fail(self, pattern: str, times: int | str, output: str = "") -> None:
        """Calls matching `pattern` (a glob over "command args") fail `times` times ("always": for
        good), then succeed printing `output`. The latest rule for a call wins."""
        rules = self.stubs / "rules"
        rules.write_text(f"{pattern}\t{times}\t{output}\n" + rules.read_text())

    def answer(self, pattern: str, output: str) -> None:
        self.fail(pattern, 0, output)

    def run(self, path: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(self.root / path.lstrip("/"))],
            env={
                "PATH": f"{self.stubs}:/usr/bin:/bin",
                "HOME": str(self.root),
                "MULTITIER_ROOT": str(self.root),
                "STUBS": str(self.stubs),
                "RETRY_FIRST_DELAY": "0",
                **env,
            },
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def calls(self, pattern: str = "*") -> list[str]:
        log = self.stubs / "calls"
        lines = log.read_text().splitlines() if log.exists() else []
        return [line for line in lines if fnmatchcase(line, pattern)]


def lay_out(tmp_path: Path, document: dict[str, Any]) -> Host:
    """Write every file of `document` under a fresh root, as cloud-init would on the host."""
    root, stubs = tmp_path / "root", tmp_path / "stubs"
    stubs.mkdir()
    (stubs / "rules").touch()
    for entry in document["write_files"]:
        path = root / entry["path"].lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(entry["content"])
        path.chmod(int(entry.get("permissions", "0644"), 8))
    executables = [stubs / name for name in STUBBED] + [root / AGENT_CTL.lstrip("/")]
    for stub in executables:
        stub.parent.mkdir(parents=True, exist_ok=True)
        stub.write_text(STUB)
        stub.chmod(stub.stat().st_mode | stat.S_IXUSR)
    (root / "etc").mkdir(exist_ok=True)
    return Host(root, stubs)


def template_document(run: Run, name: str) -> dict[str, Any]:
    raw = cloud_init.sent(run.one(LAUNCH_TEMPLATE, name)["userData"], base64_encoded=True)
    return cloud_init.parse(cloud_init.decode(raw))


def nat_document(run: Run) -> dict[str, Any]:
    raw = cloud_init.sent(run.one(INSTANCE)["userData"], base64_encoded=False)
    return cloud_init.parse(cloud_init.decode(raw))


def env_value(host: Host, path: str, key: str) -> str:
    text = (host.root / path.lstrip("/")).read_text()
    match = re.search(rf"^{key}='(.*)'$", text, re.MULTILINE)
    assert match, f"{key} is not in {path}"
    return match.group(1)


def assert_boot_failed(result: subprocess.CompletedProcess[str], step: str) -> None:
    assert result.returncode != 0, f"the boot succeeded:\n{result.stderr}"
    assert f"multitier: boot failed: {step}" in result.stderr, result.stderr


def assert_booted(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, f"the boot failed ({result.returncode}):\n{result.stderr}"


def directive(unit: str, name: str) -> str:
    (value,) = [line.split("=", 1)[1] for line in unit.splitlines() if line.startswith(f"{name}=")]
    return value


def minutes(value: str) -> int:
    assert value.endswith("min"), value
    return int(value.removesuffix("min"))


def retry_pauses() -> int:
    """The seconds `retry` pauses in all with lib.sh's defaults, before it gives up."""
    script = 'source "$1"; t=0; d=$RETRY_FIRST_DELAY; for ((i = 1; i < RETRY_ATTEMPTS; i++)); do '
    script += (
        "t=$((t + d)); d=$((d * 2 > RETRY_MAX_DELAY ? RETRY_MAX_DELAY : d * 2)); done; echo $t"
    )
    result = subprocess.run(
        ["bash", "-c", script, "bash", str(cloud_init.SCRIPTS / "lib.sh")],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ["PATH"]},
    )
    return int(result.stdout)
