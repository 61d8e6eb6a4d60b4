"""BastionHost: on in dev, off in prod; SSH only from the configured networks."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from components.access.bastion import BOOT_SCRIPT
from components.shared import cloud_init
from policy.types import ASG, ATTACHMENT, EIP, INSTANCE, LAUNCH_TEMPLATE, ROLE, SG
from tests.conftest import ingress_rules, plan
from tools.mockrun import Resource, Run


def bastion_rules(run: Run) -> list[Resource]:
    group = run.one(SG, "bastion")
    return [r for r in ingress_rules(run) if r["securityGroupId"] == group.id]


def user_data(run: Run) -> dict[str, Any]:
    template = run.one(LAUNCH_TEMPLATE, "bastion")
    raw = cloud_init.sent(template["userData"], base64_encoded=True)
    return cloud_init.parse(cloud_init.decode(raw))


def test_prod_has_no_bastion():
    run = plan("prod")
    assert not [r for r in run.resources if r.type.startswith("multitier:bastion")]
    assert "bastionSshCommand" not in run.outputs


def test_ssh_is_admitted_only_from_the_configured_networks_on_the_configured_port():
    run = plan(
        "dev", bastion={"allowedCidrs": ["203.0.113.10/32", "198.51.100.0/24"], "sshPort": 2022}
    )
    rules = bastion_rules(run)
    assert sorted(r["cidrIpv4"] for r in rules) == ["198.51.100.0/24", "203.0.113.10/32"]
    assert {(r["ipProtocol"], r["fromPort"], r["toPort"]) for r in rules} == {("tcp", 2022, 2022)}
    assert all(r.get("description") for r in rules)


def test_no_ingress_rule_anywhere_admits_ssh_from_the_internet(stack):
    for rule in ingress_rules(plan(stack)):
        world = rule.get("cidrIpv4") == "0.0.0.0/0" or rule.get("cidrIpv6") == "::/0"
        ssh = rule["ipProtocol"] == "-1" or rule.get("fromPort", 0) <= 22 <= rule.get("toPort", -1)
        assert not (world and (ssh or rule.get("fromPort") == 2222)), rule.name


def test_launch_template_requires_imdsv2_and_encrypts_the_root_volume():
    template = plan("dev").one(LAUNCH_TEMPLATE, "bastion")
    meta = template["metadataOptions"]
    assert meta["httpTokens"] == "required"
    assert meta["httpPutResponseHopLimit"] == 1
    (root,) = template["blockDeviceMappings"]
    assert root["ebs"]["encrypted"] == "true"
    assert root["ebs"]["volumeType"] == "gp3"


def test_every_instance_requires_imdsv2(stack):
    run = plan(stack)
    for instance in run.of_type(INSTANCE):
        assert instance["metadataOptions"]["httpTokens"] == "required", instance.name
        assert instance["rootBlockDevice"]["encrypted"] is True, instance.name
    for template in run.of_type(LAUNCH_TEMPLATE):
        assert template["metadataOptions"]["httpTokens"] == "required", template.name


def test_self_healing_group_of_exactly_one_in_the_public_subnets():
    run = plan("dev")
    group = run.one(ASG, "bastion")
    assert (group["minSize"], group["maxSize"], group["desiredCapacity"]) == (1, 1, 1)
    assert sorted(group["vpcZoneIdentifiers"]) == sorted(run.outputs["subnetIds"]["public"])
    assert group["launchTemplate"]["id"] == run.one(LAUNCH_TEMPLATE, "bastion").id


def test_ssm_core_policy_is_attached_to_the_bastion_role():
    run = plan("dev")
    role = run.one(ROLE, "bastion")
    attached = [a["policyArn"] for a in run.of_type(ATTACHMENT) if a["role"] == role.state["name"]]
    assert attached == ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"]


def test_sshd_is_hardened_and_listens_on_the_configured_port():
    files = {f["path"]: f["content"] for f in user_data(plan("dev"))["write_files"]}
    sshd = dict(
        line.split(" ", 1)
        for line in files["/etc/ssh/sshd_config.d/00-multitier.conf"].splitlines()
    )
    assert sshd["Port"] == "2222"
    assert sshd["PasswordAuthentication"] == "no"
    assert sshd["PermitRootLogin"] == "no"


def test_boot_script_is_valid_bash_and_claims_the_bastion_address():
    run = plan("dev")
    files = {f["path"]: f["content"] for f in user_data(run)["write_files"]}
    script = files[BOOT_SCRIPT]
    subprocess.run(["bash", "-n"], input=script, text=True, check=True)
    env = files["/etc/multitier/bastion.env"]
    assert f"ALLOCATION_ID='{run.one('aws:ec2/eip:Eip', 'bastion').state['allocationId']}'" in env


def test_outputs_give_the_ssh_and_proxy_jump_commands():
    run = plan("dev")
    ip = run.one(EIP, "bastion").state["publicIp"]
    assert run.outputs["bastionSshCommand"] == f"ssh -p 2222 ec2-user@{ip}"
    assert run.outputs["bastionProxyJump"].startswith(f"ssh -J ec2-user@{ip}:2222 ")


@pytest.mark.parametrize("instance_type", ["t4g.micro", "t3.micro"])
def test_ami_follows_the_instance_architecture(instance_type):
    template = plan("dev", bastion={"instanceType": instance_type}).one(LAUNCH_TEMPLATE, "bastion")
    arch = "arm64" if instance_type.startswith("t4g") else "x86_64"
    assert template["imageId"].endswith(f"al2023-ami-kernel-default-{arch}")
