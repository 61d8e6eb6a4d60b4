"""The security rules, in the spirit of AWS Foundational Security Best Practices (FSBP), the CIS AWS
Foundations benchmark and Pulumi's AWSGuard pack.

Each rule has an id, a one-line reason and the resource types it judges. Its check yields one
message per violation of one resource. A rule that needs other resources of the stack (the flow
log of a VPC, the parameter group of a database) says `needs_stack=True`; the policy pack runs it
as a stack policy, the others as resource policies that judge each resource before it is created.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from policy.model import Res, Stack
from policy.taggable import is_taggable

Check = Callable[[Res, Stack], Iterable[str]]
ANY_TYPE = "*"


@dataclass(frozen=True)
class Rule:
    id: str
    reason: str
    types: tuple[str, ...]
    check: Check
    needs_stack: bool = False

    def judges(self, resource: Res) -> bool:
        if ANY_TYPE in self.types:
            return is_taggable(resource.type)
        return resource.type in self.types


RULES: list[Rule] = []


def rule(id_: str, reason: str, *types: str, needs_stack: bool = False) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        if any(r.id == id_ for r in RULES):
            raise ValueError(f"duplicate rule id {id_}")
        RULES.append(Rule(id_, reason, types, check, needs_stack))
        return check

    return register


# Resource types
VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
SG = "aws:ec2/securityGroup:SecurityGroup"
DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
INSTANCE = "aws:ec2/instance:Instance"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
EBS_VOLUME = "aws:ebs/volume:Volume"
ASG = "aws:autoscaling/group:Group"
LB = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
RDS = "aws:rds/instance:Instance"
RDS_PARAMETERS = "aws:rds/parameterGroup:ParameterGroup"
CACHE = "aws:elasticache/replicationGroup:ReplicationGroup"
EFS = "aws:efs/fileSystem:FileSystem"
EFS_BACKUP = "aws:efs/backupPolicy:BackupPolicy"
BUCKET = "aws:s3/bucket:Bucket"
BUCKET_PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_SSE = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
)
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
BUCKET_OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
BUCKET_LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
TOPIC = "aws:sns/topic:Topic"
KMS_KEY = "aws:kms/key:Key"
SECRET = "aws:secretsmanager/secret:Secret"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
FUNCTION = "aws:lambda/function:Function"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
MANAGED_POLICY = "aws:iam/policy:Policy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"

WORLD = ("0.0.0.0/0", "::/0")
ADMIN_PORTS = (22, 3389)
COMMON_TAGS = ("Project", "Environment", "ManagedBy", "Component")
MODERN_TLS_POLICIES = frozenset(
    {
        "ELBSecurityPolicy-TLS13-1-2-2021-06",
        "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
        "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06",
        "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06",
        "ELBSecurityPolicy-TLS13-1-3-2021-06",
        "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
        "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
        "ELBSecurityPolicy-FS-1-2-Res-2020-10",
        "ELBSecurityPolicy-TLS-1-2-2017-01",
        "ELBSecurityPolicy-TLS-1-2-Ext-2018-06",
    }
)
SUPPORTED_RUNTIMES = frozenset(
    {
        "python3.11",
        "python3.12",
        "python3.13",
        "nodejs20.x",
        "nodejs22.x",
        "java21",
        "provided.al2023",
    }
)
BROAD_MANAGED_POLICIES = ("AdministratorAccess", "PowerUserAccess", "FullAccess")


# Helpers


def truthy(value: Any) -> bool:
    """Booleans as the AWS provider takes them: `True`, or `"true"` in launch templates."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str | Mapping):
        return [value]
    return list(value)


def tier(group: Res) -> str | None:
    value = group.tags.get("multitier:tier")
    return str(value) if value is not None else None


def ports(rule_: Mapping[str, Any]) -> tuple[str, int, int]:
    """(protocol, from, to) of a rule; all traffic is ("-1", 0, 65535)."""
    protocol = str(rule_.get("ipProtocol") or rule_.get("protocol") or "-1")
    if protocol in {"-1", "all"}:
        return "-1", 0, 65535
    low, high = rule_.get("fromPort"), rule_.get("toPort")
    return protocol, int(low if low is not None else 0), int(high if high is not None else 65535)


