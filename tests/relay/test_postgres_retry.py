"""Which driver errors PostgresStorage._run retries on a fresh connection (transient: the
database or the connection to it going away or coming back) and which it reports at once, as
RelayStorageError either way. No PostgreSQL needed: a stand-in pool hands out connections.

asyncpg's InternalClientError ("cannot switch to state 11; another operation (2) is in
progress", on a connection the server closed mid-query, seen by the cross-node listener during
a PostgreSQL restart) escaped _run as itself before: not retried, and not the storage error the
relay's callers catch."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import asyncpg
import pytest

from mano_core.errors import RelayStorageError
from sync_server.storage import PostgresStorage

E = asyncpg.exceptions
TRANSIENT = [
    E.InternalClientError("cannot switch to state 11; another operation (2) is in progress"),
    E.ProtocolError("unexpected message"),
    E.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    E.TransactionResolutionUnknownError("connection lost during COMMIT"),
    E.CrashShutdownError("terminating connection because of crash of another server process"),
    E.AdminShutdownError("terminating connection due to administrator command"),
    E.IdleSessionTimeoutError("terminating connection due to idle-session timeout"),
    E.TooManyConnectionsError("sorry, too many clients already"),
    E.CannotConnectNowError("the database system is starting up"),
    E.InterfaceError("connection is closed"),
    ConnectionResetError(104, "Connection reset by peer"),
    TimeoutError(),
]
LASTING = [
    E.QueryCanceledError("canceling statement due to statement timeout"),
    E.UniqueViolationError("duplicate key value"),
    E.DatabaseDroppedError("database is being dropped"),
]


class Pool:
    """Stands in for asyncpg's pool: each acquire is a new connection; ``errors`` are raised
    by the first calls of the operation, one each."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.acquired = 0

    @contextlib.asynccontextmanager
    async def acquire(self, timeout: float | None = None) -> AsyncIterator[Pool]:
        self.acquired += 1
        yield self

    async def fetchval(self, query: str) -> int:
        if self.errors:
            raise self.errors.pop(0)
        return 1


def _storage(pool: Pool) -> PostgresStorage:
    storage = PostgresStorage("postgresql://mano@127.0.0.1:1/none", timeout=1.0)
    storage._pool = pool
    return storage


@pytest.mark.parametrize("error", TRANSIENT, ids=lambda e: type(e).__name__)
async def test_a_transient_error_is_retried_on_a_fresh_connection(error: BaseException) -> None:
    pool = Pool(error)
    assert await _storage(pool)._run(lambda c: c.fetchval("SELECT 1")) == 1
    assert pool.acquired == 2


@pytest.mark.parametrize("error", TRANSIENT, ids=lambda e: type(e).__name__)
async def test_a_transient_error_that_lasts_ends_as_database_unreachable(
        error: BaseException) -> None:
    pool = Pool(*[error] * 3)
    with pytest.raises(RelayStorageError, match=r"^database unreachable: ") as raised:
        await _storage(pool)._run(lambda c: c.fetchval("SELECT 1"))
    assert raised.value.__cause__ is error
    assert pool.acquired == 3


@pytest.mark.parametrize("error", LASTING, ids=lambda e: type(e).__name__)
async def test_an_error_that_would_recur_is_reported_at_once(error: BaseException) -> None:
    pool = Pool(error)
    with pytest.raises(RelayStorageError, match=r"^database error: "):
        await _storage(pool)._run(lambda c: c.fetchval("SELECT 1"))
    assert pool.acquired == 1


async def test_the_health_probe_is_not_retried_and_reads_database_unreachable() -> None:
    pool = Pool(TRANSIENT[0])
    with pytest.raises(RelayStorageError, match=r"^database unreachable: InternalClientError"):
        await _storage(pool).ping()
    assert pool.acquired == 1
