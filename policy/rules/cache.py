"""ElastiCache rules: encryption, authentication, failover, snapshots."""

from __future__ import annotations

from collections.abc import Iterator

from policy.model import Res, Stack
from policy.props import truthy
from policy.rules.base import rule
from policy.types import (
    CACHE,
)


@rule(
    "cache-encrypted",
    "Redis encrypts data at rest and in transit (FSBP ElastiCache.4, ElastiCache.5).",
    CACHE,
)
def _cache_encrypted(cache: Res, _: Stack) -> Iterator[str]:
    for key in ("atRestEncryptionEnabled", "transitEncryptionEnabled"):
        if not truthy(cache.get(key)):
            yield f"{key} is off"


@rule("cache-auth", "Redis clients authenticate (FSBP ElastiCache.6).", CACHE)
def _cache_auth(cache: Res, _: Stack) -> Iterator[str]:
    if not (cache.get("authToken") or cache.get("userGroupIds")):
        yield "no AUTH token and no user group"


@rule(
    "cache-failover",
    "Redis with replicas fails over automatically across zones (FSBP ElastiCache.3).",
    CACHE,
)
def _cache_failover(cache: Res, _: Stack) -> Iterator[str]:
    if int(cache.get("numCacheClusters") or 1) > 1:
        for key in ("automaticFailoverEnabled", "multiAzEnabled"):
            if not truthy(cache.get(key)):
                yield f"{key} is off although there are replicas"


@rule("cache-backups", "Redis keeps daily snapshots (FSBP ElastiCache.1).", CACHE)
def _cache_backups(cache: Res, _: Stack) -> Iterator[str]:
    if not int(cache.get("snapshotRetentionLimit") or 0):
        yield "snapshotRetentionLimit is 0"