def admits_port(rule_: Mapping[str, Any], port: int) -> bool:
    protocol, low, high = ports(rule_)
    return protocol in {"-1", "tcp", "6"} and low <= port <= high


def world_cidrs(rule_: Mapping[str, Any]) -> list[str]:
    cidrs = [rule_.get("cidrIpv4"), rule_.get("cidrIpv6")]
    cidrs += as_list(rule_.get("cidrBlocks")) + as_list(rule_.get("ipv6CidrBlocks"))
    return [c for c in cidrs if c and ipaddress.ip_network(c, strict=False).prefixlen == 0]


def statements(document: Any) -> list[Mapping[str, Any]]:
    """The statements of an IAM policy document given as JSON text or a mapping."""
    if isinstance(document, str):
        document = json.loads(document)
    if not isinstance(document, Mapping):
        return []
    return [s for s in as_list(document.get("Statement")) if isinstance(s, Mapping)]


def group_of(stack: Stack, rule_: Res) -> Res | None:
    found = stack.refs(rule_, "securityGroupId", SG)
    return found[0] if found else None


def alb_groups(stack: Stack) -> set[str]:
    """URNs of the security groups that load balancers use."""
    return {g.urn for lb in stack.of_type(LB) for g in stack.refs(lb, "securityGroups", SG)}


def inline_rules(group: Res) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for direction in ("ingress", "egress"):
        for item in as_list(group.get(direction)):
            yield direction, item


# Network


@rule(
    "vpc-flow-logs",
    "Every VPC records all its traffic in flow logs (FSBP EC2.6).",
    VPC,
    needs_stack=True,
)
def _vpc_flow_logs(vpc: Res, stack: Stack) -> Iterator[str]:
    logs = stack.referring(vpc, "vpcId", FLOW_LOG)
    if not any(f.get("trafficType") == "ALL" for f in logs):
        yield "no flow log with trafficType ALL is attached to this VPC"


@rule(
    "vpc-default-sg-managed",
    "Every VPC's default security group is taken over and emptied (FSBP EC2.2, CIS 5.4).",
    VPC,
    needs_stack=True,
)
def _vpc_default_sg_managed(vpc: Res, stack: Stack) -> Iterator[str]:
    if not stack.referring(vpc, "vpcId", DEFAULT_SG):
        yield "no DefaultSecurityGroup resource manages this VPC's default group"


@rule(
    "default-sg-no-rules",
    "The default security group admits and sends nothing (FSBP EC2.2).",
    DEFAULT_SG,
    needs_stack=True,
)
def _default_sg_no_rules(group: Res, stack: Stack) -> Iterator[str]:
    for direction, _rule in inline_rules(group):
        yield f"the default security group has an inline {direction} rule"
    for attached in stack.referring(group, "securityGroupId", INGRESS, EGRESS):
        yield f"the rule '{attached.name}' is attached to the default security group"


@rule(
    "subnet-no-auto-public-ip",
    "Subnets do not give instances public addresses (FSBP EC2.15).",
    SUBNET,
)
def _subnet_no_auto_public_ip(subnet: Res, _: Stack) -> Iterator[str]:
    if truthy(subnet.get("mapPublicIpOnLaunch")):
        yield "mapPublicIpOnLaunch is on"


@rule(
    "sg-world-ingress-alb-only",
    "Only the load balancer admits the whole internet, and only on 80/443 (FSBP EC2.18/EC2.19).",
    INGRESS,
    SG,
    needs_stack=True,
)
def _sg_world_ingress(resource: Res, stack: Stack) -> Iterator[str]:
    albs = alb_groups(stack)
    items: list[tuple[Res | None, Mapping[str, Any]]]
    if resource.type == SG:
        items = [(resource, item) for d, item in inline_rules(resource) if d == "ingress"]
    else:
        items = [(group_of(stack, resource), resource.props)]  # None: not a group we can see
    for group, item in items:
        for cidr in world_cidrs(item):
            protocol, low, high = ports(item)
            web = protocol in {"tcp", "6"} and low == high and low in {80, 443}
            if group is None or group.urn not in albs or not web:
                yield f"admits {cidr} on {protocol}/{low}-{high}"


