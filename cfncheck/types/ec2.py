"""EC2 networking as CloudFormation: VPC, subnets, gateways, routes, endpoints, flow logs, groups.

`Ref` returns each resource's id, as the `primaryIdentifier` of its CloudFormation schema says
(an Elastic IP's `Ref` is its public address; its allocation id is `Fn::GetAtt AllocationId`).
"""

from __future__ import annotations

import re
from typing import Any

from cfncheck.fields import NAME_PREFIX, Ctx, Custom, Drop, Emitted, tags
from cfncheck.model import REF
from cfncheck.table import Companion, NoEquivalent, TypeMap


def _ipv6_block(value: Any, ctx: Ctx) -> list[Emitted]:
    # CloudFormation asks for a VPC's Amazon-provided IPv6 block with a separate resource.
    return ctx.emit("Ipv6:AmazonProvidedIpv6CidrBlock", True) if value else []


def _zone(value: Any, ctx: Ctx) -> list[Emitted]:
    """The program takes zone names from the region's zone lookup, whose CloudFormation
    equivalent is `Fn::GetAZs`: a literal name would be judged as hard-coded (W3010)."""
    if isinstance(value, str) and re.fullmatch(rf"{re.escape(ctx.region)}[a-z]", value):
        index = ord(value[-1]) - ord("a")
        return ctx.emit("AvailabilityZone", {"Fn::Select": [index, {"Fn::GetAZs": ctx.region}]})
    return ctx.emit("AvailabilityZone", value)


def _flow_log_target(kind: str) -> Custom:
    def convert(value: Any, ctx: Ctx) -> list[Emitted]:
        return [*ctx.emit("ResourceId", value), *ctx.emit("ResourceType", kind)]

    return Custom(convert)


_ID = {"id": REF}

TYPES = (
    TypeMap(
        "aws:ec2/vpc:Vpc",
        "AWS::EC2::VPC",
        {
            "cidrBlock": "CidrBlock",
            "enableDnsHostnames": "EnableDnsHostnames",
            "enableDnsSupport": "EnableDnsSupport",
            "instanceTenancy": "InstanceTenancy",
            "assignGeneratedIpv6CidrBlock": Custom(_ipv6_block),
            "tags": tags(),
        },
        refs={"id": REF, "cidrBlock": "CidrBlock"},
        companions={"Ipv6": Companion("AWS::EC2::VPCCidrBlock", "VpcId")},
    ),
    TypeMap(
        "aws:ec2/subnet:Subnet",
        "AWS::EC2::Subnet",
        {
            "vpcId": "VpcId",
            "availabilityZone": Custom(_zone),
            "cidrBlock": "CidrBlock",
            "ipv6CidrBlock": "Ipv6CidrBlock",
            "assignIpv6AddressOnCreation": "AssignIpv6AddressOnCreation",
            "mapPublicIpOnLaunch": "MapPublicIpOnLaunch",
            "tags": tags(),
        },
        refs=_ID,
    ),
    TypeMap(
        "aws:ec2/internetGateway:InternetGateway",
        "AWS::EC2::InternetGateway",
        # CloudFormation attaches an internet gateway to its VPC with a separate resource.
        {"vpcId": "Attachment:VpcId", "tags": tags()},
        refs=_ID,
        companions={"Attachment": Companion("AWS::EC2::VPCGatewayAttachment", "InternetGatewayId")},
    ),
    TypeMap(
        "aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway",
        "AWS::EC2::EgressOnlyInternetGateway",
        {"vpcId": "VpcId", "tags": tags()},
        refs=_ID,
    ),
    TypeMap(
        "aws:ec2/eip:Eip",
        "AWS::EC2::EIP",
        {"domain": "Domain", "instance": "InstanceId", "tags": tags()},
        refs={"id": "AllocationId", "allocationId": "AllocationId", "publicIp": REF},
    ),
    TypeMap(
        "aws:ec2/natGateway:NatGateway",
        "AWS::EC2::NatGateway",
        {
            "allocationId": "AllocationId",
            "connectivityType": "ConnectivityType",
            "subnetId": "SubnetId",
            "tags": tags(),
        },
        refs=_ID,
    ),
    TypeMap(
        "aws:ec2/routeTable:RouteTable",
        "AWS::EC2::RouteTable",
        {"vpcId": "VpcId", "tags": tags()},
        refs=_ID,
    ),
    TypeMap(
        "aws:ec2/route:Route",
        "AWS::EC2::Route",
        {
            "routeTableId": "RouteTableId",
            "destinationCidrBlock": "DestinationCidrBlock",
            "destinationIpv6CidrBlock": "DestinationIpv6CidrBlock",
            "gatewayId": "GatewayId",
            "natGatewayId": "NatGatewayId",
            "networkInterfaceId": "NetworkInterfaceId",
            "egressOnlyGatewayId": "EgressOnlyInternetGatewayId",
            "vpcEndpointId": "VpcEndpointId",
        },
        refs=_ID,
    ),
    TypeMap(
        "aws:ec2/routeTableAssociation:RouteTableAssociation",
        "AWS::EC2::SubnetRouteTableAssociation",
        {"routeTableId": "RouteTableId", "subnetId": "SubnetId"},
        refs=_ID,
    ),
    TypeMap(
        "aws:ec2/flowLog:FlowLog",
        "AWS::EC2::FlowLog",
        {
            "vpcId": _flow_log_target("VPC"),
            "subnetId": _flow_log_target("Subnet"),
            "iamRoleArn": "DeliverLogsPermissionArn",
            "logDestination": "LogDestination",
            "logDestinationType": "LogDestinationType",
            "maxAggregationInterval": "MaxAggregationInterval",
            "trafficType": "TrafficType",
            "tags": tags(),
        },
        refs=_ID,
    ),
    TypeMap(
        "aws:ec2/vpcEndpoint:VpcEndpoint",
        "AWS::EC2::VPCEndpoint",
        {
            "vpcId": "VpcId",
            "serviceName": "ServiceName",
            "vpcEndpointType": "VpcEndpointType",
            "privateDnsEnabled": "PrivateDnsEnabled",
            "routeTableIds": "RouteTableIds",
            "subnetIds": "SubnetIds",
            "securityGroupIds": "SecurityGroupIds",
            "policy": "PolicyDocument",
            "tags": tags(),
        },
        refs=_ID,
    ),
    TypeMap(
        "aws:ec2/securityGroup:SecurityGroup",
        "AWS::EC2::SecurityGroup",
        {
            "description": "GroupDescription",
            "name": "GroupName",
            "namePrefix": NAME_PREFIX,
            "vpcId": "VpcId",
            "revokeRulesOnDelete": Drop(
                "Provider behaviour on delete: revoke the group's rules before deleting it."
            ),
            "tags": tags(),
        },
        refs=_ID,
    ),
)

NO_EQUIVALENT = (
    NoEquivalent(
        "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
        "CloudFormation cannot manage a VPC's default security group (AWS creates it with the "
        "VPC; a template can only read its id). Pulumi adopts it to remove its rules; the policy "
        "rule default-sg-no-rules judges it.",
    ),
)
