"""Reading the stack config, from Pulumi (`from_pulumi`, under `pulumi up`) or from a stack file's
mapping (`load_config`, under the offline plan), and reporting what is wrong with it: one
`ConfigError` that names each bad key, the value found and what is allowed.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pydantic import BaseModel, ValidationError

from components.config import placeholders
from components.config.regions import aws_regions
from components.config.stack import PRODUCTION, SECTIONS, StackConfig, production_by_name

NAMESPACE = "multitier"


class ConfigError(pulumi.RunError):
    """Bad stack config. A RunError, so `pulumi up` prints the message without a traceback."""


def load_config(
    raw: Mapping[str, Any], region: str | None = None, stack: str | None = None
) -> StackConfig:
    """Validate the `multitier:*` config values (keyed by section name, e.g. `network`, and
    `production`) of `stack` in `region` (`aws:region`; None when unknown, which skips the checks
    that need it). `production` defaults to what the stack's name says (`production_by_name`)."""
    problems = []
    if region is not None and region not in aws_regions():
        problems.append(_region_problem(region))
        region = None
    if stack is not None and not STACK_NAME.fullmatch(stack):
        problems.append(
            f"stack name {stack!r}: Pulumi refuses it; allowed: 1 to {STACK_NAME_LENGTH} "
            "letters, digits, hyphens, underscores and periods"
        )
    keys = (*SECTIONS, PRODUCTION)
    unknown = sorted(set(raw) - set(keys))
    if unknown:
        names = ", ".join(f"{NAMESPACE}:{key}" for key in unknown)
        allowed = ", ".join(f"{NAMESPACE}:{key}" for key in keys)
        problems.append(f"{names}: unknown key; allowed: {allowed}")
    shapeless = [
        _not_a_mapping(key, value)
        for key, value in raw.items()
        if key in SECTIONS and not isinstance(value, Mapping)
    ]
    if unknown or shapeless:
        raise _error(problems + shapeless)
    try:
        config = StackConfig.model_validate(raw, context={"region": region})
    except ValidationError as error:
        raise _error(problems + [_describe(e) for e in error.errors()]) from None
    if problems:
        raise _error(problems)
    if PRODUCTION not in raw and stack is not None and production_by_name(stack):
        # The name's default, not a key the file set: the warnings judge only those.
        config = config.model_copy(update={PRODUCTION: True})
        config.__pydantic_fields_set__.discard(PRODUCTION)
    return config


STACK_NAME_LENGTH = 100
STACK_NAME = re.compile(rf"[A-Za-z0-9_.-]{{1,{STACK_NAME_LENGTH}}}")
"""The stack names Pulumi accepts (its `tokens.ValidateStackName`)."""

STACK_FILE_KEYS = ("config", "environment", "encryptedkey", "encryptionsalt", "secretsprovider")
"""The top-level keys of a `Pulumi.<stack>.yaml` Pulumi reads; it ignores any other, so a
misspelt `config:` would deploy a stack of defaults."""


def stack_file_problems(document: Mapping[Any, Any], file: str) -> list[str]:
    """What in a stack file's top level Pulumi would silently ignore."""
    problems = []
    for key in document:
        if key not in STACK_FILE_KEYS:
            guess = difflib.get_close_matches(str(key), STACK_FILE_KEYS, n=1)
            hint = f"did you mean {guess[0]}? " if guess else ""
            problems.append(
                f"{file}: top-level key {key!r} is not one Pulumi reads, and it would ignore "
                f"what it holds; {hint}allowed: {', '.join(STACK_FILE_KEYS)}"
            )
    return problems


def from_pulumi() -> StackConfig:
    """Read and validate this stack's `multitier:*` config through the Pulumi SDK."""
    # The SDK has no public way to list config keys; listing them is what lets a misspelt
    # section name fail instead of being silently ignored.
    present = {**pulumi.runtime.get_config_env(), **pulumi.runtime.config.CONFIG.get()}
    prefix = f"{NAMESPACE}:"
    keys = [key for key in present if key.startswith(prefix)]
    secret = set(pulumi.runtime.get_config_secret_keys_env())
    secrets = [key for key in keys if key in secret or pulumi.runtime.is_config_secret(key)]
    if secrets:
        raise _error([f"{key}: {SECRET_REFUSED}" for key in secrets])
    config = pulumi.Config(NAMESPACE)
    raw = {key.removeprefix(prefix): _decoded(config.get(key.removeprefix(prefix))) for key in keys}
    stack = pulumi.get_stack()
    real = placeholders.real_engine()
    if real:  # under the mocks the file in this directory need not be the one they run
        _check_stack_file(Path(f"Pulumi.{stack}.yaml"))  # the engine runs us in the project
    loaded = load_config(raw, region=stack_region(), stack=stack)
    # Under a real engine only: the offline plan and the tests run the committed example files,
    # which hold placeholders on purpose; the plan lists them instead.
    found = placeholders.find({f"{prefix}{key}": value for key, value in raw.items()})
    if real and found and loaded.production:
        raise ConfigError(placeholders.refusal(stack, found))
    for placeholder in found if real else ():  # a stack that is no production may try them
        pulumi.log.warn(f"placeholder: {placeholder}")
    return loaded


