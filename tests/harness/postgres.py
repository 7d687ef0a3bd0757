"""PostgreSQL for tests: the base server (skipped with a reason without one, a failure when
MANO_TEST_POSTGRES_REQUIRED=1, as in CI) and a fresh schema per test."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.relay.pg import drop_schema, ensure_postgres, new_schema, stop_postgres, with_schema


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