@rule(
    "sg-ssh-from-bastion-only",
    "SSH and RDP are admitted only from the bastion's group, or by the bastion from "
    "configured networks (FSBP EC2.13, CIS 5.2).",
    INGRESS,
    SG,
    needs_stack=True,
)
def _sg_ssh_from_bastion(resource: Res, stack: Stack) -> Iterator[str]:
    if resource.type == SG:
        for direction, item in inline_rules(resource):
            if direction == "ingress" and any(admits_port(item, p) for p in ADMIN_PORTS):
                yield "an inline ingress rule admits SSH or RDP"
        return
    for port in ADMIN_PORTS:
        if not admits_port(resource.props, port):
            continue
        sources = stack.refs(resource, "referencedSecurityGroupId", SG)
        group = group_of(stack, resource)
        if sources:
            if not all(tier(s) == "bastion" for s in sources):
                yield f"port {port} admitted from a group that is not the bastion's"
        elif group is None or tier(group) != "bastion":
            yield f"port {port} admitted from addresses on a group that is not the bastion's"


@rule("sg-rule-description", "Every security group rule says what it is for.", INGRESS, EGRESS, SG)
def _sg_rule_description(resource: Res, _: Stack) -> Iterator[str]:
    if resource.type == SG:
        for direction, item in inline_rules(resource):
            if not item.get("description"):
                yield f"an inline {direction} rule has no description"
    elif not resource.get("description"):
        yield "the rule has no description"


@rule(
    "sg-rules-separate",
    "Security group rules are separate resources, never inline (inline and separate rules "
    "fight over the same group).",
    SG,
)
def _sg_rules_separate(group: Res, _: Stack) -> Iterator[str]:
    for direction, _item in inline_rules(group):
        yield f"declares an inline {direction} rule"


@rule(
    "sg-ingress-single-port",
    "Ingress rules open one protocol and one port, not every protocol or a range (FSBP EC2.19).",
    INGRESS,
)
def _sg_ingress_single_port(resource: Res, _: Stack) -> Iterator[str]:
    protocol, low, high = ports(resource.props)
    if protocol == "-1":
        yield "admits every protocol and port"
    elif low != high:
        yield f"admits the port range {low}-{high}"


@rule(
    "sg-world-egress-limited",
    "No group may send every protocol to the whole internet (least privilege on egress).",
    EGRESS,
)
def _sg_world_egress(resource: Res, _: Stack) -> Iterator[str]:
    if ports(resource.props)[0] == "-1":
        for cidr in world_cidrs(resource.props):
            yield f"sends all traffic to {cidr}"


# Compute


def _metadata(resource: Res) -> Mapping[str, Any]:
    value = resource.get("metadataOptions")
    return value if isinstance(value, Mapping) else {}


@rule(
    "ec2-imdsv2",
    "Instances require IMDSv2 session tokens (FSBP EC2.8, AutoScaling.3).",
    INSTANCE,
    LAUNCH_TEMPLATE,
)
def _ec2_imdsv2(resource: Res, _: Stack) -> Iterator[str]:
    if _metadata(resource).get("httpTokens") != "required":
        yield "metadataOptions.httpTokens is not 'required'"


@rule(
    "ec2-imds-hop-limit",
    "The metadata service answers the host only (hop limit 1), so containers cannot take the "
    "instance role (FSBP AutoScaling.4).",
    INSTANCE,
    LAUNCH_TEMPLATE,
)
def _ec2_imds_hop_limit(resource: Res, _: Stack) -> Iterator[str]:
    limit = _metadata(resource).get("httpPutResponseHopLimit")
    if limit is None or int(limit) > 1:
        yield f"metadataOptions.httpPutResponseHopLimit is {limit}, not 1"


