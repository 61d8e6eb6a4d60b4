"""AppFleet: the internet-facing ALB and the auto-scaled app hosts behind it, with the optional
Redis cache (components/app/cache.py), backups file system (components/shared/file_system.py)
and access-log bucket (components/app/access_logs.py).

- Security groups are declared bare and every rule is a separate resource: the ALB and app groups
  reference each other, and separate rules are what keeps that from being a cycle. Each rule
  between two groups comes with its matching egress rule (`ec2.allow_tcp`); the hosts may also
  open HTTPS anywhere (image pulls, AWS APIs, the release's own calls), and nothing else.
- With a certificate, the ALB serves HTTPS with a TLS 1.2/1.3-only policy and redirects HTTP;
  without one it serves HTTP only.
- The release runs as a container with host networking, so IMDSv2 keeps a hop limit of 1.
- The hosts' Auto Scaling group, its release rollout and its scaling: components/app/scaling.py.
- The instance role reads this stack's database and cache secrets and nothing else.
- The database is the caller's: the hosts are told its address, port and secret; the rules that
  let them reach it are declared where both groups are known (the `Access` component).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.app import access_logs, cache, refresh, scaling
from components.app import host as app_host
from components.app.access_logs import AccessLogArgs
from components.app.cache import REDIS_PORT, Cache, CacheArgs
from components.app.scaling import ScalingArgs
from components.config import AppConfig
from components.shared import cloud_init, ec2, file_system
from components.shared.contracts import (
    AppMonitoring,
    DatabaseConnection,
    DataSources,
    NetworkRef,
)
from components.shared.file_system import SharedFileSystemArgs


@dataclass(frozen=True)
class AppFleetArgs:
    config: AppConfig
    """`multitier:app`: the release, the hosts, the load balancer, the cache and the backups."""
    network: NetworkRef
    """The load balancer goes in the public tier, the hosts in the private tier, the cache and
    the backups' mount targets in the data tier."""
    database: DatabaseConnection | None = None
    """The database the hosts are told about (address, port, secret); None: no database."""
    bastion_security_group_id: pulumi.Input[str] | None = None
    """Admit SSH to the hosts from this group."""
    agent_config_parameter: pulumi.Input[str] | None = None
    """Name of the SSM parameter holding the CloudWatch agent config (`AmazonCloudWatch-…`)."""
    stack_label: str = "multitier"
    """Names the cache's rotation log group, `/multitier/<label>/cache-rotation`, and the alarms
    that stop an instance refresh, `<label>-app-refresh-…`: one label per stack of an account."""
    log_retention_days: int = 30
    """The cache's rotation function's log."""
    log_kms_key_arn: pulumi.Input[str] | None = None
    """The key its log group is encrypted with."""
    errors_per_minute: int = 10
    """Target 5xx responses a minute that stop an instance refresh (`instanceRefresh.alarms`)."""
    alert_topic_arn: pulumi.Input[str] | None = None
    """Where the refresh's guard alarms send ALARM and OK."""


