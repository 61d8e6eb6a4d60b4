"""PostgresHA: PostgreSQL for the app, as managed RDS or as the seed's self-hosted VIP cluster.

Both modes expose the same `DatabaseEndpoint` (host, port, secret ARN, security group), so the
app tier does not know which one serves it.

- `managed`: RDS with the master password managed by RDS in Secrets Manager, TLS forced by the
  parameter group, encrypted autoscaled gp3, backups, Performance Insights, enhanced monitoring and
  log exports into log groups declared first (so they get a retention), never publicly accessible.
- `vip`: nodes in an Auto Scaling group share an encrypted EFS data directory; clients reach a
  virtual IP outside the VPC through a /32 route that the failover Lambda points at the primary.
  Pulumi never declares that route (it would delete the Lambda's route on the next update); it
  tags the route tables the Lambda manages instead. Only the primary runs PostgreSQL: the Lambda
  fences (stops) an old primary before it promotes another, and each node's agent starts
  PostgreSQL only while its role tag says primary and the shared lease is free.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components import cloud_init, ec2, iam, naming
from components.config import DatabaseConfig
from components.contracts import DatabaseEndpoint
from components.network import VpcNetwork
from functions.db_failover import lease as failover_lease

PORT = 5432
NFS_PORT = 2049
CLUSTER_TAG = "multitier:db-cluster"
ROLE_TAG = "multitier:db-role"
ROUTES_TAG = "multitier:db-vip-routes"
FAILOVER_CODE = Path(__file__).resolve().parent.parent / "functions" / "db_failover"
LAMBDA_RUNTIME = "python3.13"
ENHANCED_MONITORING = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
CLOUDWATCH_AGENT = "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy"
_SHARED_DIR = "/var/lib/multitier-pg"
RDS_LOG_EXPORTS = ["postgresql", "upgrade"]
# RDS identifiers are at most 63 characters: prefix, `-`, 8 hex digits, and `-replica-N`.
IDENTIFIER_PREFIX_LENGTH = 44


def cluster_name(project: str, stack: str) -> str:
    """A name valid as an RDS identifier and a tag value."""
    return naming.label(project, stack, "db")


@dataclass(frozen=True)
class PostgresHAArgs:
    config: DatabaseConfig
    network: VpcNetwork
    cluster_name: str
    bastion_security_group_id: pulumi.Input[str] | None = None
    log_retention_days: int = 30
    log_kms_key_arn: pulumi.Input[str] | None = None


class PostgresHA(pulumi.ComponentResource):
    """The database tier, in either mode, behind one interface."""

    endpoint: pulumi.Output[str]
    port: int
    secret_arn: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    reader_endpoint: pulumi.Output[str] | None
    # What monitoring needs, per mode (None where the mode has no such thing).
    instance_identifiers: list[pulumi.Output[str]]
    failover_function_name: pulumi.Output[str] | None
    node_group_name: pulumi.Output[str] | None
    file_system_id: pulumi.Output[str] | None
    _mount_targets: list[aws.efs.MountTarget]

    def __init__(
        self, name: str, args: PostgresHAArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("multitier:database:PostgresHA", name, None, opts)
        self._name = name
        self._args = args
        self._config = args.config
        self._child = pulumi.ResourceOptions(parent=self)
        self.port = PORT
        self.reader_endpoint = None
        self.instance_identifiers = []
        self.failover_function_name = None
        self.node_group_name = None
        self.file_system_id = None

        self._group = ec2.security_group(
            name,
            args.network.vpc_id,
            "database",
            "PostgreSQL: from the app tier only",
            self._child,
        )
        self.security_group_id = self._group.id
        self._secrets_key = iam.kms_key(
            f"{name}-secrets", "the database's master credentials", self._child
        )
        if self._config.mode == "managed":
            self._managed()
        else:
            self._vip()
        self.register_outputs(
            {
                "endpoint": self.endpoint,
                "port": self.port,
                "secretArn": self.secret_arn,
                "securityGroupId": self.security_group_id,
            }
        )

    def admit(self, label: str, security_group_id: pulumi.Input[str]) -> None:
        """Let members of another security group (the app's) connect on 5432."""
        ec2.tcp_ingress(
            f"{self._name}-from-{label}",
            self._group.id,
            PORT,
            f"PostgreSQL from {label}",
            self._child,
            referenced_security_group_id=security_group_id,
        )

    @property
    def connection(self) -> DatabaseEndpoint:
        return DatabaseEndpoint(
            endpoint=self.endpoint,
            port=self.port,
            secret_arn=self.secret_arn,
            security_group_id=self.security_group_id,
        )

    # managed: RDS

    def _managed(self) -> None:
        name, config = self._name, self._config
        identifier = self._identifier()
        subnets = aws.rds.SubnetGroup(
            name,
            subnet_ids=self._args.network.subnet_ids["data"],
            description="Data-tier subnets",
            opts=self._child,
        )
        parameters = aws.rds.ParameterGroup(
            name,
            family=f"postgres{config.major_version}",
            description="TLS only; slow queries, connections and lock waits logged",
            parameters=[
                aws.rds.ParameterGroupParameterArgs(name=key, value=value)
                for key, value in {
                    "rds.force_ssl": "1",
                    "log_min_duration_statement": "1000",
                    "log_connections": "1",
                    "log_disconnections": "1",
                    "log_lock_waits": "1",
                }.items()
            ],
            opts=self._child,
        )
        monitoring_role = None
        if config.monitoring_interval_seconds:
            monitoring_role = iam.Role(
                f"{name}-monitoring", "monitoring.rds.amazonaws.com", self._child
            )
            monitoring_role.grants.append(
                aws.iam.RolePolicyAttachment(
                    f"{name}-monitoring",
                    role=monitoring_role.role.name,
                    policy_arn=ENHANCED_MONITORING,
                    opts=self._child,
                )
            )
        # RDS refuses a monitoring role whose policy is not attached yet
        # (InvalidParameterValue: IAM role ARN value is invalid or does not include the
        # required permissions for: ENHANCED_MONITORING).
        monitoring_ready = monitoring_role.ready if monitoring_role else []
        password = self._master_password()
        common: dict[str, Any] = {
            "instance_class": config.instance_class,
            "vpc_security_group_ids": [self._group.id],
            "parameter_group_name": parameters.name,
            "publicly_accessible": False,
            "storage_encrypted": True,
            "auto_minor_version_upgrade": True,
            "copy_tags_to_snapshot": True,
            "performance_insights_enabled": config.performance_insights,
            "performance_insights_retention_period": 7 if config.performance_insights else None,
            "monitoring_interval": config.monitoring_interval_seconds,
            "monitoring_role_arn": monitoring_role.arn if monitoring_role else None,
            "ca_cert_identifier": "rds-ca-rsa2048-g1",
            "enabled_cloudwatch_logs_exports": RDS_LOG_EXPORTS,
            # Else RDS changes wait for the maintenance window; a major upgrade must not (the old
            # parameter group cannot be deleted while the instance still uses it).
            "apply_immediately": config.apply_immediately,
            # Per instance: a replica whose source grows must be able to grow too.
            "max_allocated_storage": config.max_allocated_storage_gb,
        }
        primary = aws.rds.Instance(
            name,
            identifier=identifier,
            engine="postgres",
            # A bare major (the default) lets RDS pick the minor and auto_minor_version_upgrade
            # move it; a changed major is an upgrade RDS applies only when allowed to.
            engine_version=config.engine_version,
            allow_major_version_upgrade=True,
            db_name=config.database_name,
            username=config.username,
            # A generated password, not manage_master_user_password: RDS refuses read replicas
            # and blue/green deployments of an instance whose password it manages.
            password=password.result,
            db_subnet_group_name=subnets.name,
            multi_az=config.multi_az,
            storage_type="gp3",
            allocated_storage=config.allocated_storage_gb,
            backup_retention_period=config.backup_retention_days,
            backup_window=config.backup_window,
            maintenance_window=config.maintenance_window,
            deletion_protection=config.deletion_protection,
            skip_final_snapshot=not config.final_snapshot,
            # Unique per instance: the identifier changes whenever the instance is replaced.
            final_snapshot_identifier=identifier.apply(lambda i: f"{i}-final")
            if config.final_snapshot
            else None,
            **common,
            # As for the ALB: `pulumi destroy` refuses before deleting anything else.
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[*self._rds_log_groups(name, identifier), *monitoring_ready],
                protect=config.deletion_protection,
            ),
        )
        replicas = []
        for index in range(1, config.read_replicas + 1):
            replica_identifier = primary.identifier.apply(_suffixed(f"-replica-{index}"))
            replicas.append(
                aws.rds.Instance(
                    f"{name}-replica-{index}",
                    identifier=replica_identifier,
                    replicate_source_db=primary.identifier,
                    skip_final_snapshot=True,
                    **common,
                    opts=pulumi.ResourceOptions(
                        parent=self,
                        depends_on=[
                            *self._rds_log_groups(f"{name}-replica-{index}", replica_identifier),
                            *monitoring_ready,
                        ],
                        # A new primary (a replacing change) needs new replicas of it.
                        replace_on_changes=["replicateSourceDb"],
                    ),
                )
            )
        self.endpoint = primary.address
        self.secret_arn = self._master_secret(primary.address, password)
        self.instance_identifiers = [primary.identifier, *(r.identifier for r in replicas)]
        # RDS instances have no load-balanced reader endpoint; the first replica serves reads.
        self.reader_endpoint = replicas[0].address if replicas else None

    def _identifier(self) -> pulumi.Output[str]:
        """`<cluster>-<8 hex>`: explicit, so a restore can name it, with a suffix that changes
        exactly when the instance must be replaced, so the new instance never collides with the
        old one (DBInstanceAlreadyExists) and neither do their final snapshots."""
        config = self._config
        suffix = random.RandomId(
            f"{self._name}-identifier",
            byte_length=4,
            # The inputs of ours that make RDS replace the instance (ForceNew in the provider).
            keepers={"dbName": config.database_name, "username": config.username},
            opts=self._child,
        )
        prefix = naming.label(self._args.cluster_name, limit=IDENTIFIER_PREFIX_LENGTH)
        return pulumi.Output.concat(prefix, "-", suffix.hex)

    def _rds_log_groups(
        self, label: str, identifier: pulumi.Output[str]
    ) -> list[aws.cloudwatch.LogGroup]:
        """The groups RDS exports an instance's logs to, declared first so they get a retention
        and the log key; their names follow the instance's identifier."""
        return [
            aws.cloudwatch.LogGroup(
                f"{label}-{kind}",
                name=identifier.apply(_log_group_name(kind)),
                retention_in_days=self._args.log_retention_days,
                kms_key_id=self._args.log_kms_key_arn,
                opts=self._child,
            )
            for kind in RDS_LOG_EXPORTS
        ]

    # vip: the self-hosted cluster

    def _vip(self) -> None:
        name, config = self._name, self._config
        network, cluster = self._args.network, self._args.cluster_name
        vip = str(config.vip.address)

        if self._args.bastion_security_group_id is not None:
            ec2.tcp_ingress(
                f"{name}-ssh-from-bastion",
                self._group.id,
                22,
                "SSH from the bastion",
                self._child,
                referenced_security_group_id=self._args.bastion_security_group_id,
            )
        ec2.egress_anywhere(
            f"{name}-egress", self._group.id, "Packages, AWS APIs and the EFS mount", self._child
        )
        file_system = self._data_volume()
        secret_arn = self._master_secret(vip, self._master_password())
        role = iam.InstanceRole(f"{name}-nodes", self, [iam.SSM_CORE, CLOUDWATCH_AGENT])
        region = aws.get_region().region
        role.allow(
            pulumi.Output.all(secret_arn, file_system.arn).apply(
                lambda arns: json.dumps(_node_policy(region, arns[0], arns[1]))
            )
        )
        app_cidrs = " ".join(str(s.cidr) for s in network.subnets if s.tier == "private")
        settings = {
            "REGION": region,
            "CLUSTER": cluster,
            "VIP": vip,
            "PG_MAJOR": config.major_version,
            "DB_NAME": config.database_name,
            "DB_USER": config.username,
            "APP_CIDRS": app_cidrs,
            "SHARED_DIR": _SHARED_DIR,
            "PGDATA": f"{_SHARED_DIR}/data",
        }
        user_data = pulumi.Output.all(file_system.id, secret_arn).apply(
            lambda ids: cloud_init.render_base64(
                node_user_data({**settings, "EFS_ID": ids[0], "SECRET_ARN": ids[1]})
            )
        )
        template = aws.ec2.LaunchTemplate(
            f"{name}-node",
            image_id=ec2.launch_template_image(config.vip.ami, config.vip.instance_type),
            instance_type=config.vip.instance_type,
            iam_instance_profile=aws.ec2.LaunchTemplateIamInstanceProfileArgs(arn=role.profile.arn),
            vpc_security_group_ids=[self._group.id],
            # The agent reads the node's role tag from instance metadata.
            metadata_options=ec2.imdsv2(hop_limit=1),
            block_device_mappings=[ec2.encrypted_root()],
            monitoring=aws.ec2.LaunchTemplateMonitoringArgs(enabled=True),
            user_data=user_data,
            update_default_version=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=role.ready),
        )
        # No instance refresh: database nodes are replaced deliberately, one at a time.
        nodes = aws.autoscaling.Group(
            f"{name}-nodes",
            vpc_zone_identifiers=network.subnet_ids["data"],
            min_size=config.vip.node_count,
            max_size=config.vip.node_count,
            desired_capacity=config.vip.node_count,
            health_check_type="EC2",
            health_check_grace_period=300,
            launch_template=aws.autoscaling.GroupLaunchTemplateArgs(
                id=template.id, version=template.latest_version.apply(str)
            ),
            tags=[
                aws.autoscaling.GroupTagArgs(key=key, value=value, propagate_at_launch=True)
                for key, value in {
                    "Name": f"{cluster}-node",
                    CLUSTER_TAG: cluster,
                    ROLE_TAG: "standby",
                }.items()
            ],
            # A node's first boot installs packages, reads the secret and mounts the data volume.
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[*network.internet_connectivity["data"], *self._mount_targets],
            ),
        )
        function = self._failover_function(vip, nodes)

        self.endpoint = pulumi.Output.from_input(vip)
        self.secret_arn = secret_arn
        self.failover_function_name = function.name
        self.node_group_name = nodes.name
        self.file_system_id = file_system.id

    def _data_volume(self) -> aws.efs.FileSystem:
        """Encrypted EFS for the data directory, reachable from the nodes only, backed up."""
        name = f"{self._name}-data"
        group = ec2.security_group(
            name,
            self._args.network.vpc_id,
            "database-efs",
            "PostgreSQL data EFS: NFS from the database nodes only",
            self._child,
        )
        ec2.tcp_ingress(
            f"{name}-from-nodes",
            group.id,
            NFS_PORT,
            "NFS from the database nodes",
            self._child,
            referenced_security_group_id=self._group.id,
        )
        file_system = aws.efs.FileSystem(
            name,
            encrypted=True,
            performance_mode="generalPurpose",
            throughput_mode="elastic",
            opts=self._child,
        )
        aws.efs.BackupPolicy(
            name,
            file_system_id=file_system.id,
            backup_policy=aws.efs.BackupPolicyBackupPolicyArgs(status="ENABLED"),
            opts=self._child,
        )
        network = self._args.network
        self._mount_targets = [
            aws.efs.MountTarget(
                f"{name}-{az}",
                file_system_id=file_system.id,
                subnet_id=subnet_id,
                security_groups=[group.id],
                opts=self._child,
            )
            for az, subnet_id in zip(
                network.availability_zones, network.subnet_ids["data"], strict=True
            )
        ]
        return file_system

    def _master_password(self) -> random.RandomPassword:
        """The master password, generated once and kept in Pulumi's encrypted state. RDS allows
        any printable ASCII but `/`, `"`, `@` and space; these specials suit URLs and shells."""
        return random.RandomPassword(
            f"{self._name}-master",
            length=32,
            special=True,
            override_special="-_=+.",
            opts=self._child,
        )

    def _master_secret(
        self, host: pulumi.Input[str], password: random.RandomPassword
    ) -> pulumi.Output[str]:
        """The master credentials in Secrets Manager, encrypted with the database's own key.

        Returns the secret's ARN, resolved only once the secret has its value: hosts that read it
        at first boot (nodes, app hosts) wait for the version, not only the secret."""
        name, config = f"{self._name}-master", self._config
        secret = aws.secretsmanager.Secret(
            name,
            description="Master credentials of the app's PostgreSQL",
            kms_key_id=self._secrets_key.arn,
            opts=self._child,
        )
        version = aws.secretsmanager.SecretVersion(
            name,
            secret_id=secret.id,
            secret_string=pulumi.Output.json_dumps(
                {
                    "engine": "postgres",
                    "host": host,
                    "port": PORT,
                    "dbname": config.database_name,
                    "username": config.username,
                    "password": password.result,
                }
            ),
            opts=self._child,
        )
        return pulumi.Output.all(secret.arn, version.id).apply(lambda values: values[0])

    def _failover_function(self, vip: str, nodes: aws.autoscaling.Group) -> aws.lambda_.Function:
        name, cluster = f"{self._name}-failover", self._args.cluster_name
        log_group = aws.cloudwatch.LogGroup(
            name,
            name=f"/multitier/{cluster}/failover",
            retention_in_days=self._args.log_retention_days,
            kms_key_id=self._args.log_kms_key_arn,
            opts=self._child,
        )
        # One run at a time through a lease in this table, not reserved concurrency (which
        # fails on accounts whose quota leaves less than 100 unreserved): see lease.py.
        lease_table = aws.dynamodb.Table(
            f"{name}-lease",
            attributes=[aws.dynamodb.TableAttributeArgs(name=failover_lease.KEY, type="S")],
            hash_key=failover_lease.KEY,
            billing_mode="PAY_PER_REQUEST",
            opts=self._child,
        )
        role = iam.service_role(
            name,
            "lambda.amazonaws.com",
            pulumi.Output.all(log_group.arn, lease_table.arn).apply(
                lambda arns: json.dumps(failover_policy(cluster, arns[0], arns[1]))
            ),
            self._child,
        )
        function = aws.lambda_.Function(
            name,
            description=f"Moves the VIP {vip} of {cluster} to a healthy primary, fencing first",
            runtime=LAMBDA_RUNTIME,
            # Deployed as the package it is, so its modules import each other as in the tests.
            handler=f"{FAILOVER_CODE.name}.handler.handler",
            code=pulumi.AssetArchive(
                {
                    f"{FAILOVER_CODE.name}/{path.name}": pulumi.FileAsset(str(path))
                    for path in sorted(FAILOVER_CODE.glob("*.py"))
                }
            ),
            role=role.arn,
            timeout=300,
            memory_size=256,
            reserved_concurrent_executions=1 if self._config.vip.reserve_concurrency else None,
            environment=aws.lambda_.FunctionEnvironmentArgs(
                variables={
                    "CLUSTER_NAME": cluster,
                    "VIP_ADDRESS": vip,
                    "LEASE_TABLE": lease_table.name,
                }
            ),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(
                log_format="Text", log_group=log_group.name
            ),
            # Its first run must be allowed to read EC2 and write its log.
            opts=pulumi.ResourceOptions(parent=self, depends_on=role.ready),
        )
        triggers: dict[str, dict[str, Any]] = {
            "state-change": {
                "event_pattern": json.dumps(
                    {
                        "source": ["aws.ec2"],
                        "detail-type": ["EC2 Instance State-change Notification"],
                        "detail": {"state": ["stopping", "stopped", "shutting-down", "terminated"]},
                    }
                )
            },
            "node-launched": {
                "event_pattern": nodes.name.apply(
                    lambda group: json.dumps(
                        {
                            "source": ["aws.autoscaling"],
                            "detail-type": ["EC2 Instance Launch Successful"],
                            "detail": {"AutoScalingGroupName": [group]},
                        }
                    )
                )
            },
            "schedule": {
                "schedule_expression": _rate(self._config.vip.check_every_minutes),
            },
        }
        for label, rule_args in triggers.items():
            rule = aws.cloudwatch.EventRule(
                f"{name}-{label}",
                description=f"Run the {cluster} failover check: {label}",
                **rule_args,
                # Not before the nodes are in service: with none, every run would fail and page.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[nodes]),
            )
            aws.cloudwatch.EventTarget(
                f"{name}-{label}", rule=rule.name, arn=function.arn, opts=self._child
            )
            aws.lambda_.Permission(
                f"{name}-{label}",
                action="lambda:InvokeFunction",
                function=function.name,
                principal="events.amazonaws.com",
                source_arn=rule.arn,
                opts=self._child,
            )
        return function