@rule(
    "ebs-encrypted",
    "Every EBS volume is encrypted (FSBP EC2.3, EC2.7, CIS 2.2.1).",
    INSTANCE,
    LAUNCH_TEMPLATE,
    EBS_VOLUME,
)
def _ebs_encrypted(resource: Res, _: Stack) -> Iterator[str]:
    if resource.type == EBS_VOLUME:
        volumes = [resource.props]
    elif resource.type == INSTANCE:
        volumes = [resource.get("rootBlockDevice") or {}, *as_list(resource.get("ebsBlockDevices"))]
    else:
        mappings = as_list(resource.get("blockDeviceMappings"))
        volumes = [{**(m.get("ebs") or {}), "deviceName": m.get("deviceName")} for m in mappings]
        if not volumes:
            yield "no block device mapping declares the root volume's encryption"
    for volume in volumes:
        if not truthy(volume.get("encrypted")):
            device = volume.get("deviceName")
            yield f"volume {device} is not encrypted" if device else "a volume is not encrypted"


@rule(
    "ec2-detailed-monitoring",
    "Instances report metrics every minute (AWSGuard ec2-instance-detailed-monitoring).",
    INSTANCE,
    LAUNCH_TEMPLATE,
)
def _ec2_detailed_monitoring(resource: Res, _: Stack) -> Iterator[str]:
    monitoring = resource.get("monitoring")
    enabled = monitoring.get("enabled") if isinstance(monitoring, Mapping) else monitoring
    if not truthy(enabled):
        yield "detailed monitoring is off"


@rule(
    "ec2-instance-profile",
    "Instances act through an instance profile, never stored keys (AWSGuard; SSM needs it).",
    INSTANCE,
    LAUNCH_TEMPLATE,
)
def _ec2_instance_profile(resource: Res, _: Stack) -> Iterator[str]:
    if not resource.get("iamInstanceProfile"):
        yield "no IAM instance profile"


@rule(
    "asg-elb-health-check",
    "Groups behind a load balancer replace instances that fail its health check (FSBP "
    "AutoScaling.1).",
    ASG,
)
def _asg_elb_health_check(group: Res, _: Stack) -> Iterator[str]:
    behind_lb = as_list(group.get("targetGroupArns")) or as_list(group.get("loadBalancers"))
    if behind_lb and group.get("healthCheckType") != "ELB":
        yield f"healthCheckType is {group.get('healthCheckType')}, not ELB"


@rule(
    "asg-multi-az",
    "Auto Scaling groups span at least two Availability Zones (FSBP AutoScaling.2).",
    ASG,
)
def _asg_multi_az(group: Res, _: Stack) -> Iterator[str]:
    subnets = as_list(group.get("vpcZoneIdentifiers"))
    zones = as_list(group.get("availabilityZones"))
    if max(len(subnets), len(zones)) < 2:
        yield "spans fewer than two subnets or zones"


@rule(
    "asg-launch-template",
    "Auto Scaling groups launch from launch templates, not launch configurations (FSBP "
    "AutoScaling.9).",
    ASG,
)
def _asg_launch_template(group: Res, _: Stack) -> Iterator[str]:
    if not (group.get("launchTemplate") or group.get("mixedInstancesPolicy")):
        yield "no launch template"


# Load balancer


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


# Database


def _is_replica(db: Res) -> bool:
    return bool(db.get("replicateSourceDb"))


@rule("rds-encrypted", "Database storage is encrypted (FSBP RDS.3).", RDS)
def _rds_encrypted(db: Res, _: Stack) -> Iterator[str]:
    if not truthy(db.get("storageEncrypted")):
        yield "storageEncrypted is off"


@rule("rds-not-public", "Databases are never publicly accessible (FSBP RDS.2).", RDS)
def _rds_not_public(db: Res, _: Stack) -> Iterator[str]:
    if truthy(db.get("publiclyAccessible")):
        yield "publiclyAccessible is on"


