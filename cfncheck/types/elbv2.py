"""Load balancers, target groups and listeners as CloudFormation's ElasticLoadBalancingV2 types.

The provider turns several inputs into load balancer and target group attributes; CloudFormation
writes those attributes out as `{Key, Value}` strings, so they are rendered that way here.
"""

from __future__ import annotations

from typing import Any

from cfncheck.fields import NAME_PREFIX, Block, Ctx, Custom, Emitted, Items, lift, tags, text
from cfncheck.model import REF
from cfncheck.table import TypeMap


def _attribute(attributes: str, key: str) -> Custom:
    """One `{Key, Value}` of the `attributes` list; values are strings (`"true"`, `"60"`)."""

    def convert(value: Any, ctx: Ctx) -> list[Emitted]:
        return ctx.emit(f"{attributes}[]", {"Key": key, "Value": lift(text)(value)})

    return Custom(convert)


def _lb(key: str) -> Custom:
    return _attribute("LoadBalancerAttributes", key)


def _tg(key: str) -> Custom:
    return _attribute("TargetGroupAttributes", key)


def _scheme(value: Any) -> str:
    return "internal" if value else "internet-facing"


TYPES = (
    TypeMap(
        "aws:lb/loadBalancer:LoadBalancer",
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        {
            "name": "Name",
            "namePrefix": NAME_PREFIX,
            "loadBalancerType": "Type",
            "internal": Custom(lambda value, ctx: ctx.emit("Scheme", _scheme(value))),
            "ipAddressType": "IpAddressType",
            "securityGroups": "SecurityGroups",
            "subnets": "Subnets",
            "idleTimeout": _lb("idle_timeout.timeout_seconds"),
            "dropInvalidHeaderFields": _lb("routing.http.drop_invalid_header_fields.enabled"),
            "enableDeletionProtection": _lb("deletion_protection.enabled"),
            "accessLogs": Block(
                "",
                {
                    "enabled": _lb("access_logs.s3.enabled"),
                    "bucket": _lb("access_logs.s3.bucket"),
                    "prefix": _lb("access_logs.s3.prefix"),
                },
            ),
            "tags": tags(),
        },
        refs={
            "id": REF,
            "arn": REF,
            "arnSuffix": "LoadBalancerFullName",
            "dnsName": "DNSName",
            "name": "LoadBalancerName",
            "zoneId": "CanonicalHostedZoneID",
        },
    ),
    TypeMap(
        "aws:lb/targetGroup:TargetGroup",
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        {
            "name": "Name",
            "namePrefix": NAME_PREFIX,
            "port": "Port",
            "protocol": "Protocol",
            "protocolVersion": "ProtocolVersion",
            "targetType": "TargetType",
            "vpcId": "VpcId",
            "healthCheck": Block(
                "",
                {
                    "enabled": "HealthCheckEnabled",
                    "path": "HealthCheckPath",
                    "port": "HealthCheckPort",
                    "protocol": "HealthCheckProtocol",
                    "interval": "HealthCheckIntervalSeconds",
                    "timeout": "HealthCheckTimeoutSeconds",
                    "healthyThreshold": "HealthyThresholdCount",
                    "unhealthyThreshold": "UnhealthyThresholdCount",
                    "matcher": "Matcher/HttpCode",
                },
            ),
            "deregistrationDelay": _tg("deregistration_delay.timeout_seconds"),
            "slowStart": _tg("slow_start.duration_seconds"),
            "stickiness": Block(
                "",
                {
                    "enabled": _tg("stickiness.enabled"),
                    "type": _tg("stickiness.type"),
                    "cookieDuration": _tg("stickiness.lb_cookie.duration_seconds"),
                    "cookieName": _tg("stickiness.app_cookie.cookie_name"),
                },
            ),
            "tags": tags(),
        },
        refs={"id": REF, "arn": REF, "arnSuffix": "TargetGroupFullName", "name": "TargetGroupName"},
    ),
    TypeMap(
        "aws:lb/listener:Listener",
        "AWS::ElasticLoadBalancingV2::Listener",
        {
            "loadBalancerArn": "LoadBalancerArn",
            "port": "Port",
            "protocol": "Protocol",
            "sslPolicy": "SslPolicy",
            "certificateArn": "Certificates/0/CertificateArn",
            "defaultActions": Items(
                "DefaultActions",
                {
                    "type": "Type",
                    "order": "Order",
                    "targetGroupArn": "TargetGroupArn",
                    "redirect": Block(
                        "RedirectConfig",
                        {
                            "host": "Host",
                            "path": "Path",
                            "port": "Port",
                            "protocol": "Protocol",
                            "query": "Query",
                            "statusCode": "StatusCode",
                        },
                    ),
                    "fixedResponse": Block(
                        "FixedResponseConfig",
                        {
                            "contentType": "ContentType",
                            "messageBody": "MessageBody",
                            "statusCode": "StatusCode",
                        },
                    ),
                },
            ),
            "tags": tags(),
        },
        refs={"id": REF, "arn": REF},
    ),
)
