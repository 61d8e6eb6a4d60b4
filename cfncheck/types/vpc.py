"""Security group rules (Pulumi's `aws:vpc` module) as CloudFormation's ingress and egress rules."""

from __future__ import annotations

from cfncheck.fields import Drop, Field
from cfncheck.model import REF
from cfncheck.table import TypeMap

_NO_TAGS = Drop(
    "CloudFormation's security group rule resources have no Tags; EC2 tags a rule (sgr-) only "
    "through its CreateTags API, which the provider calls."
)

_COMMON: dict[str, Field] = {
    "securityGroupId": "GroupId",
    "ipProtocol": "IpProtocol",
    "fromPort": "FromPort",
    "toPort": "ToPort",
    "cidrIpv4": "CidrIp",
    "cidrIpv6": "CidrIpv6",
    "description": "Description",
    "tags": _NO_TAGS,
}

TYPES = (
    TypeMap(
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "AWS::EC2::SecurityGroupIngress",
        {
            **_COMMON,
            "referencedSecurityGroupId": "SourceSecurityGroupId",
            "prefixListId": "SourcePrefixListId",
        },
        refs={"id": REF},
    ),
    TypeMap(
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
        "AWS::EC2::SecurityGroupEgress",
        {
            **_COMMON,
            "referencedSecurityGroupId": "DestinationSecurityGroupId",
            "prefixListId": "DestinationPrefixListId",
        },
        refs={"id": REF},
    ),
)
