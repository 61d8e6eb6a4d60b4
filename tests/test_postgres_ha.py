"""PostgresHA in both modes, on both stacks."""

from __future__ import annotations

import ipaddress
import json
import subprocess
from typing import Any

import pytest

from components.database.managed import IDENTIFIER_PREFIX_LENGTH
from components.database.postgres_ha import cluster_name
from components.shared import cloud_init, naming
from policy.types import (
    ASG,
    BUCKET,
    EFS,
    EFS_BACKUP,
    EFS_MOUNT_TARGET,
    FUNCTION,
    KMS_KEY,
    LAUNCH_TEMPLATE,
    LOG_GROUP,
    RANDOM_ID,
    RANDOM_PASSWORD,
    RDS,
    RDS_PARAMETERS,
    RDS_SUBNET_GROUP,
    ROLE,
    ROLE_POLICY,
    ROUTE,
    ROUTE_TABLE,
    SECRET,
    SECRET_VERSION,
    SG,
)
from tests.conftest import ingress_rules, plan
from tools.mockrun import Resource, Run

MODES = ["managed", "vip"]


def run_for(stack: str, mode: str) -> Run:
    return plan(stack, database={"mode": mode})


def db_group(run: Run) -> str:
    return str(run.outputs["databaseSecurityGroupId"])


def rules_into_db(run: Run) -> list[Resource]:
    return [r for r in ingress_rules(run) if r["securityGroupId"] == db_group(run)]


def node_user_data(run: Run) -> tuple[str, dict[str, Any]]:
    template = run.one(LAUNCH_TEMPLATE, "database-node")
    text = cloud_init.decode(cloud_init.sent(template["userData"], base64_encoded=True))
    return text, cloud_init.parse(text)


def written(document: dict[str, Any]) -> dict[str, str]:
    return {f["path"]: f["content"] for f in document["write_files"]}


@pytest.mark.parametrize("mode", MODES)
def test_both_modes_expose_the_same_outputs(stack, mode):
    run = run_for(stack, mode)
    assert run.outputs["databasePort"] == 5432
    assert run.outputs["databaseEndpoint"]
    assert run.outputs["databaseSecretArn"].startswith("arn:aws:secretsmanager:")
    assert run.one(SG, "database").id == db_group(run)


@pytest.mark.parametrize("mode", MODES)
def test_postgres_port_is_admitted_only_from_the_app_tier_and_the_credentials_function(stack, mode):
    run = run_for(stack, mode)
    clients = {run.outputs["appSecurityGroupId"], run.one(SG, "database-credentials").id}
    postgres = [r for r in rules_into_db(run) if r.get("fromPort") == 5432]
    assert sorted((r["referencedSecurityGroupId"], r["toPort"]) for r in postgres) == sorted(
        (group, 5432) for group in clients
    )
    assert not any(r.get("cidrIpv4") or r.get("cidrIpv6") for r in rules_into_db(run))


@pytest.mark.parametrize(
    ("stack", "mode", "ssh"),
    [("dev", "vip", True), ("dev", "managed", False), ("prod", "vip", False)],
)
def test_ssh_to_nodes_only_from_the_bastion_in_vip_mode(stack, mode, ssh):
    run = run_for(stack, mode)
    rules = [r for r in rules_into_db(run) if r.get("fromPort") == 22]
    expected = [run.one(SG, "bastion").id] if ssh else []
    assert [r["referencedSecurityGroupId"] for r in rules] == expected


@pytest.mark.parametrize("mode", MODES)
def test_database_lives_in_the_data_tier_only(stack, mode):
    run = run_for(stack, mode)
    data = sorted(run.outputs["subnetIds"]["data"])
    if mode == "managed":
        assert sorted(run.one(RDS_SUBNET_GROUP)["subnetIds"]) == data
    else:
        assert sorted(run.one(ASG, "database-nodes")["vpcZoneIdentifiers"]) == data
        targets = [t for t in run.of_type(EFS_MOUNT_TARGET) if t.name.startswith("database-")]
        assert sorted(t["subnetId"] for t in targets) == data


# managed


