"""The database's credentials, the same in both modes: three secrets in Secrets Manager, encrypted
with the database's own key, each a JSON document with what a client needs to connect (engine,
host, port, dbname, username, password; in vip mode the CA of the cluster's certificate).

- the master user's (`rotation: master`): the nodes, the credentials function and operators;
- the app's (`rotation: alternating`): its login `app_user`, or `app_user_clone` after an odd
  number of rotations, acting as the owner role `app_owner`;
- the read-only login's (`rotation: single`): `app_reader`.

The program writes each secret's first value (a generated password, kept in Pulumi's encrypted
state) and never again: the credentials function rotates them (components/database/rotation.py),
so the versions ignore later changes, and each carries a staging label of its own besides
AWSCURRENT. Without it, two rotations later the first version has no label left and Secrets
Manager deletes it; Pulumi would then see its version gone and write it again, putting a
password back that the database no longer takes.

RDS could manage the master password itself, but then refuses read replicas (every engine but SQL
Server) and blue/green deployments of the instance; one model for both modes keeps the app's
contract the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.config import DatabaseConfig
from components.shared import naming
from functions.db_credentials import roles, rotation

PORT = 5432

Kind = Literal["master", "app", "readonly"]


@dataclass(frozen=True)
class Secret:
    """One of the database's secrets."""

    arn: pulumi.Output[str]
    """Its ARN, resolved only once it holds its first value: a host that reads it at first boot
    waits for the version."""
    secret: aws.secretsmanager.Secret
    """The secret itself, which its rotation schedule names."""


@dataclass(frozen=True)
class Credentials:
    """The database's three secrets."""

    master: Secret
    """The master user's: the nodes, the credentials function and operators only."""
    app: Secret
    """The app's login's (alternating `app_user` and `app_user_clone`)."""
    readonly: Secret
    """The read-only login's (`app_reader`)."""


def password(name: str, opts: pulumi.ResourceOptions) -> random.RandomPassword:
    """Generated once. RDS allows any printable ASCII but `/`, `"`, `@` and space; these
    specials suit URLs and shells."""
    return random.RandomPassword(name, length=32, special=True, override_special="-_=+.", opts=opts)


def master_password(name: str, opts: pulumi.ResourceOptions) -> random.RandomPassword:
    return password(f"{name}-master", opts)


MASTER_DESCRIPTION = (
    "Master credentials of the app's PostgreSQL: the database nodes, the credentials function "
    "and operators only"
)


def master_secret(
    name: str, key_arn: pulumi.Input[str], opts: pulumi.ResourceOptions
) -> aws.secretsmanager.Secret:
    """The master's secret alone, before its value: a restored RDS instance takes the password
    it holds now (managed.py), and the value names the instance's host."""
    return _secret_resource(f"{name}-master", "master", MASTER_DESCRIPTION, key_arn, opts)


def build(
    name: str,
    config: DatabaseConfig,
    *,
    host: pulumi.Input[str],
    master_password: random.RandomPassword,
    key_arn: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
    extra: Mapping[str, pulumi.Input[str]] | None = None,
    master: aws.secretsmanager.Secret | None = None,
) -> Credentials:
    """The three secrets; `extra` goes into each (vip mode: the CA); `master`, the master's
    secret when `master_secret` made it already."""
    where: dict[str, pulumi.Input[str] | int] = {
        "engine": "postgres",
        "host": host,
        "port": PORT,
        "dbname": config.database_name,
        **(extra or {}),
    }
    master_credentials = _secret(
        f"{name}-master",
        kind="master",
        description=MASTER_DESCRIPTION,
        secret=master,
        value={
            **where,
            "username": config.username,
            "password": master_password.result,
            "rotation": "master",
        },
        key_arn=key_arn,
        opts=opts,
    )

    def login(kind: Kind, username: str, description: str) -> Secret:
        secret_name = f"{name}-{kind}"
        return _secret(
            secret_name,
            kind=kind,
            description=description,
            value={
                **where,
                "username": username,
                "password": password(secret_name, opts).result,
                "rotation": "alternating" if kind == "app" else "single",
                "masterarn": master_credentials.arn,
                "owner": roles.OWNER,
            },
            key_arn=key_arn,
            opts=opts,
        )

    return Credentials(
        master=master_credentials,
        app=login("app", roles.APP, "The app's login to its PostgreSQL (read-write, no superuser)"),
        readonly=login("readonly", roles.READER, "A read-only login to the app's PostgreSQL"),
    )


def _secret(
    name: str,
    *,
    kind: Kind,
    description: str,
    value: Mapping[str, pulumi.Input[str] | int],
    key_arn: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
    secret: aws.secretsmanager.Secret | None = None,
) -> Secret:
    secret = secret or _secret_resource(name, kind, description, key_arn, opts)
    version = aws.secretsmanager.SecretVersion(
        name,
        secret_id=secret.id,
        secret_string=pulumi.Output.json_dumps(value),
        version_stages=[rotation.CURRENT, rotation.FIRST],
        opts=pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(ignore_changes=["secretString", "versionStages"])
        ),
    )
    return Secret(
        arn=pulumi.Output.all(secret.arn, version.id).apply(lambda values: values[0]),
        secret=secret,
    )


def _secret_resource(
    name: str,
    kind: Kind,
    description: str,
    key_arn: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> aws.secretsmanager.Secret:
    return aws.secretsmanager.Secret(
        name,
        description=description,
        kms_key_id=key_arn,
        tags={naming.SECRET_TAG: kind},
        opts=opts,
    )