@rule(
    "rds-backups",
    "Automated backups are kept, at least 7 days in production (FSBP RDS.11).",
    RDS,
)
def _rds_backups(db: Res, stack: Stack) -> Iterator[str]:
    if _is_replica(db):
        return
    days = int(db.get("backupRetentionPeriod") or 0)
    needed = 7 if stack.production else 1
    if days < needed:
        yield f"backupRetentionPeriod is {days}, needs at least {needed}"


@rule(
    "rds-deletion-protection-prod",
    "A production database cannot be deleted by accident (FSBP RDS.8).",
    RDS,
)
def _rds_deletion_protection(db: Res, stack: Stack) -> Iterator[str]:
    if stack.production and not _is_replica(db) and not truthy(db.get("deletionProtection")):
        yield "deletion protection is off in a production stack"


@rule("rds-multi-az-prod", "A production database runs Multi-AZ (FSBP RDS.5).", RDS)
def _rds_multi_az(db: Res, stack: Stack) -> Iterator[str]:
    if stack.production and not _is_replica(db) and not truthy(db.get("multiAz")):
        yield "Multi-AZ is off in a production stack"


@rule(
    "rds-force-ssl",
    "Clients must use TLS: the parameter group sets rds.force_ssl=1 (AWSGuard).",
    RDS,
    needs_stack=True,
)
def _rds_force_ssl(db: Res, stack: Stack) -> Iterator[str]:
    groups = stack.refs(db, "parameterGroupName", RDS_PARAMETERS)
    forced = any(
        p.get("name") == "rds.force_ssl" and str(p.get("value")) == "1"
        for g in groups
        for p in as_list(g.get("parameters"))
    )
    if not forced:
        yield "no parameter group of this stack sets rds.force_ssl=1 on it"


@rule(
    "rds-enhanced-monitoring",
    "Databases report OS metrics through enhanced monitoring (FSBP RDS.6).",
    RDS,
)
def _rds_enhanced_monitoring(db: Res, _: Stack) -> Iterator[str]:
    if not int(db.get("monitoringInterval") or 0):
        yield "monitoringInterval is 0"


@rule(
    "rds-log-exports",
    "PostgreSQL logs go to CloudWatch Logs (FSBP RDS.36).",
    RDS,
)
def _rds_log_exports(db: Res, _: Stack) -> Iterator[str]:
    if "postgresql" not in as_list(db.get("enabledCloudwatchLogsExports")):
        yield "the postgresql log is not exported"


@rule("rds-copy-tags", "Snapshots carry the database's tags (FSBP RDS.17).", RDS)
def _rds_copy_tags(db: Res, _: Stack) -> Iterator[str]:
    if not _is_replica(db) and not truthy(db.get("copyTagsToSnapshot")):
        yield "copyTagsToSnapshot is off"


@rule("rds-minor-upgrades", "Minor engine upgrades are applied (FSBP RDS.13).", RDS)
def _rds_minor_upgrades(db: Res, _: Stack) -> Iterator[str]:
    if db.get("autoMinorVersionUpgrade") is False:
        yield "autoMinorVersionUpgrade is off"


# Cache


@rule(
    "cache-encrypted",
    "Redis encrypts data at rest and in transit (FSBP ElastiCache.4, ElastiCache.5).",
    CACHE,
)
def _cache_encrypted(cache: Res, _: Stack) -> Iterator[str]:
    for key in ("atRestEncryptionEnabled", "transitEncryptionEnabled"):
        if not truthy(cache.get(key)):
            yield f"{key} is off"


@rule("cache-auth", "Redis clients authenticate (FSBP ElastiCache.6).", CACHE)
def _cache_auth(cache: Res, _: Stack) -> Iterator[str]:
    if not (cache.get("authToken") or cache.get("userGroupIds")):
        yield "no AUTH token and no user group"


@rule(
    "cache-failover",
    "Redis with replicas fails over automatically across zones (FSBP ElastiCache.3).",
    CACHE,
)
def _cache_failover(cache: Res, _: Stack) -> Iterator[str]:
    if int(cache.get("numCacheClusters") or 1) > 1:
        for key in ("automaticFailoverEnabled", "multiAzEnabled"):
            if not truthy(cache.get(key)):
                yield f"{key} is off although there are replicas"


