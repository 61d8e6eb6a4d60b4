"""The node agent's test fixtures (a pytest plugin, registered in tests/conftest.py): a node `a`
with its role file, a marker file standing in for PostgreSQL, a lease on a shared path and a clock
the test moves; real commands create and remove the marker, so the agent's subprocess handling is
exercised as on a node."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from functions.hosts import pg_agent
from functions.hosts.pg_agent import Agent, Commands, Lease, file_role

AGENT = Path(pg_agent.__file__)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def marker_commands(marker: Path, check: list[str] | None = None) -> Commands:
    return Commands(
        start=["touch", str(marker)],
        stop=["rm", "-f", str(marker)],
        status=["test", "-f", str(marker)],
        check=check or ["true"],
    )


@pytest.fixture
def node(tmp_path: Path):
    """An agent for node `a`, its role file, its 'PostgreSQL' marker and a shared lease."""
    role = tmp_path / "role"
    marker = tmp_path / "postgres-running"
    clock = Clock()
    lease = Lease(tmp_path / "lease", "a", stale_after=10, clock=clock)
    agent = Agent(
        role=file_role(role), postgres=marker_commands(marker), lease=lease, interval=0, clock=clock
    )
    return agent, role, marker, clock


def other_node_renews(lease: Lease, at: float) -> None:
    lease.path.write_text(json.dumps({"node": "b", "renewed_at": at}))
