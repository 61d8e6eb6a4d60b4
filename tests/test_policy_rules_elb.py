"""The load balancer rules (policy/rules/elb.py).

Each case is a broken stack and its fixed twin (tests/policy_cases.py): the rule flags one
resource in the first and nothing in the second. tests/test_policy_rules_base.py fails for a rule
of the module without a case here.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from policy.types import LB, LISTENER
from tests.policy_cases import (
    LB_OK,
    Case,
    alb,
    case_params,
    flags_the_broken_and_passes_the_fixed,
    flip,
    res,
)

https = res(
    LISTENER,
    "app-https",
    deps={"loadBalancerArn": [alb]},
    protocol="HTTPS",
    port=443,
    sslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06",
    defaultActions=[{"type": "forward", "targetGroupArn": "arn:tg"}],
)
http_forwards = res(
    LISTENER,
    "app-http",
    deps={"loadBalancerArn": [alb]},
    protocol="HTTP",
    port=80,
    defaultActions=[{"type": "forward", "targetGroupArn": "arn:tg"}],
)

CASES: list[Case] = [
    flip("alb-drop-invalid-headers", LB, {"dropInvalidHeaderFields": False}, {}, base=LB_OK),
    flip(
        "alb-modern-tls",
        LISTENER,
        {"sslPolicy": "ELBSecurityPolicy-2016-08"},
        {"sslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06"},
        base={"protocol": "HTTPS", "port": 443},
    ),
    Case(
        "alb-http-redirects",
        "HTTP forwards next to HTTPS",
        http_forwards,
        [alb, https, http_forwards],
        [
            alb,
            https,
            replace(
                http_forwards,
                props={
                    **http_forwards.props,
                    "defaultActions": [
                        {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443"}}
                    ],
                },
            ),
        ],
    ),
    flip(
        "alb-deletion-protection-prod",
        LB,
        {"enableDeletionProtection": False},
        {},
        base=LB_OK,
        stack="prod",
    ),
    flip(
        "alb-access-logs-prod",
        LB,
        {"accessLogs": {"enabled": False, "bucket": "logs"}},
        {},
        base=LB_OK,
        stack="prod",
    ),
    flip("alb-access-logs-prod", LB, {"accessLogs": None}, {}, base=LB_OK, stack="prod-eu"),
]


@pytest.mark.parametrize("case", case_params(CASES))
def test_rule_flags_the_broken_stack_and_passes_the_fixed_one(case: Case) -> None:
    flags_the_broken_and_passes_the_fixed(case)