@rule("cache-backups", "Redis keeps daily snapshots (FSBP ElastiCache.1).", CACHE)
def _cache_backups(cache: Res, _: Stack) -> Iterator[str]:
    if not int(cache.get("snapshotRetentionLimit") or 0):
        yield "snapshotRetentionLimit is 0"


# File systems and buckets


@rule("efs-encrypted", "EFS file systems are encrypted (FSBP EFS.1).", EFS)
def _efs_encrypted(fs: Res, _: Stack) -> Iterator[str]:
    if not truthy(fs.get("encrypted")):
        yield "encrypted is off"


@rule(
    "efs-backups",
    "EFS file systems are in AWS Backup (FSBP EFS.2).",
    EFS,
    needs_stack=True,
)
def _efs_backups(fs: Res, stack: Stack) -> Iterator[str]:
    policies = stack.referring(fs, "fileSystemId", EFS_BACKUP)
    if not any((p.get("backupPolicy") or {}).get("status") == "ENABLED" for p in policies):
        yield "no enabled backup policy"


def _bucket_settings(bucket: Res, stack: Stack, type_: str) -> list[Res]:
    return stack.referring(bucket, "bucket", type_)


@rule(
    "s3-block-public-access",
    "Buckets block every form of public access (FSBP S3.8, CIS 2.1.4).",
    BUCKET,
    needs_stack=True,
)
def _s3_block_public_access(bucket: Res, stack: Stack) -> Iterator[str]:
    keys = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    blocks = _bucket_settings(bucket, stack, BUCKET_PAB)
    if not any(all(truthy(b.get(k)) for k in keys) for b in blocks):
        yield "no public access block with all four settings on"


@rule(
    "s3-encrypted",
    "Buckets encrypt objects by default (FSBP S3.4).",
    BUCKET,
    needs_stack=True,
)
def _s3_encrypted(bucket: Res, stack: Stack) -> Iterator[str]:
    if not (
        bucket.get("serverSideEncryptionConfiguration")
        or _bucket_settings(bucket, stack, BUCKET_SSE)
    ):
        yield "no default encryption"


@rule(
    "s3-tls-only",
    "Bucket policies refuse requests without TLS (FSBP S3.5, CIS 2.1.1).",
    BUCKET,
    needs_stack=True,
)
def _s3_tls_only(bucket: Res, stack: Stack) -> Iterator[str]:
    for policy in _bucket_settings(bucket, stack, BUCKET_POLICY):
        for statement in statements(policy.get("policy")):
            condition = statement.get("Condition") or {}
            insecure = (condition.get("Bool") or {}).get("aws:SecureTransport")
            if statement.get("Effect") == "Deny" and str(insecure).lower() == "false":
                return
    yield "no bucket policy denies requests made without TLS"


@rule(
    "s3-acls-disabled",
    "Bucket ACLs are disabled: the bucket owner owns every object (FSBP S3.12).",
    BUCKET,
    needs_stack=True,
)
def _s3_acls_disabled(bucket: Res, stack: Stack) -> Iterator[str]:
    controls = _bucket_settings(bucket, stack, BUCKET_OWNERSHIP)
    if not any(
        (c.get("rule") or {}).get("objectOwnership") == "BucketOwnerEnforced" for c in controls
    ):
        yield "object ownership is not BucketOwnerEnforced"


@rule(
    "s3-lifecycle",
    "Buckets expire what they collect (FSBP S3.13).",
    BUCKET,
    needs_stack=True,
)
def _s3_lifecycle(bucket: Res, stack: Stack) -> Iterator[str]:
    if not _bucket_settings(bucket, stack, BUCKET_LIFECYCLE):
        yield "no lifecycle configuration"


# Keys, messages, secrets, logs


