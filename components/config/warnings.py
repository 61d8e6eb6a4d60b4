"""Warnings about stack config that is valid but will not do what its author meant: keys set
that have no effect with the rest of the config, and app hosts that cannot reach what they need
at boot. The offline plan prints them first; under `pulumi up` the program logs them.

Only keys the stack file sets are judged (pydantic's `model_fields_set`), never defaults.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from components.config import NAMESPACE, StackConfig, load_config

_PRIVATE_ECR = re.compile(r"\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com")
_RDS_ONLY = (
    "instanceClass",
    "multiAz",
    "allocatedStorageGb",
    "maxAllocatedStorageGb",
    "backupRetentionDays",
    "backupWindow",
    "maintenanceWindow",
    "deletionProtection",
    "finalSnapshot",
    "performanceInsights",
    "monitoringIntervalSeconds",
    "readReplicas",
    "applyImmediately",
)
_RDS_ALARMS = (
    "dbCpuPercent",
    "dbFreeStorageGb",
    "dbFreeMemoryMb",
    "dbConnections",
    "replicaLagSeconds",
)
_CACHE_ALARMS = ("cacheCpuPercent", "cacheMemoryPercent", "cacheEvictionsPerMinute")
_BASTION = ("allowedCidrs", "sshPort", "instanceType", "ami", "keyName")
_CACHE = ("nodeType", "nodeCount", "engineVersion", "authRotationDays")
_THRESHOLDS = "observability.thresholds"


def config_warnings(config: StackConfig) -> list[str]:
    """One line per warning, naming the key and why."""
    if not any(_keys_set(config)):
        return [f"no {NAMESPACE}: keys are set: every default applies (README, Config reference)"]
    return [*_without_effect(config), *_fixed_at_creation(config), *_unreachable_at_boot(config)]


def stack_warnings(stack_config: Mapping[str, Any]) -> list[str]:
    """The warnings of a stack file's `config:` mapping, as `tools.mockrun.stack_config` reads
    it; the config must be valid (the plan has run it)."""
    prefix = f"{NAMESPACE}:"
    sections = {k.removeprefix(prefix): v for k, v in stack_config.items() if k.startswith(prefix)}
    region = stack_config.get("aws:region")
    return config_warnings(load_config(sections, region if isinstance(region, str) else None))


def _without_effect(config: StackConfig) -> Iterator[str]:
    inert = _inert_keys(config)
    for key, value in _keys_set(config):
        reason = next(
            (why for k, why in inert.items() if key == k or key.startswith(f"{k}.")), None
        )
        if reason:
            shown = to_jsonable_python(value)  # as the stack file wrote it: addresses as text
            yield f"{NAMESPACE}:{key} = {shown!r} has no effect: {reason}"


def _inert_keys(config: StackConfig) -> dict[str, str]:
    """Keys (or whole sub-sections) that do nothing with this config, and why."""
    network, app, database = config.network, config.app, config.database
    vip, cache = database.mode == "vip", app.cache.enabled
    rules: list[tuple[bool, tuple[str, ...], str]] = [
        (
            network.nat_mode != "instance",
            ("network.natInstanceType",),
            f"natMode is {network.nat_mode}, not instance",
        ),
        (not config.bastion.enabled, _keys("bastion", *_BASTION), "bastion.enabled is false"),
        (
            not app.certificate_arn,
            ("app.loadBalancer.sslPolicy",),
            "no certificateArn, so the ALB serves HTTP only",
        ),
        (
            not app.load_balancer.access_logs,
            ("app.loadBalancer.accessLogRetentionDays",),
            "loadBalancer.accessLogs is false",
        ),
        (not app.sticky_sessions, ("app.stickinessSeconds",), "stickySessions is false"),
        (
            app.scaling.policy == "step",
            ("app.scaling.cpuTarget",),
            "scaling.policy is step; cpuTarget is for target_tracking",
        ),
        (
            app.scaling.policy == "target_tracking",
            _keys("app.scaling", "scaleUpCpu", "scaleDownCpu"),
            "scaling.policy is target_tracking; this is for step",
        ),
        (not cache, _keys("app.cache", *_CACHE), "cache.enabled is false"),
        (not cache, _keys(_THRESHOLDS, *_CACHE_ALARMS), "app.cache.enabled is false: no cache"),
        (vip, _keys("database", *_RDS_ONLY), "database.mode is vip; it configures RDS"),
        (vip, _keys(_THRESHOLDS, *_RDS_ALARMS), "database.mode is vip: no RDS instance"),
        (not vip, ("database.vip",), "database.mode is managed; it configures the vip cluster"),
        (
            not vip,
            _keys(_THRESHOLDS, "efsIoLimitPercent"),
            "database.mode is managed: no vip data volume",
        ),
        (
            not vip and database.read_replicas == 0,
            _keys(_THRESHOLDS, "replicaLagSeconds"),
            "database.readReplicas is 0",
        ),
    ]
    return {key: reason for applies, keys, reason in rules if applies for key in keys}


def _keys(section: str, *keys: str) -> tuple[str, ...]:
    return tuple(f"{section}.{key}" for key in keys)


# The keys whose change makes RDS replace the instance: the provider's ForceNew inputs, and
# CloudFormation's createOnlyProperties of AWS::RDS::DBInstance (DBName, MasterUsername), that the
# config sets. The rest of that list is fixed by the program (StorageEncrypted, KmsKeyId, the
# subnet group) or not used (CharacterSetName, Timezone, ...).
REPLACING_KEYS = {"databaseName": "database_name", "username": "username"}


def _fixed_at_creation(config: StackConfig) -> Iterator[str]:
    """Keys read once, when the database is created. RDS: changing one replaces the instance.
    vip: a cluster takes its major version, master user and database names once, when its first
    primary creates them (the nodes install the major the data directory was made by);
    afterwards the nodes, the app and the credentials function read them from the
    master secret, which keeps them. A change here cannot lock the app out, and does nothing."""
    database = config.database
    if database.mode == "managed":
        yield from _replacing(config)
        return
    for key in ("username", "databaseName"):
        field = "username" if key == "username" else "database_name"
        if field in database.model_fields_set:
            yield (
                f"{NAMESPACE}:database.{key} = {getattr(database, field)!r} is used when the vip "
                "cluster is created; a deployed cluster keeps the names its master secret holds, "
                "so changing this later does nothing (RUNBOOKS.md, Rotate credentials: the vip "
                "names are fixed at creation)"
            )
    if "engine_version" in database.model_fields_set:
        yield (
            f"{NAMESPACE}:database.engineVersion = {database.engine_version!r} is used when the "
            "vip cluster is created; a node installs the major its data directory was made by, "
            "so changing it later upgrades nothing (RUNBOOKS.md, Upgrade PostgreSQL to a new "
            "major version)"
        )


def _replacing(config: StackConfig) -> Iterator[str]:
    database = config.database
    for key, field in REPLACING_KEYS.items():
        if field not in database.model_fields_set:
            continue
        shown = f"{NAMESPACE}:database.{key} = {getattr(database, field)!r}"
        if database.restore is not None:
            yield (
                f"{shown} does nothing to the active instance, restored as {database.restore.id}: "
                "it has the names of its backup; a change would replace only the original "
                "instance, if it is still declared (database.formerInstances)"
            )
            continue
        yield (
            f"{shown} is fixed when the RDS instance is created: a change replaces the "
            "instance, so Pulumi creates a new, empty one under a new identifier and then deletes "
            "the old one (keeping its automated backups, and a final snapshot when finalSnapshot "
            "is on; with deletionProtection the update stops first). To keep the data, restore "
            "it into the new names instead (RUNBOOKS.md, Restore the database)"
        )


def _unreachable_at_boot(config: StackConfig) -> list[str]:
    """With natMode none the app hosts have no way out of the VPC but its endpoints."""
    network = config.network
    if network.nat_mode != "none":
        return []
    registry = _registry(config.app.release.image)
    if _PRIVATE_ECR.fullmatch(registry):
        needs = [
            f"the release's registry {registry} (private ECR needs the ecr.api and ecr.dkr "
            "interface endpoints, which this program does not create)"
        ]
    else:
        needs = [f"the release's registry {registry} (no VPC endpoint serves it)"]
    if not network.endpoints.s3:
        needs.append("the Amazon Linux package repositories, on S3 (endpoints.s3 is false)")
    if not network.endpoints.ssm:
        needs.append(
            "Systems Manager, for the CloudWatch agent's configuration and Session Manager "
            "(endpoints.ssm is false)"
        )
    needs.append("CloudWatch Logs and metrics (no endpoints for them here)")
    return [
        f"{NAMESPACE}:network.natMode = 'none': the app hosts have no route out of the VPC, so "
        f"at boot they cannot reach {'; '.join(needs)}; natMode instance (cheapest), single or "
        "per_az gives them one"
    ]


def _registry(image: str) -> str:
    """The registry of an image reference, as Docker reads it (docker.io when none is named)."""
    first, slash, _ = image.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def _keys_set(model: BaseModel, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted camelCase key, value) of every leaf the stack file set, in declaration order."""
    for name, field in type(model).model_fields.items():
        if name not in model.model_fields_set:
            continue
        key, value = f"{prefix}{field.alias or name}", getattr(model, name)
        if isinstance(value, BaseModel):
            yield from _keys_set(value, f"{key}.")
        else:
            yield key, value
