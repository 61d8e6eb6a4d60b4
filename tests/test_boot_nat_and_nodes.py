"""Boot scripts of the NAT instance and the database nodes, run with bash in a host laid out from
the rendered user data, against stub commands that fail their first calls or fail for good
(tests/host_stubs.py). The NAT's user data must not change when another host's scripts do."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from components.shared import cloud_init
from tests.conftest import plan
from tests.host_stubs import (
    NAT,
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
from tools import mockrun


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
    host.answer(f"aws secretsmanager * --secret-id {secret} *", MASTER)
    host.answer(
        f"aws secretsmanager * --secret-id {tls} *",
        '{"certificate": "CERTIFICATE", "private_key": "KEY"}',
    )
    for key, login in (("APP_SECRET_ARN", "app_user"), ("READONLY_SECRET_ARN", "app_reader")):
        arn = env_value(host, PG_ENV, key)
        host.answer(
            f"aws secretsmanager * --secret-id {arn} *",
            json.dumps({"username": login, "password": f"{login}-password"}),
        )
    return host


MASTER = '{"password": "generated", "username": "app_admin", "dbname": "shop"}'


def test_the_node_boot_recovers_when_each_network_step_fails_at_first(node: Host):
    secret = env_value(node, PG_ENV, "SECRET_ARN")
    node.fail("dnf install -y postgresql*", 3)
    node.fail("mount *", 4)
    node.fail(f"aws secretsmanager * --secret-id {secret} *", 2, MASTER)

    assert_booted(node.run(PG_BOOT))

    major = env_value(node, PG_ENV, "PG_MAJOR")
    assert node.calls("dnf *") == [
        "dnf install -y amazon-efs-utils jq",
        *[f"dnf install -y postgresql{major}-server postgresql{major} pgbackrest"] * 4,
    ]
    assert (
        node.calls("mount *") == [f"mount {node.root}{env_value(node, PG_ENV, 'SHARED_DIR')}"] * 5
    )
    assert len(node.calls(f"aws * --secret-id {secret} *")) == 3
    conf = node.root / "etc/multitier/pg"
    assert (conf / "pwfile").read_text() == "generated\n"
    assert (conf / "server.crt").read_text() == "CERTIFICATE\n"
    assert (conf / "server.key").read_text() == "KEY\n"
    assert stat.S_IMODE((conf / "server.key").stat().st_mode) == 0o600
    # The names come from the master secret, never from the stack's config.
    assert (conf / "cluster.env").read_text() == "DB_USER=app_admin\nDB_NAME=shop\n"
    assert json.loads((conf / "logins.json").read_text()) == {
        "database": "shop",
        "owner": "app_owner",
        "master": "app_admin",
        "app": ["app_user", "app_user-password"],
        "readonly": ["app_reader", "app_reader-password"],
    }
    assert stat.S_IMODE((conf / "logins.json").stat().st_mode) == 0o600
    assert "DB_NAME" not in (node.root / PG_ENV.lstrip("/")).read_text()
    assert node.calls("systemctl *")[-1] == (
        "systemctl enable --now multitier-vip.service multitier-pg-agent.service "
        "multitier-pg-archive.timer"
    )


def test_a_node_installs_the_major_its_data_directory_was_made_by(node: Host):
    """engineVersion makes a new cluster; a node joining an existing one installs the major that
    made its data directory, and says the config names another."""
    data = node.root / env_value(node, PG_ENV, "PGDATA").lstrip("/")
    data.mkdir(parents=True)
    (data / "PG_VERSION").write_text("15\n")
    result = node.run(PG_BOOT)
    assert_booted(result)
    assert node.calls("dnf install -y postgresql*") == [
        "dnf install -y postgresql15-server postgresql15 pgbackrest"
    ]
    major = env_value(node, PG_ENV, "PG_MAJOR")
    assert f"made by PostgreSQL 15; engineVersion names {major}" in result.stderr


@pytest.mark.parametrize(
    ("pattern", "step"),
    [
        ("dnf install -y postgresql*", "install PostgreSQL"),
        ("dnf install -y amazon-efs-utils *", "install the EFS mount helper"),
        ("mount *", "mount the shared data volume"),
        ("aws * --secret-id {SECRET_ARN} *", "read the master secret"),
        ("aws * --secret-id {TLS_SECRET_ARN} *", "read the TLS secret"),
        ("aws * --secret-id {APP_SECRET_ARN} *", "read the app secret"),
        ("aws * --secret-id {READONLY_SECRET_ARN} *", "read the read-only secret"),
        ("systemctl enable *", "start the VIP, the node agent and the archive"),
    ],
)
def test_the_node_boot_stops_naming_a_step_that_fails_for_good(node: Host, pattern: str, step: str):
    keys = ("SECRET_ARN", "TLS_SECRET_ARN", "APP_SECRET_ARN", "READONLY_SECRET_ARN")
    arns = {key: env_value(node, PG_ENV, key) for key in keys}
    node.fail(pattern.format(**arns), "always")
    result = node.run(PG_BOOT, RETRY_ATTEMPTS="2")
    assert_boot_failed(result, step)
    if pattern != "systemctl enable *":
        assert node.calls("systemctl enable *") == [], "the agent started on a failed boot"