@rule("sns-encrypted", "Topics are encrypted with a KMS key (FSBP SNS.1).", TOPIC)
def _sns_encrypted(topic: Res, _: Stack) -> Iterator[str]:
    if not topic.get("kmsMasterKeyId"):
        yield "no kmsMasterKeyId"


@rule("kms-rotation", "Customer managed keys rotate yearly (FSBP KMS.4, CIS 3.6).", KMS_KEY)
def _kms_rotation(key: Res, _: Stack) -> Iterator[str]:
    spec = key.get("customerMasterKeySpec") or key.get("keySpec") or "SYMMETRIC_DEFAULT"
    if spec == "SYMMETRIC_DEFAULT" and not truthy(key.get("enableKeyRotation")):
        yield "enableKeyRotation is off"


@rule(
    "secrets-cmk",
    "Secrets are encrypted with a customer managed key whose use IAM controls, not the "
    "account-wide aws/secretsmanager key.",
    SECRET,
)
def _secrets_cmk(secret: Res, _: Stack) -> Iterator[str]:
    key = str(secret.get("kmsKeyId") or "")
    if not key or key.endswith("alias/aws/secretsmanager"):
        yield "encrypted with the AWS managed key aws/secretsmanager"


@rule(
    "rds-master-secret-cmk",
    "The RDS-managed master secret is encrypted with a customer managed key.",
    RDS,
)
def _rds_master_secret_cmk(db: Res, _: Stack) -> Iterator[str]:
    if truthy(db.get("manageMasterUserPassword")) and not db.get("masterUserSecretKmsKeyId"):
        yield "the master secret uses the AWS managed key aws/secretsmanager"


@rule(
    "secrets-recovery-window",
    "A deleted secret stays recoverable for at least 7 days (no immediate, irreversible delete).",
    SECRET,
)
def _secrets_recovery_window(secret: Res, _: Stack) -> Iterator[str]:
    days = secret.get("recoveryWindowInDays")
    if days is not None and int(days) < 7:
        yield f"recoveryWindowInDays is {days}"


@rule("logs-encrypted", "Log groups are encrypted with a KMS key (AWSGuard).", LOG_GROUP)
def _logs_encrypted(group: Res, _: Stack) -> Iterator[str]:
    if not group.get("kmsKeyId"):
        yield "no kmsKeyId"


@rule(
    "logs-retention",
    "Log groups expire, and keep at least 90 days in production (FSBP CloudWatch.16).",
    LOG_GROUP,
)
def _logs_retention(group: Res, stack: Stack) -> Iterator[str]:
    days = int(group.get("retentionInDays") or 0)
    if not days:
        yield "no retention: logs are kept forever"
    elif stack.production and days < 90:
        yield f"retention of {days} days in a production stack"


@rule(
    "alarm-has-actions",
    "Every alarm notifies someone or does something (FSBP CloudWatch.15).",
    ALARM,
)
def _alarm_has_actions(alarm: Res, _: Stack) -> Iterator[str]:
    if alarm.get("actionsEnabled") is False:
        yield "actions are disabled"
    elif not as_list(alarm.get("alarmActions")):
        yield "no alarm action"


# Functions


@rule(
    "lambda-reserved-concurrency",
    "Functions have reserved concurrency, so they neither starve nor are starved (AWSGuard).",
    FUNCTION,
)
def _lambda_reserved_concurrency(function: Res, _: Stack) -> Iterator[str]:
    reserved = function.get("reservedConcurrentExecutions")
    if reserved is None or int(reserved) < 0:
        yield "no reserved concurrency"


@rule(
    "lambda-log-group",
    "Functions log to a declared log group with a retention (no group auto-created forever).",
    FUNCTION,
    needs_stack=True,
)
def _lambda_log_group(function: Res, stack: Stack) -> Iterator[str]:
    config = function.get("loggingConfig")
    wanted = (config or {}).get("logGroup") if isinstance(config, Mapping) else None
    names = {wanted} if wanted else {f"/aws/lambda/{function.get('name')}"}
    groups = [g for g in stack.of_type(LOG_GROUP) if g.get("name") in names]
    if not groups:
        yield f"no declared log group named {' or '.join(sorted(str(n) for n in names))}"
    elif not any(int(g.get("retentionInDays") or 0) for g in groups):
        yield "its log group has no retention"


