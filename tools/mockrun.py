"""Runs the real `__main__.py` under Pulumi's mock engine and returns what it declared: this
repository's program by default, or another program's directory (`program=`, e.g. examples/…)
with its own `Pulumi.yaml` and stack files.

Used by the offline plan and by the tests. No AWS account and no Pulumi CLI are needed: the mocks
answer each resource registration with a realistic id (`vpc-…`, `sg-…`) and the outputs AWS would
compute (ARNs, allocation ids, network interface ids), so wiring mistakes show.
"""

from __future__ import annotations

import contextvars
import copy
import datetime
import hashlib
import json
import runpy
import threading
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from components.config import ConfigError

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "multitier"
"""This program's project, and the package of every component type token (`multitier:…`)."""
ACCOUNT = "123456789012"
OFFLINE_SECRET = "offline-placeholder-secret"
DEFAULT_REGION = "eu-west-1"  # when the stack file sets no aws:region

# Id prefixes AWS uses, by resource type token.
_ID_PREFIX = {
    "aws:ec2/vpc:Vpc": "vpc-",
    "aws:ec2/subnet:Subnet": "subnet-",
    "aws:ec2/securityGroup:SecurityGroup": "sg-",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "sg-",
    "aws:ec2/internetGateway:InternetGateway": "igw-",
    "aws:ec2/egressOnlyInternetGateway:EgressOnlyInternetGateway": "eigw-",
    "aws:ec2/natGateway:NatGateway": "nat-",
    "aws:ec2/eip:Eip": "eipalloc-",
    "aws:ec2/routeTable:RouteTable": "rtb-",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "rtbassoc-",
    "aws:ec2/route:Route": "r-",
    "aws:ec2/instance:Instance": "i-",
    "aws:ec2/launchTemplate:LaunchTemplate": "lt-",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce-",
    "aws:ec2/flowLog:FlowLog": "fl-",
    "aws:efs/fileSystem:FileSystem": "fs-",
    "aws:efs/mountTarget:MountTarget": "fsmt-",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "sgr-",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "sgr-",
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
    "aws:cloudwatch/logGroup:LogGroup": lambda c: {
        "arn": f"arn:aws:logs:{c.region}:{ACCOUNT}:log-group:{c.physical}"
    },
    "aws:iam/role:Role": lambda c: {"arn": f"arn:aws:iam::{ACCOUNT}:role/{c.physical}"},
    "aws:iam/instanceProfile:InstanceProfile": lambda c: {
        "arn": f"arn:aws:iam::{ACCOUNT}:instance-profile/{c.physical}"
    },
    "aws:ec2/vpc:Vpc": _vpc,
    "aws:ec2/eip:Eip": lambda c: {"allocationId": c.id, "publicIp": _public_ip(c.name)},
    "aws:ec2/instance:Instance": lambda c: {
        "primaryNetworkInterfaceId": "eni-" + _digest(c.name, "eni")
    },
    "aws:ec2/launchTemplate:LaunchTemplate": lambda c: {"latestVersion": 1, "defaultVersion": 1},
    "aws:lb/loadBalancer:LoadBalancer": lambda c: {
        "dnsName": f"{c.physical}-1234567890.{c.region}.elb.amazonaws.com",
        "arnSuffix": f"app/{c.physical}/{c.id[:16]}",
    },
    "aws:lb/targetGroup:TargetGroup": lambda c: {
        "arnSuffix": f"targetgroup/{c.physical}/{c.id[:16]}"
    },
    "aws:rds/instance:Instance": _rds_instance,
    "aws:lambda/function:Function": lambda c: {
        "arn": f"arn:aws:lambda:{c.region}:{ACCOUNT}:function:{c.physical}"
    },
    "aws:dynamodb/table:Table": _dynamodb_table,
    "aws:autoscaling/group:Group": lambda c: {
        "arn": f"arn:aws:autoscaling:{c.region}:{ACCOUNT}:autoScalingGroup:"
        f"{_digest(c.name, 'asg')[:8]}-0000-4000-8000-{_digest(c.name, 'uuid')[:12]}:"
        f"autoScalingGroupName/{c.physical}"
    },
    "aws:s3/bucket:Bucket": lambda c: {"bucket": c.inputs.get("bucket") or c.physical.lower()},
    "aws:elasticache/replicationGroup:ReplicationGroup": lambda c: {
        "primaryEndpointAddress": f"master.{c.physical}.abc123.euw1.cache.amazonaws.com",
        "memberClusters": [
            f"{c.physical}-{n:03d}" for n in range(1, int(c.inputs["numCacheClusters"]) + 1)
        ],
    },
    "random:index/randomPassword:RandomPassword": lambda c: {"result": OFFLINE_SECRET},
    # Placeholders of the right shape: the real values are made by the tls provider, and secret.
    "tls:index/privateKey:PrivateKey": lambda c: {
        "privateKeyPem": _pem("PRIVATE KEY", c.name),
        "publicKeyPem": _pem("PUBLIC KEY", c.name),
    },
    "tls:index/selfSignedCert:SelfSignedCert": lambda c: {"certPem": _pem("CERTIFICATE", c.name)},
    "tls:index/certRequest:CertRequest": lambda c: {
        "certRequestPem": _pem("CERTIFICATE REQUEST", c.name)
    },
    "tls:index/locallySignedCert:LocallySignedCert": lambda c: {
        "certPem": _pem("CERTIFICATE", c.name)
    },
    "random:index/randomId:RandomId": lambda c: {
        "hex": _digest(c.name, "random-id")[: 2 * int(c.inputs["byteLength"])]
    },
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
    replace_on_changes: tuple[str, ...] = ()
    """Inputs whose change replaces it (the `replace_on_changes` resource option)."""
    aliases: tuple[str, ...] = ()
    """The URNs it was known by before (the `aliases` resource option), resolved as the engine
    resolves them: an alias without a parent, type or name keeps the resource's own."""

    def __getitem__(self, key: str) -> Any:
        return self.inputs[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.inputs.get(key, default)


@dataclass
class Run:
    """What one run of the program declared and exported."""

    stack: str
    region: str = DEFAULT_REGION
    """The region the program ran in (`aws:region`), which the mocks answer for."""
    resources: list[Resource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_outputs: set[str] = field(default_factory=set)
    error: BaseException | None = None

    def of_type(self, type_: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> Resource:
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        if len(found) != 1:
            names = [r.name for r in self.of_type(type_)]
            raise LookupError(f"expected one {type_} named {name!r}, found {len(found)}: {names}")
        return found[0]

    def by_urn(self, urn: str) -> Resource | None:
        return next((r for r in self.resources if r.urn == urn), None)

    def find(self, id_: str) -> Resource | None:
        """The resource with this id, or whose computed outputs include it (an ENI, an EIP)."""
        return next(
            (r for r in self.resources if r.custom and (r.id == id_ or id_ in r.state.values())),
            None,
        )

    def by_id(self, id_: str) -> Resource:
        found = self.find(id_)
        if found is None:
            raise LookupError(f"no declared resource has the id {id_!r}")
        return found

    def prerequisites(self, resource: Resource) -> set[str]:
        """Every URN the engine creates before `resource`, followed transitively."""
        seen: set[str] = set()
        pending = list(resource.waits_for)
        while pending:
            urn = pending.pop()
            if urn not in seen:
                seen.add(urn)
                waited = self.by_urn(urn)
                pending.extend(waited.waits_for if waited else ())
        return seen

    def component_of(self, resource: Resource) -> Resource | None:
        """The nearest enclosing `multitier:` component."""
        parent = self.by_urn(resource.parent) if resource.parent else None
        while parent is not None and not parent.type.startswith(f"{PROJECT}:"):
            parent = self.by_urn(parent.parent) if parent.parent else None
        return parent

    @property
    def components(self) -> list[Resource]:
        return [r for r in self.resources if not r.custom]


class _Mocks(pulumi_mocks.Mocks):
    def __init__(self, region: str) -> None:
        self.region = region
        self.monitor: _Monitor | None = None

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
        state: dict[str, Any] = {
            "arn": f"arn:aws:{service}:{self.region}:{ACCOUNT}:{kind}/{id_}",
            "name": physical,
        }
        extra = _COMPUTED.get(args.typ)
        if extra:
            state |= extra(_Context(self.region, args.name, args.inputs, id_, physical))
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
        raise NotImplementedError(f"the offline mocks do not answer the invoke {token}")


class _Monitor(pulumi_mocks.MockMonitor):
    """Records every registration with its parent, which the mock hooks do not see.

    The base class deserializes the inputs and calls `new_resource` on this same thread; the
    request is parked in a thread-local meanwhile so `new_resource` can record it whole.
    """

    def __init__(self, mocks: _Mocks) -> None:
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


def stacks(root: Path = ROOT) -> list[str]:
    """The stacks that have a `Pulumi.<stack>.yaml` in `root`."""
    return sorted(
        path.name.removeprefix("Pulumi.").removesuffix(".yaml")
        for path in root.glob("Pulumi.*.yaml")
    )


def stack_config(
    stack: str,
    overrides: Mapping[str, Any] | None = None,
    path: Path | None = None,
    program: Path = ROOT,
) -> dict[str, Any]:
    """The `config:` of the program's `Pulumi.<stack>.yaml` (or `path`), with `overrides` merged
    in by key."""
    path = path or program / f"Pulumi.{stack}.yaml"
    if not path.exists():
        known = ", ".join(stacks(program))
        raise FileNotFoundError(f"no stack file {path.name}; stacks: {known}")
    return _merge(_read_config(path), overrides or {})


class _StackFileLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing duplicate keys as Pulumi does (PyYAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: dict[Hashable, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)  # type: ignore[no-untyped-call]
            if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key, Hashable):
                continue  # merge keys may repeat; the base class refuses unhashable keys
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"key {key!r} appears twice (first on line {seen[key]}); Pulumi refuses the "
                    "file, and PyYAML would silently keep the last",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep)


def _read_config(path: Path) -> dict[str, Any]:
    """The `config:` mapping of a stack file; anything Pulumi would refuse is a ConfigError of
    one line naming the file, the place and the problem."""

    def refused(problem: str) -> ConfigError:
        return ConfigError(f"{path.name}: {problem}")

    try:
        document = yaml.load(path.read_text(), Loader=_StackFileLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise refused(f"not valid YAML: {error.problem or error.context}{where}") from None
    except yaml.YAMLError as error:
        raise refused(f"not valid YAML: {' '.join(str(error).split())}") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise refused(f"expected a mapping with a config: key, found {_kind(document)}")
    config = document.get("config")
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise refused(f"config: must map namespace:name keys to values, found {_kind(config)}")
    for key, value in config.items():
        if not isinstance(key, str) or ":" not in key:
            raise refused(
                f"config key {key!r} has no namespace; Pulumi reads keys as <namespace>:<name>, "
                "such as multitier:network or aws:region"
            )
        problem = _not_plain(value, key)
        if problem:
            raise refused(problem)
    return config


def _kind(value: Any) -> str:
    return {str: "a string", list: "a list", bool: "true or false"}.get(type(value), "a number")


def _not_plain(value: Any, key: str, within: tuple[int, ...] = ()) -> str | None:
    """What in `value` is not a config value (strings, numbers, booleans, lists, mappings)."""
    if isinstance(value, datetime.date):
        return f"{key}: YAML reads {value} as a date; quote it"
    if id(value) in within:
        return f"{key}: a YAML alias that contains itself"
    if isinstance(value, dict):
        names = [name for name in value if not isinstance(name, str)]
        if names:
            return f"{key}: key {names[0]!r} is not a name; quote it"
        children = [(item, f"{key}.{name}") for name, item in value.items()]
    elif isinstance(value, list):
        children = [(item, f"{key}[{i}]") for i, item in enumerate(value)]
    elif value is None or isinstance(value, str | int | float | bool):
        children = []
    else:
        return f"{key}: YAML makes a {type(value).__name__} of this value; use a plain value"
    inner = (*within, id(value))
    return next((p for item, at in children if (p := _not_plain(item, at, inner))), None)


def run(
    stack: str,
    overrides: Mapping[str, Any] | None = None,
    path: Path | None = None,
    program: Path = ROOT,
) -> Run:
    """Run the program's `__main__.py` for `stack` under mocks. Raises what the program raises."""
    result = attempt(stack, overrides, path, program)
    if result.error is not None:
        raise result.error
    return result


def attempt(
    stack: str,
    overrides: Mapping[str, Any] | None = None,
    path: Path | None = None,
    program: Path = ROOT,
) -> Run:
    """Like `run`, but a failed run returns what it declared, with the error in `Run.error`."""
    config = stack_config(stack, overrides, path, program)
    return contextvars.Context().run(_run, stack, config, program)


def project_name(program: Path) -> str:
    """The `name:` of the program's `Pulumi.yaml`."""
    document = yaml.safe_load((program / "Pulumi.yaml").read_text())
    return str(document["name"])


def _run(stack: str, config: dict[str, Any], program: Path) -> Run:
    # The program sees the region the mocks answer for.
    config = {"aws:region": DEFAULT_REGION, **config}
    region = str(config["aws:region"])
    monitor = _Monitor(_Mocks(region))
    pulumi.runtime.set_mocks(
        monitor.mocks, project=project_name(program), stack=stack, preview=False, monitor=monitor
    )
    values, secret_keys = _wire_config(config)
    pulumi.runtime.set_all_config(values, secret_keys)

    result = Run(stack, region)
    try:
        _sync_await(run_pulumi_func(lambda: _run_main(program)))
    except Exception as error:  # handed to the caller in Run.error
        result.error = error
    result.resources = list(monitor.declared)
    if result.error is not None:
        return result
    root = pulumi.runtime.get_root_resource()
    for key, value in getattr(root, "outputs", {}).items():
        output = pulumi.Output.from_input(value)
        result.outputs[key] = _sync_await(output.future())
        if _sync_await(output.is_secret()):
            result.secret_outputs.add(key)
    return result


def _run_main(program: Path) -> None:
    runpy.run_path(str(program / "__main__.py"), run_name="__main__")


def _wire_config(config: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    """Config as the CLI hands it to a program: strings, structured values as JSON.

    `secure:` values cannot be decrypted offline; they become a placeholder, and as the CLI does,
    a key holding one (at any depth) is marked secret.
    """
    values: dict[str, str] = {}
    secret_keys = []
    for key, value in config.items():
        plain, secret = _decrypted(value)
        values[key] = plain if isinstance(plain, str) else json.dumps(plain)
        if secret:
            secret_keys.append(key)
    return values, secret_keys


def _decrypted(value: Any) -> tuple[Any, bool]:
    """`value` with each `secure:` value replaced by a placeholder, and whether it held one."""
    if isinstance(value, Mapping) and set(value) == {"secure"}:
        return OFFLINE_SECRET, True
    if isinstance(value, Mapping):
        items = {key: _decrypted(item) for key, item in value.items()}
        return {k: plain for k, (plain, _) in items.items()}, any(s for _, s in items.values())
    if isinstance(value, list):
        pairs = [_decrypted(item) for item in value]
        return [plain for plain, _ in pairs], any(s for _, s in pairs)
    return value, False


def _merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(dict(base))
    for key, value in overrides.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


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


def _digest(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:17]


def _pem(kind: str, name: str) -> str:
    return f"-----BEGIN {kind}-----\noffline-{_digest(kind, name)}\n-----END {kind}-----\n"


def _public_ip(name: str) -> str:
    return f"198.51.100.{int(_digest(name), 16) % 250 + 1}"
