"""AppFleet: the internet-facing ALB and the auto-scaled app hosts behind it, with the optional
Redis cache (state sync between nodes) and EFS backups directory.

- Security groups are declared bare and every rule is a separate resource: the ALB and app groups
  reference each other, and separate rules are what keeps that from being a cycle.
- With a certificate, the ALB serves HTTPS with a TLS 1.2/1.3-only policy and redirects HTTP;
  without one it serves HTTP only.
- The release runs as a container with host networking, so IMDSv2 keeps a hop limit of 1.
- A new release (image, version, AMI, user data) changes the launch template; the group's instance
  refresh then replaces hosts while keeping `minHealthyPercentage` in service behind the ALB (new
  hosts first, by default). It does not roll back by itself (see `_auto_scaling_group`): rolling
  back is promoting the previous release.
- Once the group exists its desired capacity belongs to the scaling policies: `pulumi up` never
  resets it. Pulumi waits for healthy hosts when it creates the group, and on an update only when
  `minSize` changes (then for as many hosts as the state records: refresh a scaled-out stack first).
- The instance role reads this stack's database and cache secrets and nothing else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components import cloud_init, ec2, iam
from components.config import AppConfig
from components.contracts import DatabaseEndpoint
from components.network import VpcNetwork

CLOUDWATCH_AGENT = "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"
ECR_READ = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"
REDIS_PORT = 6379
NFS_PORT = 2049


@dataclass(frozen=True)
class AppFleetArgs:
    config: AppConfig
    network: VpcNetwork
    database: DatabaseEndpoint | None = None
    bastion_security_group_id: pulumi.Input[str] | None = None
    agent_config_parameter: pulumi.Input[str] | None = None
    """Name of the SSM parameter holding the CloudWatch agent config (`AmazonCloudWatch-…`)."""


@dataclass(frozen=True)
class _Cache:
    endpoint: pulumi.Output[str]
    secret_arn: pulumi.Output[str]
    member_clusters: pulumi.Output[list[str]]


class AppFleet(pulumi.ComponentResource):
    """The web tier: ALB, target group, launch template, Auto Scaling group, cache and EFS."""

    url: pulumi.Output[str]
    alb_dns_name: pulumi.Output[str]
    alb_arn_suffix: pulumi.Output[str]
    target_group_arn: pulumi.Output[str]
    target_group_arn_suffix: pulumi.Output[str]
    asg_name: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    cache_endpoint: pulumi.Output[str] | None
    cache_member_clusters: pulumi.Output[list[str]] | None
    """The cache's node cluster ids, which its CloudWatch metrics are keyed by."""

    def __init__(
        self, name: str, args: AppFleetArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("multitier:app:AppFleet", name, None, opts)
        self._name = name
        self._args = args
        self._config = config = args.config
        self._child = pulumi.ResourceOptions(parent=self)

        alb_group, app_group = self._security_groups()
        self.security_group_id = app_group.id
        access_logs = self._access_log_bucket() if config.load_balancer.access_logs else None
        alb = aws.lb.LoadBalancer(
            name,
            load_balancer_type="application",
            internal=False,
            subnets=args.network.subnet_ids["public"],
            security_groups=[alb_group.id],
            ip_address_type="dualstack" if args.network.ipv6_cidr_block else "ipv4",
            drop_invalid_header_fields=True,
            enable_deletion_protection=config.load_balancer.deletion_protection,
            idle_timeout=config.load_balancer.idle_timeout_seconds,
            access_logs=aws.lb.LoadBalancerAccessLogsArgs(
                bucket=access_logs.bucket.bucket, prefix=name, enabled=True
            )
            if access_logs
            else None,
            # With deletion protection, Pulumi refuses too: `pulumi destroy` stops before it
            # deletes anything, instead of failing at the ALB after the hosts are gone.
            opts=pulumi.ResourceOptions(
                parent=self,
                # AWS refuses an internet-facing load balancer in a VPC whose internet gateway is
                # not attached yet, and access logs into a bucket it may not write to yet.
                depends_on=[
                    *args.network.internet_connectivity["public"],
                    *([access_logs.policy] if access_logs else []),
                ],
                protect=config.load_balancer.deletion_protection,
            ),
        )
        target_group = self._target_group()
        self._listeners(alb, target_group)

        cache = self._cache(app_group) if config.cache.enabled else None
        file_system_id = self._backups_file_system(app_group) if config.efs.enabled else None
        template = self._launch_template(app_group, cache, file_system_id)
        group = self._auto_scaling_group(template, target_group)
        self._scaling(group)

        scheme = "https" if config.certificate_arn else "http"
        self.url = pulumi.Output.concat(f"{scheme}://", alb.dns_name)
        self.alb_dns_name = alb.dns_name
        self.alb_arn_suffix = alb.arn_suffix
        self.target_group_arn = target_group.arn
        self.target_group_arn_suffix = target_group.arn_suffix
        self.asg_name = group.name
        self.cache_endpoint = cache.endpoint if cache else None
        self.cache_member_clusters = cache.member_clusters if cache else None
        self.register_outputs(
            {
                "url": self.url,
                "albDnsName": self.alb_dns_name,
                "targetGroupArn": self.target_group_arn,
                "asgName": self.asg_name,
                "securityGroupId": self.security_group_id,
                "cacheEndpoint": self.cache_endpoint,
            }
        )

    # Who may talk to whom

    def _security_groups(self) -> tuple[aws.ec2.SecurityGroup, aws.ec2.SecurityGroup]:
        name, config, network = self._name, self._config, self._args.network
        alb = ec2.security_group(
            f"{name}-alb",
            network.vpc_id,
            "alb",
            "ALB: HTTP and HTTPS from the internet",
            self._child,
        )
        app = ec2.security_group(
            f"{name}-hosts",
            network.vpc_id,
            "app",
            "App hosts: the app port from the ALB",
            self._child,
        )
        listener_ports = (80, 443) if config.certificate_arn else (80,)
        sources = [("cidr_ipv4", "0.0.0.0/0")]
        if network.ipv6_cidr_block is not None:
            sources.append(("cidr_ipv6", "::/0"))
        for port in listener_ports:
            for kind, cidr in sources:
                suffix = "-ipv6" if kind == "cidr_ipv6" else ""
                ec2.tcp_ingress(
                    f"{name}-alb-{port}{suffix}",
                    alb.id,
                    port,
                    f"Port {port} from the internet",
                    self._child,
                    **{kind: cidr},
                )
        ec2.tcp_egress(
            f"{name}-alb-to-hosts",
            alb.id,
            config.port,
            "Requests and health checks to the app",
            self._child,
            referenced_security_group_id=app.id,
        )
        ec2.tcp_ingress(
            f"{name}-hosts-from-alb",
            app.id,
            config.port,
            "App port from the ALB",
            self._child,
            referenced_security_group_id=alb.id,
        )
        if self._args.bastion_security_group_id is not None:
            ec2.tcp_ingress(
                f"{name}-hosts-ssh-from-bastion",
                app.id,
                22,
                "SSH from the bastion",
                self._child,
                referenced_security_group_id=self._args.bastion_security_group_id,
            )
        ec2.egress_anywhere(
            f"{name}-hosts-egress",
            app.id,
            "Image pulls, AWS APIs, database and cache",
            self._child,
        )
        return alb, app

    # Load balancing

    def _target_group(self) -> aws.lb.TargetGroup:
        config, check = self._config, self._config.health_check
        return aws.lb.TargetGroup(
            self._name,
            vpc_id=self._args.network.vpc_id,
            target_type="instance",
            port=config.port,
            protocol=config.protocol,
            deregistration_delay=config.deregistration_delay_seconds,
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                enabled=True,
                path=config.health_check_path,
                protocol=config.protocol,
                port="traffic-port",
                matcher=check.matcher,
                healthy_threshold=check.healthy_threshold,
                unhealthy_threshold=check.unhealthy_threshold,
                interval=check.interval_seconds,
                timeout=check.timeout_seconds,
            ),
            stickiness=aws.lb.TargetGroupStickinessArgs(
                type="lb_cookie",
                enabled=config.sticky_sessions,
                cookie_duration=config.stickiness_seconds,
            ),
            opts=self._child,
        )

    def _listeners(self, alb: aws.lb.LoadBalancer, target_group: aws.lb.TargetGroup) -> None:
        forward = aws.lb.ListenerDefaultActionArgs(
            type="forward", target_group_arn=target_group.arn
        )
        certificate = self._config.certificate_arn
        if not certificate:
            aws.lb.Listener(
                f"{self._name}-http",
                load_balancer_arn=alb.arn,
                port=80,
                protocol="HTTP",
                default_actions=[forward],
                opts=self._child,
            )
            return
        aws.lb.Listener(
            f"{self._name}-https",
            load_balancer_arn=alb.arn,
            port=443,
            protocol="HTTPS",
            ssl_policy=self._config.load_balancer.ssl_policy,
            certificate_arn=certificate,
            default_actions=[forward],
            opts=self._child,
        )
        aws.lb.Listener(
            f"{self._name}-http",
            load_balancer_arn=alb.arn,
            port=80,
            protocol="HTTP",
            default_actions=[
                aws.lb.ListenerDefaultActionArgs(
                    type="redirect",
                    redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                        protocol="HTTPS", port="443", status_code="HTTP_301"
                    ),
                )
            ],
            opts=self._child,
        )

    def _access_log_bucket(self) -> _AccessLogs:
        """A private bucket, SSE-S3 (the only encryption ALB log delivery supports), TLS only."""
        name = f"{self._name}-access-logs"
        bucket = aws.s3.Bucket(name, force_destroy=False, opts=self._child)
        aws.s3.BucketPublicAccessBlock(
            name,
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=self._child,
        )
        aws.s3.BucketOwnershipControls(
            name,
            bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=self._child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            name,
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="AES256"
                    )
                )
            ],
            opts=self._child,
        )
        aws.s3.BucketLifecycleConfiguration(
            name,
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-access-logs",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                        days=self._config.load_balancer.access_log_retention_days
                    ),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=7
                    ),
                )
            ],
            opts=self._child,
        )
        elb_account = aws.elb.get_service_account().arn
        policy = aws.s3.BucketPolicy(
            name,
            bucket=bucket.id,
            policy=bucket.arn.apply(lambda arn: json.dumps(_access_log_policy(arn, elb_account))),
            opts=self._child,
        )
        return _AccessLogs(bucket=bucket, policy=policy)

    # Hosts

    def _launch_template(
        self,
        group: aws.ec2.SecurityGroup,
        cache: _Cache | None,
        file_system_id: pulumi.Output[str] | None,
    ) -> aws.ec2.LaunchTemplate:
        config, database = self._config, self._args.database
        secrets = [held.secret_arn for held in (database, cache) if held is not None]
        role = self._instance_role(secrets, file_system_id)
        region = aws.get_region().region
        settings = pulumi.Output.all(
            database=database.endpoint if database else "",
            database_secret=database.secret_arn if database else "",
            cache=cache.endpoint if cache else "",
            cache_secret=cache.secret_arn if cache else "",
            file_system=file_system_id or "",
            agent_config=self._args.agent_config_parameter or "",
        )
        user_data = settings.apply(
            lambda s: cloud_init.render_base64(user_data_document(config, region, s))
        )
        return aws.ec2.LaunchTemplate(
            self._name,
            image_id=ec2.launch_template_image(config.ami, config.instance_type),
            instance_type=config.instance_type,
            iam_instance_profile=aws.ec2.LaunchTemplateIamInstanceProfileArgs(arn=role.profile.arn),
            vpc_security_group_ids=[group.id],
            # Host networking: the container reaches IMDS in one hop.
            metadata_options=ec2.imdsv2(hop_limit=1),
            block_device_mappings=[ec2.encrypted_root(config.root_volume_gb)],
            monitoring=aws.ec2.LaunchTemplateMonitoringArgs(enabled=True),
            user_data=user_data,
            update_default_version=True,
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(
                    resource_type="volume", tags={"Name": f"{self._name}-root"}
                )
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=role.ready),
        )

    def _instance_role(
        self, secret_arns: list[pulumi.Output[str]], file_system_id: pulumi.Output[str] | None
    ) -> iam.InstanceRole:
        managed = [iam.SSM_CORE, CLOUDWATCH_AGENT]
        if ".dkr.ecr." in self._config.release.image.split("/")[0]:
            managed.append(ECR_READ)
        role = iam.InstanceRole(f"{self._name}-hosts", self, managed)
        # Each entry: some statements of the hosts' policy, once the ARNs are known.
        statements: list[pulumi.Output[list[dict[str, Any]]]] = []
        if secret_arns:
            region = aws.get_region().region
            statements.append(
                pulumi.Output.all(*secret_arns).apply(
                    lambda arns: iam.read_secrets(region, list(arns))
                )
            )
        if file_system_id is not None:
            statements.append(
                file_system_id.apply(
                    lambda fs: [
                        {
                            "Sid": "MountBackups",
                            "Effect": "Allow",
                            "Action": [
                                "elasticfilesystem:ClientMount",
                                "elasticfilesystem:ClientWrite",
                            ],
                            "Resource": f"arn:aws:elasticfilesystem:*:*:file-system/{fs}",
                        }
                    ]
                )
            )
        if statements:
            role.allow(
                pulumi.Output.all(*statements).apply(
                    lambda groups: json.dumps(iam.policy(*(s for g in groups for s in g)))
                )
            )
        return role

    def _auto_scaling_group(
        self, template: aws.ec2.LaunchTemplate, target_group: aws.lb.TargetGroup
    ) -> aws.autoscaling.Group:
        config, refresh = self._config, self._config.instance_refresh
        return aws.autoscaling.Group(
            self._name,
            vpc_zone_identifiers=self._args.network.subnet_ids["private"],
            min_size=config.min_size,
            max_size=config.max_size,
            # Only when the group is created: afterwards scaling owns it (ignore_changes below).
            desired_capacity=config.desired_capacity
            if config.desired_capacity is not None
            else config.min_size,
            health_check_type="ELB",
            health_check_grace_period=config.health_check_grace_seconds,
            target_group_arns=[target_group.arn],
            # A numbered version, not $Latest: instance refresh can only roll back to a number.
            launch_template=aws.autoscaling.GroupLaunchTemplateArgs(
                id=template.id, version=template.latest_version.apply(str)
            ),
            instance_refresh=aws.autoscaling.GroupInstanceRefreshArgs(
                strategy="Rolling",
                preferences=aws.autoscaling.GroupInstanceRefreshPreferencesArgs(
                    min_healthy_percentage=refresh.min_healthy_percentage,
                    max_healthy_percentage=refresh.max_healthy_percentage,
                    instance_warmup=str(refresh.warmup_seconds),
                    # No automatic rollback: AWS cannot roll back to a template whose image is an
                    # SSM parameter, and the provider moves the group to the new template version
                    # before it starts the refresh, so a rollback would land on the new release
                    # again (terraform-provider-aws#34189).
                    auto_rollback=False,
                    skip_matching=True,
                ),
            ),
            default_instance_warmup=refresh.warmup_seconds,
            # Healthy targets to wait for on creation. `wait_for_elb_capacity` would make every
            # later update wait for exactly that many, which a scaled-out fleet never has.
            min_elb_capacity=config.min_size,
            enabled_metrics=[
                aws.autoscaling.Metric.GROUP_MIN_SIZE,
                aws.autoscaling.Metric.GROUP_MAX_SIZE,
                aws.autoscaling.Metric.GROUP_DESIRED_CAPACITY,
                aws.autoscaling.Metric.GROUP_IN_SERVICE_INSTANCES,
                aws.autoscaling.Metric.GROUP_TOTAL_INSTANCES,
            ],
            tags=[
                aws.autoscaling.GroupTagArgs(
                    key="Name", value=f"{self._name}-host", propagate_at_launch=True
                ),
                aws.autoscaling.GroupTagArgs(
                    key="Release", value=config.release.version, propagate_at_launch=True
                ),
            ],
            opts=pulumi.ResourceOptions(
                parent=self,
                ignore_changes=["desiredCapacity"],
                # First boot pulls the release through the private tier's egress.
                depends_on=self._args.network.internet_connectivity["private"],
            ),
        )

    def _scaling(self, group: aws.autoscaling.Group) -> None:
        scaling = self._config.scaling
        if scaling.policy == "target_tracking":
            aws.autoscaling.Policy(
                f"{self._name}-cpu",
                autoscaling_group_name=group.name,
                policy_type="TargetTrackingScaling",
                target_tracking_configuration=aws.autoscaling.PolicyTargetTrackingConfigurationArgs(
                    predefined_metric_specification=aws.autoscaling.PolicyTargetTrackingConfigurationPredefinedMetricSpecificationArgs(
                        predefined_metric_type="ASGAverageCPUUtilization"
                    ),
                    target_value=scaling.cpu_target,
                ),
                opts=self._child,
            )
            return
        # The seed's step alarms: +1 above scaleUpCpu for 2 minutes, -1 below scaleDownCpu.
        for direction, adjustment, threshold, operator in (
            ("up", 1, scaling.scale_up_cpu, "GreaterThanThreshold"),
            ("down", -1, scaling.scale_down_cpu, "LessThanThreshold"),
        ):
            policy = aws.autoscaling.Policy(
                f"{self._name}-scale-{direction}",
                autoscaling_group_name=group.name,
                policy_type="SimpleScaling",
                adjustment_type="ChangeInCapacity",
                scaling_adjustment=adjustment,
                cooldown=120,
                opts=self._child,
            )
            aws.cloudwatch.MetricAlarm(
                f"{self._name}-cpu-{direction}",
                alarm_description=f"Scale the app {direction}: average CPU {operator} {threshold}%",
                namespace="AWS/EC2",
                metric_name="CPUUtilization",
                dimensions={"AutoScalingGroupName": group.name},
                statistic="Average",
                period=60,
                evaluation_periods=2,
                comparison_operator=operator,
                threshold=threshold,
                treat_missing_data="notBreaching",
                alarm_actions=[policy.arn],
                opts=self._child,
            )

    # Optional state: cache and backups

    def _cache(self, app_group: aws.ec2.SecurityGroup) -> _Cache:
        """Redis with TLS and an AUTH token kept in Secrets Manager."""
        name, config = f"{self._name}-cache", self._config.cache
        group = ec2.security_group(
            name,
            self._args.network.vpc_id,
            "cache",
            "Redis: from the app hosts only",
            self._child,
        )
        ec2.tcp_ingress(
            f"{name}-from-hosts",
            group.id,
            REDIS_PORT,
            "Redis from the app hosts",
            self._child,
            referenced_security_group_id=app_group.id,
        )
        subnets = aws.elasticache.SubnetGroup(
            name,
            description="Data-tier subnets for the app cache",
            subnet_ids=self._args.network.subnet_ids["data"],
            opts=self._child,
        )
        token = random.RandomPassword(name, length=64, special=False, opts=self._child)
        secret = aws.secretsmanager.Secret(
            name,
            description="AUTH token of the app's Redis cache",
            kms_key_id=iam.kms_key(f"{name}-secret", "the cache's AUTH token", self._child).arn,
            opts=self._child,
        )
        version = aws.secretsmanager.SecretVersion(
            name, secret_id=secret.id, secret_string=token.result, opts=self._child
        )
        replicated = config.node_count > 1
        cache = aws.elasticache.ReplicationGroup(
            name,
            description="App state sync",
            engine="redis",
            engine_version=config.engine_version,
            node_type=config.node_type,
            num_cache_clusters=config.node_count,
            automatic_failover_enabled=replicated,
            multi_az_enabled=replicated,
            port=REDIS_PORT,
            subnet_group_name=subnets.name,
            security_group_ids=[group.id],
            at_rest_encryption_enabled=True,
            transit_encryption_enabled=True,
            auth_token=token.result,
            snapshot_retention_limit=1,
            auto_minor_version_upgrade=True,
            opts=self._child,
        )
        return _Cache(
            endpoint=cache.primary_endpoint_address,
            # Handed out once the secret has its value: hosts read it at first boot.
            secret_arn=pulumi.Output.all(secret.arn, version.id).apply(lambda v: v[0]),
            member_clusters=cache.member_clusters.apply(sorted),
        )

    def _backups_file_system(self, app_group: aws.ec2.SecurityGroup) -> pulumi.Output[str]:
        """Encrypted EFS with AWS Backup on, one mount target per AZ in the data tier."""
        name = f"{self._name}-backups"
        group = ec2.security_group(
            name,
            self._args.network.vpc_id,
            "app-efs",
            "App backups EFS: NFS from the app hosts only",
            self._child,
        )
        ec2.tcp_ingress(
            f"{name}-from-hosts",
            group.id,
            NFS_PORT,
            "NFS from the app hosts",
            self._child,
            referenced_security_group_id=app_group.id,
        )
        file_system = aws.efs.FileSystem(
            name,
            encrypted=True,
            throughput_mode="elastic",
            lifecycle_policies=[
                aws.efs.FileSystemLifecyclePolicyArgs(transition_to_ia="AFTER_30_DAYS")
            ],
            opts=self._child,
        )
        aws.efs.BackupPolicy(
            name,
            file_system_id=file_system.id,
            backup_policy=aws.efs.BackupPolicyBackupPolicyArgs(status="ENABLED"),
            opts=self._child,
        )
        targets = [
            aws.efs.MountTarget(
                f"{name}-{az}",
                file_system_id=file_system.id,
                subnet_id=subnet_id,
                security_groups=[group.id],
                opts=self._child,
            )
            for az, subnet_id in zip(
                self._args.network.availability_zones,
                self._args.network.subnet_ids["data"],
                strict=True,
            )
        ]
        # The id is handed out once the file system can be mounted in every zone: hosts mount
        # it at first boot.
        return pulumi.Output.all(file_system.id, *(t.id for t in targets)).apply(lambda v: v[0])


