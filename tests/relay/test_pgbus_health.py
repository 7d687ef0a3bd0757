"""The cross-node listener's problem, as /healthz shows it, says "database unreachable" from the
moment its connection is lost (docs/operations.md): not another wording while it is closing the
lost connection and before its first reconnection fails. No PostgreSQL needed: a stand-in
connection holds the bus inside that window.

tests/relay/test_multinode.py::test_relays_report_and_survive_a_postgres_restart flaked on it:
at load, a node's /healthz answered 503 "database connection lost" for ~40 ms after PostgreSQL
stopped (the health ping had not failed yet), and the test asserts the documented reason."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import asyncpg

from sync_server.fanout import Fanout
from sync_server.pgbus import PgBus

WAIT = 10.0  # seconds: generous on a loaded machine; the positive event ends every wait


class LostConnection:
    """A listener connection the server dropped: its close waits until the test releases it."""

    def __init__(self) -> None:
        self.closing = asyncio.Event()
        self.release = asyncio.Event()

    async def close(self) -> None:
        self.closing.set()
        await self.release.wait()

    def terminate(self) -> None:
        self.release.set()


async def test_a_lost_listener_reads_as_database_unreachable_while_it_closes() -> None:
    bus = PgBus("postgresql://127.0.0.1:1/none", "node", cast(Fanout, None),
                check_interval=60.0, timeout=WAIT)
    conn = LostConnection()
    bus._conn, bus.problem = cast(Any, conn), None  # connected, as start() leaves it
    task = asyncio.create_task(bus._run())
    try:
        bus._lost.set()  # what asyncpg's termination listener does
        await asyncio.wait_for(conn.closing.wait(), WAIT)
        assert bus.problem is not None
        assert bus.problem.startswith("database unreachable"), bus.problem
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


class BusyAfterShutdown:
    """A listener connection the server closed with an error asyncpg had not consumed yet: its
    next query raises InternalClientError ("another operation is in progress"), seen on a node
    whose listener then stopped for good, at load, during a PostgreSQL restart."""

    def __init__(self) -> None:
        self.checked = asyncio.Event()

    async def fetchval(self, *args: object, **kwargs: object) -> object:
        self.checked.set()
        raise asyncpg.InternalClientError("cannot switch to state 11; another operation (2) is "
                                          "in progress")

    async def close(self) -> None:
        pass

    def terminate(self) -> None:
        pass


async def test_any_failure_of_the_listeners_check_is_reported_and_the_bus_keeps_reconnecting(
) -> None:
    bus = PgBus("postgresql://mano@127.0.0.1:1/none", "node", cast(Fanout, None),
                check_interval=0.01, timeout=WAIT)
    conn = BusyAfterShutdown()
    bus._conn, bus.problem = cast(Any, conn), None
    task = asyncio.create_task(bus._run())
    try:
        await asyncio.wait_for(conn.checked.wait(), WAIT)
        for _ in range(50):  # the failed check, then a reconnection attempt (refused: port 1)
            await asyncio.sleep(0.01)
            if bus._conn is None and bus.problem is not None:
                break
        assert not task.done(), task.exception()  # before the fix: the task ended with it
        assert bus.problem is not None and bus.problem.startswith("database unreachable")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