def _suffixed(suffix: str) -> Callable[[str], str]:
    return lambda value: value + suffix


def _log_group_name(kind: str) -> Callable[[str], str]:
    """The log group RDS exports an instance's `kind` log to."""
    return lambda identifier: f"/aws/rds/instance/{identifier}/{kind}"


def _rate(minutes: int) -> str:
    return f"rate({minutes} minute{'s' if minutes > 1 else ''})"


def node_user_data(settings: dict[str, str]) -> dict[str, Any]:
    """A database node's `#cloud-config`: settings, scripts, agent and units, then boot."""
    files = [
        ("/etc/multitier/pg.env", "0644", cloud_init.env_file(settings)),
        ("/usr/local/sbin/multitier-pg-boot", "0755", cloud_init.script("pg_node_boot.sh")),
        ("/usr/local/sbin/multitier-pg", "0755", cloud_init.script("pg_service.sh")),
        ("/usr/local/sbin/multitier-pg-agent", "0755", cloud_init.script("pg_agent.py")),
        (
            "/etc/systemd/system/multitier-vip.service",
            "0644",
            cloud_init.script("multitier-vip.service"),
        ),
        (
            "/etc/systemd/system/multitier-pg-agent.service",
            "0644",
            cloud_init.script("multitier-pg-agent.service"),
        ),
    ]
    return {
        "write_files": [
            {"path": path, "permissions": mode, "content": content} for path, mode, content in files
        ],
        "runcmd": [["/usr/local/sbin/multitier-pg-boot"]],
    }