@dataclass(frozen=True)
class _AccessLogs:
    bucket: aws.s3.Bucket
    policy: aws.s3.BucketPolicy


def user_data_document(config: AppConfig, region: str, settings: dict[str, str]) -> dict[str, Any]:
    """The app hosts' `#cloud-config`: settings files, the host library, the boot script, and the
    release's units (the image pull, then the container).

    `settings` holds the resolved endpoints and ARNs (empty strings for what does not exist).
    Only addresses and ARNs reach the host; the app reads secret values from Secrets Manager.
    """
    boot = {
        "REGION": region,
        "IMAGE": config.release.image,
        "RELEASE_VERSION": config.release.version,
        "BACKUP_DIR": config.efs.mount_path,
        "EFS_ID": settings["file_system"],
        "AGENT_CONFIG_PARAMETER": settings["agent_config"],
    }
    app_env = {
        **config.release.env,
        "PORT": config.port,
        "AWS_REGION": region,
        "RELEASE_VERSION": config.release.version,
        "DB_HOST": settings["database"],
        "DB_PORT": 5432 if settings["database"] else "",
        "DB_SECRET_ARN": settings["database_secret"],
        "CACHE_HOST": settings["cache"],
        "CACHE_PORT": REDIS_PORT if settings["cache"] else "",
        "CACHE_TLS": "true" if settings["cache"] else "",
        "CACHE_AUTH_SECRET_ARN": settings["cache_secret"],
        "BACKUP_DIR": config.efs.mount_path,
    }
    return {
        "write_files": [
            cloud_init.library(),
            {
                "path": "/etc/multitier/boot.env",
                "permissions": "0644",
                "content": cloud_init.env_file(boot),
            },
            {
                "path": "/etc/multitier/app.env",
                "permissions": "0644",
                "content": _docker_env(app_env),
            },
            {
                "path": "/etc/systemd/system/multitier-app-pull.service",
                "permissions": "0644",
                "content": cloud_init.script("multitier-app-pull.service"),
            },
            {
                "path": "/etc/systemd/system/multitier-app.service",
                "permissions": "0644",
                "content": cloud_init.script("multitier-app.service"),
            },
            {
                "path": "/usr/local/sbin/multitier-app-pull",
                "permissions": "0755",
                "content": cloud_init.script("app_pull.sh"),
            },
            {
                "path": "/usr/local/sbin/multitier-app-boot",
                "permissions": "0755",
                "content": cloud_init.script("app_boot.sh"),
            },
        ],
        "runcmd": [["/usr/local/sbin/multitier-app-boot"]],
    }


def _docker_env(values: dict[str, Any]) -> str:
    """`docker run --env-file` syntax: KEY=value, unquoted, one per line; empty values dropped."""
    return "".join(f"{key}={value}\n" for key, value in values.items() if value != "")


def _access_log_policy(bucket_arn: str, elb_account_arn: str) -> dict[str, Any]:
    return iam.policy(
        {
            "Sid": "AlbLogDelivery",
            "Effect": "Allow",
            "Principal": {"AWS": elb_account_arn},
            "Action": "s3:PutObject",
            "Resource": f"{bucket_arn}/*",
        },
        {
            "Sid": "TlsOnly",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn, f"{bucket_arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    )
