"""The rendering: references become Ref / Fn::GetAtt, attached resources go into their host, and
every value of the template maps back to the Pulumi resource and input it came from."""

from __future__ import annotations

import re
from typing import Any

from cfncheck.model import get_att, is_intrinsic, ref
from cfncheck.render import Rendering, render
from policy.types import (
    ALARM,
    BUCKET,
    EVENT_RULE,
    FUNCTION,
    IGW,
    INGRESS,
    LB,
    ROLE,
    SECRET,
    SECRET_ROTATION,
    SG,
    VPC,
)
from tests.conftest import plan
from tools.mockrun import Run

_cache: dict[str, tuple[Run, Rendering]] = {}


def rendered(stack: str) -> tuple[Run, Rendering]:
    if stack not in _cache:
        run = plan(stack)
        _cache[stack] = (run, render(run.resources, "eu-west-1"))
    return _cache[stack]


def logical(rendering: Rendering, type_: str, name: str) -> str:
    """The logical id the resource of this Pulumi type and name was rendered as."""
    found = [
        path[1]
        for path, source in rendering.sources.items()
        if len(path) == 2 and source.resource.type == type_ and source.resource.name == name
    ]
    assert found, f"{type_} '{name}' was not rendered"
    return str(found[0])


def properties(rendering: Rendering, type_: str, name: str) -> dict[str, Any]:
    props: dict[str, Any] = rendering.template["Resources"][logical(rendering, type_, name)][
        "Properties"
    ]
    return props


def test_a_security_group_rule_names_its_groups_with_ref():
    _, rendering = rendered("dev")
    rule = properties(
        rendering,
        INGRESS,
        "app-hosts-from-alb",
    )
    sg = SG
    assert rule["GroupId"] == ref(logical(rendering, sg, "app-hosts"))
    assert rule["SourceSecurityGroupId"] == ref(logical(rendering, sg, "app-alb"))


def test_an_arn_that_ref_does_not_return_becomes_get_att():
    _, rendering = rendered("dev")
    function = properties(rendering, FUNCTION, "database-failover")
    role = logical(rendering, ROLE, "database-failover")
    assert function["Role"] == get_att(role, "Arn")


def test_an_alarm_dimension_names_the_load_balancer_by_its_full_name():
    _, rendering = rendered("dev")
    alarm = properties(rendering, ALARM, "observability-alb-5xx")
    balancer = logical(rendering, LB, "app")
    dimensions = {d["Name"]: d["Value"] for d in alarm["Dimensions"]}
    assert dimensions["LoadBalancer"] == get_att(balancer, "LoadBalancerFullName")


def test_no_id_the_mocks_gave_a_rendered_resource_is_left_in_the_template():
    run, rendering = rendered("prod")
    ids = {r.id for r in run.resources if r.custom and r.id}
    left = [value for value in _strings(rendering.template["Resources"]) if value in ids]
    assert not left


def test_bucket_settings_are_written_into_the_bucket():
    _, rendering = rendered("prod")
    bucket = properties(rendering, BUCKET, "app-access-logs")
    assert bucket["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
    assert bucket["OwnershipControls"]["Rules"][0]["ObjectOwnership"] == "BucketOwnerEnforced"
    assert "ServerSideEncryptionConfiguration" in bucket["BucketEncryption"]
    assert bucket["LifecycleConfiguration"]["Rules"][0]["Status"] == "Enabled"


def test_a_rule_target_is_an_item_of_its_rules_targets():
    _, rendering = rendered("dev")
    rule = properties(rendering, EVENT_RULE, "database-failover-schedule")
    function = logical(rendering, FUNCTION, "database-failover")
    assert [target["Arn"] for target in rule["Targets"]] == [get_att(function, "Arn")]


def test_a_rotation_schedule_names_its_secret_and_function_and_waits_for_its_schedule():
    _, rendering = rendered("dev")
    schedule = properties(rendering, SECRET_ROTATION, "database-credentials-master")
    assert schedule["SecretId"] == ref(logical(rendering, SECRET, "database-master"))
    function = logical(rendering, FUNCTION, "database-credentials")
    assert schedule["RotationLambdaARN"] == get_att(function, "Arn")
    assert schedule["RotateImmediatelyOnUpdate"] is False
    assert schedule["RotationRules"]["AutomaticallyAfterDays"] > 0


def test_the_internet_gateway_is_attached_to_its_vpc_by_a_companion_resource():
    _, rendering = rendered("dev")
    gateway = logical(rendering, IGW, "network")
    attachment = rendering.template["Resources"][f"{gateway}Attachment"]
    assert attachment["Type"] == "AWS::EC2::VPCGatewayAttachment"
    vpc = logical(rendering, VPC, "network")
    assert attachment["Properties"] == {"InternetGatewayId": ref(gateway), "VpcId": ref(vpc)}


def test_logical_ids_are_alphanumeric_and_every_value_names_its_source_input():
    _, rendering = rendered("prod")
    for name, resource in rendering.template["Resources"].items():
        assert re.fullmatch(r"[A-Za-z0-9]+", name), name
        for path in _leaves(resource["Properties"], ("Resources", name, "Properties")):
            source = rendering.source(path)
            assert source is not None and source.input, f"{path} names no Pulumi input"


def _leaves(value: Any, path: tuple[str | int, ...]) -> list[tuple[str | int, ...]]:
    if isinstance(value, dict) and not is_intrinsic(value):
        return [leaf for key, item in value.items() for leaf in _leaves(item, (*path, key))]
    if isinstance(value, list):
        return [leaf for index, item in enumerate(value) for leaf in _leaves(item, (*path, index))]
    return [path]


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return [value] if isinstance(value, str) else []
