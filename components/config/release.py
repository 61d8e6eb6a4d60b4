"""`multitier:app.release`: what the app hosts run (image, version, environment), the value
promoting a release copies between stack files, and what user data, tags and Docker allow in it.
"""

from __future__ import annotations

import json
import re
from typing import Annotated

from pydantic import AfterValidator, Field

from components.config.fields import Allowed, AmiId, Model, matches
from components.shared import cloud_init

# The app environment names the program sets itself (components/app/host.py, user_data_document);
# tests/test_config.py holds the two lists together.
PROGRAM_ENV = frozenset(
    {
        "PORT",
        "AWS_REGION",
        "RELEASE_VERSION",
        "DB_HOST",
        "DB_PORT",
        "DB_SECRET_ARN",
        "CACHE_HOST",
        "CACHE_PORT",
        "CACHE_TLS",
        "CACHE_AUTH_SECRET_ARN",
        "BACKUP_DIR",
    }
)
SECRET_WORDS = ("PASSWORD", "PASSWD", "SECRET", "TOKEN", "CREDENTIAL", "PRIVATE_KEY", "APIKEY")
"""Parts of a name that say it holds a secret, wherever they stand in it (DB_PASSWORD_FILE)."""
SECRET_PARTS = ("PASS", "PWD", "KEY", "KEYS", "AUTH")
"""Words of a name (between underscores) that say so on their own (DB_PASS, API_KEY)."""
# The release environment's share of the 16 KB EC2 allows for user data, counted as JSON-escaped
# text (YAML escapes no more); the rest of the app hosts' user data takes under 4 KB.
ENV_BYTES = 8192
USER_DATA_BYTES = cloud_init.USER_DATA_LIMIT
# EC2 tag values are at most 256 characters; these characters are accepted by every service.
TAG_VALUE_LENGTH = 256

# A container image reference (the distribution project's reference grammar): an optional
# registry (a host with a dot or a port, or localhost), lowercase path components, an optional
# tag and an optional sha256 digest.
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE = re.compile(
    r"(?P<name>(?:(?P<registry>localhost(?::\d+)?|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?::\d+)?"
    r"|[A-Za-z0-9-]+:\d+)/)?"
    rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
    r"(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?"
)
IMAGE_NAME_LENGTH = 255
_TAG_VALUE = re.compile(rf"[\w.:/=+@-]{{1,{TAG_VALUE_LENGTH}}}")
_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")


def _image(image: str) -> str:
    match = _IMAGE.fullmatch(image)
    if not match:
        raise ValueError(
            "expected a container image such as public.ecr.aws/nginx/nginx:1.27 or "
            "registry/name@sha256:<64 hex digits>; repository paths are lowercase"
        )
    if len(match["name"]) > IMAGE_NAME_LENGTH:
        raise ValueError(f"the image name is over {IMAGE_NAME_LENGTH} characters")
    host, _, port = (match["registry"] or "").partition(":")
    if port and port != "443" and host != "localhost":  # security groups never filter loopback
        raise ValueError(
            f"the registry's port {port} is closed: the app hosts may open only HTTPS (443) "
            "outside the VPC; allowed: a registry on 443 (no port, or :443)"
        )
    return image


def _env_name(name: str) -> str:
    if not _ENV_NAME.fullmatch(name):
        raise ValueError("environment names are UPPER_SNAKE_CASE")
    if name in PROGRAM_ENV:
        raise ValueError(
            f"the program sets {name} itself; names it sets: {', '.join(sorted(PROGRAM_ENV))}"
        )
    word = next((w for w in SECRET_WORDS if w in name), None)
    word = word or next((w for w in name.split("_") if w in SECRET_PARTS), None)
    if word:
        raise ValueError(
            f"looks like a secret ({word}): user data is readable by anyone who can describe the "
            "launch template; keep secrets in AWS Secrets Manager and have the app read them there"
        )
    return name


def _env_value(value: str) -> str:
    if any(c in value for c in "\n\r\0"):
        raise ValueError("values are one line: docker --env-file reads one NAME=value per line")
    return value


def _env(env: dict[str, str]) -> dict[str, str]:
    size = sum(len(json.dumps(k)) + len(json.dumps(v)) for k, v in env.items())
    if size > ENV_BYTES:
        raise ValueError(
            f"the environment takes {size} bytes of user data; at most {ENV_BYTES} (EC2 user data "
            f"holds {USER_DATA_BYTES // 1024} KB in all)"
        )
    return env


Image = Annotated[
    str,
    AfterValidator(_image),
    Allowed(f"registry/name:tag or registry/name@sha256:digest; name up to {IMAGE_NAME_LENGTH}"),
]
TagValue = Annotated[
    str,
    matches(_TAG_VALUE, "1.27 (1 to 256 letters, digits and _ . : / = + - @)"),
    Allowed(f"1 to {TAG_VALUE_LENGTH} letters, digits and _ . : / = + - @"),
]
EnvName = Annotated[str, AfterValidator(_env_name)]
EnvValue = Annotated[str, AfterValidator(_env_value)]
Environment = Annotated[
    dict[EnvName, EnvValue],
    AfterValidator(_env),
    Allowed(
        f"UPPER_SNAKE_CASE names, one-line values, {ENV_BYTES} bytes in all; not the names the "
        f"program sets ({', '.join(sorted(PROGRAM_ENV))}), nor names containing "
        f"{', '.join(SECRET_WORDS)} or with a word {', '.join(SECRET_PARTS)} (secrets belong in "
        "Secrets Manager)"
    ),
]


class Release(Model):
    """What the app tier runs; promoting a release copies this value between stack files."""

    image: Image = Field(
        "public.ecr.aws/nginx/nginx:1.27", description="Container image the app hosts run."
    )
    version: TagValue = Field("1.27", description="Release version, tagged on instances.")
    env: Environment = Field(
        default_factory=dict,
        description="Extra container environment; no secrets (use Secrets Manager).",
    )
    ami: AmiId | None = Field(
        None,
        description="The hosts' image pinned with the release (the id the SSM parameter "
        "resolved to); a rollback then brings the operating system back too. Default: "
        "`app.ami`, else the latest Amazon Linux 2023 at each launch.",
    )
