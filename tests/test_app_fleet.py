"""AppFleet: the ALB, its listeners, the app hosts and their scaling, cache and backups."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from components.app.host import HostSettings, user_data_document
from components.config import AppConfig
from components.shared import cloud_init
from policy.types import (
    ALARM,
    ASG,
    ATTACHMENT,
    BUCKET,
    BUCKET_LIFECYCLE,
    BUCKET_PAB,
    BUCKET_POLICY,
    BUCKET_SSE,
    CACHE,
    CACHE_SUBNET_GROUP,
    EFS,
    EFS_BACKUP,
    EFS_MOUNT_TARGET,
    LAUNCH_TEMPLATE,
    LB,
    LISTENER,
    RANDOM_PASSWORD,
    ROLE,
    ROLE_POLICY,
    SCALING_POLICY,
    SECRET,
    SG,
    TARGET_GROUP,
)
from tests.conftest import ingress_rules, plan
from tools import mockrun
from tools.mockrun import Resource, Run

POLICY = SCALING_POLICY
SECURITY_GROUP = SG
CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"


def group_id(run: Run, name: str) -> str:
    group = run.one(SECURITY_GROUP, name)
    assert group.id is not None
    return group.id


def rules_into(run: Run, group: str) -> list[Resource]:
    return [r for r in ingress_rules(run) if r["securityGroupId"] == group_id(run, group)]


def owned(run: Run, type_: str) -> list[Resource]:
    """The resources of a type that AppFleet declared."""
    return [r for r in run.of_type(type_) if (c := run.component_of(r)) and c.name == "app"]


def app_user_data_text(run: Run) -> str:
    raw = cloud_init.sent(run.one(LAUNCH_TEMPLATE, "app")["userData"], base64_encoded=True)
    return cloud_init.decode(raw)


def app_user_data(run: Run) -> dict[str, Any]:
    return cloud_init.parse(app_user_data_text(run))


def files(document: dict[str, Any]) -> dict[str, str]:
    return {f["path"]: f["content"] for f in document["write_files"]}


def test_without_a_certificate_the_alb_serves_http_only():
    run = plan("dev")
    (listener,) = run.of_type(LISTENER)
    assert (listener["port"], listener["protocol"]) == (80, "HTTP")
    assert listener["defaultActions"][0]["type"] == "forward"
    assert run.outputs["url"].startswith("http://")
    assert {r["fromPort"] for r in rules_into(run, "app-alb")} == {80}


def test_with_a_certificate_https_uses_a_modern_policy_and_http_redirects():
    run = plan("dev", app={"certificateArn": CERTIFICATE})
    listeners = {r["port"]: r for r in run.of_type(LISTENER)}
    https, http = listeners[443], listeners[80]
    assert https["protocol"] == "HTTPS"
    assert https["certificateArn"] == CERTIFICATE
    assert https["sslPolicy"].startswith("ELBSecurityPolicy-TLS13-")
    assert https["defaultActions"][0]["targetGroupArn"] == run.one(TARGET_GROUP).state["arn"]
    redirect = http["defaultActions"][0]
    assert redirect["type"] == "redirect"
    assert (redirect["redirect"]["protocol"], redirect["redirect"]["port"]) == ("HTTPS", "443")
    assert redirect["redirect"]["statusCode"] == "HTTP_301"
    assert run.outputs["url"].startswith("https://")


def test_prod_configures_https():
    assert {r["port"] for r in plan("prod").of_type(LISTENER)} == {80, 443}


def test_alb_is_internet_facing_in_public_subnets_and_drops_invalid_headers(stack):
    run = plan(stack)
    alb = run.one(LB)
    assert alb["internal"] is False
    assert sorted(alb["subnets"]) == sorted(run.outputs["subnetIds"]["public"])
    assert alb["dropInvalidHeaderFields"] is True
    assert alb["securityGroups"] == [group_id(run, "app-alb")]


@pytest.mark.parametrize(("stack", "on"), [("dev", False), ("prod", True)])
def test_deletion_protection_and_access_logs_follow_config(stack, on):
    run = plan(stack)
    alb = run.one(LB)
    assert alb["enableDeletionProtection"] is on
    assert alb.protect is on  # `pulumi destroy` refuses before deleting anything
    assert bool(alb.get("accessLogs")) is on
    # The app's access logs; a vip stack's database has its WAL archive besides.
    assert len([b for b in run.of_type(BUCKET) if "AppFleet" in b.urn]) == int(on)


@pytest.mark.parametrize(
    ("region", "writer"),
    [
        ("eu-west-1", {"AWS": "arn:aws:iam::156460612806:root"}),
        # Opened after August 2022: ELB has no account there, only the service principal.
        ("eu-central-2", {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}),
    ],
)
def test_access_logs_are_written_by_the_regions_log_delivery(region, writer):
    certificate = f"arn:aws:acm:{region}:123456789012:certificate/{'0' * 8}-{'0000-' * 3}{'0' * 12}"
    run = mockrun.run(
        "prod", {"aws:region": region, "multitier:app": {"certificateArn": certificate}}
    )
    policy = json.loads(run.one(BUCKET_POLICY)["policy"])
    (delivery,) = [s for s in policy["Statement"] if s["Sid"] == "AlbLogDelivery"]
    assert delivery["Principal"] == writer


def test_access_log_bucket_is_private_encrypted_expiring_and_tls_only():
    run = plan("prod")
    bucket = run.one(BUCKET)
    assert run.one(LB)["accessLogs"]["bucket"] == bucket.state["bucket"]
    block = run.one(BUCKET_PAB)
    assert all(
        block[k]
        for k in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
    )
    sse = run.one(BUCKET_SSE)
    assert sse["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    (rule,) = run.one(BUCKET_LIFECYCLE)["rules"]
    assert rule["expiration"]["days"] == 365
    policy = json.loads(run.one(BUCKET_POLICY)["policy"])
    deny = [s for s in policy["Statement"] if s["Effect"] == "Deny"]
    assert deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_target_group_takes_port_protocol_health_check_and_stickiness_from_config():
    run = plan(
        "dev",
        app={
            "port": 443,
            "protocol": "HTTPS",
            "healthCheckPath": "/role-store/api/v1/status",
            "healthCheck": {"matcher": "200", "intervalSeconds": 30, "timeoutSeconds": 10},
            "stickySessions": False,
            "deregistrationDelaySeconds": 60,
        },
    )
    group = run.one(TARGET_GROUP)
    assert (group["port"], group["protocol"]) == (443, "HTTPS")
    check = group["healthCheck"]
    assert check["path"] == "/role-store/api/v1/status"
    assert (check["matcher"], check["interval"], check["timeout"], check["protocol"]) == (
        "200",
        30,
        10,
        "HTTPS",
    )
    assert group["stickiness"] == {"type": "lb_cookie", "enabled": False, "cookieDuration": 86400}
    assert group["deregistrationDelay"] == 60


def test_stickiness_is_on_by_default(stack):
    assert plan(stack).one(TARGET_GROUP)["stickiness"]["enabled"] is True


def test_launch_template_requires_imdsv2_encrypts_its_root_and_monitors_in_detail(stack):
    template = plan(stack).one(LAUNCH_TEMPLATE, "app")
    assert template["metadataOptions"]["httpTokens"] == "required"
    assert template["metadataOptions"]["httpPutResponseHopLimit"] == 1
    (root,) = template["blockDeviceMappings"]
    assert (root["ebs"]["encrypted"], root["ebs"]["volumeType"]) == ("true", "gp3")
    assert template["monitoring"]["enabled"] is True


def test_ami_comes_from_config_when_given():
    template = plan("dev", app={"ami": "ami-0123456789abcdef0"}).one(LAUNCH_TEMPLATE, "app")
    assert template["imageId"] == "ami-0123456789abcdef0"


def test_app_port_is_admitted_only_from_the_alb(stack):
    run = plan(stack)
    port = 80
    reaching = [
        r for r in ingress_rules(run) if r.get("fromPort", 0) <= port <= r.get("toPort", -1)
    ]
    into_hosts = [r for r in reaching if r["securityGroupId"] == group_id(run, "app-hosts")]
    assert [r["referencedSecurityGroupId"] for r in into_hosts] == [group_id(run, "app-alb")]
    assert not any(r.get("cidrIpv4") for r in into_hosts)


def test_ssh_to_app_hosts_only_from_the_bastion_and_only_when_it_exists():
    dev = plan("dev")
    ssh = [r for r in rules_into(dev, "app-hosts") if r["fromPort"] == 22]
    assert [r["referencedSecurityGroupId"] for r in ssh] == [group_id(dev, "bastion")]
    prod = plan("prod")
    assert not [r for r in rules_into(prod, "app-hosts") if r["fromPort"] == 22]


def test_ipv6_vpc_gets_a_dualstack_alb_open_on_ipv6_too():
    run = plan("dev", network={"ipv6": True})
    assert run.one(LB)["ipAddressType"] == "dualstack"
    assert {r.get("cidrIpv6") for r in rules_into(run, "app-alb")} == {None, "::/0"}


def test_auto_scaling_group_spans_private_subnets_with_elb_health_checks():
    run = plan("prod")
    group = run.one(ASG, "app")
    assert sorted(group["vpcZoneIdentifiers"]) == sorted(run.outputs["subnetIds"]["private"])
    assert (group["minSize"], group["desiredCapacity"], group["maxSize"]) == (2, 2, 6)
    assert group["healthCheckType"] == "ELB"
    assert group["healthCheckGracePeriod"] == 300
    assert group["targetGroupArns"] == [run.one(TARGET_GROUP).state["arn"]]
    tags = {t["key"]: t for t in group["tags"]}
    assert tags["Release"]["value"] == "1.27"
    assert all(t["propagateAtLaunch"] for t in tags.values())


def test_prod_keeps_at_least_two_hosts():
    assert plan("prod").one(ASG, "app")["minSize"] >= 2


def test_instance_refresh_rolls_out_new_hosts_first_without_automatic_rollback(stack):
    run = plan(stack)
    group = run.one(ASG, "app")
    refresh = group["instanceRefresh"]
    assert refresh["strategy"] == "Rolling"
    prefs = refresh["preferences"]
    assert prefs["minHealthyPercentage"] == 100
    assert prefs["maxHealthyPercentage"] == 200
    # AWS refuses rollback to an SSM-parameter image, and the provider would roll back to the new
    # version anyway: rollback is promoting the previous release.
    assert prefs["autoRollback"] is False
    assert group["launchTemplate"]["version"] == "1"


def test_pulumi_up_leaves_the_scaled_capacity_alone(stack):
    group = plan(stack).one(ASG, "app")
    assert group.ignore_changes == ("desiredCapacity",)
    # wait_for_elb_capacity would wait on every update for exactly min healthy hosts.
    assert "waitForElbCapacity" not in group.inputs
    assert group["minElbCapacity"] == group["minSize"]


def test_a_new_release_changes_the_launch_template():
    before = plan("dev").one(LAUNCH_TEMPLATE, "app")["userData"]
    after = plan("dev", app={"release": {"image": "example.org/app:2.0", "version": "2.0"}})
    assert after.one(LAUNCH_TEMPLATE, "app")["userData"] != before


def test_target_tracking_on_cpu_by_default():
    (policy,) = plan("dev", app={"scaling": {"cpuTarget": 55}}).of_type(POLICY)
    assert policy["policyType"] == "TargetTrackingScaling"
    tracking = policy["targetTrackingConfiguration"]
    assert (
        tracking["predefinedMetricSpecification"]["predefinedMetricType"]
        == "ASGAverageCPUUtilization"
    )
    assert tracking["targetValue"] == 55


def test_step_scaling_adds_the_seed_alarms_at_60_and_40_percent():
    run = plan("dev", app={"scaling": {"policy": "step"}})
    policies = {p.name: p for p in run.of_type(POLICY)}
    assert set(policies) == {"app-scale-up", "app-scale-down"}
    assert policies["app-scale-up"]["scalingAdjustment"] == 1
    assert policies["app-scale-down"]["scalingAdjustment"] == -1
    alarms = {a.name: a for a in run.of_type(ALARM)}
    up, down = alarms["app-cpu-up"], alarms["app-cpu-down"]
    assert (up["threshold"], up["comparisonOperator"], up["evaluationPeriods"], up["period"]) == (
        60,
        "GreaterThanThreshold",
        2,
        60,
    )
    assert (down["threshold"], down["comparisonOperator"]) == (40, "LessThanThreshold")
    assert up["alarmActions"] == [policies["app-scale-up"].state["arn"]]


def test_cache_is_off_in_dev_and_encrypted_multi_az_redis_in_prod():
    assert plan("dev").of_type(CACHE) == []
    run = plan("prod")
    cache = run.one(CACHE)
    assert cache["atRestEncryptionEnabled"] is True
    assert cache["transitEncryptionEnabled"] is True
    assert cache["automaticFailoverEnabled"] is True
    assert cache["multiAzEnabled"] is True
    assert cache["authToken"], "no AUTH token"
    assert "authToken" in cache.secrets
    subnets = run.one(CACHE_SUBNET_GROUP)["subnetIds"]
    assert sorted(subnets) == sorted(run.outputs["subnetIds"]["data"])
    assert run.outputs["cacheEndpoint"] == cache.state["primaryEndpointAddress"]


def test_single_node_cache_has_no_failover():
    cache = plan("dev", app={"cache": {"enabled": True, "nodeCount": 1}}).one(CACHE)
    assert (cache["automaticFailoverEnabled"], cache["multiAzEnabled"]) == (False, False)


def test_cache_and_backups_admit_only_the_app_hosts():
    run = plan("prod")
    for group, port in (("app-cache", 6379), ("app-backups", 2049)):
        (rule,) = rules_into(run, group)
        assert rule["referencedSecurityGroupId"] == group_id(run, "app-hosts")
        assert (rule["fromPort"], rule["toPort"]) == (port, port)


def test_backups_file_system_is_encrypted_backed_up_and_mounted_in_each_az():
    assert owned(plan("dev"), EFS) == []
    run = plan("prod")
    file_system = run.one(EFS)
    assert file_system["encrypted"] is True
    backup = run.one(EFS_BACKUP)
    assert backup["backupPolicy"]["status"] == "ENABLED"
    targets = run.of_type(EFS_MOUNT_TARGET)
    assert sorted(t["subnetId"] for t in targets) == sorted(run.outputs["subnetIds"]["data"])
    boot = files(app_user_data(run))["/etc/multitier/boot.env"]
    assert f"EFS_ID='{file_system.id}'" in boot


def test_instance_role_reads_only_this_stacks_secrets():
    run = plan("prod")
    role = run.one(ROLE, "app-hosts")
    policy = json.loads(run.one(ROLE_POLICY, "app-hosts")["policy"])
    (reads,) = [s for s in policy["Statement"] if s["Action"] == "secretsmanager:GetSecretValue"]
    cache_secret = run.one(SECRET, "app-cache").state["arn"]
    assert sorted(reads["Resource"]) == sorted([cache_secret, run.outputs["databaseSecretArn"]])
    (decrypt,) = [s for s in policy["Statement"] if s["Action"] == "kms:Decrypt"]
    assert decrypt["Condition"]["StringEquals"] == {
        "kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com",
        "kms:EncryptionContext:SecretARN": reads["Resource"],
    }
    attached = {
        a["policyArn"].rsplit("/", 1)[-1]
        for a in run.of_type(ATTACHMENT)
        if a["role"] == role.state["name"]
    }
    assert attached == {"AmazonSSMManagedInstanceCore", "CloudWatchAgentServerPolicy"}


def test_no_secret_value_reaches_user_data():
    run = plan("prod")
    text = app_user_data_text(run)
    for generated in run.of_type(RANDOM_PASSWORD):
        assert generated.state["result"] not in text, generated.name
    assert "CACHE_AUTH_SECRET_ARN=arn:aws:secretsmanager:" in text


def test_user_data_runs_the_release_and_its_boot_script_is_valid_bash(stack):
    document = app_user_data(plan(stack))
    written = files(document)
    subprocess.run(
        ["bash", "-n"], input=written["/usr/local/sbin/multitier-app-boot"], text=True, check=True
    )
    assert "IMAGE='public.ecr.aws/nginx/nginx:1.27'" in written["/etc/multitier/boot.env"]
    assert "PORT=80\n" in written["/etc/multitier/app.env"]
    assert "--network host" in written["/etc/systemd/system/multitier-app.service"]
    assert document["runcmd"] == [["/usr/local/sbin/multitier-app-boot"]]


def test_user_data_points_the_app_at_the_database_and_cache():
    config = AppConfig.model_validate({"release": {"env": {"LOG_LEVEL": "info"}}})
    settings = HostSettings(
        database="db.internal",
        database_port="5432",
        database_secret="arn:aws:secretsmanager:eu-west-1:1:secret:db",
        cache="cache.internal",
        cache_port="6379",
        cache_secret="arn:aws:secretsmanager:eu-west-1:1:secret:cache",
        agent_config="AmazonCloudWatch-app",
    )
    document = user_data_document(config, "eu-west-1", settings)
    env = dict(
        line.split("=", 1) for line in files(document)["/etc/multitier/app.env"].splitlines()
    )
    assert env["DB_HOST"] == "db.internal"
    assert env["DB_PORT"] == "5432"
    assert env["DB_SECRET_ARN"].endswith(":secret:db")
    assert env["CACHE_HOST"] == "cache.internal"
    assert env["LOG_LEVEL"] == "info"
    assert "EFS_ID=''" in files(document)["/etc/multitier/boot.env"]


def test_outputs_name_the_url_target_group_group_and_security_group(stack):
    run = plan(stack)
    alb = run.one(LB)
    assert run.outputs["albDnsName"] == alb.state["dnsName"]
    assert run.outputs["targetGroupArn"] == run.one(TARGET_GROUP).state["arn"]
    assert run.outputs["asgName"] == run.one(ASG, "app").state["name"]
    assert run.outputs["appSecurityGroupId"] == group_id(run, "app-hosts")
