"""Cross-node events through PostgreSQL: LISTEN on a dedicated connection, reconnecting forever.

Payloads (queued by sync_server/storage/postgres.py inside the writing transaction, delivered by
PostgreSQL only after it commits) are ``kind:team_hex:…:node``:

====  ==========================  =============================================================
kind  fields                      on receipt
====  ==========================  =============================================================
e     c, head                     pull (team, c) after the cursor, in order (also our own: a
                                  retried commit may have been acked as a duplicate)
l     length                      reload the membership log (close revoked sessions)
k     recipient_hex, kid          push the key package to the recipient's sessions here
r     invite_hex                  show the join request to admins here
a     invite_hex                  send the answer to guests waiting here
p     device_hex, blob_hex        presence (not stored: published by this module)
====  ==========================  =============================================================

Events of our own node are skipped except ``e``. After a reconnection, events may have been
missed: every loaded team is resynchronised from storage."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg

from mano_core.errors import RelayStorageError
from sync_server.fanout import Fanout
from sync_server.storage.pg_schema import CHANNEL
from sync_server.storage.postgres import RETRYABLE

log = logging.getLogger("mano.relay.bus")

_MAX_PAYLOAD = 7900  # PostgreSQL refuses NOTIFY payloads of 8000 bytes or more


class PgBus:
    """Implements sync_server.fanout.Bus with PostgreSQL LISTEN/NOTIFY."""

    def __init__(self, dsn: str, node: str, fanout: Fanout, *, check_interval: float = 2.0,
                 timeout: float = 5.0) -> None:
        self.dsn = dsn
        self.node = node
        self.fanout = fanout
        self.problem: str | None = "not connected yet"
        self._check = check_interval
        self._timeout = timeout
        self._conn: Any = None
        self._lost = asyncio.Event()
        self._send_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Connect once (so a relay starts with working fan-out), then keep the link alive.
        Raises RelayStorageError if the database cannot be reached."""
        try:
            await self._connect()
        except RETRYABLE + (asyncpg.PostgresError,) as exc:
            raise RelayStorageError(f"cannot listen on PostgreSQL: {exc}") from exc
        self._task = asyncio.create_task(self._run(), name="mano-relay-bus")

    async def stop(self) -> None:
        """Stop listening and close the connection."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._close()

    async def _connect(self) -> None:
        self._lost.clear()
        conn = await asyncpg.connect(self.dsn, timeout=self._timeout)
        conn.add_termination_listener(lambda _: self._lost.set())
        await conn.add_listener(CHANNEL, self._on_notify)
        self._conn = conn
        self.problem = None

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await asyncio.wait_for(conn.close(), self._timeout)
            except Exception:  # noqa: BLE001 - a close that fails in any way: cut it
                conn.terminate()

    async def _run(self) -> None:
        backoff = 0.2
        while True:
            if self._conn is None:
                try:
                    await self._connect()
                except Exception as exc:  # noqa: BLE001 - any failure: not listening, try again
                    self.problem = f"database unreachable: {exc!r}"
                    await asyncio.sleep(backoff)
                    backoff = min(5.0, backoff * 2)
                    continue
                backoff = 0.2
                log.info("cross-node listener reconnected; resynchronising")
                self.fanout.resync()
            try:
                await asyncio.wait_for(self._lost.wait(), self._check)
            except TimeoutError:
                try:  # a silent TCP loss shows only when we talk
                    async with self._send_lock:
                        await self._conn.fetchval("SELECT 1", timeout=self._timeout)
                    continue
                except Exception as exc:  # noqa: BLE001 - any failure of the check means lost
                    # (asyncpg's InternalClientError, "another operation is in progress", on a
                    # connection the server closed is neither: it ended this task for good)
                    self.problem = f"database unreachable: {exc!r}"
            else:  # the wording /healthz promises for any database outage (operations.md)
                self.problem = "database unreachable: listener connection lost"
            log.warning("cross-node listener lost", extra={"error": self.problem})
            await self._close()

    async def publish_presence(self, team: bytes, device: bytes, blob: bytes) -> None:
        """NOTIFY the other nodes; dropped when too big or while disconnected (ephemeral)."""
        payload = f"p:{team.hex()}:{device.hex()}:{blob.hex()}:{self.node}"
        if self._conn is None or len(payload) > _MAX_PAYLOAD:
            return
        try:
            async with self._send_lock:
                await self._conn.execute("SELECT pg_notify($1, $2)", CHANNEL, payload,
                                         timeout=self._timeout)
        except RETRYABLE + (asyncpg.PostgresError,) as exc:
            log.info("presence not forwarded", extra={"error": repr(exc)})

    def _on_notify(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        try:
            self.dispatch(payload)
        except (ValueError, IndexError):
            log.warning("malformed cross-node event", extra={"payload": payload[:100]})

    def dispatch(self, payload: str) -> None:
        """Act on one event. Raises ValueError/IndexError on a malformed payload."""
        kind, team_hex, *fields, node = payload.split(":")
        team = bytes.fromhex(team_hex)
        f = self.fanout
        if kind == "e":
            f.remote(team, int(fields[0]), int(fields[1]))
        elif node == self.node:
            return
        elif kind == "l":
            f.log_changed(team)
        elif kind == "k":
            f.key_stored(team, bytes.fromhex(fields[0]), int(fields[1]))
        elif kind == "r":
            f.invite_requested(team, bytes.fromhex(fields[0]))
        elif kind == "a":
            f.invite_answered(team, bytes.fromhex(fields[0]))
        elif kind == "p":
            f.presence(team, bytes.fromhex(fields[0]), bytes.fromhex(fields[1]))
