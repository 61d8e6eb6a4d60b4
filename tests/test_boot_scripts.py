"""The hosts' boot scripts survive a slow start: each runs with bash in a host laid out in a
temporary directory (`MULTITIER_ROOT`) from the user data the program renders, against stub
commands (dnf, docker, aws, mount, iptables, ...) that fail their first calls. A step that needs
the network or AWS recovers; a step the host cannot serve without, failing for good, fails the
boot with a line naming it; the CloudWatch agent failing for good does not."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest

from components.access.bastion import BOOT_SCRIPT
from components.shared import cloud_init
from tests.conftest import plan
from tools import mockrun
from tools.mockrun import Run

LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
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
    raw = cloud_init.sent(run.one("aws:ec2/instance:Instance")["userData"], base64_encoded=False)
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


# App hosts


@pytest.fixture
def app(tmp_path: Path) -> Host:
    """An app host of prod: backups on EFS, the CloudWatch agent config stored in SSM."""
    host = lay_out(tmp_path, template_document(plan("prod"), "app"))
    host.fail("docker image inspect *", "always")  # a new host has no image
    return host


def test_app_boot_recovers_when_each_network_step_fails_at_first(app: Host):
    app.fail("dnf install -y amazon-cloudwatch-agent", 1)
    app.fail("amazon-cloudwatch-agent-ctl -a fetch-config *", 2)
    app.fail("dnf install -y docker", 3)
    app.fail("dnf install -y amazon-efs-utils", 2)
    app.fail("mount *", 4)

    assert_booted(app.run(APP_BOOT))

    assert len(app.calls("dnf install -y amazon-cloudwatch-agent")) == 2
    assert len(app.calls("amazon-cloudwatch-agent-ctl -a fetch-config *")) == 3
    assert len(app.calls("dnf install -y docker")) == 4
    assert len(app.calls("dnf install -y amazon-efs-utils")) == 3
    backups = env_value(app, "/etc/multitier/boot.env", "BACKUP_DIR")
    assert app.calls("mount *") == [f"mount {backups}"] * 5
    assert app.calls("systemctl *")[-1] == "systemctl start multitier-app.service"


def test_app_boot_mounts_the_backups_file_system_from_fstab_once(app: Host):
    assert_booted(app.run(APP_BOOT))
    assert_booted(app.run(APP_BOOT))
    file_system = env_value(app, "/etc/multitier/boot.env", "EFS_ID")
    fstab = (app.root / "etc/fstab").read_text().splitlines()
    assert [line.split()[:3] for line in fstab] == [
        [f"{file_system}:/", env_value(app, "/etc/multitier/boot.env", "BACKUP_DIR"), "efs"]
    ]


@pytest.mark.parametrize(
    ("pattern", "step"),
    [
        ("dnf install -y docker", "install Docker"),
        ("dnf install -y amazon-efs-utils", "install the EFS mount helper"),
        ("mount *", "mount the backups file system"),
    ],
)
def test_app_boot_stops_naming_a_step_that_fails_for_good(app: Host, pattern: str, step: str):
    app.fail(pattern, "always")
    result = app.run(APP_BOOT, RETRY_ATTEMPTS="3")
    assert_boot_failed(result, step)
    assert len(app.calls(pattern)) == 3
    assert app.calls("systemctl start multitier-app.service") == []


@pytest.mark.parametrize(
    "pattern", ["dnf install -y amazon-cloudwatch-agent", "amazon-cloudwatch-agent-ctl *"]
)
def test_the_cloudwatch_agent_failing_for_good_does_not_stop_the_boot(app: Host, pattern: str):
    app.fail(pattern, "always")
    result = app.run(APP_BOOT)
    assert_booted(result)
    assert "multitier: skipped, the host serves without it" in result.stderr
    assert app.calls("systemctl start multitier-app.service")


def test_a_release_that_does_not_start_fails_the_boot_with_its_units_log(app: Host):
    app.fail("systemctl start multitier-app.service", "always")
    app.answer("journalctl *", "multitier: boot failed: pull the release image\n")
    result = app.run(APP_BOOT)
    assert_boot_failed(result, "start the release")
    assert "pull the release image" in result.stderr
    assert len(app.calls("systemctl start multitier-app.service")) == 1


def test_the_image_pull_recovers_from_a_slow_registry(app: Host):
    app.fail("docker pull *", 5)
    assert_booted(app.run(APP_PULL))
    image = env_value(app, "/etc/multitier/boot.env", "IMAGE")
    assert app.calls("docker pull *") == [f"docker pull {image}"] * 6


def test_the_image_pull_failing_for_good_fails_naming_the_image(app: Host):
    app.fail("docker pull *", "always")
    result = app.run(APP_PULL, RETRY_ATTEMPTS="2")
    image = env_value(app, "/etc/multitier/boot.env", "IMAGE")
    assert_boot_failed(result, f"pull the release image {image}")


def test_a_reboot_starts_the_image_pulled_at_first_boot_without_the_registry(tmp_path: Path):
    host = lay_out(tmp_path, template_document(plan("prod"), "app"))
    host.fail("docker pull *", "always")
    assert_booted(host.run(APP_PULL))
    assert host.calls("docker pull *") == []


def test_a_private_image_logs_in_to_ecr_at_each_attempt(tmp_path: Path):
    run = plan("prod", app={"release": {"image": ECR_IMAGE, "version": "2.1"}})
    host = lay_out(tmp_path, template_document(run, "app"))
    host.fail("docker image inspect *", "always")
    host.fail("aws ecr get-login-password *", 2, "token")
    host.fail("docker pull *", 1)
    assert_booted(host.run(APP_PULL))
    assert host.calls("aws *") == ["aws ecr get-login-password --region eu-west-1"] * 4
    registry = ECR_IMAGE.split("/", maxsplit=1)[0]
    assert (
        host.calls("docker login *")
        == [f"docker login --username AWS --password-stdin {registry}"] * 2
    )


def test_the_image_is_pulled_by_its_own_unit_before_the_app_starts():
    document = template_document(plan("dev"), "app")
    units = {f["path"].rsplit("/", 1)[-1]: f["content"] for f in document["write_files"]}
    app, pull = units["multitier-app.service"], units["multitier-app-pull.service"]
    assert "docker pull" not in app
    assert "--pull never" in directive(app, "ExecStart")
    for name in ("Requires", "After"):
        assert "multitier-app-pull.service" in directive(app, name).split()
    assert directive(pull, "Type") == "oneshot"
    assert directive(pull, "ExecStart") == APP_PULL
    assert minutes(directive(pull, "TimeoutStartSec")) * 60 > retry_pauses()


def test_the_release_waits_for_its_backups_mount_at_every_boot():
    """After a reboot systemd starts units in parallel: without the drop-in, the container could
    start before the EFS mount and write its backups to the root volume."""
    document = template_document(plan("prod"), "app")
    files = {f["path"]: f["content"] for f in document["write_files"]}
    drop_in = files["/etc/systemd/system/multitier-app.service.d/backups-mount.conf"]
    backups = env_value_of(files["/etc/multitier/boot.env"], "BACKUP_DIR")
    assert drop_in.splitlines()[0] == "[Unit]"
    assert directive(drop_in, "RequiresMountsFor") == backups
    assert (
        "--volume ${BACKUP_DIR}:${BACKUP_DIR}" in files["/etc/systemd/system/multitier-app.service"]
    )


def test_an_app_without_a_file_system_has_no_mount_to_wait_for():
    document = template_document(plan("dev"), "app")
    assert not [f for f in document["write_files"] if ".service.d/" in f["path"]]


def env_value_of(text: str, key: str) -> str:
    (value,) = [
        line.split("=", 1)[1].strip("'") for line in text.splitlines() if line.startswith(f"{key}=")
    ]
    return value


# The bastion


@pytest.fixture
def bastion(tmp_path: Path) -> Host:
    host = lay_out(tmp_path, template_document(plan("dev"), "bastion"))
    host.answer("curl * -X PUT */latest/api/token *", "token")
    host.answer("curl * */latest/meta-data/instance-id", INSTANCE_ID)
    return host


def test_the_bastion_claims_its_address_when_metadata_and_ec2_answer_late(bastion: Host):
    bastion.fail("curl * -X PUT */latest/api/token *", 2, "token")
    bastion.fail("aws ec2 associate-address *", 3)
    bastion.fail("dnf upgrade -y", 2)

    assert_booted(bastion.run(BOOT_SCRIPT))

    allocation = env_value(bastion, "/etc/multitier/bastion.env", "ALLOCATION_ID")
    claims = bastion.calls("aws ec2 associate-address *")
    assert len(claims) == 4
    assert f"--allocation-id {allocation} --instance-id {INSTANCE_ID}" in claims[-1]
    assert len(bastion.calls("dnf upgrade -y")) == 3
    assert bastion.calls("s*") == [
        "sshd -t",
        "systemctl restart sshd.service",
        "systemctl try-restart sshd.service",
    ]


@pytest.mark.parametrize(
    ("pattern", "step"),
    [
        ("curl * */latest/meta-data/instance-id", "read this instance's id"),
        ("aws ec2 associate-address *", "claim the bastion address"),
        ("dnf upgrade -y", "upgrade packages"),
    ],
)
def test_the_bastion_boot_stops_naming_a_step_that_fails_for_good(
    bastion: Host, pattern: str, step: str
):
    bastion.fail(pattern, "always")
    assert_boot_failed(bastion.run(BOOT_SCRIPT, RETRY_ATTEMPTS="2"), step)


def test_a_drop_in_sshd_refuses_stops_the_boot_before_sshd_restarts(bastion: Host):
    bastion.fail("sshd -t", "always")
    assert bastion.run(BOOT_SCRIPT).returncode != 0
    assert bastion.calls("systemctl restart sshd.service") == []


def test_the_bastion_script_runs_at_every_boot():
    document = template_document(plan("dev"), "bastion")
    assert BOOT_SCRIPT.startswith("/var/lib/cloud/scripts/per-boot/")
    assert BOOT_SCRIPT in {f["path"] for f in document["write_files"]}


# The NAT instance


@pytest.fixture
def nat(tmp_path: Path) -> Host:
    host = lay_out(tmp_path, nat_document(plan("dev")))
    host.answer("ip route show default", "default via 10.0.0.1 dev ens5 proto dhcp metric 512\n")
    return host


def forwarding(cidr: str) -> list[str]:
    return [
        "iptables -t nat -F POSTROUTING",
        f"iptables -t nat -A POSTROUTING -o ens5 -s {cidr} -j MASQUERADE",
        "iptables -F FORWARD",
        f"iptables -A FORWARD -s {cidr} -j ACCEPT",
        "iptables -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        "iptables -P FORWARD DROP",
    ]


def test_the_nat_first_boot_installs_iptables_and_forwards_despite_a_slow_start(nat: Host):
    nat.fail("rpm -q iptables-nft", "always")  # not on the image
    nat.fail("dnf install -y iptables-nft", 2)
    nat.fail("ip route show default", 3, "default via 10.0.0.1 dev ens5 proto dhcp metric 512\n")
    nat.fail("iptables -t nat -A POSTROUTING *", 1)  # another program holds the xtables lock

    assert_booted(nat.run(NAT))

    cidr = plan("dev").outputs["vpcCidr"]
    assert len(nat.calls("dnf install -y iptables-nft")) == 3
    assert len(nat.calls("ip route show default")) == 4
    assert nat.calls("sysctl *")[-1] == "sysctl -w net.ipv4.ip_forward=1"
    assert nat.calls("iptables *")[-6:] == forwarding(cidr)


def test_the_nat_applies_the_same_forwarding_at_every_boot_without_the_network(nat: Host):
    assert_booted(nat.run(NAT))
    first = nat.calls("sysctl *") + nat.calls("iptables *")
    (nat.stubs / "calls").unlink()
    assert_booted(nat.run(NAT))
    again = nat.calls("sysctl *") + nat.calls("iptables *")
    assert (
        again
        == first
        == ["sysctl -w net.ipv4.ip_forward=1", *forwarding(plan("dev").outputs["vpcCidr"])]
    )
    assert nat.calls("dnf *") == []


@pytest.mark.parametrize(
    ("pattern", "step"),
    [
        ("dnf install -y iptables-nft", "install iptables"),
        ("ip route show default", "find the default route"),
        ("iptables -A FORWARD -s *", "forward and masquerade"),
    ],
)
def test_the_nat_stops_naming_a_step_that_fails_for_good(nat: Host, pattern: str, step: str):
    nat.fail("rpm -q iptables-nft", "always")
    nat.fail(pattern, "always")
    assert_boot_failed(nat.run(NAT, RETRY_ATTEMPTS="2"), step)


def test_the_nat_forwarding_is_a_unit_started_at_every_boot():
    document = nat_document(plan("dev"))
    unit = {f["path"]: f["content"] for f in document["write_files"]}[
        "/etc/systemd/system/multitier-nat.service"
    ]
    assert directive(unit, "ExecStart") == NAT
    assert directive(unit, "WantedBy") == "multi-user.target"
    assert minutes(directive(unit, "TimeoutStartSec")) * 60 > retry_pauses()
    assert ["systemctl", "enable", "--now", "multitier-nat.service"] in document["runcmd"]
    assert not any(NAT in command for command in document["runcmd"]), "a one-shot runcmd"


def test_the_nat_does_not_share_a_fate_with_the_other_hosts_scripts(monkeypatch):
    """A change of the NAT's user data replaces it (and cuts the VPC's egress): a change of any
    script but its own must leave that user data as it is."""
    before = nat_document(plan("dev"))
    real = cloud_init.script

    def edited(name: str) -> str:
        text = real(name)
        return text if name in NAT_FILES else text + "\n# edited\n"

    monkeypatch.setattr(cloud_init, "script", edited)
    monkeypatch.setattr(cloud_init, "library", lambda: {"path": "x", "content": "edited"})
    assert nat_document(mockrun.run("dev")) == before
    assert cloud_init.LIBRARY not in {f["path"] for f in before["write_files"]}


NAT_FILES = {"nat_instance.sh", "multitier-nat.service"}


# A PostgreSQL node (vip mode)

PG_BOOT = "/usr/local/sbin/multitier-pg-boot"
PG_ENV = "/etc/multitier/pg.env"

# `install -o postgres` and `chown postgres` need root and a postgres user, which the image has:
# here they lay the files out as the test's own user.
INSTALL = """#!/bin/bash
args=()
while (($#)); do
  case $1 in -o | -g) shift 2 ;; *) args+=("$1"); shift ;; esac