@rule(
    "lambda-supported-runtime",
    "Functions run on a supported runtime (FSBP Lambda.2).",
    FUNCTION,
)
def _lambda_supported_runtime(function: Res, _: Stack) -> Iterator[str]:
    runtime = function.get("runtime")
    if runtime is not None and runtime not in SUPPORTED_RUNTIMES:
        yield f"runtime {runtime} is not in {sorted(SUPPORTED_RUNTIMES)}"


@rule("lambda-in-vpc", "Functions run inside a VPC (FSBP Lambda.3).", FUNCTION)
def _lambda_in_vpc(function: Res, _: Stack) -> Iterator[str]:
    vpc = function.get("vpcConfig")
    if not (isinstance(vpc, Mapping) and as_list(vpc.get("subnetIds"))):
        yield "not attached to a VPC"


# Identity


def _allowed_statements(resource: Res) -> Iterator[Mapping[str, Any]]:
    for statement in statements(resource.get("policy")):
        if statement.get("Effect") == "Allow":
            yield statement


def _wildcard_resource(statement: Mapping[str, Any]) -> bool:
    return "*" in as_list(statement.get("Resource"))


@rule(
    "iam-no-admin",
    "No policy allows every action on every resource (FSBP IAM.1, CIS 1.16).",
    ROLE_POLICY,
    MANAGED_POLICY,
)
def _iam_no_admin(resource: Res, _: Stack) -> Iterator[str]:
    for statement in _allowed_statements(resource):
        if "*" in as_list(statement.get("Action")) and _wildcard_resource(statement):
            yield "allows Action * on Resource *"


@rule(
    "iam-no-passrole-wildcard",
    "No policy lets a principal pass any role (privilege escalation).",
    ROLE_POLICY,
    MANAGED_POLICY,
)
def _iam_no_passrole(resource: Res, _: Stack) -> Iterator[str]:
    for statement in _allowed_statements(resource):
        actions = {str(a).lower() for a in as_list(statement.get("Action"))}
        if actions & {"iam:passrole", "iam:*", "*"} and _wildcard_resource(statement):
            yield "allows iam:PassRole on Resource *"


@rule(
    "iam-no-service-wildcard",
    "No policy allows all of a service's actions on every resource (FSBP IAM.21).",
    ROLE_POLICY,
    MANAGED_POLICY,
)
def _iam_no_service_wildcard(resource: Res, _: Stack) -> Iterator[str]:
    for statement in _allowed_statements(resource):
        for action in as_list(statement.get("Action")):
            if str(action).endswith(":*") and _wildcard_resource(statement):
                yield f"allows {action} on Resource *"


@rule(
    "iam-no-broad-managed-policies",
    "Roles get no administrator, power-user or *FullAccess managed policy (CIS 1.16).",
    ATTACHMENT,
)
def _iam_no_broad_managed(attachment: Res, _: Stack) -> Iterator[str]:
    arn = str(attachment.get("policyArn") or "")
    if arn.startswith("arn:aws:iam::aws:policy/") and any(
        word in arn.rsplit("/", 1)[-1] for word in BROAD_MANAGED_POLICIES
    ):
        yield f"attaches {arn}"


# Tags


@rule(
    "tags-common",
    "Every taggable resource carries the Project, Environment, ManagedBy and Component tags.",
    ANY_TYPE,
)
def _tags_common(resource: Res, _: Stack) -> Iterator[str]:
    tags = resource.get("tags")
    if isinstance(tags, Sequence) and not isinstance(tags, str):  # Auto Scaling groups
        keys = {t.get("key") for t in tags if isinstance(t, Mapping)}
    else:
        keys = set(tags or {})
    missing = [t for t in COMMON_TAGS if t not in keys]
    if missing:
        yield f"missing tags {', '.join(missing)}"
