"""The compute rules (policy/rules/compute.py): instances, launch templates, EBS and Auto Scaling.

Each case is a broken stack and its fixed twin (tests/policy_cases.py): the rule flags one
resource in the first and nothing in the second. tests/test_policy_rules_base.py fails for a rule
of the module without a case here.
"""

from __future__ import annotations

import pytest

from policy.types import ASG, EBS_VOLUME, INSTANCE, LAUNCH_TEMPLATE
from tests.policy_cases import (
    ASG_OK,
    RULE,
    Case,
    case_params,
    flags_the_broken_and_passes_the_fixed,
    flip,
    judge,
    messages,
    res,
)

LT_ROOT = "/dev/xvda"
ROOT_OK = {"deviceName": LT_ROOT, "ebs": {"encrypted": "true", "volumeSize": 8}}

CASES: list[Case] = [
    flip(
        "ec2-imdsv2",
        INSTANCE,
        {"metadataOptions": {"httpTokens": "optional", "httpPutResponseHopLimit": 1}},
        {"metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1}},
        about="httpTokens optional",
    ),
    flip(
        "ec2-imdsv2",
        LAUNCH_TEMPLATE,
        {"metadataOptions": None},
        {"metadataOptions": {"httpTokens": "required"}},
        about="launch template without metadata options",
    ),
    flip(
        "ec2-imds-hop-limit",
        LAUNCH_TEMPLATE,
        {"metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 2}},
        {"metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1}},
        about="hop limit 2",
    ),
    flip(
        "ec2-imds-hop-limit",
        INSTANCE,
        {"metadataOptions": {"httpTokens": "required"}},
        {"metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1}},
        about="instance with the default hop limit",
    ),
    flip(
        "ebs-encrypted",
        INSTANCE,
        {"rootBlockDevice": {"encrypted": False}},
        {"rootBlockDevice": {"encrypted": True}},
    ),
    flip(
        "ebs-encrypted",
        INSTANCE,
        {"ebsBlockDevices": [{"deviceName": "/dev/sdf", "encrypted": False}]},
        {"ebsBlockDevices": [{"deviceName": "/dev/sdf", "encrypted": True}]},
        base={"rootBlockDevice": {"encrypted": True}},
        about="an unencrypted data volume",
    ),
    flip(
        "ebs-encrypted",
        LAUNCH_TEMPLATE,
        {"blockDeviceMappings": [{"deviceName": LT_ROOT, "ebs": {"encrypted": "false"}}]},
        {"blockDeviceMappings": [ROOT_OK]},
        about="launch template root volume unencrypted",
    ),
    flip(
        "ebs-encrypted",
        LAUNCH_TEMPLATE,
        {"blockDeviceMappings": None},
        {"blockDeviceMappings": [ROOT_OK]},
        about="launch template without block device mappings",
    ),
    flip("ebs-encrypted", EBS_VOLUME, {"encrypted": False}, {"encrypted": True}, base={"size": 10}),
    flip("ec2-detailed-monitoring", INSTANCE, {"monitoring": False}, {"monitoring": True}),
    flip(
        "ec2-detailed-monitoring",
        LAUNCH_TEMPLATE,
        {"monitoring": {"enabled": False}},
        {"monitoring": {"enabled": True}},
    ),
    flip(
        "ec2-instance-profile",
        INSTANCE,
        {"iamInstanceProfile": None},
        {"iamInstanceProfile": "app-hosts"},
    ),
    flip(
        "ec2-instance-profile",
        LAUNCH_TEMPLATE,
        {"iamInstanceProfile": None},
        {"iamInstanceProfile": {"arn": "arn:aws:iam::123456789012:instance-profile/app-hosts"}},
    ),
    flip(
        "asg-elb-health-check",
        ASG,
        {"healthCheckType": "EC2"},
        {"healthCheckType": "ELB"},
        base=ASG_OK,
    ),
    flip("asg-multi-az", ASG, {"vpcZoneIdentifiers": ["subnet-a"]}, {}, base=ASG_OK),
    flip(
        "asg-launch-template",
        ASG,
        {"launchTemplate": None, "launchConfiguration": "app-lc"},
        {},
        base=ASG_OK,
    ),
]


@pytest.mark.parametrize("case", case_params(CASES))
def test_rule_flags_the_broken_stack_and_passes_the_fixed_one(case: Case) -> None:
    flags_the_broken_and_passes_the_fixed(case)


@pytest.mark.parametrize(
    ("encrypted", "ok"),
    [("true", True), ("True", True), (True, True), ("false", False), (False, False), (None, False)],
)
def test_launch_template_booleans_may_be_strings(encrypted: object, ok: bool) -> None:
    mapping = {"deviceName": LT_ROOT, "ebs": {"encrypted": encrypted, "volumeSize": 8}}
    template = res(LAUNCH_TEMPLATE, "app", blockDeviceMappings=[mapping])
    _, failures = judge(RULE["ebs-encrypted"], [template])
    assert (not failures) is ok, messages(failures)