def _node_policy(region: str, secret_arn: str, file_system_arn: str) -> dict[str, Any]:
    return iam.policy(
        *iam.read_secrets(region, [secret_arn]),
        {
            "Sid": "MountData",
            "Effect": "Allow",
            "Action": [
                "elasticfilesystem:ClientMount",
                "elasticfilesystem:ClientWrite",
                "elasticfilesystem:ClientRootAccess",
            ],
            "Resource": file_system_arn,
        },
    )


def failover_policy(cluster: str, log_group_arn: str, lease_table_arn: str) -> dict[str, Any]:
    """Describe anything (EC2 cannot scope reads); change only this cluster's nodes and routes;
    hold the lease in this cluster's table."""
    return iam.policy(
        {
            "Sid": "Observe",
            "Effect": "Allow",
            "Action": [
                "ec2:DescribeInstances",
                "ec2:DescribeInstanceStatus",
                "ec2:DescribeRouteTables",
            ],
            "Resource": "*",
        },
        {
            "Sid": "FenceAndPromoteClusterNodes",
            "Effect": "Allow",
            "Action": ["ec2:StopInstances", "ec2:ModifyInstanceAttribute"],
            "Resource": "arn:aws:ec2:*:*:instance/*",
            "Condition": {"StringEquals": {f"aws:ResourceTag/{CLUSTER_TAG}": cluster}},
        },
        {
            "Sid": "TagClusterNodeRoles",
            "Effect": "Allow",
            "Action": "ec2:CreateTags",
            "Resource": "arn:aws:ec2:*:*:instance/*",
            "Condition": {
                "StringEquals": {f"aws:ResourceTag/{CLUSTER_TAG}": cluster},
                "ForAllValues:StringEquals": {"aws:TagKeys": [ROLE_TAG]},
            },
        },
        {
            "Sid": "MoveTheVipRoute",
            "Effect": "Allow",
            "Action": ["ec2:CreateRoute", "ec2:ReplaceRoute"],
            "Resource": "arn:aws:ec2:*:*:route-table/*",
            "Condition": {"StringEquals": {f"aws:ResourceTag/{ROUTES_TAG}": cluster}},
        },
        {
            "Sid": "HoldTheLease",
            "Effect": "Allow",
            "Action": ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
            "Resource": lease_table_arn,
        },
        {
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"{log_group_arn}:*",
        },
    )