def test_managed_parameter_group_forces_tls_and_logs():
    run = run_for("prod", "managed")
    group = run.one(RDS_PARAMETERS)
    assert group["family"] == "postgres16"
    parameters = {p["name"]: p["value"] for p in group["parameters"]}
    assert parameters["rds.force_ssl"] == "1"
    assert parameters["log_min_duration_statement"] == "1000"
    assert run.one(RDS)["parameterGroupName"] == group.state["name"]


def test_prod_rds_is_multi_az_encrypted_protected_and_never_public():
    db = run_for("prod", "managed").one(RDS)
    assert db["multiAz"] is True
    assert db["storageEncrypted"] is True
    assert db["storageType"] == "gp3"
    assert (db["allocatedStorage"], db["maxAllocatedStorage"]) == (100, 500)
    assert "manageMasterUserPassword" not in db.inputs
    assert "password" in db.secrets
    assert db["publiclyAccessible"] is False
    assert db["deletionProtection"] is True
    assert db.protect is True  # `pulumi destroy` refuses before deleting anything
    assert db["skipFinalSnapshot"] is False
    assert db["finalSnapshotIdentifier"] == f"{db['identifier']}-final"
    assert db["backupRetentionPeriod"] == 14
    assert db["backupWindow"] and db["maintenanceWindow"]
    assert db["copyTagsToSnapshot"] is True
    assert db["autoMinorVersionUpgrade"] is True


def test_managed_defaults_can_be_deleted_but_keep_a_final_snapshot_and_backups():
    db = run_for("dev", "managed").one(RDS)
    assert (db["multiAz"], db["deletionProtection"]) == (False, False)
    assert db.protect is False
    assert db["skipFinalSnapshot"] is False
    assert db["finalSnapshotIdentifier"] == f"{db['identifier']}-final"
    assert db["deleteAutomatedBackups"] is False


def test_performance_insights_and_enhanced_monitoring_with_its_role():
    run = run_for("prod", "managed")
    db = run.one(RDS)
    assert db["performanceInsightsEnabled"] is True
    assert db["monitoringInterval"] == 60
    role = run.one(ROLE, "database-monitoring")
    assert db["monitoringRoleArn"] == role.state["arn"]
    assert "monitoring.rds.amazonaws.com" in role["assumeRolePolicy"]


def test_log_exports_land_in_log_groups_with_retention():
    run = run_for("prod", "managed")
    db = run.one(RDS)
    assert db["enabledCloudwatchLogsExports"] == ["postgresql", "upgrade"]
    groups = {g.get("name"): g for g in run.of_type(LOG_GROUP)}
    for kind in ("postgresql", "upgrade"):
        assert groups[f"/aws/rds/instance/{db['identifier']}/{kind}"]["retentionInDays"] == 90


def test_rds_identifiers_carry_a_suffix_that_changes_only_on_replacement():
    run = run_for("prod", "managed")
    db = run.one(RDS)
    suffix = run.one(RANDOM_ID, "database-identifier")
    assert db["identifier"] == f"multitier-prod-db-{suffix.state['hex']}"
    assert len(suffix.state["hex"]) == 8
    # The suffix is renewed exactly when an input that replaces the instance changes.
    assert suffix["keepers"] == {"dbName": "app", "username": "app_admin"}


def test_rds_identifiers_fit_rds_limits_for_long_stack_names():
    cluster = "a-very-long-project-name-and-a-very-long-stack-name-db"
    prefix = naming.label(cluster, limit=IDENTIFIER_PREFIX_LENGTH)
    longest = f"{prefix}-0123abcd-replica-5"
    assert len(longest) <= 63


def test_a_major_version_change_is_allowed_as_an_upgrade():
    db = run_for("dev", "managed").one(RDS)
    assert db["allowMajorVersionUpgrade"] is True


def test_read_replicas_follow_the_primary_and_give_a_reader_endpoint():
    run = plan("prod", database={"readReplicas": 2})
    primary = run.one(RDS, "database")
    replicas = sorted((r for r in run.of_type(RDS) if r.name != "database"), key=lambda r: r.name)
    assert len(replicas) == 2
    assert {r["replicateSourceDb"] for r in replicas} == {primary["identifier"]}
    assert all(r["storageEncrypted"] and r["publiclyAccessible"] is False for r in replicas)
    assert run.outputs["databaseReaderEndpoint"] == replicas[0].state["address"]
    for index, replica in enumerate(replicas, start=1):
        assert replica["identifier"] == f"{primary['identifier']}-replica-{index}"
        assert replica["enabledCloudwatchLogsExports"] == ["postgresql", "upgrade"]
        assert "replicateSourceDb" in replica.replace_on_changes
    assert "databaseReaderEndpoint" not in plan("prod").outputs