def _check_stack_file(path: Path) -> None:
    """Pulumi ignores a stack file's unknown top-level keys, a misspelt `config:` included."""
    document = yaml.safe_load(path.read_text()) if path.is_file() else None
    if isinstance(document, Mapping) and (problems := stack_file_problems(document, path.name)):
        raise _error(problems)


SECRET_REFUSED = (
    "holds a secret (secure:) value; no multitier: key may be secret: config reaches user data, "
    "tags and the plan, which others can read; keep secrets in AWS Secrets Manager"
)


def stack_region() -> str | None:
    """The region the AWS provider deploys to: `aws:region`, else the environment's."""
    configured = pulumi.Config("aws").get("region")
    if configured is not None:
        return configured
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")


def _decoded(text: str | None) -> Any:
    """A value as the CLI hands it over: structured values as JSON, plain strings as they are."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _error(problems: Iterable[str]) -> ConfigError:
    return ConfigError("Invalid stack config:\n" + "\n".join(f"  {p}" for p in problems))


def _region_problem(region: str) -> str:
    regions = aws_regions()
    guess = difflib.get_close_matches(region, regions, n=1)
    hint = f"did you mean {guess[0]}? " if guess else ""
    return (
        f"aws:region = {region!r}: not a region of the aws partition (botocore's endpoint "
        f"data); {hint}allowed: {', '.join(regions)}"
    )


def _not_a_mapping(section: str, value: Any) -> str:
    model: type[BaseModel] = StackConfig.model_fields[section].annotation  # type: ignore[assignment]
    keys = ", ".join(f.alias or name for name, f in model.model_fields.items())
    if value is None:
        example = " (a bastion would be off)" if section == "bastion" else ""
        return (
            f"{NAMESPACE}:{section} = null: expected a mapping of its keys ({keys}); an empty "
            f"section would silently take every default{example}: write its keys, or remove "
            "the line to take the defaults on purpose"
        )
    kind = {str: "a string", list: "a list", bool: "true or false"}.get(type(value), "a number")
    return f"{NAMESPACE}:{section} = {value!r}: expected a mapping of its keys ({keys}), not {kind}"


_FRIENDLIER = {
    "bool_type": "expected true or false",
    "ip_v4_network": "expected an IPv4 network such as 10.0.0.0/16, with no host bits set",
    "ip_v4_address": "expected an IPv4 address such as 10.10.10.10",
    "timezone_aware": "expected an RFC 3339 date-time with its zone, such as 2026-12-01T09:30:00Z",
    "datetime_from_date_parsing": "expected an RFC 3339 date-time, such as 2026-12-01T09:30:00Z",
    "datetime_parsing": "expected an RFC 3339 date-time, such as 2026-12-01T09:30:00Z",
}


def _describe(error: Any) -> str:
    """One line for one pydantic error: `multitier:section.key = value: what is allowed`."""
    loc = [str(part) for part in error["loc"]]
    message = _FRIENDLIER.get(error["type"], str(error["msg"]).removeprefix("Value error, "))
    value = error["input"]
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    # Quoting helps only where text is expected: a choice of numbers takes 7 as it is.
    expected = str((error.get("ctx") or {}).get("expected", ""))
    wants_text = error["type"] == "string_type" or "'" in expected
    if error["type"] in ("string_type", "literal_error") and numeric and wants_text:
        message += f" (YAML reads {value} as a number: quote it)"
    if not loc:  # a cross-section check; its message names its keys
        return f"{NAMESPACE}:{message}"
    section, path = loc[0], loc[1:]
    names_a_key = path[-1:] == ["[key]"]  # a dict's key is the bad value, e.g. an env name
    path = path[:-1] if names_a_key else path
    key = f"{NAMESPACE}:{section}" + "".join(f".{p}" if not p.isdigit() else f"[{p}]" for p in path)
    if error["type"] == "extra_forbidden":
        model = _model_at(section, path[:-1])
        allowed = ", ".join(f.alias or name for name, f in model.model_fields.items())
        return f"{key}: unknown key; allowed keys: {allowed}"
    if names_a_key or (error["type"] == "value_error" and isinstance(value, Mapping)):
        return f"{key}: {message}"  # the key says it all; a whole mapping is no help to print
    return f"{key} = {value!r}: {message}"


def _model_at(section: str, path: list[str]) -> type[BaseModel]:
    model: type[BaseModel] = StackConfig.model_fields[section].annotation  # type: ignore[assignment]
    for part in path:
        by_alias = {f.alias: f for f in model.model_fields.values()}
        model = by_alias[part].annotation  # type: ignore[assignment]
    return model
