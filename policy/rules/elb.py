"""Load balancer rules: headers, TLS, redirects, deletion protection, access logs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from policy.model import Res, Stack
from policy.props import as_list, truthy
from policy.rules.base import rule
from policy.types import (
    LB,
    LISTENER,
)

# Every ALB policy whose oldest protocol is TLS 1.2 ("Security policies for your Application Load
# Balancer", Protocols by policy, read 2026-12-01), post-quantum (PQ) ones included.
MODERN_TLS_POLICIES = frozenset(
    {
        "ELBSecurityPolicy-TLS13-1-2-2021-06",
        "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
        "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06",
        "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06",
        "ELBSecurityPolicy-TLS13-1-3-2021-06",
        "ELBSecurityPolicy-TLS13-1-2-PQ-2025-09",
        "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
        "ELBSecurityPolicy-TLS13-1-2-Ext1-PQ-2025-09",
        "ELBSecurityPolicy-TLS13-1-2-Ext2-PQ-2025-09",
        "ELBSecurityPolicy-TLS13-1-3-PQ-2025-09",
        "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
        "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04",
        "ELBSecurityPolicy-TLS13-1-2-Ext0-FIPS-2023-04",
        "ELBSecurityPolicy-TLS13-1-2-Ext1-FIPS-2023-04",
        "ELBSecurityPolicy-TLS13-1-2-Ext2-FIPS-2023-04",
        "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
        "ELBSecurityPolicy-TLS13-1-2-FIPS-PQ-2025-09",
        "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-PQ-2025-09",
        "ELBSecurityPolicy-TLS13-1-2-Ext0-FIPS-PQ-2025-09",
        "ELBSecurityPolicy-TLS13-1-2-Ext1-FIPS-PQ-2025-09",
        "ELBSecurityPolicy-TLS13-1-2-Ext2-FIPS-PQ-2025-09",
        "ELBSecurityPolicy-TLS13-1-3-FIPS-PQ-2025-09",
        "ELBSecurityPolicy-TLS13-1-2-RFC9151-FIPS-2023-07",
        "ELBSecurityPolicy-TLS13-1-2-Ext0-RFC9151-FIPS-2023-07",
        "ELBSecurityPolicy-TLS13-1-2-RFC9151-INTEROP1-FIPS-2023-07",
        "ELBSecurityPolicy-TLS13-1-2-RFC9151-INTEROP2-FIPS-2023-07",
        "ELBSecurityPolicy-TLS13-1-2-RFC9151-INTEROP3-FIPS-2023-07",
        "ELBSecurityPolicy-TLS13-1-2-RFC9151-INTEROP4-FIPS-2023-07",
        "ELBSecurityPolicy-TLS13-1-3-RFC9151-FIPS-2023-07",
        "ELBSecurityPolicy-FS-1-2-Res-2020-10",
        "ELBSecurityPolicy-FS-1-2-Res-2019-08",
        "ELBSecurityPolicy-FS-1-2-2019-08",
        "ELBSecurityPolicy-TLS-1-2-2017-01",
        "ELBSecurityPolicy-TLS-1-2-Ext-2018-06",
    }
)


@rule("alb-drop-invalid-headers", "The ALB drops invalid HTTP headers (FSBP ELB.4).", LB)
def _alb_drop_invalid_headers(lb: Res, _: Stack) -> Iterator[str]:
    if lb.get("loadBalancerType", "application") == "application" and not truthy(
        lb.get("dropInvalidHeaderFields")
    ):
        yield "dropInvalidHeaderFields is off"


@rule(
    "alb-modern-tls",
    "HTTPS listeners use a TLS 1.2+ policy (FSBP ELB.17, AWSGuard elb-tls-policy).",
    LISTENER,
)
def _alb_modern_tls(listener: Res, _: Stack) -> Iterator[str]:
    if listener.get("protocol") in {"HTTPS", "TLS"}:
        policy = listener.get("sslPolicy")
        if policy not in MODERN_TLS_POLICIES:
            yield f"sslPolicy {policy} is not a TLS 1.2+ policy"


@rule(
    "alb-http-redirects",
    "When a load balancer serves HTTPS, its HTTP listeners only redirect to HTTPS (FSBP ELB.1).",
    LISTENER,
    needs_stack=True,
)
def _alb_http_redirects(listener: Res, stack: Stack) -> Iterator[str]:
    if listener.get("protocol") != "HTTP":
        return
    lbs = {lb.urn for lb in stack.refs(listener, "loadBalancerArn", LB)}
    siblings = [
        other
        for other in stack.of_type(LISTENER)
        if lbs & set(other.deps.get("loadBalancerArn", ())) and other.get("protocol") == "HTTPS"
    ]
    if not siblings:
        return
    for action in as_list(listener.get("defaultActions")):
        redirect = action.get("redirect") or {}
        if action.get("type") != "redirect" or redirect.get("protocol") != "HTTPS":
            yield "serves HTTP although the load balancer has an HTTPS listener"


@rule(
    "alb-deletion-protection-prod",
    "A production load balancer cannot be deleted by accident (FSBP ELB.6).",
    LB,
)
def _alb_deletion_protection(lb: Res, stack: Stack) -> Iterator[str]:
    if stack.production and not truthy(lb.get("enableDeletionProtection")):
        yield "deletion protection is off in a production stack"


@rule("alb-access-logs-prod", "A production load balancer keeps access logs (FSBP ELB.5).", LB)
def _alb_access_logs(lb: Res, stack: Stack) -> Iterator[str]:
    logs = lb.get("accessLogs")
    if stack.production and not (isinstance(logs, Mapping) and truthy(logs.get("enabled"))):
        yield "access logs are off in a production stack"
