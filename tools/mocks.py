"""The mock engine's answers: a realistic id for each resource (`vpc-…`, `sg-…`) and the outputs
AWS would compute (ARNs, endpoints, network interfaces), and the monitor that records every
registration with its inputs, dependencies and options. Used by tools/mockrun.py."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc

from policy.types import (
    ASG,
    BUCKET,
    CACHE,
    DEFAULT_SG,
    DYNAMODB_TABLE,
    EFS,
    EFS_MOUNT_TARGET,
    EGRESS,
    EGRESS_ONLY_IGW,
    EIP,
    FLOW_LOG,
    FUNCTION,
    IGW,
    INGRESS,
    INSTANCE,
    INSTANCE_PROFILE,
    LAUNCH_TEMPLATE,
    LB,
    LOG_GROUP,
    NAT_GATEWAY,
    RANDOM_ID,
    RANDOM_PASSWORD,
    RDS,
    ROLE,
    ROUTE,
    ROUTE_TABLE,
    ROUTE_TABLE_ASSOCIATION,
    SG,
    SUBNET,
    TARGET_GROUP,
    TLS_CERT_REQUEST,
    TLS_LOCALLY_SIGNED_CERT,
    TLS_PRIVATE_KEY,
    TLS_SELF_SIGNED_CERT,
    VPC,
    VPC_ENDPOINT,
)

ACCOUNT = "123456789012"

OFFLINE_SECRET = "offline-placeholder-secret"

# Id prefixes AWS uses, by resource type token.
_ID_PREFIX = {
    VPC: "vpc-",
    SUBNET: "subnet-",
    SG: "sg-",
    DEFAULT_SG: "sg-",
    IGW: "igw-",
    EGRESS_ONLY_IGW: "eigw-",
    NAT_GATEWAY: "nat-",
    EIP: "eipalloc-",
    ROUTE_TABLE: "rtb-",
    ROUTE_TABLE_ASSOCIATION: "rtbassoc-",
    ROUTE: "r-",
    INSTANCE: "i-",
    LAUNCH_TEMPLATE: "lt-",
    VPC_ENDPOINT: "vpce-",
    FLOW_LOG: "fl-",
    EFS: "fs-",
    EFS_MOUNT_TARGET: "fsmt-",
    INGRESS: "sgr-",
    EGRESS: "sgr-",
}


@dataclass(frozen=True)
class _Context:
    region: str
    name: str
    inputs: dict[str, Any]
    id: str
    physical: str


def _rds_instance(c: _Context) -> dict[str, Any]:
    identifier = c.inputs.get("identifier") or c.physical
    state: dict[str, Any] = {
        "identifier": identifier,
        "address": f"{identifier}.c1a2b3c4d5e6.{c.region}.rds.amazonaws.com",
        "arn": f"arn:aws:rds:{c.region}:{ACCOUNT}:db:{identifier}",
    }
    if c.inputs.get("manageMasterUserPassword"):
        secret = f"arn:aws:secretsmanager:{c.region}:{ACCOUNT}:secret:rds!db-{c.id}"
        state["masterUserSecrets"] = [{"secretArn": secret, "secretStatus": "active"}]
    return state


def _vpc(c: _Context) -> dict[str, Any]:
    if c.inputs.get("assignGeneratedIpv6CidrBlock"):
        return {"ipv6CidrBlock": "2600:1f18:4a3:6900::/56"}
    return {}


def _dynamodb_table(c: _Context) -> dict[str, Any]:
    arn = f"arn:aws:dynamodb:{c.region}:{ACCOUNT}:table/{c.physical}"
    state: dict[str, Any] = {"arn": arn}
    if c.inputs.get("streamEnabled"):
        state["streamArn"] = f"{arn}/stream/2026-01-01T00:00:00.000"
        state["streamLabel"] = "2026-01-01T00:00:00.000"
    return state


# The outputs AWS computes, per resource type, beyond an id, an ARN and a physical name.
_COMPUTED: dict[str, Callable[[_Context], dict[str, Any]]] = {
    LOG_GROUP: lambda c: {"arn": f"arn:aws:logs:{c.region}:{ACCOUNT}:log-group:{c.physical}"},
    ROLE: lambda c: {
        "arn": f"arn:aws:iam::{ACCOUNT}:role/{c.physical}",
        "uniqueId": "AROA" + _digest(c.name, "role-id")[:17].upper(),
    },
    INSTANCE_PROFILE: lambda c: {"arn": f"arn:aws:iam::{ACCOUNT}:instance-profile/{c.physical}"},
    VPC: _vpc,
    EIP: lambda c: {"allocationId": c.id, "publicIp": _public_ip(c.name)},
    INSTANCE: lambda c: {"primaryNetworkInterfaceId": "eni-" + _digest(c.name, "eni")},
    LAUNCH_TEMPLATE: lambda c: {"latestVersion": 1, "defaultVersion": 1},
    LB: lambda c: {
        "dnsName": f"{c.physical}-1234567890.{c.region}.elb.amazonaws.com",
        "arnSuffix": f"app/{c.physical}/{c.id[:16]}",
    },
    TARGET_GROUP: lambda c: {"arnSuffix": f"targetgroup/{c.physical}/{c.id[:16]}"},
    RDS: _rds_instance,
    FUNCTION: lambda c: {"arn": f"arn:aws:lambda:{c.region}:{ACCOUNT}:function:{c.physical}"},
    DYNAMODB_TABLE: _dynamodb_table,
    ASG: lambda c: {
        "arn": f"arn:aws:autoscaling:{c.region}:{ACCOUNT}:autoScalingGroup:"
        f"{_digest(c.name, 'asg')[:8]}-0000-4000-8000-{_digest(c.name, 'uuid')[:12]}:"
        f"autoScalingGroupName/{c.physical}"
    },
    BUCKET: lambda c: {"bucket": c.inputs.get("bucket") or c.physical.lower()},
    CACHE: lambda c: {
        "primaryEndpointAddress": f"master.{c.physical}.abc123.euw1.cache.amazonaws.com",
        "memberClusters": [
            f"{c.physical}-{n:03d}" for n in range(1, int(c.inputs["numCacheClusters"]) + 1)
        ],
    },
    RANDOM_PASSWORD: lambda c: {"result": OFFLINE_SECRET},
    # Placeholders of the right shape: the real values are made by the tls provider, and secret.
    TLS_PRIVATE_KEY: lambda c: {
        "privateKeyPem": _pem("PRIVATE KEY", c.name),
        "publicKeyPem": _pem("PUBLIC KEY", c.name),
    },
    TLS_SELF_SIGNED_CERT: lambda c: {"certPem": _pem("CERTIFICATE", c.name)},
    TLS_CERT_REQUEST: lambda c: {"certRequestPem": _pem("CERTIFICATE REQUEST", c.name)},
    TLS_LOCALLY_SIGNED_CERT: lambda c: {"certPem": _pem("CERTIFICATE", c.name)},
    RANDOM_ID: lambda c: {"hex": _digest(c.name, "random-id")[: 2 * int(c.inputs["byteLength"])]},
}


@dataclass(frozen=True)
class Resource:
    """One declared resource: its registration and the state the mocks answered with."""

    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    inputs: dict[str, Any]
    id: str | None
    state: dict[str, Any]
    secrets: frozenset[str] = frozenset()
    """The inputs the program marked secret."""
    dependencies: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Per input, the URNs of the resources its value came from (what the engine is told)."""
    waits_for: tuple[str, ...] = ()
    """Every URN the engine creates before this resource: input dependencies and `depends_on`,
    a component standing for its children (the SDK expands it before it asks the engine)."""
    ignore_changes: tuple[str, ...] = ()
    """The inputs a later `pulumi up` leaves alone (the `ignore_changes` resource option)."""
    protect: bool = False
    """Pulumi refuses to delete or replace it (the `protect` resource option)."""
    retain_on_delete: bool = False
    """Deleting it only forgets it: it stays in AWS (the `retain_on_delete` resource option)."""
    replace_on_changes: tuple[str, ...] = ()
    """Inputs whose change replaces it (the `replace_on_changes` resource option)."""
    aliases: tuple[str, ...] = ()
    """The URNs it was known by before (the `aliases` resource option), resolved as the engine
    resolves them: an alias without a parent, type or name keeps the resource's own."""

    def __getitem__(self, key: str) -> Any:
        return self.inputs[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.inputs.get(key, default)


class Mocks(pulumi_mocks.Mocks):
    def __init__(self, region: str) -> None:
        self.region = region
        self.monitor: Monitor | None = None

    def new_resource(
        self, args: pulumi_mocks.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        id_: str | None = None
        state: dict[str, Any] = {}
        if args.custom:
            id_ = _ID_PREFIX.get(args.typ, "") + _digest(args.typ, args.name)
            state = {**args.inputs, **self._computed(args, id_)}
        if self.monitor is not None:
            self.monitor.record(args, id_, state)
        return id_, state

    def _computed(self, args: pulumi_mocks.MockResourceArgs, id_: str) -> dict[str, Any]:
        service = args.typ.split(":")[1].split("/")[0]
        kind = args.typ.split(":")[-1].lower()
        physical = args.inputs.get("name") or f"{args.name}-{_digest(args.name)[:7]}"
        # A resource may live in another region than the stack's (its `region` input).
        region = args.inputs.get("region") or self.region
        state: dict[str, Any] = {
            "arn": f"arn:aws:{service}:{region}:{ACCOUNT}:{kind}/{id_}",
            "name": physical,
        }
        extra = _COMPUTED.get(args.typ)
        if extra:
            state |= extra(_Context(region, args.name, args.inputs, id_, physical))
        return state

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        token = args.token
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            names = [f"{self.region}{letter}" for letter in "abc"]
            return {
                "names": names,
                "zoneIds": [f"euw1-az{i}" for i in (1, 2, 3)],
                "id": self.region,
            }, []
        if token == "aws:index/getRegion:getRegion":
            return {"region": self.region, "name": self.region, "id": self.region}, []
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT,
                "arn": f"arn:aws:iam::{ACCOUNT}:user/offline",
                "id": ACCOUNT,
            }, []
        if token == "aws:elb/getServiceAccount:getServiceAccount":
            return {"arn": "arn:aws:iam::156460612806:root", "id": "156460612806"}, []
        if token == "aws:ssm/getParameter:getParameter":
            return {
                "name": args.args["name"],
                "value": "ami-0" + _digest(args.args["name"])[:16],
                "type": "String",
            }, []
        if token == "aws:secretsmanager/getSecretVersion:getSecretVersion":
            # A deployed secret's current value: a restored database takes its password.
            secret_id = args.args["secretId"]
            value = {"username": "app_admin", "password": "current-" + _digest(secret_id)[:24]}
            return {
                "arn": secret_id,
                "secretId": secret_id,
                "secretString": json.dumps(value),
                "versionId": _digest(secret_id, "version"),
                "versionStages": ["AWSCURRENT"],
                "id": secret_id,
            }, []
        raise NotImplementedError(f"the offline mocks do not answer the invoke {token}")


class Monitor(pulumi_mocks.MockMonitor):
    """Records every registration with its parent, which the mock hooks do not see.

    The base class deserializes the inputs and calls `new_resource` on this same thread; the
    request is parked in a thread-local meanwhile so `new_resource` can record it whole.
    """

    def __init__(self, mocks: Mocks) -> None:
        super().__init__(mocks)
        self.declared: list[Resource] = []
        self._lock = threading.Lock()
        self._request = threading.local()
        mocks.monitor = self

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        self._request.current = request
        return super().RegisterResource(request)  # type: ignore[no-untyped-call]

    def record(
        self, args: pulumi_mocks.MockResourceArgs, id_: str | None, state: dict[str, Any]
    ) -> None:
        request = self._request.current
        resource = Resource(
            urn=self.make_urn(request.parent, request.type, request.name),
            type=args.typ,
            name=args.name,
            parent=request.parent or None,
            custom=bool(args.custom),
            inputs=_plain(dict(args.inputs)),
            id=id_,
            state=_plain(state),
            secrets=frozenset(k for k, v in args.inputs.items() if _is_secret(v)),
            dependencies={
                key: tuple(sorted(set(deps.urns)))
                for key, deps in request.propertyDependencies.items()
                if deps.urns
            },
            waits_for=tuple(sorted(set(request.dependencies))),
            ignore_changes=tuple(request.ignoreChanges),
            protect=bool(request.protect),
            retain_on_delete=bool(request.retainOnDelete),
            replace_on_changes=tuple(request.replaceOnChanges),
            aliases=tuple(self._alias_urn(request, alias) for alias in request.aliases),
        )
        with self._lock:
            self.declared.append(resource)

    def _alias_urn(self, request: Any, alias: Any) -> str:
        if alias.urn:
            return str(alias.urn)
        spec = alias.spec
        parent = "" if spec.noParent else (spec.parentUrn or request.parent)
        return str(self.make_urn(parent, spec.type or request.type, spec.name or request.name))


def _digest(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:17]


def _pem(kind: str, name: str) -> str:
    return f"-----BEGIN {kind}-----\noffline-{_digest(kind, name)}\n-----END {kind}-----\n"


def _public_ip(name: str) -> str:
    return f"198.51.100.{int(_digest(name), 16) % 250 + 1}"


def _plain(value: Any) -> Any:
    """Values as the program wrote them: ints back from protobuf's floats, secrets unwrapped
    (`Resource.secrets` says which inputs were secret)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if _is_secret(value):
        return _plain(value["value"])
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig
