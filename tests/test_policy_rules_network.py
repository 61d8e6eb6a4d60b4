"""The network rules (policy/rules/network.py): VPCs, subnets and security groups.

Each case is a broken stack and its fixed twin (tests/policy_cases.py): the rule flags one
resource in the first and nothing in the second. tests/test_policy_rules_base.py fails for a rule
of the module without a case here.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from policy.model import Res
from policy.types import (
    ASG,
    DEFAULT_SG,
    EGRESS,
    FLOW_LOG,
    INGRESS,
    ROUTE_TABLE,
    ROUTE_TABLE_ASSOCIATION,
    SG,
    SUBNET,
    VPC_ENDPOINT,
)
from tests.policy_cases import (
    RULE,
    TAGS,
    Case,
    alb,
    alb_sg,
    app_sg,
    asg_tags,
    bastion_sg,
    case_params,
    flagged,
    flags_the_broken_and_passes_the_fixed,
    flip,
    ingress,
    judge,
    key,
    messages,
    res,
    vpc,
)


def flow_log(traffic: str) -> Res:
    return res(FLOW_LOG, "main", deps={"vpcId": [vpc]}, trafficType=traffic)


world_https_on_app = ingress("app-from-world", app_sg, 443, "0.0.0.0/0")
world_ssh_on_alb = ingress("alb-from-world", alb_sg, 22, "0.0.0.0/0")
world6_on_app = ingress("app-from-world", app_sg, 5432, "::/0")
ssh_from_app = ingress("app-ssh", app_sg, 22, app_sg)
ssh_to_app_from_office = ingress("ssh-from-office", app_sg, 22, "203.0.113.0/24")
rdp_from_app = ingress("app-rdp", app_sg, 3389, app_sg)

CASES: list[Case] = [
    Case("vpc-flow-logs", "no flow log", vpc, [vpc], [vpc, flow_log("ALL")]),
    Case(
        "vpc-flow-logs",
        "rejected traffic only",
        vpc,
        [vpc, flow_log("REJECT")],
        [vpc, flow_log("ALL")],
    ),
    Case(
        "vpc-default-sg-managed",
        "default group left alone",
        vpc,
        [vpc],
        [vpc, res(DEFAULT_SG, "main", deps={"vpcId": [vpc]}, ingress=[], egress=[])],
    ),
    flip(
        "default-sg-no-rules",
        DEFAULT_SG,
        {"ingress": [{"protocol": "-1", "fromPort": 0, "toPort": 0, "self": True}]},
        {"ingress": []},
        about="the AWS default ingress",
    ),
    flip(
        "default-sg-no-rules",
        DEFAULT_SG,
        {"egress": [{"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]}]},
        {"egress": []},
        about="the AWS default egress",
    ),
    flip(
        "subnet-no-auto-public-ip",
        SUBNET,
        {"mapPublicIpOnLaunch": True},
        {"mapPublicIpOnLaunch": False},
    ),
    Case(
        "sg-world-ingress-alb-only",
        "world HTTPS to a group no load balancer uses",
        world_https_on_app,
        [alb, alb_sg, app_sg, world_https_on_app],
        [alb, alb_sg, app_sg, ingress("app-from-world", app_sg, 443, "10.0.0.0/16")],
    ),
    Case(
        "sg-world-ingress-alb-only",
        "world SSH to the load balancer's group",
        world_ssh_on_alb,
        [alb, alb_sg, world_ssh_on_alb],
        [alb, alb_sg, ingress("alb-from-world", alb_sg, 443, "0.0.0.0/0")],
    ),
    Case(
        "sg-world-ingress-alb-only",
        "IPv6 world on a database port",
        world6_on_app,
        [alb, alb_sg, app_sg, world6_on_app],
        [alb, alb_sg, app_sg, ingress("app-from-world", app_sg, 5432, "fd00::/8")],
    ),
    flip(
        "sg-world-ingress-alb-only",
        SG,
        {
            "ingress": [
                {"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["0.0.0.0/0"]}
            ]
        },
        {
            "ingress": [
                {"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["10.0.0.0/8"]}
            ]
        },
        about="inline world ingress",
    ),
    Case(
        "sg-ssh-from-bastion-only",
        "SSH from a group that is not the bastion's",
        ssh_from_app,
        [bastion_sg, app_sg, ssh_from_app],
        [bastion_sg, app_sg, ingress("app-ssh", app_sg, 22, bastion_sg)],
    ),
    Case(
        "sg-ssh-from-bastion-only",
        "SSH from addresses to a group that is not the bastion's",
        ssh_to_app_from_office,
        [bastion_sg, app_sg, ssh_to_app_from_office],
        [bastion_sg, app_sg, ingress("ssh-from-office", bastion_sg, 22, "203.0.113.0/24")],
    ),
    Case(
        "sg-ssh-from-bastion-only",
        "RDP from a group that is not the bastion's",
        rdp_from_app,
        [bastion_sg, app_sg, rdp_from_app],
        [bastion_sg, app_sg, ingress("app-rdp", app_sg, 3389, bastion_sg)],
    ),
    flip(
        "sg-rule-description",
        INGRESS,
        {"description": None},
        {"description": "HTTPS from the ALB"},
        base={"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": "10.0.0.0/16"},
    ),
    flip(
        "sg-rule-description",
        EGRESS,
        {"description": ""},
        {"description": "HTTPS to AWS APIs"},
        base={"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": "0.0.0.0/0"},
    ),
    flip(
        "sg-rule-description",
        SG,
        {
            "egress": [
                {"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["0.0.0.0/0"]}
            ]
        },
        {
            "egress": [
                {
                    "protocol": "tcp",
                    "fromPort": 443,
                    "toPort": 443,
                    "cidrBlocks": ["0.0.0.0/0"],
                    "description": "HTTPS out",
                }
            ]
        },
        about="inline rule without description",
    ),
    flip(
        "sg-rule-description",
        EGRESS,
        {"description": "HTTPS: the release's own calls"},
        {"description": "HTTPS: the release own calls"},
        base={"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": "0.0.0.0/0"},
        about="an apostrophe EC2 refuses",
    ),
    flip(
        "sg-rule-description",
        SG,
        {"description": "App hosts \u2014 HTTP from the ALB"},
        {"description": "App hosts - HTTP from the ALB"},
        about="a group description with a dash EC2 refuses",
    ),
    flip(
        "sg-rule-description",
        INGRESS,
        {"description": "x" * 256},
        {"description": "x" * 255},
        base={"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": "10.0.0.0/16"},
        about="longer than EC2's 255",
    ),
    flip(
        "sg-rules-separate",
        SG,
        {
            "ingress": [
                {"protocol": "tcp", "fromPort": 80, "toPort": 80, "cidrBlocks": ["10.0.0.0/8"]}
            ]
        },
        {"ingress": None},
        about="inline ingress",
        base={"description": "web"},
    ),
    flip(
        "sg-ingress-single-port",
        INGRESS,
        {"ipProtocol": "-1", "fromPort": None, "toPort": None},
        {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443},
        base={"cidrIpv4": "10.0.0.0/16", "description": "from the VPC"},
    ),
    flip(
        "sg-ingress-single-port",
        INGRESS,
        {"fromPort": 8000, "toPort": 8100},
        {"fromPort": 8080, "toPort": 8080},
        base={"ipProtocol": "tcp", "cidrIpv4": "10.0.0.0/16", "description": "from the VPC"},
    ),
    flip(
        "sg-world-egress-limited",
        EGRESS,
        {"ipProtocol": "-1"},
        {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443},
        base={"cidrIpv4": "0.0.0.0/0", "description": "out"},
    ),
    flip(
        "sg-world-egress-limited",
        EGRESS,
        {"cidrIpv6": "::/0"},
        {"cidrIpv6": "fd00::/8"},
        base={"ipProtocol": "-1", "description": "out"},
    ),
]


# Rules over what the stack does not declare: a group of another stack, the default group.

default_sg = res(DEFAULT_SG, "main", deps={"vpcId": [vpc]}, ingress=[], egress=[])
world_on_outside_group = res(
    INGRESS,
    "from-world",
    securityGroupId="sg-0123456789abcdef0",
    ipProtocol="tcp",
    fromPort=5432,
    toPort=5432,
    cidrIpv4="0.0.0.0/0",
    description="PostgreSQL from anywhere",
)
inline_ssh_group = res(
    SG,
    "legacy",
    deps={"vpcId": [vpc]},
    tags={**TAGS, "multitier:tier": "app"},
    ingress=[{"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["10.0.0.0/8"]}],
)

data_subnet = res(SUBNET, "data-a", deps={"vpcId": [vpc]}, cidrBlock="10.0.8.0/20")
data_table = res(ROUTE_TABLE, "data-a", deps={"vpcId": [vpc]})
data_association = res(
    ROUTE_TABLE_ASSOCIATION,
    "data-a",
    deps={"subnetId": [data_subnet], "routeTableId": [data_table]},
)
db_nodes = res(
    ASG,
    "database-nodes",
    deps={"vpcZoneIdentifiers": [data_subnet]},
    tags=asg_tags({**TAGS, "multitier:db-cluster": "multitier-dev-db"}),
)


def gateway(service: str) -> Res:
    return res(
        VPC_ENDPOINT,
        f"network-{service}",
        deps={"vpcId": [vpc], "routeTableIds": [data_table]},
        serviceName=f"com.amazonaws.eu-west-1.{service}",
        vpcEndpointType="Gateway",
    )


vip_network = [vpc, data_subnet, data_table, data_association, db_nodes]

CASES += [
    Case(
        "vip-nodes-gateway-endpoints",
        "no DynamoDB endpoint: a NAT fault silences the nodes' reports",
        db_nodes,
        [*vip_network, gateway("s3")],
        [*vip_network, gateway("s3"), gateway("dynamodb")],
    ),
    Case(
        "vip-nodes-gateway-endpoints",
        "the endpoints on another route table",
        db_nodes,
        [
            *vip_network,
            replace(gateway("s3"), deps={"routeTableIds": ()}),
            replace(gateway("dynamodb"), deps={"routeTableIds": ()}),
        ],
        [*vip_network, gateway("s3"), gateway("dynamodb")],
    ),
    Case(
        "sg-world-ingress-alb-only",
        "world ingress on a group declared outside the stack",
        world_on_outside_group,
        [world_on_outside_group],
        [
            replace(
                world_on_outside_group,
                props={**world_on_outside_group.props, "cidrIpv4": "10.0.0.0/16"},
            )
        ],
    ),
    Case(
        "default-sg-no-rules",
        "a separate rule on the default group",
        default_sg,
        [default_sg, ingress("default-ssh", default_sg, 22, "10.0.0.0/16")],
        [default_sg],
    ),
    Case(
        "sg-ssh-from-bastion-only",
        "inline SSH on a group",
        inline_ssh_group,
        [inline_ssh_group],
        [replace(inline_ssh_group, props={**inline_ssh_group.props, "ingress": []})],
    ),
]


@pytest.mark.parametrize("case", case_params(CASES))
def test_rule_flags_the_broken_stack_and_passes_the_fixed_one(case: Case) -> None:
    flags_the_broken_and_passes_the_fixed(case)


# Security groups

lonely_alb_sg = res(SG, "old-alb", deps={"vpcId": [vpc]}, tags={**TAGS, "multitier:tier": "alb"})
WEB = [{"protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": ["0.0.0.0/0"]}]


@pytest.mark.parametrize(
    ("subject", "allowed"),
    [
        pytest.param(ingress("in", alb_sg, 443, "0.0.0.0/0"), True, id="HTTPS to the ALB"),
        pytest.param(ingress("in", alb_sg, 80, "0.0.0.0/0"), True, id="HTTP to the ALB"),
        pytest.param(ingress("in", alb_sg, 443, "::/0"), True, id="IPv6 HTTPS to the ALB"),
        pytest.param(
            replace(alb_sg, props={**alb_sg.props, "ingress": WEB}), True, id="inline on the ALB"
        ),
        pytest.param(ingress("in", app_sg, 443, "0.0.0.0/0"), False, id="HTTPS to app hosts"),
        pytest.param(
            replace(app_sg, props={**app_sg.props, "ingress": WEB}), False, id="inline on app"
        ),
        pytest.param(
            ingress("in", lonely_alb_sg, 443, "0.0.0.0/0"),
            False,
            id="HTTPS to a group tagged alb that no load balancer uses",
        ),
        pytest.param(ingress("in", alb_sg, 22, "0.0.0.0/0"), False, id="SSH to the ALB"),
        pytest.param(ingress("in", alb_sg, 8443, "0.0.0.0/0"), False, id="8443 to the ALB"),
        pytest.param(
            ingress("in", alb_sg, 80, "0.0.0.0/0", toPort=443), False, id="80-443 to the ALB"
        ),
        pytest.param(
            ingress("in", alb_sg, 443, "0.0.0.0/0", ipProtocol="udp"), False, id="udp to the ALB"
        ),
        pytest.param(
            ingress("in", alb_sg, 443, "0.0.0.0/0", ipProtocol="-1"),
            False,
            id="every protocol to the ALB",
        ),
        pytest.param(ingress("in", app_sg, 22, "10.0.0.0/8"), True, id="SSH from a private range"),
    ],
)
def test_only_the_load_balancers_group_admits_the_world_and_only_on_web_ports(
    subject: Res, allowed: bool
) -> None:
    groups = [g for g in (alb_sg, app_sg, lonely_alb_sg) if g.urn != subject.urn]
    judged, failures = judge(RULE["sg-world-ingress-alb-only"], [alb, *groups, subject])
    assert judged
    if allowed:
        assert not failures, messages(failures)
    else:
        assert flagged(failures) == {key(subject)}


@pytest.mark.parametrize(
    ("subject", "allowed"),
    [
        pytest.param(ingress("in", app_sg, 22, bastion_sg), True, id="SSH from the bastion"),
        pytest.param(ingress("in", app_sg, 3389, bastion_sg), True, id="RDP from the bastion"),
        pytest.param(
            ingress("in", bastion_sg, 22, "203.0.113.0/24"), True, id="SSH to the bastion"
        ),
        pytest.param(ingress("in", app_sg, 443, "10.0.0.0/16"), True, id="HTTPS from the VPC"),
        pytest.param(
            ingress("in", app_sg, 22, app_sg, ipProtocol="udp"), True, id="udp 22 from app"
        ),
        pytest.param(ingress("in", app_sg, 22, app_sg), False, id="SSH from app"),
        pytest.param(ingress("in", app_sg, 3389, app_sg), False, id="RDP from app"),
        pytest.param(ingress("in", app_sg, 22, "10.0.0.0/16"), False, id="SSH from the VPC"),
        pytest.param(
            ingress("in", app_sg, 20, app_sg, toPort=30), False, id="ports 20-30 from app"
        ),
        pytest.param(
            ingress("in", app_sg, 0, "10.0.0.0/16", ipProtocol="-1"),
            False,
            id="every protocol from the VPC",
        ),
        pytest.param(
            res(
                INGRESS,
                "in",
                deps={"securityGroupId": [app_sg]},
                ipProtocol="tcp",
                fromPort=22,
                toPort=22,
                referencedSecurityGroupId="sg-0123456789abcdef0",
                description="SSH from a group of another stack",
            ),
            False,
            id="SSH from a group outside the stack",
        ),
    ],
)
def test_ssh_and_rdp_come_only_from_the_bastion(subject: Res, allowed: bool) -> None:
    judged, failures = judge(RULE["sg-ssh-from-bastion-only"], [bastion_sg, app_sg, subject])
    assert judged == 3  # the two groups (for inline rules) and the rule
    if allowed:
        assert not failures, messages(failures)
    else:
        assert flagged(failures) == {key(subject)}
