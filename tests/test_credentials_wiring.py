"""The credentials function as the program deploys it: in both modes, in the VPC with a group of
its own, the three database secrets on their schedules, the bootstrap of the app's roles before
the app hosts boot, the app hosts off the master secret; the cache's token rotated by the same
code outside the VPC; and a package whose bytes depend only on pinned files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import cast

import pytest

from components.shared import credentials_function
from policy.types import (
    ASG,
    CACHE,
    FUNCTION,
    INVOCATION,
    LAMBDA_PERMISSION,
    RDS,
    ROLE_POLICY,
    SECRET,
    SECRET_ROTATION,
    SECRET_VERSION,
    SG,
)
from tests.conftest import plan
from tools.mockrun import Run

MODES = ["managed", "vip"]


def run_for(stack: str, mode: str, **overrides: object) -> Run:
    return plan(stack, database={"mode": mode, **overrides})


def statements(run: Run, role_policy: str) -> list[dict[str, object]]:
    return list(json.loads(run.one(ROLE_POLICY, role_policy)["policy"])["Statement"])


@pytest.mark.parametrize("mode", MODES)
def test_the_function_runs_in_the_private_subnets_with_a_group_of_its_own(stack, mode):
    run = run_for(stack, mode)
    function = run.one(FUNCTION, "database-credentials")
    assert function["handler"] == "db_credentials.handler.handler"
    assert function["timeout"] == 900
    vpc = function["vpcConfig"]
    assert sorted(vpc["subnetIds"]) == sorted(run.outputs["subnetIds"]["private"])
    assert vpc["securityGroupIds"] == [run.one(SG, "database-credentials").id]
    env = function["environment"]["variables"]
    assert env["DB_HOST"] == run.outputs["databaseEndpoint"]
    assert env["MASTER_SECRET_ARN"] == run.outputs["databaseMasterSecretArn"]
    assert env["APP_SECRET_ARN"] == run.outputs["databaseSecretArn"]
    assert env["READONLY_SECRET_ARN"] == run.outputs["databaseReadonlySecretArn"]


def test_managed_the_function_may_set_the_master_password_of_its_instance_only():
    """A replaced or restored RDS instance refusing the master secret's password is given it by
    the bootstrap: the function knows the instance, and may modify that one alone."""
    run = run_for("prod", "managed")
    env = run.one(FUNCTION, "database-credentials")["environment"]["variables"]
    assert env["DB_INSTANCE"] == run.outputs["databaseIdentifier"]
    (heal,) = [
        s
        for s in statements(run, "database-credentials")
        if s["Sid"] == "SetTheMasterPasswordOfThisInstance"
    ]
    assert heal["Action"] == "rds:ModifyDBInstance"
    assert heal["Resource"] == (
        f"arn:aws:rds:eu-west-1:123456789012:db:{run.outputs['databaseIdentifier']}"
    )
    vip = run_for("prod", "vip")
    assert (
        "DB_INSTANCE" not in vip.one(FUNCTION, "database-credentials")["environment"]["variables"]
    )
    assert not [s for s in statements(vip, "database-credentials") if "rds:" in str(s["Action"])]


@pytest.mark.parametrize("mode", MODES)
def test_the_function_manages_exactly_the_three_database_secrets(mode):
    run = run_for("dev", mode)
    (rotate,) = [
        s for s in statements(run, "database-credentials") if s["Sid"] == "RotateTheseSecrets"
    ]
    outputs = run.outputs
    assert sorted(cast(list[str], rotate["Resource"])) == sorted(
        outputs[key]
        for key in ("databaseMasterSecretArn", "databaseSecretArn", "databaseReadonlySecretArn")
    )
    assert "secretsmanager:PutSecretValue" in rotate["Action"]  # type: ignore[operator]


@pytest.mark.parametrize("mode", MODES)
def test_each_secret_rotates_on_its_schedule_not_at_once(mode):
    run = run_for("dev", mode, rotation={"appDays": 7, "readonlyDays": 14, "masterDays": 60})
    function = run.one(FUNCTION, "database-credentials")
    bootstrap = run.one(INVOCATION, "database-credentials-bootstrap")
    for kind, days in (("app", 7), ("readonly", 14), ("master", 60)):
        schedule = run.one(SECRET_ROTATION, f"database-credentials-{kind}")
        secret = run.one(SECRET, f"database-{kind}")
        assert schedule["secretId"] == secret.id
        assert schedule["rotationLambdaArn"] == function.state["arn"]
        assert schedule["rotationRules"] == {"automaticallyAfterDays": days}
        assert schedule["rotateImmediately"] is False
        permission = run.one(LAMBDA_PERMISSION, f"database-credentials-{kind}")
        assert permission["principal"] == "secretsmanager.amazonaws.com"
        assert permission["sourceArn"] == secret.state["arn"]
        before = run.prerequisites(schedule)
        assert {permission.urn, bootstrap.urn} <= before


@pytest.mark.parametrize(("mode", "serving"), [("managed", RDS), ("vip", ASG)])
def test_the_bootstrap_runs_once_the_database_and_its_rules_exist(mode, serving):
    run = run_for("dev", mode)
    bootstrap = run.one(INVOCATION, "database-credentials-bootstrap")
    event = json.loads(bootstrap["input"])
    assert event == ({"bootstrap": True} if mode == "managed" else
                     {"bootstrap": True, "unreachable": "skip"})  # fmt: skip
    database = run.one(serving, "database" if mode == "managed" else "database-nodes")
    before = run.prerequisites(bootstrap)
    assert database.urn in before
    rules = [r for r in run.resources if r.name.startswith("database-credentials-to-database")]
    assert len(rules) == 2 and all(r.urn in before for r in rules)
    assert bootstrap["triggers"]["host"] == run.outputs["databaseEndpoint"]


@pytest.mark.parametrize("mode", MODES)
def test_app_hosts_read_the_apps_secret_never_the_masters_and_boot_after_the_bootstrap(mode):
    run = run_for("prod", mode)
    reads = [s for s in statements(run, "app-hosts") if s["Sid"] == "ReadSecrets"]
    (read,) = reads
    assert run.outputs["databaseSecretArn"] in read["Resource"]  # type: ignore[operator]
    assert run.outputs["databaseMasterSecretArn"] not in read["Resource"]  # type: ignore[operator]
    assert run.outputs["databaseReadonlySecretArn"] not in read["Resource"]  # type: ignore[operator]
    hosts = run.one(ASG, "app")
    assert run.one(INVOCATION, "database-credentials-bootstrap").urn in run.prerequisites(hosts)


def test_the_cache_token_rotates_by_the_same_code_outside_the_vpc():
    run = plan("prod")
    function = run.one(FUNCTION, "app-cache-rotation")
    assert function["handler"] == "db_credentials.handler.handler"
    assert "vpcConfig" not in function.inputs or not function["vpcConfig"]
    cache, secret = run.one(CACHE), run.one(SECRET, "app-cache")
    env = function["environment"]["variables"]
    assert env == {"CACHE_SECRET_ARN": secret.state["arn"], "CACHE_GROUP": cache.id}
    (modify,) = [
        s for s in statements(run, "app-cache-rotation") if s["Sid"] == "RotateTheCacheToken"
    ]
    assert modify["Resource"] == cache.state["arn"]
    schedule = run.one(SECRET_ROTATION, "app-cache-rotation")
    assert schedule["rotationRules"] == {"automaticallyAfterDays": 30}
    assert "authToken" in cache.ignore_changes
    version = run.one(SECRET_VERSION, "app-cache")
    assert set(version.ignore_changes) == {"secretString", "versionStages"}


def test_the_package_is_the_functions_modules_and_the_pinned_driver_without_caches():
    files = credentials_function.package_files()
    assert files == credentials_function.package_files()
    assert list(files) == sorted(files)
    assert "db_credentials/handler.py" in files and "pg8000/native.py" in files
    assert {name.split("/")[0] for name in files} >= {"pg8000", "scramp", "asn1crypto", "six.py"}
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in files)


@pytest.mark.slow
def test_the_package_imports_on_its_own(tmp_path: Path):
    """Unpacked alone, without site-packages (Lambda's runtime brings boto3 and botocore,
    stubbed here), the handler imports: pg8000 and what it imports travel in the package."""
    for name, path in credentials_function.package_files().items():
        target = tmp_path / "task" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    (tmp_path / "runtime").mkdir()
    (tmp_path / "runtime" / "boto3.py").write_text("def client(*args, **kwargs): pass\n")
    (tmp_path / "runtime" / "botocore").mkdir()
    (tmp_path / "runtime" / "botocore" / "__init__.py").write_text("")
    (tmp_path / "runtime" / "botocore" / "exceptions.py").write_text(
        "class ClientError(Exception): pass\n"
    )
    result = subprocess.run(
        [sys.executable, "-S", "-c", "import db_credentials.handler, pg8000.native"],
        env={"PYTHONPATH": f"{tmp_path / 'task'}:{tmp_path / 'runtime'}"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
