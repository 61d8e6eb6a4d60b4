"""IAM rules: no administrator, PassRole, service-wide or broad managed policies, and no app role
that reads the database's master secret."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from policy.model import Res, Stack
from policy.props import COMPONENT_TAG, SECRET_TAG, as_list, statements, tier
from policy.rules.base import rule
from policy.types import (
    ATTACHMENT,
    INSTANCE,
    INSTANCE_PROFILE,
    LAUNCH_TEMPLATE,
    MANAGED_POLICY,
    ROLE,
    ROLE_POLICY,
    SECRET,
    SECRET_ROTATION,
    SECRET_VERSION,
    SG,
)

BROAD_MANAGED_POLICIES = ("AdministratorAccess", "PowerUserAccess", "FullAccess")


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


APP = "app"
"""The app hosts' tier (their security group's `multitier:tier`) and their component's tag."""
MASTER = "master"
"""The master secret's `multitier:secret`."""
READ_SECRET = "secretsmanager:GetSecretValue"
IN_SEGMENT = "\x00"
"""In an ARN to come: any run of characters but a colon (a segment, or the rest of one)."""


@rule(
    "iam-app-no-master-secret",
    "No app role (the app hosts' instance role, or any role of the app component) can read the "
    "database's master secret; the app reads its own login's.",
    ROLE_POLICY,
    MANAGED_POLICY,
    needs_stack=True,
)
def _iam_app_no_master_secret(policy: Res, stack: Stack) -> Iterator[str]:
    """A policy of an app role fails when a statement allowing secretsmanager:GetSecretValue
    names a master secret (`multitier:secret: master`): its ARN, once AWS has given it (the
    engine's outputs), or a pattern that matches it; while the ARN is unknown (a preview, the
    mocks), any pattern that can match the ARN AWS will give it, and any such statement in a
    document made from the secret (the `policy` property's dependencies)."""
    app_roles = _app_roles(stack)
    roles = [r for r in _roles_of(policy, stack) if r.urn in app_roles]
    masters = [s for s in stack.of_type(SECRET) if s.tags.get(SECRET_TAG) == MASTER]
    if not roles or not masters:
        return
    reading = [s for s in _allowed_statements(policy) if _allows(s, READ_SECRET)]
    derived = _secrets_derived(policy, stack)
    for master in masters:
        how = _names(reading, master, derived)
        if how:
            for role in roles:
                yield f"lets app role '{role.name}' read the master secret '{master.name}': {how}"


MODIFY_INSTANCE_ATTRIBUTE = "ec2:ModifyInstanceAttribute"
ATTRIBUTE_KEY = "ec2:attribute/"
"""ModifyInstanceAttribute's condition key per attribute (`ec2:Attribute/${AttributeName}`)."""
ITEM_WRITES = (
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
)
LEADING_KEYS = "dynamodb:leadingkeys"
CALLER = "${aws:userid}"


@rule(
    "iam-modify-instance-attribute-scoped",
    "A policy that allows ec2:ModifyInstanceAttribute names the attribute it may change "
    "(ec2:Attribute/...), so its holder cannot change an instance's role, user data or groups.",
    ROLE_POLICY,
    MANAGED_POLICY,
)
def _iam_modify_instance_attribute(resource: Res, _: Stack) -> Iterator[str]:
    for statement in _allowed_statements(resource):
        if not _allows(statement, MODIFY_INSTANCE_ATTRIBUTE):
            continue
        keys = {str(k).lower() for k in _condition_keys(statement)}
        if not any(k.startswith(ATTRIBUTE_KEY) for k in keys):
            sid = statement.get("Sid") or "a statement"
            yield f"{sid} allows {MODIFY_INSTANCE_ATTRIBUTE} on any attribute"