class AppFleet(pulumi.ComponentResource):
    """The web tier: ALB, target group, launch template, Auto Scaling group, cache and backups."""

    url: pulumi.Output[str]
    """`http(s)://` and the ALB's DNS name."""
    alb_dns_name: pulumi.Output[str]
    """Point the app's DNS record here (an alias record)."""
    target_group_arn: pulumi.Output[str]
    """The hosts' target group."""
    asg_name: pulumi.Output[str]
    """The hosts' Auto Scaling group (instance refreshes, scaling)."""
    security_group_id: pulumi.Output[str]
    """The hosts' group: admit them elsewhere by referencing it."""
    cache_endpoint: pulumi.Output[str] | None
    """The cache's primary endpoint (TLS, AUTH); None: no cache."""
    monitoring: AppMonitoring
    """What the alarms and the dashboard watch of this tier."""
    data: DataSources
    """Where the tier keeps data: the backups file system, when there is one."""

    def __init__(
        self, name: str, args: AppFleetArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("multitier:app:AppFleet", name, None, opts)
        self._name = name
        self._args = args
        self._config = config = args.config
        self._child = pulumi.ResourceOptions(parent=self)
        network = args.network

        alb_group, app_group, boot_rules = self._security_groups()
        self.security_group_id = app_group.id
        logs = (
            access_logs.build(
                f"{name}-access-logs",
                AccessLogArgs(config.load_balancer.access_log_retention_days),
                self._child,
            )
            if config.load_balancer.access_logs
            else None
        )
        alb = aws.lb.LoadBalancer(
            name,
            load_balancer_type="application",
            internal=False,
            subnets=network.subnet_ids("public"),
            security_groups=[alb_group.id],
            ip_address_type="dualstack" if network.ipv6_cidr_block else "ipv4",
            drop_invalid_header_fields=True,
            enable_deletion_protection=config.load_balancer.deletion_protection,
            idle_timeout=config.load_balancer.idle_timeout_seconds,
            access_logs=aws.lb.LoadBalancerAccessLogsArgs(
                bucket=logs.bucket.bucket, prefix=name, enabled=True
            )
            if logs
            else None,
            # With deletion protection, Pulumi refuses too: `pulumi destroy` stops before it
            # deletes anything, instead of failing at the ALB after the hosts are gone.
            opts=pulumi.ResourceOptions(
                parent=self,
                # AWS refuses an internet-facing load balancer in a VPC whose internet gateway is
                # not attached yet, and access logs into a bucket it may not write to yet.
                depends_on=[
                    *network.internet_connectivity.get("public", []),
                    *([logs.policy] if logs else []),
                ],
                protect=config.load_balancer.deletion_protection,
            ),
        )
        target_group = self._target_group()
        self._listeners(alb, target_group)

        redis = (
            cache.build(
                f"{name}-cache",
                CacheArgs(
                    config.cache,
                    network.vpc_id,
                    network.subnet_ids("data"),
                    app_group.id,
                    log_group_name=f"/multitier/{args.stack_label}/cache-rotation",
                    log_retention_days=args.log_retention_days,
                    log_kms_key_arn=args.log_kms_key_arn,
                ),
                self._child,
            )
            if config.cache.enabled
            else None
        )
        backups = (
            file_system.build(
                f"{name}-backups",
                SharedFileSystemArgs(
                    vpc_id=network.vpc_id,
                    subnets=network.tier("data"),
                    clients_group_id=app_group.id,
                    tier="app-efs",
                    description="App backups EFS: NFS from the app hosts only",
                    clients="the app hosts",
                    clients_label="hosts",
                    purpose="the backups file system",
                    infrequent_access_after="AFTER_30_DAYS",
                ),
                self._child,
            )
            if config.efs.enabled
            else None
        )
        file_system_id = backups.mountable_id if backups else None
        template = self._launch_template(app_group, redis, file_system_id)
        guard = (
            refresh.guard_alarms(
                name,
                refresh.GuardArgs(
                    stack_label=args.stack_label,
                    alb_arn_suffix=alb.arn_suffix,
                    target_group_arn_suffix=target_group.arn_suffix,
                    errors_per_minute=args.errors_per_minute,
                    topic_arn=args.alert_topic_arn,
                ),
                self._child,
            )
            if config.instance_refresh.alarms
            else []
        )
        group = scaling.build(
            name,
            ScalingArgs(
                config=config,
                subnet_ids=network.subnet_ids("private"),
                template=template,
                target_group=target_group,
                # First boot pulls the release through the private tier's egress, which the
                # hosts' group must let out; the ALB's first health check must reach them.
                # The app's database login works once the roles' bootstrap has run.
                first_boot=[
                    *network.internet_connectivity.get("private", []),
                    *boot_rules,
                    *(args.database.ready if args.database else []),
                ],
                guard=guard,
            ),
            self._child,
        ).group

        scheme = "https" if config.certificate_arn else "http"
        self.url = pulumi.Output.concat(f"{scheme}://", alb.dns_name)
        self.alb_dns_name = alb.dns_name
        self.target_group_arn = target_group.arn
        self.asg_name = group.name
        self.cache_endpoint = redis.endpoint if redis else None
        self.data = DataSources(
            file_system_arns=[backups.file_system.arn] if backups else [],
        )
        self.monitoring = AppMonitoring(
            alb_arn_suffix=alb.arn_suffix,
            target_group_arn_suffix=target_group.arn_suffix,
            group_name=group.name,
            min_size=config.min_size,
            cache_member_clusters=redis.member_clusters if redis else None,
            cache_node_count=config.cache.node_count,
            cache_rotation_function_name=redis.rotation_function_name if redis else None,
        )
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

    def _security_groups(
        self,
    ) -> tuple[aws.ec2.SecurityGroup, aws.ec2.SecurityGroup, list[pulumi.Resource]]:
        """The ALB's group, the hosts' group, and the rules a host's first boot and first health
        check need: HTTPS out, and the app port from the ALB."""
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
        from_alb = ec2.allow_tcp(
            f"{name}-hosts-from-alb",
            egress_name=f"{name}-alb-to-hosts",
            port=config.port,
            client_group_id=alb.id,
            server_group_id=app.id,
            ingress_description="App port from the ALB",
            egress_description="Requests and health checks to the app",
            opts=self._child,
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
        https = ec2.https_to_internet(
            f"{name}-hosts-https",
            app.id,
            "HTTPS: image pulls, AWS APIs and calls the release makes",
            self._child,
            ipv6=network.ipv6_cidr_block is not None,
        )
        return alb, app, [*from_alb, *https]

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

    # Hosts

    def _launch_template(
        self,
        group: aws.ec2.SecurityGroup,
        cache: Cache | None,
        file_system_id: pulumi.Output[str] | None,
    ) -> aws.ec2.LaunchTemplate:
        config, database = self._config, self._args.database
        secrets = [held.secret_arn for held in (database, cache) if held is not None]
        role = app_host.host_role(
            f"{self._name}-hosts",
            self._child,
            config,
            [pulumi.Output.from_input(arn) for arn in secrets],
            file_system_id,
        )
        region = aws.get_region().region
        settings = pulumi.Output.all(
            database=database.host if database else "",
            database_port=str(database.port) if database else "",
            database_secret=database.secret_arn if database else "",
            cache=cache.endpoint if cache else "",
            cache_port=str(REDIS_PORT) if cache else "",
            cache_secret=cache.secret_arn if cache else "",
            file_system=file_system_id or "",
            agent_config=self._args.agent_config_parameter or "",
        )
        user_data = settings.apply(
            lambda values: cloud_init.render_base64(
                app_host.user_data_document(config, region, app_host.HostSettings(**values))
            )
        )
        return ec2.launch_template(
            self._name,
            image=config.image,
            instance_type=config.instance_type,
            role=role,
            user_data=user_data,
            security_group_ids=[group.id],
            root_volume_gb=config.root_volume_gb,
            volume_tags={"Name": f"{self._name}-root"},
            opts=self._child,
        )
