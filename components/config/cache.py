"""`multitier:app.cache`: the optional Redis OSS cache's config, and the node types and engine
versions ElastiCache offers for it.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self, get_args

from pydantic import AfterValidator, Field, model_validator

from components.config.fields import Allowed, Model

# ElastiCache node types for what AppFleet builds: a Redis OSS replication group, cluster mode
# disabled, encrypted in transit and at rest, Multi-AZ with automatic failover, daily snapshots.
# The current-generation types of the ElastiCache API reference (CacheNode,
# https://docs.aws.amazon.com/AmazonElastiCache/latest/APIReference/API_CacheNode.html, as in
# botocore 1.44.8's service model), read 2026-12-01; each supports all of the above (the reference's
# exceptions, no Multi-AZ failover or append-only file on T1/T2, are previous generation). Left
# out: T2 (ElastiCache creates no new T2 clusters: "Supported node types", a stored copy of
# https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/CacheNodes.SupportedTypes.html),
# cache.r6gd (needs data tiering, which AppFleet does not turn on) and cache.c7gn (not in the API
# reference's list). Value: the oldest Redis OSS version a type runs ("Supported node types":
# 6.2 for M7g and R7g, the same generation; 5.0.6 for Graviton 2; none for Intel types).
_SIZES_G = ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge")
_CACHE_FAMILIES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("t4g", ("micro", "small", "medium"), "5.0.6"),
    ("t3", ("micro", "small", "medium"), "0"),
    ("m7g", _SIZES_G, "6.2"),
    ("m6g", _SIZES_G, "5.0.6"),
    ("m5", ("large", "xlarge", "2xlarge", "4xlarge", "12xlarge", "24xlarge"), "0"),
    ("m4", ("large", "xlarge", "2xlarge", "4xlarge", "10xlarge"), "0"),
    ("r7g", _SIZES_G, "6.2"),
    ("r6g", _SIZES_G, "5.0.6"),
    ("r5", ("large", "xlarge", "2xlarge", "4xlarge", "12xlarge", "24xlarge"), "0"),
    ("r4", ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "16xlarge"), "0"),
)
CACHE_NODE_TYPES: dict[str, str] = {
    f"cache.{family}.{size}": oldest for family, sizes, oldest in _CACHE_FAMILIES for size in sizes
}
_CACHE_NODE_TYPES_TEXT = ", ".join(
    f"cache.{family}.{'|'.join(sizes)}" for family, sizes, _ in _CACHE_FAMILIES
)
# Redis OSS versions of node-based ElastiCache clusters ("Supported ElastiCache (Redis OSS)
# versions", https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/supported-engine-versions.html,
# read 2026-12-01 from a stored copy): 7.1, 7.0, 6.2, 6.0, 5.0.6 and 4.0.10. 4 and 5 left standard
# support on 31 January 2026 and run only under paid Extended Support, so they are left out.
CacheEngineVersion = Literal["6.0", "6.2", "7.0", "7.1"]
CACHE_ENGINE_VERSIONS: tuple[str, ...] = get_args(CacheEngineVersion)


def _cache_node_type(node_type: str) -> str:
    if node_type not in CACHE_NODE_TYPES:
        raise ValueError(
            "not a current-generation node type ElastiCache offers for an encrypted Multi-AZ "
            f"Redis OSS replication group; allowed: {_CACHE_NODE_TYPES_TEXT}"
        )
    return node_type


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


CacheNodeType = Annotated[
    str, AfterValidator(_cache_node_type), Allowed(f"one of {_CACHE_NODE_TYPES_TEXT}")
]


class CacheConfig(Model):
    enabled: bool = Field(False, description="ElastiCache Redis for state sync between app nodes.")
    node_type: CacheNodeType = Field("cache.t4g.micro", description="Node type.")
    node_count: int = Field(
        2, ge=1, le=6, description="Nodes; more than 1 gives Multi-AZ failover."
    )
    engine_version: CacheEngineVersion = Field("7.1", description="Redis OSS version.")
    auth_rotation_days: int = Field(
        30,
        ge=1,
        le=1000,
        description="Rotate the AUTH token every this many days (Secrets Manager; the previous "
        "token keeps working until the next rotation).",
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        oldest = CACHE_NODE_TYPES[self.node_type]
        if _version(self.engine_version) < _version(oldest):
            raise ValueError(
                f"cache.nodeType {self.node_type} runs Redis OSS {oldest} or later; "
                f"engineVersion is {self.engine_version}"
            )
        return self