done
exec /usr/bin/install "${args[@]}"
"""


@pytest.fixture
def node(tmp_path: Path) -> Host:
    run = plan("dev", database={"mode": "vip"})
    host = lay_out(tmp_path, template_document(run, "database-node"))
    (host.stubs / "install").write_text(INSTALL)
    (host.stubs / "chown").write_text("#!/bin/bash\n")
    for name in ("install", "chown"):
        (host.stubs / name).chmod(0o755)
    secret = env_value(host, PG_ENV, "SECRET_ARN")
    tls = env_value(host, PG_ENV, "TLS_SECRET_ARN")
    host.answer(f"aws secretsmanager * --secret-id {secret} *", '{"password": "generated"}')
    host.answer(
        f"aws secretsmanager * --secret-id {tls} *",
        '{"certificate": "CERTIFICATE", "private_key": "KEY"}',
    )
    return host


def test_the_node_boot_recovers_when_each_network_step_fails_at_first(node: Host):
    secret = env_value(node, PG_ENV, "SECRET_ARN")
    node.fail("dnf install -y postgresql*", 3)
    node.fail("mount *", 4)
    node.fail(f"aws secretsmanager * --secret-id {secret} *", 2, '{"password": "generated"}')

    assert_booted(node.run(PG_BOOT))

    major = env_value(node, PG_ENV, "PG_MAJOR")
    assert (
        node.calls("dnf *")
        == [f"dnf install -y postgresql{major}-server postgresql{major} amazon-efs-utils jq"] * 4
    )
    assert (
        node.calls("mount *") == [f"mount {node.root}{env_value(node, PG_ENV, 'SHARED_DIR')}"] * 5
    )
    assert len(node.calls(f"aws * --secret-id {secret} *")) == 3
    conf = node.root / "etc/multitier/pg"
    assert (conf / "pwfile").read_text() == "generated\n"
    assert (conf / "server.crt").read_text() == "CERTIFICATE\n"
    assert (conf / "server.key").read_text() == "KEY\n"
    assert stat.S_IMODE((conf / "server.key").stat().st_mode) == 0o600
    assert node.calls("systemctl *")[-1] == (
        "systemctl enable --now multitier-vip.service multitier-pg-agent.service"
    )


@pytest.mark.parametrize(
    ("pattern", "step"),
    [
        ("dnf install -y postgresql*", "install PostgreSQL"),
        ("mount *", "mount the shared data volume"),
        ("aws * --secret-id {SECRET_ARN} *", "read the master secret"),
        ("aws * --secret-id {TLS_SECRET_ARN} *", "read the TLS secret"),
        ("systemctl enable *", "start the VIP and the node agent"),
    ],
)
def test_the_node_boot_stops_naming_a_step_that_fails_for_good(node: Host, pattern: str, step: str):
    arns = {key: env_value(node, PG_ENV, key) for key in ("SECRET_ARN", "TLS_SECRET_ARN")}
    node.fail(pattern.format(**arns), "always")
    result = node.run(PG_BOOT, RETRY_ATTEMPTS="2")
    assert_boot_failed(result, step)
    if pattern != "systemctl enable *":
        assert node.calls("systemctl enable *") == [], "the agent started on a failed boot"


# Every host


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(lambda: template_document(plan("dev"), "app"), id="app"),
        pytest.param(lambda: template_document(plan("dev"), "bastion"), id="bastion"),
        pytest.param(lambda: nat_document(plan("dev")), id="nat"),
        pytest.param(
            lambda: template_document(plan("dev", database={"mode": "vip"}), "database-node"),
            id="database-node",
        ),
    ],
)
def test_the_library_and_every_program_a_unit_starts_are_written(document: Any):
    document = document()
    written = {f["path"] for f in document["write_files"]}
    sources_library = any(
        "/usr/local/lib/multitier/lib.sh" in f["content"] for f in document["write_files"]
    )
    assert (cloud_init.LIBRARY in written) == sources_library
    for entry in document["write_files"]:
        if entry["path"].endswith(".service"):
            for line in entry["content"].splitlines():
                if line.startswith("ExecStart="):
                    for word in line.removeprefix("ExecStart=").split():
                        if word.startswith("/usr/local/"):
                            assert word in written, line


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
