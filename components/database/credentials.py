"""The database's master credentials, the same in both modes: a password the program generates,
kept in Pulumi's encrypted state and in a Secrets Manager secret encrypted with the database's
own key, with what a client needs to connect (host, port, database, user; in vip mode the CA of
the cluster's certificate).

RDS could manage the password itself, but then refuses read replicas (every engine but SQL
Server) and blue/green deployments of the instance; one model for both modes keeps the app's
contract the same.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.config import DatabaseConfig

PORT = 5432


def master_password(name: str, opts: pulumi.ResourceOptions) -> random.RandomPassword:
    """Generated once. RDS allows any printable ASCII but `/`, `"`, `@` and space; these
    specials suit URLs and shells."""
    return random.RandomPassword(
        f"{name}-master", length=32, special=True, override_special="-_=+.", opts=opts
    )


def master_secret(
    name: str,
    config: DatabaseConfig,
    *,
    host: pulumi.Input[str],
    password: random.RandomPassword,
    key_arn: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
    extra: Mapping[str, pulumi.Input[str]] | None = None,
) -> pulumi.Output[str]:
    """The credentials as JSON in Secrets Manager. Returns the secret's ARN, resolved only once
    the secret has its value: hosts that read it at first boot wait for the version."""
    secret = aws.secretsmanager.Secret(
        f"{name}-master",
        description="Master credentials of the app's PostgreSQL",
        kms_key_id=key_arn,
        opts=opts,
    )
    version = aws.secretsmanager.SecretVersion(
        f"{name}-master",
        secret_id=secret.id,
        secret_string=pulumi.Output.json_dumps(
            {
                "engine": "postgres",
                "host": host,
                "port": PORT,
                "dbname": config.database_name,
                "username": config.username,
                "password": password.result,
                **(extra or {}),
            }
        ),
        opts=opts,
    )
    return pulumi.Output.all(secret.arn, version.id).apply(lambda values: values[0])
