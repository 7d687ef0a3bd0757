"""Fixtures for relay tests: an in-process relay on an ephemeral port, a real team, and
PostgreSQL (one fresh schema per test; skipped with a reason when no PostgreSQL is at hand)."""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from sync_server.config import RelayConfig
from sync_server.server import Relay
from tests.relay.kit import TeamKit
from tests.relay.pg import drop_schema, ensure_postgres, new_schema, stop_postgres, with_schema


def relay_config(tmp_path: Path, **kw: Any) -> RelayConfig:
    return dataclasses.replace(
        RelayConfig(), port=0, db=str(tmp_path / "relay.db"), synchronous="NORMAL", **kw
    )


@pytest.fixture
async def relay(tmp_path: Path) -> AsyncIterator[Relay]:
    async with Relay(relay_config(tmp_path)) as r:
        yield r


@pytest.fixture
def url(relay: Relay) -> str:
    return f"ws://127.0.0.1:{relay.port}"


@pytest.fixture
def kit() -> TeamKit:
    return TeamKit("bob", "carol")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The base DSN of a running PostgreSQL. Skips the test without one, unless
    MANO_TEST_POSTGRES_REQUIRED=1 (CI), where a missing PostgreSQL is a failure."""
    dsn, started, why = ensure_postgres()
    if dsn is None:
        if os.environ.get("MANO_TEST_POSTGRES_REQUIRED") == "1":
            pytest.fail(f"PostgreSQL required but unavailable: {why}")
        pytest.skip(why)
    yield dsn
    if started:
        stop_postgres()


@pytest.fixture
def pg_dsn(postgres_server: str) -> Iterator[str]:
    """A DSN whose tables live in a fresh schema, dropped after the test. (A plain fixture, so
    that async fixtures can reach it with request.getfixturevalue.)"""
    schema = new_schema()
    yield with_schema(postgres_server, schema)
    with ThreadPoolExecutor(1) as pool:  # its own event loop: the test's may be gone
        pool.submit(asyncio.run, drop_schema(postgres_server, schema)).result(60)