@rule(
    "iam-instance-role-own-items",
    "An instance role writes only its own items into a DynamoDB table: dynamodb:LeadingKeys "
    "keyed by the caller (${aws:userid}), so no host can write another's report or a lease.",
    ROLE_POLICY,
    MANAGED_POLICY,
    needs_stack=True,
)
def _iam_instance_role_own_items(policy: Res, stack: Stack) -> Iterator[str]:
    if not any(
        "ec2.amazonaws.com" in str(r.get("assumeRolePolicy")) for r in _roles_of(policy, stack)
    ):
        return
    for statement in _allowed_statements(policy):
        writes = [action for action in ITEM_WRITES if _allows(statement, action)]
        if not writes:
            continue
        sid = statement.get("Sid") or "a statement"
        keys = _leading_keys(statement)
        if not keys:
            yield f"{sid} allows {', '.join(writes)} on any item (no dynamodb:LeadingKeys)"
            continue
        for key in keys:
            rest = key.replace(CALLER, "")
            if CALLER not in key or "*" in rest or "?" in rest:
                yield f"{sid} lets the role write items {key!r}: not only the caller's own"


def _condition_keys(statement: Mapping[str, Any]) -> list[str]:
    condition = statement.get("Condition") or {}
    return [key for block in condition.values() if isinstance(block, Mapping) for key in block]


def _leading_keys(statement: Mapping[str, Any]) -> list[str]:
    """The values of a dynamodb:LeadingKeys condition, under any operator."""
    condition = statement.get("Condition") or {}
    return [
        str(value)
        for block in condition.values()
        if isinstance(block, Mapping)
        for key, values in block.items()
        if str(key).lower() == LEADING_KEYS
        for value in as_list(values)
    ]


def _app_roles(stack: Stack) -> set[str]:
    """The roles of the app tier: the role of the instance profile that a launch template or
    instance in the app's security group runs with, and every role tagged Component: app."""
    roles = {r.urn for r in stack.of_type(ROLE) if r.tags.get(COMPONENT_TAG) == APP}
    for host in stack.of_type(LAUNCH_TEMPLATE, INSTANCE):
        groups = stack.refs(host, "vpcSecurityGroupIds", SG)
        groups += stack.refs(host, "networkInterfaces", SG)
        if any(tier(g) == APP for g in groups):
            for profile in stack.refs(host, "iamInstanceProfile", INSTANCE_PROFILE):
                roles |= {r.urn for r in stack.refs(profile, "role", ROLE)}
    return roles


def _roles_of(policy: Res, stack: Stack) -> list[Res]:
    """The roles an inline policy belongs to, or a managed policy is attached to."""
    if policy.type == ROLE_POLICY:
        return stack.refs(policy, "role", ROLE)
    attachments = stack.referring(policy, "policyArn", ATTACHMENT)
    return [r for a in attachments for r in stack.refs(a, "role", ROLE)]


def _secrets_derived(policy: Res, stack: Stack) -> set[str]:
    """The secrets the document was made from: named themselves, or through a resource whose
    `secretId` names them (a version's or a rotation's ARN is its secret's)."""
    found: set[str] = set()
    for source in stack.refs(policy, "policy"):
        if source.type == SECRET:
            found.add(source.urn)
        elif source.type in (SECRET_VERSION, SECRET_ROTATION):
            found |= {s.urn for s in stack.refs(source, "secretId", SECRET)}
    return found


def _names(reading: Sequence[Mapping[str, Any]], secret: Res, derived: set[str]) -> str | None:
    """How one of the `reading` statements names `secret`, if one does."""
    arn = secret.get("arn")
    known = isinstance(arn, str) and arn.startswith("arn:")
    pattern = arn if known else _arn_to_come(secret)
    for statement in reading:
        if "NotResource" in statement:
            spared = as_list(statement.get("NotResource"))
            if not (known and any(_meet(str(p), arn) for p in spared)):
                return f"{READ_SECRET} on every secret but {spared}"
        for resource in as_list(statement.get("Resource")):
            if _meet(str(resource), pattern):
                return f"{READ_SECRET} on {resource}"
    if reading and not known and secret.urn in derived:
        return f"the document is made from the secret and allows {READ_SECRET}"
    return None