def test_managed_mode_declares_no_cluster_and_vip_mode_no_rds(stack):
    managed, vip = run_for(stack, "managed"), run_for(stack, "vip")
    functions = [f.name for f in managed.of_type(FUNCTION) if f.name.startswith("database-")]
    assert functions == ["database-credentials"]
    assert vip.of_type(RDS) == []


# vip


def test_vip_nodes_require_imdsv2_expose_tags_to_metadata_and_encrypt_root():
    template = run_for("dev", "vip").one(LAUNCH_TEMPLATE, "database-node")
    meta = template["metadataOptions"]
    assert (meta["httpTokens"], meta["instanceMetadataTags"]) == ("required", "enabled")
    assert template["blockDeviceMappings"][0]["ebs"]["encrypted"] == "true"


@pytest.mark.parametrize("count", [2, 3])
def test_vip_node_group_has_node_count_nodes_tagged_with_the_cluster(count):
    run = plan("dev", database={"vip": {"nodeCount": count}})
    group = run.one(ASG, "database-nodes")
    assert (group["minSize"], group["desiredCapacity"], group["maxSize"]) == (count, count, count)
    tags = {t["key"]: t for t in group["tags"]}
    assert tags["multitier:db-cluster"]["value"] == "multitier-dev-db"
    assert tags["multitier:db-cluster"]["propagateAtLaunch"] is True
    assert tags["multitier:db-role"]["value"] == "standby"


def test_vip_data_volume_is_encrypted_backed_up_and_reachable_from_nodes_only():
    run = run_for("dev", "vip")
    volume = run.one(EFS, "database-data")
    assert volume["encrypted"] is True
    backups = [b for b in run.of_type(EFS_BACKUP) if b["fileSystemId"] == volume.id]
    assert backups[0]["backupPolicy"]["status"] == "ENABLED"
    data_group = run.one(SG, "database-data").id
    nfs = [r for r in ingress_rules(run) if r["securityGroupId"] == data_group]
    assert [(r["fromPort"], r["referencedSecurityGroupId"]) for r in nfs] == [(2049, db_group(run))]


def test_app_and_data_route_tables_are_tagged_for_the_failover_lambda(stack):
    run = run_for(stack, "vip")
    for table in run.of_type(ROUTE_TABLE):
        tier = table["tags"]["multitier:tier"]
        expected = None if tier == "public" else cluster_name("multitier", stack)
        assert table["tags"].get("multitier:db-vip-routes") == expected, table.name


def test_managed_mode_tags_no_route_table():
    for table in run_for("dev", "managed").of_type(ROUTE_TABLE):
        assert "multitier:db-vip-routes" not in table["tags"]


@pytest.mark.parametrize("mode", MODES)
def test_pulumi_never_declares_the_vip_route(stack, mode):
    run = run_for(stack, mode)
    for table in run.of_type(ROUTE_TABLE):
        assert not table.get("routes"), f"{table.name} declares inline routes"
    destinations = {r.get("destinationCidrBlock") for r in run.of_type(ROUTE)}
    assert "10.10.10.10/32" not in destinations


def test_vip_lies_outside_the_vpc():
    run = run_for("dev", "vip")
    vip = ipaddress.ip_address(run.outputs["databaseEndpoint"])
    assert vip not in ipaddress.ip_network(run.outputs["vpcCidr"])


def test_nodes_answer_on_the_vip_and_read_the_generated_secret_at_boot():
    run = run_for("dev", "vip")
    text, document = node_user_data(run)
    files = written(document)
    env = files["/etc/multitier/pg.env"]
    assert "VIP='10.10.10.10'" in env
    assert f"SECRET_ARN='{run.outputs['databaseMasterSecretArn']}'" in env
    assert f"APP_SECRET_ARN='{run.outputs['databaseSecretArn']}'" in env
    assert f"READONLY_SECRET_ARN='{run.outputs['databaseReadonlySecretArn']}'" in env
    # The cluster's names come from the master secret at boot, never from the config.
    assert "DB_NAME" not in env and "DB_USER" not in env
    assert (
        "ip addr replace ${VIP}/32 dev vip0" in files["/etc/systemd/system/multitier-vip.service"]
    )
    assert "APP_CIDRS='10.0.64.0/20 10.0.80.0/20'" in env
    for password in run.of_type(RANDOM_PASSWORD):
        assert password.state["result"] not in text


