"""The hosts' boot scripts survive a slow start: each runs with bash in a host laid out in a
temporary directory (`MULTITIER_ROOT`) from the user data the program renders, against stub
commands (dnf, docker, aws, mount, iptables, ...) that fail their first calls. A step that needs
the network or AWS recovers; a step the host cannot serve without, failing for good, fails the
boot with a line naming it; the CloudWatch agent failing for good does not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from components.access.bastion import BOOT_SCRIPT
from components.shared import cloud_init
from tests.conftest import plan
from tests.host_stubs import (
    APP_BOOT,
    APP_PULL,
    ECR_IMAGE,
    INSTANCE_ID,
    Host,
    assert_boot_failed,
    assert_booted,
    directive,
    env_value,
    lay_out,
    minutes,
    nat_document,
    retry_pauses,
    template_document,
)

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


# A PostgreSQL node (vip mode)


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