def _arn_to_come(secret: Res) -> str:
    """The ARN AWS will give `secret`, as a pattern: Secrets Manager adds `-` and six random
    characters to the name, which Pulumi makes of the logical name and random characters unless
    the program names it. Partition, region and account are any segment (no colon in them, nor
    in a secret's name)."""
    name, prefix = secret.get("name"), secret.get("namePrefix")
    if isinstance(name, str) and name:
        tail = f"{name}-??????"
    elif isinstance(prefix, str) and prefix:
        tail = f"{prefix}{IN_SEGMENT}"
    else:
        tail = f"{secret.name}-{IN_SEGMENT}"
    return f"arn:{IN_SEGMENT}:secretsmanager:{IN_SEGMENT}:{IN_SEGMENT}:secret:{tail}"


def _allows(statement: Mapping[str, Any], action: str) -> bool:
    """Whether an Allow statement grants `action`, through `Action` or `NotAction` patterns
    (IAM compares actions without regard to case)."""
    wanted = action.lower()
    if "NotAction" in statement:
        return not any(_meet(str(a).lower(), wanted) for a in as_list(statement["NotAction"]))
    return any(_meet(str(a).lower(), wanted) for a in as_list(statement.get("Action")))


def _meet(left: str, right: str) -> bool:
    """Whether some string matches both IAM patterns: `*` any run of characters, `?` any one,
    and in `right` also `IN_SEGMENT`; a pattern without any matches only itself."""
    seen: set[tuple[int, int]] = set()
    pending = [(0, 0)]
    while pending:
        i, j = pending.pop()
        if (i, j) in seen:
            continue
        seen.add((i, j))
        a = left[i] if i < len(left) else None
        b = right[j] if j < len(right) else None
        if a is None and b is None:
            return True
        if a == "*":
            # The star ends here, or it covers what `b` stands for.
            pending += [(i + 1, j), *([(i, j + 1)] if b is not None else [])]
        elif b in ("*", IN_SEGMENT):
            covers = a is not None and (b == "*" or a != ":")
            pending += [(i, j + 1), *([(i + 1, j)] if covers else [])]
        elif a is not None and b is not None and (a == b or "?" in (a, b)):
            pending.append((i + 1, j + 1))
    return False


_S3_WRITES = ("s3:putobject", "s3:deleteobject", "s3:put*", "s3:delete*", "s3:*", "*")


def _written_prefixes(resource: Res) -> Iterator[str]:
    """`bucket/prefix` of each object resource a policy lets write (a whole bucket: `bucket/`)."""
    for statement in _allowed_statements(resource):
        actions = {str(a).lower() for a in as_list(statement.get("Action"))}
        if not actions & set(_S3_WRITES):
            continue
        for arn in as_list(statement.get("Resource")):
            if arn == "*":
                yield "*"
            elif str(arn).startswith("arn:aws:s3:::"):
                bucket, _, key = str(arn).removeprefix("arn:aws:s3:::").partition("/")
                yield f"{bucket}/{key.split('/', 1)[0] if '/' in key else ''}"


@rule(
    "db-archive-prefix-scoped",
    "A role writes to S3 only under one prefix of a bucket, never a whole bucket: a database "
    "node writes its own cluster's archive and only reads a restore's source, whose system "
    "identifier it shares (pgBackRest would take its WAL into the source's archive).",
    ROLE_POLICY,
)
def _db_archive_prefix_scoped(resource: Res, _: Stack) -> Iterator[str]:
    prefixes = sorted(set(_written_prefixes(resource)))
    for prefix in prefixes:
        if prefix == "*" or prefix.endswith("/"):
            yield f"writes to a whole bucket ({prefix.rstrip('/')}), not under a prefix"
    if len(prefixes) > 1:
        yield f"writes under {len(prefixes)} prefixes ({', '.join(prefixes)}); at most one"
