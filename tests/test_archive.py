"""The vip cluster's WAL archive as the program declares it (components/database/archive.py):
what the nodes may do in the bucket, what they are told, and the config that drives both."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from components.config.archive import ArchiveConfig, VipRestoreConfig
from components.config.database import VipConfig
from components.database import archive
from policy.types import LAUNCH_TEMPLATE
from tests.test_user_data import MARGIN
from tools import mockrun, plan

REGION, CLUSTER, BUCKET, KEY = "eu-west-1", "multitier-dev-db", "dev-archive", "arn:aws:kms:k"
SOURCE = VipRestoreConfig(bucket="prod-archive", cluster="multitier-prod-db", target="latest")


def grants(restore: VipRestoreConfig | None) -> dict[str, set[str]]:
    """Per resource, the actions the node policy allows on it."""
    found: dict[str, set[str]] = {}
    for statement in archive.node_policy(REGION, CLUSTER, BUCKET, KEY, restore)["Statement"]:
        actions = statement["Action"]
        found.setdefault(statement["Resource"], set()).update(
            [actions] if isinstance(actions, str) else actions
        )
    return found


def test_the_nodes_write_only_their_own_cluster_prefix():
    allowed = grants(None)
    assert "s3:PutObject" in allowed[f"arn:aws:s3:::{BUCKET}/{CLUSTER}/*"]
    assert not any(r.endswith(f"{BUCKET}/*") for r in allowed)


def test_a_restored_cluster_only_reads_its_source_prefix():
    allowed = grants(SOURCE)
    assert allowed["arn:aws:s3:::prod-archive/multitier-prod-db/*"] == {"s3:GetObject"}
    assert allowed["arn:aws:s3:::prod-archive"] == {"s3:ListBucket"}


def test_an_in_place_restore_reads_and_writes_its_own_prefix_only():
    same = VipRestoreConfig(bucket=BUCKET, cluster=CLUSTER)
    assert grants(same) == grants(None)


def test_the_nodes_are_told_the_archive_and_the_restore():
    settings = archive.node_settings(VipConfig(restore=SOURCE), BUCKET)
    assert settings["ARCHIVE_BUCKET"] == BUCKET
    assert settings["ARCHIVE_TIMEOUT"] == "60"
    assert (settings["RESTORE_CLUSTER"], settings["RESTORE_TARGET"]) == (
        "multitier-prod-db",
        "latest",
    )
    assert "RESTORE_CLUSTER" not in archive.node_settings(VipConfig(), BUCKET)


def test_the_lifecycle_never_expires_current_objects():
    rule = archive.lifecycle_rule(ArchiveConfig(noncurrent_days=9))
    assert rule.expiration is None


@pytest.mark.parametrize(
    "target", ["2026-12-07T10:15:00Z", "2026-12-07 10:15:00.5+01:00", "latest"]
)
def test_a_restore_target_is_latest_or_a_time_with_its_zone(target: str):
    assert VipRestoreConfig(bucket="b-1", cluster="c", target=target).target == target


@pytest.mark.parametrize("target", ["yesterday", "2026-12-07T10:15:00", "2026-12-07"])
def test_a_restore_target_without_a_zone_is_refused(target: str):
    with pytest.raises(ValidationError, match="latest or a time with its zone"):
        VipRestoreConfig(bucket="b-1", cluster="c", target=target)


def test_an_alarm_sooner_than_two_archive_timeouts_is_refused():
    with pytest.raises(ValidationError, match="lagAlarmMinutes"):
        ArchiveConfig(timeout_seconds=600, lag_alarm_minutes=10)


@pytest.mark.parametrize(
    ("target", "given"),
    [
        ("2026-12-07T10:15:00Z", "2026-12-07 10:15:00.000000+00"),
        ("2026-12-07 11:15:00.25+01:00", "2026-12-07 10:15:00.250000+00"),
        ("latest", "latest"),
    ],
)
def test_the_nodes_get_the_target_as_pgbackrest_takes_it(target: str, given: str):
    assert archive.restore_target(target) == given


def test_a_restoring_clusters_user_data_keeps_the_margin():
    """The longest restore settings config allows (63-character names, a target with its
    microseconds and zone) still leave the node's user data under the stated margin."""
    names = ("m" + "q7x2k9w4" * 8)[:63], ("c" + "z3v8n1p6" * 8)[:63]
    restore = {"bucket": names[0], "cluster": names[1], "target": "2026-12-07T10:15:00.5+05:30"}
    run = mockrun.run("dev", {"multitier:database": {"mode": "vip", "vip": {"restore": restore}}})
    (node,) = [r for r in run.of_type(LAUNCH_TEMPLATE) if r.name == "database-node"]
    assert len(plan.user_data(node) or b"") <= MARGIN
