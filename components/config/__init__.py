"""The stack config: one typed, validated model per component.

`load_config` is the only way in. It parses every `multitier:*` key at once and either returns a
`StackConfig` that downstream code trusts, or raises `ConfigError` whose message names each bad key,
the value found and what is allowed. Keys are camelCase, as Pulumi's own are; attributes are
snake_case.

The checks refuse what AWS would refuse ten minutes into `pulumi up`. Where AWS publishes a list a
program can read (botocore's regions), it is read; where it publishes only documentation, the list
is copied, with the page and the date it was read, into the module of the section that uses it.

No `multitier:` key may be secret. Config values end up in user data, tags and the offline plan,
where anyone who can describe the launch template or read the plan sees them; secrets live in AWS
Secrets Manager (the database's and the cache's are created there, and the hosts read them by ARN).

A module per section (network, bastion, app with its release and cache, database, observability),
each with the values AWS accepts for it; `fields` holds what they share, `stack` puts the sections
together and `load` reads and reports; `warnings` judges config that is valid but will not do
what its author meant. This module re-exports the public names of all but `warnings`, so the
rest of the program imports `from components.config`, whichever module a name lives in.
"""

from components.config.app import (
    ALB_POLICIES,
    MATCHER_CODES,
    TLS_POLICIES,
    AppConfig,
    CertificateArn,
    EfsConfig,
    HealthCheck,
    HealthCheckPath,
    InstanceRefreshConfig,
    LoadBalancerConfig,
    ScalingConfig,
    TlsPolicy,
)
from components.config.bastion import AdminCidr, BastionConfig, KeyPairName
from components.config.cache import (
    CACHE_ENGINE_VERSIONS,
    CACHE_NODE_TYPES,
    CacheConfig,
    CacheEngineVersion,
    CacheNodeType,
)
from components.config.database import (
    PG_NAME_LENGTH,
    PG_RESERVED_WORDS,
    RDS_ENGINE_MAJORS,
    RDS_EXTENDED_SUPPORT_MAJORS,
    RDS_USERNAME_LENGTH,
    TAKEN_ROLES,
    VIP_ENGINE_VERSIONS,
    WINDOW_MINUTES,
    BackupWindow,
    DatabaseConfig,
    DrConfig,
    MaintenanceWindow,
    VipConfig,
)
from components.config.fields import (
    LOG_RETENTION_DAYS,
    Allowed,
    AmiId,
    InstanceType,
    LogRetention,
    Port,
)
from components.config.load import (
    NAMESPACE,
    SECRET_REFUSED,
    STACK_FILE_KEYS,
    STACK_NAME,
    ConfigError,
    from_pulumi,
    load_config,
    stack_file_problems,
    stack_region,
)
from components.config.network import (
    ALB_SUBNET_PREFIX,
    AWS_RESERVED_PER_SUBNET,
    DOCKER_BRIDGE,
    PRIVATE_SUBNET_FUNCTIONS,
    RFC1918,
    SHARED_ADDRESS_SPACE,
    SSM_ENDPOINTS,
    SUBNET_BITS,
    VPC_PREFIXES,
    NetworkConfig,
    VipAddress,
    VpcCidr,
    VpcEndpoints,
)
from components.config.observability import (
    AlarmThresholds,
    LogRetentionOverrides,
    ObservabilityConfig,
)
from components.config.regions import aws_regions
from components.config.release import (
    ENV_BYTES,
    IMAGE_NAME_LENGTH,
    PROGRAM_ENV,
    SECRET_WORDS,
    TAG_VALUE_LENGTH,
    USER_DATA_BYTES,
    Environment,
    EnvName,
    EnvValue,
    Image,
    Release,
    TagValue,
)
from components.config.restore import ORIGINAL, PointInTimeConfig, RestoreConfig
from components.config.stack import (
    PRODUCTION,
    PRODUCTION_STACKS,
    SECTIONS,
    StackConfig,
    production_by_name,
)

__all__ = [
    "ALB_POLICIES",
    "ALB_SUBNET_PREFIX",
    "AWS_RESERVED_PER_SUBNET",
    "CACHE_ENGINE_VERSIONS",
    "CACHE_NODE_TYPES",
    "DOCKER_BRIDGE",
    "ENV_BYTES",
    "IMAGE_NAME_LENGTH",
    "LOG_RETENTION_DAYS",
    "MATCHER_CODES",
    "NAMESPACE",
    "ORIGINAL",
    "PG_NAME_LENGTH",
    "PG_RESERVED_WORDS",
    "PRIVATE_SUBNET_FUNCTIONS",
    "PRODUCTION",
    "PRODUCTION_STACKS",
    "PROGRAM_ENV",
    "RDS_ENGINE_MAJORS",
    "RDS_EXTENDED_SUPPORT_MAJORS",
    "RDS_USERNAME_LENGTH",
    "RFC1918",
    "SECRET_REFUSED",
    "SECRET_WORDS",
    "SECTIONS",
    "SHARED_ADDRESS_SPACE",
    "SSM_ENDPOINTS",
    "STACK_FILE_KEYS",
    "STACK_NAME",
    "SUBNET_BITS",
    "TAG_VALUE_LENGTH",
    "TAKEN_ROLES",
    "TLS_POLICIES",
    "USER_DATA_BYTES",
    "VIP_ENGINE_VERSIONS",
    "VPC_PREFIXES",
    "WINDOW_MINUTES",
    "AdminCidr",
    "AlarmThresholds",
    "Allowed",
    "AmiId",
    "AppConfig",
    "BackupWindow",
    "BastionConfig",
    "CacheConfig",
    "CacheEngineVersion",
    "CacheNodeType",
    "CertificateArn",
    "ConfigError",
    "DatabaseConfig",
    "DrConfig",
    "EfsConfig",
    "EnvName",
    "EnvValue",
    "Environment",
    "HealthCheck",
    "HealthCheckPath",
    "Image",
    "InstanceRefreshConfig",
    "InstanceType",
    "KeyPairName",
    "LoadBalancerConfig",
    "LogRetention",
    "LogRetentionOverrides",
    "MaintenanceWindow",
    "NetworkConfig",
    "ObservabilityConfig",
    "PointInTimeConfig",
    "Port",
    "Release",
    "RestoreConfig",
    "ScalingConfig",
    "StackConfig",
    "TagValue",
    "TlsPolicy",
    "VipAddress",
    "VipConfig",
    "VpcCidr",
    "VpcEndpoints",
    "aws_regions",
    "from_pulumi",
    "load_config",
    "production_by_name",
    "stack_file_problems",
    "stack_region",
]
