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
