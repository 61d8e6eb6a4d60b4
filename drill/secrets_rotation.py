"""Secrets Manager's RotateSecret as AWS does it, in the drill's moto server.

moto's RotateSecret invokes the rotation function through its Lambda backend, which needs Docker.
Here it does what Secrets Manager does before it calls the function: a new version staged
AWSPENDING with no value (the function's createSecret gives it one), rotation enabled and
requested with the function and the schedule given, and the version's id returned, which is the
token of every step. It calls nothing: the drill runs the project's function in-process, step by
step (drill/credentials.py). A rotation whose AWSPENDING version is not yet current is still in
progress, and another is refused, as AWS refuses it.

And GetSecretValue without a stage answers AWSCURRENT, as on AWS, after the function's
finishSecret moved the label (moto would answer the version it last made current itself).
Imported by the moto server the drill starts (drill/emulator.py).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

PENDING, CURRENT = "AWSPENDING", "AWSCURRENT"


def install() -> None:
    # Only inside moto's server.
    from moto.secretsmanager.exceptions import (  # noqa: PLC0415
        InvalidRequestException,
        SecretNotFoundException,
    )
    from moto.secretsmanager.models import SecretsManagerBackend  # noqa: PLC0415

    move_stage = SecretsManagerBackend.update_secret_version_stage

    def rotate_secret(  # noqa: PLR0917 - moto's own signature
        self: Any,
        secret_id: str,
        client_request_token: str | None = None,
        rotation_lambda_arn: str | None = None,
        rotation_rules: dict[str, Any] | None = None,
        rotate_immediately: bool = True,
    ) -> str:
        if not self._is_valid_identifier(secret_id):
            raise SecretNotFoundException()
        secret = self.secrets[secret_id]
        function = rotation_lambda_arn or secret.rotation_lambda_arn
        if not function:
            raise InvalidRequestException("No Lambda rotation function ARN is associated")
        if any(
            PENDING in version["version_stages"] and CURRENT not in version["version_stages"]
            for version in secret.versions.values()
        ):
            raise InvalidRequestException(
                "A previous rotation isn't complete. That rotation will be reattempted."
            )
        token = client_request_token or str(uuid.uuid4())
        secret.remove_version_stages_from_old_versions([PENDING])
        secret.versions[token] = {
            "version_id": token,
            "version_stages": [PENDING],
            "createdate": int(time.time()),
        }
        secret.rotation_enabled = secret.rotation_requested = True
        secret.rotation_lambda_arn = function
        if rotation_rules and "AutomaticallyAfterDays" in rotation_rules:
            secret.auto_rotate_after_days = int(rotation_rules["AutomaticallyAfterDays"])
        return str(secret.to_short_dict(version_id=token))

    def update_secret_version_stage(
        self: Any,
        secret_id: str,
        version_stage: str,
        remove_from_version_id: str,
        move_to_version_id: str,
    ) -> tuple[str, str]:
        moved = move_stage(
            self, secret_id, version_stage, remove_from_version_id, move_to_version_id
        )
        if version_stage == CURRENT and move_to_version_id:
            self.secrets[secret_id].default_version_id = move_to_version_id
        return moved

    SecretsManagerBackend.rotate_secret = rotate_secret  # type: ignore[method-assign]
    SecretsManagerBackend.update_secret_version_stage = update_secret_version_stage  # type: ignore[method-assign]
