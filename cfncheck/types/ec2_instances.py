"""EC2 hosts as CloudFormation: instances and launch templates.

An instance's primary network interface id has no `Fn::GetAtt`; routes that point at it keep the
engine's value (the mocks give `eni-` and 17 hex digits, the shape AWS uses).
"""

from __future__ import annotations

from typing import Any

from cfncheck.fields import (
    NAME_PREFIX,
    Block,
    Ctx,
    Custom,
    Drop,
    Emitted,
    Field,
    Items,
    To,
    base64_text,
    boolean,
    tags,
)
from cfncheck.model import REF
from cfncheck.table import TypeMap

_METADATA: dict[str, Field] = {
    "httpEndpoint": "HttpEndpoint",
    "httpTokens": "HttpTokens",
    "httpPutResponseHopLimit": "HttpPutResponseHopLimit",
    "httpProtocolIpv6": "HttpProtocolIpv6",
    "instanceMetadataTags": "InstanceMetadataTags",
}

_EBS: dict[str, Field] = {
    "volumeType": "VolumeType",
    "volumeSize": "VolumeSize",
    "iops": "Iops",
    "throughput": "Throughput",
    "kmsKeyId": "KmsKeyId",
    "encrypted": To("Encrypted", boolean),
    "deleteOnTermination": To("DeleteOnTermination", boolean),
}

# The device the root volume of an Amazon Linux AMI is attached as. CloudFormation names the
# device; Pulumi's root_block_device means "the AMI's root device", whatever its name.
ROOT_DEVICE = "/dev/xvda"


def _root_device(value: Any, ctx: Ctx) -> list[Emitted]:
    device = ctx.emit("BlockDeviceMappings/0/DeviceName", ROOT_DEVICE)
    return device + Block("BlockDeviceMappings/0/Ebs", _EBS)(value, ctx)


def _in_interface(path: str) -> Custom:
    """A subnet or group list: CloudFormation sets a public address only on an explicit network
    interface, and then the subnet and groups move into that interface too."""

    def convert(value: Any, ctx: Ctx) -> list[Emitted]:
        if ctx.inputs.get("associatePublicIpAddress") is None:
            return ctx.emit(path, value)
        interface = {"SubnetId": "SubnetId", "SecurityGroupIds": "GroupSet"}[path]
        return ctx.emit(f"NetworkInterfaces/0/{interface}", value)

    return Custom(convert)


def _public_address(value: Any, ctx: Ctx) -> list[Emitted]:
    return [
        *ctx.emit("NetworkInterfaces/0/DeviceIndex", "0"),
        *ctx.emit("NetworkInterfaces/0/AssociatePublicIpAddress", value),
    ]


def _template_tags(value: Any, ctx: Ctx) -> list[Emitted]:
    # The launch template's own tags; TagSpecifications inside its data tag what it launches.
    return [
        *ctx.emit("TagSpecifications/0/ResourceType", "launch-template"),
        *tags("TagSpecifications/0/Tags")(value, ctx),
    ]


_DATA = "LaunchTemplateData"

TYPES = (
    TypeMap(
        "aws:ec2/instance:Instance",
        "AWS::EC2::Instance",
        {
            "ami": "ImageId",
            "instanceType": "InstanceType",
            "keyName": "KeyName",
            "subnetId": _in_interface("SubnetId"),
            "vpcSecurityGroupIds": _in_interface("SecurityGroupIds"),
            "associatePublicIpAddress": Custom(_public_address),
            "iamInstanceProfile": "IamInstanceProfile",
            "metadataOptions": Block("MetadataOptions", _METADATA),
            "monitoring": "Monitoring",
            "rootBlockDevice": Custom(_root_device),
            "sourceDestCheck": "SourceDestCheck",
            "userData": To("UserData", base64_text),
            "userDataReplaceOnChange": Drop(
                "Pulumi provider behaviour: replace the instance when its user data changes."
            ),
            "tags": tags(),
        },
        refs={"id": REF, "privateIp": "PrivateIp", "publicIp": "PublicIp"},
    ),
    TypeMap(
        "aws:ec2/launchTemplate:LaunchTemplate",
        "AWS::EC2::LaunchTemplate",
        {
            "name": "LaunchTemplateName",
            "namePrefix": NAME_PREFIX,
            "imageId": f"{_DATA}/ImageId",
            "instanceType": f"{_DATA}/InstanceType",
            "keyName": f"{_DATA}/KeyName",
            "userData": f"{_DATA}/UserData",
            "vpcSecurityGroupIds": f"{_DATA}/SecurityGroupIds",
            "iamInstanceProfile": Block(
                f"{_DATA}/IamInstanceProfile", {"arn": "Arn", "name": "Name"}
            ),
            "metadataOptions": Block(f"{_DATA}/MetadataOptions", _METADATA),
            "monitoring": Block(f"{_DATA}/Monitoring", {"enabled": "Enabled"}),
            "blockDeviceMappings": Items(
                f"{_DATA}/BlockDeviceMappings",
                {"deviceName": "DeviceName", "ebs": Block("Ebs", _EBS)},
            ),
            "networkInterfaces": Items(
                f"{_DATA}/NetworkInterfaces",
                {
                    "deviceIndex": "DeviceIndex",
                    "subnetId": "SubnetId",
                    "securityGroups": "Groups",
                    "associatePublicIpAddress": To("AssociatePublicIpAddress", boolean),
                    "deleteOnTermination": To("DeleteOnTermination", boolean),
                },
            ),
            "tagSpecifications": Items(
                f"{_DATA}/TagSpecifications", {"resourceType": "ResourceType", "tags": tags()}
            ),
            "updateDefaultVersion": Drop(
                "Provider option: make each new version the default. CloudFormation always does."
            ),
            "tags": Custom(_template_tags),
        },
        refs={
            "id": REF,
            "latestVersion": "LatestVersionNumber",
            "defaultVersion": "DefaultVersionNumber",
        },
    ),
)