def test_node_scripts_are_valid_bash():
    _, document = node_user_data(run_for("dev", "vip"))
    files = written(document)
    for path in ("/usr/local/sbin/multitier-pg-boot", "/usr/local/sbin/multitier-pg"):
        subprocess.run(["bash", "-n"], input=files[path], text=True, check=True)


@pytest.mark.parametrize("mode", ["managed", "vip"])
def test_generated_secrets_hold_the_connection_in_both_modes(mode):
    """The master's, the app's and the read-only login's: each says where to connect, who, and
    how it rotates; the program writes the first value only (the rotation owns it afterwards),
    labelled so that Secrets Manager never deletes it."""
    run = run_for("dev", mode)
    host = "10.10.10.10" if mode == "vip" else run.one(RDS).state["address"]
    master_arn = run.outputs["databaseMasterSecretArn"]
    expected = {
        "master": ("app_admin", "master", master_arn),
        "app": ("app_user", "alternating", run.outputs["databaseSecretArn"]),
        "readonly": ("app_reader", "single", run.outputs["databaseReadonlySecretArn"]),
    }
    for kind, (username, rotation, arn) in expected.items():
        version = run.one(SECRET_VERSION, f"database-{kind}")
        assert "secretString" in version.secrets
        secret = json.loads(version["secretString"])
        assert (secret["host"], secret["port"], secret["dbname"]) == (host, 5432, "app")
        assert (secret["username"], secret["rotation"]) == (username, rotation)
        assert secret["password"] == run.one(RANDOM_PASSWORD, f"database-{kind}").state["result"]
        if kind != "master":
            assert (secret["masterarn"], secret["owner"]) == (master_arn, "app_owner")
        assert ("ca_certificate" in secret) == (mode == "vip")
        assert version["versionStages"] == ["AWSCURRENT", "MULTITIER_FIRST"]
        assert set(version.ignore_changes) == {"secretString", "versionStages"}
        secret_resource = run.one(SECRET, f"database-{kind}")
        assert secret_resource.state["arn"] == arn
        assert secret_resource["tags"]["multitier:secret"] == kind
    if mode == "managed":
        master = run.one(RANDOM_PASSWORD, "database-master").state["result"]
        assert run.one(RDS)["password"] == master


@pytest.mark.parametrize("mode", ["managed", "vip"])
def test_the_master_secret_is_encrypted_with_the_databases_own_rotating_key(mode):
    run = run_for("dev", mode)
    key = run.one(KMS_KEY, "database-secrets")
    assert key["enableKeyRotation"] is True
    for secret in run.of_type(SECRET):
        assert secret["kmsKeyId"] == key.state["arn"], secret.name
    if mode == "vip":
        node_policy = json.loads(run.one(ROLE_POLICY, "database-nodes")["policy"])
        (decrypt,) = [s for s in node_policy["Statement"] if s["Action"] == "kms:Decrypt"]
        context = decrypt["Condition"]["StringEquals"]["kms:EncryptionContext:SecretARN"]
        tls = run.one(SECRET, "database-tls").state["arn"]
        outputs = run.outputs
        assert context == [
            outputs["databaseMasterSecretArn"],
            tls,
            outputs["databaseSecretArn"],
            outputs["databaseReadonlySecretArn"],
        ]


@pytest.mark.parametrize("on", [False, True])
def test_vip_data_volume_and_archive_are_protected_with_deletion_protection(on: bool):
    run = plan("dev", database={"mode": "vip", "deletionProtection": on})
    kept = [run.one(EFS), *(b for b in run.of_type(BUCKET) if b.name == "database-archive")]
    kept += [k for k in run.of_type(KMS_KEY) if k.name == "database-archive"]
    assert len(kept) == 3
    assert {(r.name, r.protect) for r in kept} == {(r.name, on) for r in kept}
