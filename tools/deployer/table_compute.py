"""The table's rows for the network, compute, load balancing, IAM, keys and secrets."""

from __future__ import annotations

from policy import types as t
from tools.deployer.entry import EC2_TAGS, Entry, arn

IAM_ROLE = "arn:aws:iam::{account}:role/{name}"

ENTRIES: dict[str, Entry] = {
    # --- EC2 and VPC: ARNs carry generated ids; scoped by the stack's tags -------------------
    t.VPC: Entry(
        ("ec2:CreateVpc",),
        ("ec2:DescribeVpcs", "ec2:DescribeVpcAttribute", "ec2:DescribeNetworkAcls"),
        ("ec2:ModifyVpcAttribute", "ec2:AssociateVpcCidrBlock", "ec2:DisassociateVpcCidrBlock"),
        ("ec2:DeleteVpc",),
        EC2_TAGS,
    ),
    t.SUBNET: Entry(
        ("ec2:CreateSubnet",),
        ("ec2:DescribeSubnets",),
        ("ec2:ModifySubnetAttribute", "ec2:AssociateSubnetCidrBlock"),
        ("ec2:DeleteSubnet", "ec2:DisassociateSubnetCidrBlock", "ec2:DescribeNetworkInterfaces"),
        EC2_TAGS,
    ),
    t.SG: Entry(
        ("ec2:CreateSecurityGroup",),
        ("ec2:DescribeSecurityGroups", "ec2:DescribeSecurityGroupRules"),
        ("ec2:RevokeSecurityGroupEgress", "ec2:RevokeSecurityGroupIngress"),
        ("ec2:DeleteSecurityGroup",),
        EC2_TAGS,
    ),
    t.DEFAULT_SG: Entry((), ("ec2:DescribeSecurityGroups",), ("ec2:RevokeSecurityGroupIngress",)),
    t.INGRESS: Entry(
        ("ec2:AuthorizeSecurityGroupIngress",),
        ("ec2:DescribeSecurityGroupRules",),
        ("ec2:ModifySecurityGroupRules",),
        ("ec2:RevokeSecurityGroupIngress",),
        EC2_TAGS,
    ),
    t.EGRESS: Entry(
        ("ec2:AuthorizeSecurityGroupEgress",),
        ("ec2:DescribeSecurityGroupRules",),
        ("ec2:ModifySecurityGroupRules",),
        ("ec2:RevokeSecurityGroupEgress",),
        EC2_TAGS,
    ),
    t.IGW: Entry(
        ("ec2:CreateInternetGateway", "ec2:AttachInternetGateway"),
        ("ec2:DescribeInternetGateways",),
        (),
        ("ec2:DetachInternetGateway", "ec2:DeleteInternetGateway"),
        EC2_TAGS,
    ),
    t.EGRESS_ONLY_IGW: Entry(
        ("ec2:CreateEgressOnlyInternetGateway",),
        ("ec2:DescribeEgressOnlyInternetGateways",),
        (),
        ("ec2:DeleteEgressOnlyInternetGateway",),
        EC2_TAGS,
    ),
    t.EIP: Entry(
        ("ec2:AllocateAddress",),
        ("ec2:DescribeAddresses", "ec2:DescribeAddressesAttribute"),
        (),
        ("ec2:ReleaseAddress", "ec2:DisassociateAddress"),
        EC2_TAGS,
    ),
    t.NAT_GATEWAY: Entry(
        ("ec2:CreateNatGateway",),
        ("ec2:DescribeNatGateways",),
        (),
        ("ec2:DeleteNatGateway",),
        EC2_TAGS,
    ),
    t.ROUTE_TABLE: Entry(
        ("ec2:CreateRouteTable",),
        ("ec2:DescribeRouteTables",),
        (),
        ("ec2:DeleteRouteTable",),
        EC2_TAGS,
    ),
    t.ROUTE: Entry(
        ("ec2:CreateRoute",),
        ("ec2:DescribeRouteTables",),
        ("ec2:ReplaceRoute",),
        ("ec2:DeleteRoute",),
    ),
    t.ROUTE_TABLE_ASSOCIATION: Entry(
        ("ec2:AssociateRouteTable",),
        ("ec2:DescribeRouteTables",),
        ("ec2:ReplaceRouteTableAssociation",),
        ("ec2:DisassociateRouteTable",),
    ),
    t.VPC_ENDPOINT: Entry(
        ("ec2:CreateVpcEndpoint",),
        ("ec2:DescribeVpcEndpoints", "ec2:DescribePrefixLists", "ec2:DescribeVpcEndpointServices"),
        ("ec2:ModifyVpcEndpoint",),
        ("ec2:DeleteVpcEndpoints",),
        EC2_TAGS,
    ),
    t.FLOW_LOG: Entry(
        ("ec2:CreateFlowLogs",), ("ec2:DescribeFlowLogs",), (), ("ec2:DeleteFlowLogs",), EC2_TAGS
    ),
    t.INSTANCE: Entry(
        ("ec2:RunInstances",),
        (
            "ec2:DescribeInstances",
            "ec2:DescribeInstanceAttribute",
            "ec2:DescribeInstanceTypes",
            "ec2:DescribeInstanceCreditSpecifications",
            "ec2:DescribeVolumes",
            "ec2:DescribeImages",
        ),
        (
            "ec2:ModifyInstanceAttribute",
            "ec2:ModifyInstanceMetadataOptions",
            "ec2:StopInstances",
            "ec2:StartInstances",
            "ec2:MonitorInstances",
            "ec2:UnmonitorInstances",
        ),
        ("ec2:TerminateInstances",),
        EC2_TAGS,
    ),
    t.LAUNCH_TEMPLATE: Entry(
        ("ec2:CreateLaunchTemplate",),
        ("ec2:DescribeLaunchTemplates", "ec2:DescribeLaunchTemplateVersions"),
        ("ec2:CreateLaunchTemplateVersion", "ec2:ModifyLaunchTemplate"),
        ("ec2:DeleteLaunchTemplate", "ec2:DeleteLaunchTemplateVersions"),
        EC2_TAGS,
    ),
    # --- Auto Scaling --------------------------------------------------------------------------
    t.ASG: Entry(
        # Creating a group that launches from a template asks for the template's own rights.
        ("autoscaling:CreateAutoScalingGroup", "ec2:RunInstances", "iam:CreateServiceLinkedRole"),
        (
            "autoscaling:DescribeAutoScalingGroups",
            "autoscaling:DescribeScalingActivities",
            "autoscaling:DescribeLifecycleHooks",
            "autoscaling:DescribeWarmPool",
            "autoscaling:DescribeTrafficSources",
            "autoscaling:DescribeInstanceRefreshes",
        ),
        (
            "autoscaling:UpdateAutoScalingGroup",
            "autoscaling:AttachLoadBalancerTargetGroups",
            "autoscaling:DetachLoadBalancerTargetGroups",
            "autoscaling:EnableMetricsCollection",
            "autoscaling:DisableMetricsCollection",
            "autoscaling:SuspendProcesses",
            "autoscaling:ResumeProcesses",
            "autoscaling:StartInstanceRefresh",
            "autoscaling:CancelInstanceRefresh",
        ),
        ("autoscaling:DeleteAutoScalingGroup",),
        ("autoscaling:CreateOrUpdateTags", "autoscaling:DeleteTags"),
        resource="autoScalingGroup",
        arn=arn("autoscaling", "autoScalingGroup:*:autoScalingGroupName/{name}"),
        also=(
            (
                "role",
                "arn:aws:iam::{account}:role/aws-service-role/autoscaling.amazonaws.com/"
                "AWSServiceRoleForAutoScaling",
            ),
        ),
    ),
    t.SCALING_POLICY: Entry(
        ("autoscaling:PutScalingPolicy",),
        ("autoscaling:DescribePolicies",),
        (),
        ("autoscaling:DeletePolicy",),
    ),
    # --- Elastic Load Balancing ----------------------------------------------------------------
    t.LB: Entry(
        ("elasticloadbalancing:CreateLoadBalancer",),
        (
            "elasticloadbalancing:DescribeLoadBalancers",
            "elasticloadbalancing:DescribeLoadBalancerAttributes",
            "elasticloadbalancing:DescribeTags",
        ),
        (
            "elasticloadbalancing:ModifyLoadBalancerAttributes",
            "elasticloadbalancing:SetSecurityGroups",
            "elasticloadbalancing:SetSubnets",
            "elasticloadbalancing:SetIpAddressType",
        ),
        ("elasticloadbalancing:DeleteLoadBalancer",),
        ("elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"),
        resource="loadbalancer/app/",
        arn=arn("elasticloadbalancing", "loadbalancer/app/{name}/*"),
    ),
    t.TARGET_GROUP: Entry(
        ("elasticloadbalancing:CreateTargetGroup",),
        (
            "elasticloadbalancing:DescribeTargetGroups",
            "elasticloadbalancing:DescribeTargetGroupAttributes",
        ),
        (
            "elasticloadbalancing:ModifyTargetGroup",
            "elasticloadbalancing:ModifyTargetGroupAttributes",
        ),
        ("elasticloadbalancing:DeleteTargetGroup",),
        ("elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"),
        resource="targetgroup",
        arn=arn("elasticloadbalancing", "targetgroup/{name}/*"),
    ),
    t.LISTENER: Entry(
        ("elasticloadbalancing:CreateListener",),
        (
            "elasticloadbalancing:DescribeListeners",
            "elasticloadbalancing:DescribeListenerAttributes",
        ),
        ("elasticloadbalancing:ModifyListener",),
        ("elasticloadbalancing:DeleteListener",),
        ("elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags"),
        resource="listener/app",
        arn=arn("elasticloadbalancing", "listener/app/*"),
    ),
    # --- IAM -----------------------------------------------------------------------------------
    t.ROLE: Entry(
        ("iam:CreateRole", "iam:PassRole"),
        (
            "iam:GetRole",
            "iam:ListRolePolicies",
            "iam:ListAttachedRolePolicies",
            "iam:ListInstanceProfilesForRole",
        ),
        ("iam:UpdateRole", "iam:UpdateAssumeRolePolicy", "iam:UpdateRoleDescription"),
        ("iam:DeleteRole",),
        ("iam:TagRole", "iam:UntagRole"),
        resource="role",
        arn=IAM_ROLE,
    ),
    t.ROLE_POLICY: Entry(
        ("iam:PutRolePolicy",), ("iam:GetRolePolicy",), (), ("iam:DeleteRolePolicy",)
    ),
    t.ATTACHMENT: Entry(
        ("iam:AttachRolePolicy",),
        ("iam:ListAttachedRolePolicies", "iam:GetPolicy"),
        (),
        ("iam:DetachRolePolicy",),
        also=(("policy", "arn:aws:iam::aws:policy/*"),),
    ),
    t.INSTANCE_PROFILE: Entry(
        ("iam:CreateInstanceProfile", "iam:AddRoleToInstanceProfile"),
        ("iam:GetInstanceProfile",),
        (),
        ("iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile"),
        ("iam:TagInstanceProfile", "iam:UntagInstanceProfile"),
        resource="instance-profile",
        arn="arn:aws:iam::{account}:instance-profile/{name}",
    ),
    # --- Keys and secrets ----------------------------------------------------------------------
    t.KMS_KEY: Entry(
        ("kms:CreateKey",),
        (
            "kms:DescribeKey",
            "kms:GetKeyPolicy",
            "kms:GetKeyRotationStatus",
            "kms:ListResourceTags",
            "kms:ListAliases",
        ),
        (
            "kms:PutKeyPolicy",
            "kms:EnableKeyRotation",
            "kms:DisableKeyRotation",
            "kms:UpdateKeyDescription",
            # What the services that encrypt with the stack's keys ask of the caller.
            "kms:CreateGrant",
            "kms:Decrypt",
            "kms:GenerateDataKey",
        ),
        ("kms:ScheduleKeyDeletion",),
        ("kms:TagResource", "kms:UntagResource"),
    ),
    t.SECRET: Entry(
        ("secretsmanager:CreateSecret",),
        ("secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy"),
        ("secretsmanager:UpdateSecret",),
        ("secretsmanager:DeleteSecret",),
        ("secretsmanager:TagResource", "secretsmanager:UntagResource"),
        resource="Secret",
        arn=arn("secretsmanager", "secret:{name}"),
    ),
    t.SECRET_VERSION: Entry(
        ("secretsmanager:PutSecretValue",),
        ("secretsmanager:GetSecretValue", "secretsmanager:ListSecretVersionIds"),
        ("secretsmanager:UpdateSecretVersionStage",),
    ),
    t.SECRET_ROTATION: Entry(
        # RotateSecret also needs lambda:InvokeFunction on the rotation function (its API
        # reference); the function's resource policy lets Secrets Manager invoke it after.
        ("secretsmanager:RotateSecret", "lambda:InvokeFunction"),
        ("secretsmanager:DescribeSecret",),
        (),
        ("secretsmanager:CancelRotateSecret",),
    ),
    t.SSM_PARAMETER: Entry(
        ("ssm:PutParameter",),
        ("ssm:GetParameter", "ssm:GetParameters", "ssm:ListTagsForResource"),
        (),
        ("ssm:DeleteParameter",),
        ("ssm:AddTagsToResource", "ssm:RemoveTagsFromResource"),
        resource="parameter",
        arn=arn("ssm", "parameter/{name}"),
        name="name",
    ),
}
