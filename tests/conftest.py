"""The shared harness: run the real program under mocks for a stack, with config overrides."""

from __future__ import annotations

import json
from typing import Any

import pytest

from policy.types import INGRESS
from tools import mockrun
from tools.mockrun import Resource, Run

# The failover handler's moto world and its fixtures (aws_env, world); the node agent's (node);
# a real PostgreSQL (postgres).
pytest_plugins = (
    "tests.failover_world",
    "tests.agent_fixtures",
    "tests.postgres_server",
    "tests.credentials_world",
)

_cache: dict[tuple[str, str], Run] = {}

# Tests on moto's emulated AWS build and tear down a world each (about 2 s): slow, like the drill,
# the schema check, the hosts' interpreter and the plan command run as a process, which their
# modules mark. `make check` leaves them to `make test`.
SLOW_FIXTURES = frozenset({"world", "aws_env", "postgres", "credentials"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


# Every stack of the repository: each has its config in Pulumi.<stack>.yaml.
STACKS = mockrun.stacks()


def plan(stack: str, **overrides: Any) -> Run:
    """The program's run for `stack`, with `multitier:<section>` overrides, e.g.
    `plan("dev", network={"natMode": "per_az"})`. Runs are cached: treat them as read-only."""
    config = {f"multitier:{section}": value for section, value in overrides.items()}
    key = (stack, json.dumps(config, sort_keys=True))
    if key not in _cache:
        _cache[key] = mockrun.run(stack, config)
    return _cache[key]


def nat_mode(mode: str) -> dict[str, Any]:
    """`multitier:network` for a NAT mode: without one, no data egress, and Secrets Manager
    through the VPC's endpoint."""
    if mode == "none":
        return {"natMode": mode, "dataEgress": False, "endpoints": {"secretsManager": True}}
    return {"natMode": mode, "dataEgress": True}


def named(run: Run, id_: str) -> str:
    found = run.find(id_)
    return found.name if found else id_


def ingress_rules(run: Run) -> list[Resource]:
    return run.of_type(INGRESS)


@pytest.fixture(params=STACKS)
def stack(request: pytest.FixtureRequest) -> str:
    return str(request.param)
