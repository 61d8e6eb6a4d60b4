"""The replacement forecast on real revisions, each planned by its own code: a clone of this
repository gets one deliberate change per commit, and the forecast of each commit against its
parent reports the class the change must have. And every stateful replacement since the last
release is named in CHANGELOG.md."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from policy.types import ASG, INSTANCE, LAUNCH_TEMPLATE, LOG_GROUP, RANDOM_ID, RDS
from tools import mockrun
from tools.forecast import release
from tools.forecast.cli import forecast, main
from tools.forecast.model import Forecast, Kind, VariantForecast, Verdict

pytestmark = pytest.mark.slow


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def edit(repo: Path, path: str, old: str, new: str, message: str) -> None:
    file = repo / path
    text = file.read_text()
    assert old in text, f"{path} no longer holds {old!r}"
    file.write_text(text.replace(old, new, 1))
    git(repo, "commit", "-q", "-am", message)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clone of HEAD with three commits: a new database name (HEAD~2), a longer log retention
    (HEAD~1), an app host boot script changed (HEAD)."""
    path = tmp_path_factory.mktemp("forecast") / "repo"
    subprocess.run(["git", "clone", "-q", str(mockrun.ROOT), str(path)], check=True)
    git(path, "config", "user.email", "t@example.com")
    git(path, "config", "user.name", "t")
    edit(
        path,
        "Pulumi.dev.yaml",
        "    mode: vip\n",
        "    mode: vip\n    databaseName: shop\n",
        "a new database name",
    )
    edit(path, "Pulumi.dev.yaml", "logRetentionDays: 14", "logRetentionDays: 30", "longer logs")
    boot = "functions/hosts/app_boot.sh"
    lines = (path / boot).read_text().splitlines(keepends=True)
    edit(path, boot, lines[-1], lines[-1] + "true\n", "one more line in the app hosts' boot")
    return path


def variant(found: Forecast, name: str) -> VariantForecast:
    (match,) = [v for v in found.variants if v.name == name]
    assert not match.problem, match.problem
    return match


def of(found: VariantForecast, type_: str, name: str) -> Verdict:
    (match,) = [v for v in found.verdicts if v.type == type_ and v.name == name]
    return match


def changed(found: VariantForecast) -> set[tuple[str, str, Kind]]:
    return {(v.type, v.name, v.kind) for v in found.verdicts if v.kind is not Kind.UNCHANGED}


def test_a_new_database_name_replaces_the_rds_instance_and_exits_1(repo: Path) -> None:
    assert main(["HEAD~3", "HEAD~2", "--stack", "dev", "--repo", str(repo)]) == 1
    managed = variant(forecast(repo, "HEAD~3", "HEAD~2", "dev"), "dev/managed")
    database = of(managed, RDS, "database")
    assert database.kind is Kind.REPLACED, f"Instance 'database' dbName: {database}"
    assert "dbName" in {r.input for r in database.reasons}
    assert of(managed, RANDOM_ID, "database-identifier").kind is Kind.REPLACED
    assert database in managed.losing_state


def test_a_longer_log_retention_updates_every_log_group_in_place(repo: Path) -> None:
    found = forecast(repo, "HEAD~2", "HEAD~1", "dev")
    assert not found.losing_state
    for name in ("dev/managed", "dev/vip"):
        kinds = {kind for type_, _, kind in changed(variant(found, name)) if type_ == LOG_GROUP}
        assert kinds == {Kind.UPDATED}, f"{name}: log groups {kinds}"
        assert {type_ for type_, _, _ in changed(variant(found, name))} == {LOG_GROUP}


def test_a_changed_app_boot_script_rolls_the_app_fleet_and_nothing_else(repo: Path) -> None:
    vip = variant(forecast(repo, "HEAD~1", "HEAD", "dev"), "dev/vip")
    assert changed(vip) == {
        (LAUNCH_TEMPLATE, "app", Kind.ROLLED),
        (ASG, "app", Kind.UPDATED),
    }
    assert of(vip, INSTANCE, "network-nat").kind is Kind.UNCHANGED


def test_every_stateful_loss_since_the_last_release_is_in_the_changelog() -> None:
    """The last release is prod's last promotion; with none in this history (or a shallow
    clone), nothing deployed from a release can be compared."""
    root = mockrun.ROOT
    since = release.last_release(root)
    if since is None:
        pytest.skip(f"no commit promotes a release into {release.PROD_FILE} yet")
    found = forecast(root, since)
    text = release.changelog_since(root, since)
    unnamed = release.unnamed(found.losing_state, text)
    assert not unnamed, (
        f"stateful resources replaced or deleted since {since[:12]} that CHANGELOG.md's new "
        f"entries do not name in backticks: {unnamed}"
    )


def test_the_changelog_names_resources_in_backticks() -> None:
    """What the check above looks for is how the changelog writes names."""
    text = (mockrun.ROOT / release.CHANGELOG).read_text()
    assert re.search(r"`network-nat`", text)
