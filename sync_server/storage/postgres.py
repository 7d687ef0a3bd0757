"""PostgreSQL storage backend (asyncpg, connection pool): several relay nodes share one database.

Sequences are assigned under a row lock on the (team, compartment) counter row, in the same
transaction as the envelope rows, so they stay gap-free and ordered with any number of writers:
a second writer waits for the first one's COMMIT and then reads the head it left. Every write
that other nodes must learn about also queues a NOTIFY on ``CHANNEL`` in its transaction;
PostgreSQL delivers it only after the commit (see sync_server/pgbus.py for the listener)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final, TypeVar

import asyncpg

from mano_core.errors import RelayConflictError, RelayStorageError
from sync_server.storage.base import (
    MAX_STORED_INT,
    Appended,
    NewEnvelope,
    SnapshotInfo,
    already_appended,
    snapshot_part_again,
    to_i64,
)
from sync_server.storage.pg_blobs import Conn, PgBlobs, notify_payload
from sync_server.storage.pg_files import PgFiles
from sync_server.storage.pg_schema import CHANNEL, migrate

log = logging.getLogger("mano.relay.postgres")

T = TypeVar("T")

# Errors after which a retry on a fresh connection is safe: the transaction did not commit, or
# committed and the retry finds what the first try wrote: envelopes by their dedup keys, a log
# append by its entries (already_appended), a document's part by its bytes (part_again), a
# snapshot's part by its bytes (snapshot_part_again), a snapshot by its sid drawn before the
# insert (_new_sid), a team by its genesis (the handler compares the stored log, not
# create_team's answer). Each is transient: the database, or the connection to it, is going
# away or coming back (a retry, up to three tries, gets a fresh connection: the pool terminates
# one whose release fails). Not retried, as they would fail again: a statement cancelled or
# timed out (QueryCanceledError), a dropped database, a protocol violation, any other
# PostgresError (a constraint, a bad query).
RETRYABLE: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.ConnectionFailureError,
    asyncpg.exceptions.TransactionResolutionUnknownError,  # lost during COMMIT: dedup keys
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,      # the server crashed and restarts
    asyncpg.exceptions.IdleSessionTimeoutError,  # the server closed an idle pooled connection
    asyncpg.exceptions.TooManyConnectionsError,  # nodes reconnecting together after a restart
    asyncpg.exceptions.InterfaceError,
    # asyncpg's own state on a connection the server closed mid-query ("cannot switch to
    # state 11; another operation (2) is in progress"), as the listener saw (pgbus.py)
    asyncpg.exceptions.InternalClientError,
    ConnectionError,
    OSError,
    asyncio.TimeoutError,
)
# The tables a purge deletes from: VACUUMed after it, so that dead rows do not stay readable.
PURGED_TABLES: Final = ("envelopes", "snapshot_parts", "snapshots")
VACUUM_TIMEOUT: Final = 600.0  # seconds; a VACUUM of big tables outlasts command_timeout


class PostgresStorage(PgBlobs, PgFiles):
    """Implements sync_server.storage.base.Storage on PostgreSQL (key packages and invitations
    in sync_server/storage/pg_blobs.py).

    ``dsn`` is a libpq-style URL; unknown query parameters become server settings (e.g.
    ``?search_path=relay`` puts the tables in schema ``relay``, created if missing)."""

    def __init__(self, dsn: str, *, pool_size: int = 8, timeout: float = 10.0,
                 node: str = "") -> None:
        self.dsn = dsn
        self.node = node
        self._pool_size = max(2, pool_size)
        self._timeout = timeout
        self._pool: Any = None

    # --- lifecycle -----------------------------------------------------------------------------

    async def open(self) -> None:
        if self._pool is not None:
            raise RelayStorageError("storage already open")
        try:
            self._pool = await asyncpg.create_pool(
                self.dsn, min_size=1, max_size=self._pool_size, timeout=self._timeout,
                command_timeout=max(30.0, self._timeout),
            )
            async with self._pool.acquire() as conn:
                await migrate(conn)
        except Exception as exc:
            if self._pool is not None:
                self._pool.terminate()
                self._pool = None
            if isinstance(exc, RelayStorageError):
                raise
            if isinstance(exc, RETRYABLE + (asyncpg.PostgresError,)):
                raise RelayStorageError(f"cannot open PostgreSQL storage: {exc}") from exc
            raise

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                await asyncio.wait_for(pool.close(), self._timeout)
            except RETRYABLE + (TimeoutError,):
                pool.terminate()

    async def ping(self) -> None:
        """Raise RelayStorageError unless the database answers a trivial query in time."""
        await self._run(lambda c: c.fetchval("SELECT 1"), retry=False)

    async def _run(self, fn: Callable[[Conn], Awaitable[T]], *, retry: bool = True) -> T:
        """Run ``fn`` on a pooled connection; once more on a fresh one after a lost
        connection, a deadlock or a serialization failure. Errors end as RelayStorageError."""
        if self._pool is None:
            raise RelayStorageError("storage is not open")
        attempts = 3 if retry else 1
        for attempt in range(attempts):
            try:
                async with self._pool.acquire(timeout=self._timeout) as conn:
                    return await fn(conn)
            except RelayConflictError:
                raise
            except RETRYABLE as exc:
                if attempt == attempts - 1:
                    raise RelayStorageError(f"database unreachable: {exc!r}") from exc
                log.warning("database operation retried", extra={"error": repr(exc)})
                await asyncio.sleep(0.05 * (attempt + 1))
            except asyncpg.PostgresError as exc:
                raise RelayStorageError(f"database error: {exc!r}") from exc
        raise RelayStorageError("unreachable")  # pragma: no cover

    async def _txn(self, fn: Callable[[Conn], Awaitable[T]]) -> T:
        async def body(conn: Conn) -> T:
            async with conn.transaction():
                return await fn(conn)

        return await self._run(body)

    # --- teams and logs ------------------------------------------------------------------------

    async def create_team(self, team: bytes, log: Sequence[bytes], now: float) -> bool:
        async def body(c: Conn) -> bool:
            created = await c.fetchval(
                "INSERT INTO teams(team, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING "
                "RETURNING true", team, now)
            if created:
                await c.execute(
                    "INSERT INTO log_entries(team, idx, entry) "
                    "SELECT $1, i - 1, e FROM unnest($2::bytea[]) WITH ORDINALITY AS x(e, i)",
                    team, list(log))
                await c.execute("UPDATE teams SET usage = $1 WHERE team = $2",
                                sum(len(e) for e in log), team)
            return bool(created)

        return await self._txn(body)

    async def load_log(self, team: bytes) -> list[bytes] | None:
        async def body(c: Conn) -> list[bytes] | None:
            async with c.transaction(isolation="repeatable_read", readonly=True):
                if await c.fetchval("SELECT 1 FROM teams WHERE team = $1", team) is None:
                    return None
                rows = await c.fetch(
                    "SELECT entry FROM log_entries WHERE team = $1 ORDER BY idx", team)
            return [bytes(r[0]) for r in rows]

        return await self._run(body)

    async def append_log(self, team: bytes, start: int, entries: Sequence[bytes]) -> None:
        async def body(c: Conn) -> None:
            # The team row lock serialises appends from every node.
            if await c.fetchval("SELECT 1 FROM teams WHERE team = $1 FOR UPDATE", team) is None:
                raise RelayConflictError("no such team")
            length = await c.fetchval("SELECT count(*) FROM log_entries WHERE team = $1", team)
            if length == start + len(entries):  # this append again: a retry after its COMMIT?
                tail = await c.fetch("SELECT entry FROM log_entries WHERE team = $1 AND idx >= $2 "
                                     "ORDER BY idx", team, start)
                if already_appended([bytes(r[0]) for r in tail], start, length, entries):
                    return
            if length != start:
                raise RelayConflictError(f"log has {length} entries, not {start}")
            await c.execute(
                "INSERT INTO log_entries(team, idx, entry) "
                "SELECT $1, $2 + i - 1, e FROM unnest($3::bytea[]) WITH ORDINALITY AS x(e, i)",
                team, start, list(entries))
            await c.execute("UPDATE teams SET usage = usage + $1 WHERE team = $2",
                            sum(len(e) for e in entries), team)
            await self._notify(c, [notify_payload("l", team, start + len(entries), self.node)])

        await self._txn(body)

    async def team_usage(self, team: bytes) -> int:
        usage = await self._run(lambda c: c.fetchval(
            "SELECT usage + (SELECT coalesce(sum(bytes), 0) FROM heads WHERE team = $1) "
            "FROM teams WHERE team = $1", team))
        return int(usage or 0)

    # --- envelopes -----------------------------------------------------------------------------

    async def append_envelopes(self, items: Sequence[NewEnvelope], now: float) -> list[Appended]:
        if not items:
            return []
        return await self._txn(lambda c: self._append(c, items, now))

    async def _append(self, c: Conn, items: Sequence[NewEnvelope], now: float) -> list[Appended]:
        pairs = sorted({(it.team, it.compartment) for it in items})
        # Lock the counter rows in one global order (no deadlock between batches of two nodes);
        # the no-op update locks an existing row and returns the head its last writer left.
        rows = await c.fetch(
            "INSERT INTO heads(team, c, head, pruned) SELECT t, k, 0, 0 "
            "FROM unnest($1::bytea[], $2::int[]) AS x(t, k) ORDER BY t, k "
            "ON CONFLICT (team, c) DO UPDATE SET head = heads.head RETURNING team, c, head",
            [p[0] for p in pairs], [p[1] for p in pairs])
        heads = {(bytes(r[0]), int(r[1])): int(r[2]) for r in rows}
        # Read committed: this statement runs after the locks, so it sees every envelope that a
        # concurrent writer committed before us (a re-sent envelope keeps its first sequence).
        keys = [(it.team, it.compartment, it.author, to_i64(it.counter)) for it in items]
        uniq = list(dict.fromkeys(keys))
        found: dict[tuple[bytes, int, bytes, int], int] = {}
        for r in await c.fetch(
            "SELECT e.team, e.c, e.author, e.counter, e.seq FROM envelopes e "
            "JOIN unnest($1::bytea[], $2::int[], $3::bytea[], $4::bigint[]) AS x(t, k, a, n) "
            "ON e.team = x.t AND e.c = x.k AND e.author = x.a AND e.counter = x.n",
            [k[0] for k in uniq], [k[1] for k in uniq], [k[2] for k in uniq],
            [k[3] for k in uniq],
        ):
            found[(bytes(r[0]), int(r[1]), bytes(r[2]), int(r[3]))] = int(r[4])
        out: list[Appended] = []
        new: list[tuple[NewEnvelope, int, int]] = []
        size: dict[tuple[bytes, int], int] = {}
        for it, key in zip(items, keys, strict=True):
            if key in found:
                out.append(Appended(found[key], True))
                continue
            pair = (it.team, it.compartment)
            seq = heads[pair] + 1
            heads[pair] = found[key] = seq
            new.append((it, seq, key[3]))
            size[pair] = size.get(pair, 0) + len(it.data)
            out.append(Appended(seq, False))
        if not new:
            return out
        touched = sorted(size)
        # One round trip: the rows, the counters, and the notifications (sent after COMMIT).
        await c.execute(
            "WITH ins AS (INSERT INTO envelopes(team, c, seq, author, counter, data, received_at) "
            " SELECT t, k, s, a, n, d, $7 FROM unnest($1::bytea[], $2::int[], $3::bigint[], "
            " $4::bytea[], $5::bigint[], $6::bytea[]) AS x(t, k, s, a, n, d)), "
            "upd AS (UPDATE heads h SET head = x.s, bytes = h.bytes + x.n "
            " FROM unnest($8::bytea[], $9::int[], $10::bigint[], $11::bigint[]) AS x(t, k, s, n) "
            " WHERE h.team = x.t AND h.c = x.k) "
            "SELECT pg_notify($12, p) FROM unnest($13::text[]) AS p",
            [n[0].team for n in new], [n[0].compartment for n in new], [n[1] for n in new],
            [n[0].author for n in new], [n[2] for n in new], [n[0].data for n in new], now,
            [t for t, _ in touched], [k for _, k in touched], [heads[p] for p in touched],
            [size[p] for p in touched], CHANNEL,
            [notify_payload("e", t, k, heads[(t, k)], self.node) for t, k in touched])
        return out

    async def read_envelopes(
        self, team: bytes, compartment: int, after: int, limit: int
    ) -> list[tuple[int, bytes]]:
        rows = await self._run(lambda c: c.fetch(
            "SELECT seq, data FROM envelopes WHERE team = $1 AND c = $2 AND seq > $3 "
            "ORDER BY seq LIMIT $4", team, compartment, after, limit))
        return [(int(r[0]), bytes(r[1])) for r in rows]

    async def head(self, team: bytes, compartment: int) -> int:
        v = await self._run(lambda c: c.fetchval(
            "SELECT head FROM heads WHERE team = $1 AND c = $2", team, compartment))
        return int(v or 0)

    async def envelope_bytes(self, team: bytes, compartment: int, after: int,
                             upto: int | None = None) -> int:
        top = MAX_STORED_INT if upto is None else upto
        v = await self._run(lambda c: c.fetchval(
            "SELECT COALESCE(SUM(octet_length(data)), 0) FROM envelopes "
            "WHERE team = $1 AND c = $2 AND seq > $3 AND seq <= $4",
            team, compartment, after, top))
        return int(v or 0)

    async def pruned_upto(self, team: bytes, compartment: int) -> int:
        v = await self._run(lambda c: c.fetchval(
            "SELECT pruned FROM heads WHERE team = $1 AND c = $2", team, compartment))
        return int(v or 0)

    # --- snapshots -----------------------------------------------------------------------------

    async def put_snapshot(
        self, team: bytes, compartment: int, upto: int, parts: Sequence[bytes], now: float
    ) -> SnapshotInfo:
        size = sum(len(p) for p in parts)
        sid = await self._new_sid()

        async def body(c: Conn) -> None:
            if not await c.fetchval(
                    "INSERT INTO snapshots(sid, team, c, upto, parts, size, created_at) "
                    "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (sid) DO NOTHING "
                    "RETURNING true", sid, team, compartment, upto, len(parts), size, now):
                return  # stored by a first try whose COMMIT answer was lost
            await c.execute(
                "INSERT INTO snapshot_parts(sid, part, data) "
                "SELECT $1, i - 1, d FROM unnest($2::bytea[]) WITH ORDINALITY AS x(d, i)",
                sid, list(parts))
            await c.execute("UPDATE teams SET usage = usage + $1 WHERE team = $2", size, team)

        await self._txn(body)
        return SnapshotInfo(sid, team, compartment, upto, len(parts), size, now)

    async def begin_snapshot(self, team: bytes, compartment: int, upto: int, now: float) -> int:
        sid = await self._new_sid()
        await self._run(lambda c: c.execute(
            "INSERT INTO snapshots(sid, team, c, upto, parts, size, created_at) "
            "VALUES ($1, $2, $3, $4, -1, 0, $5) ON CONFLICT (sid) DO NOTHING",
            sid, team, compartment, upto, now))
        return sid

    async def _new_sid(self) -> int:
        """A snapshot id drawn before the insert that uses it, so that a retry of that insert
        (its first try's answer lost) finds the first try's row instead of adding another."""
        return int(await self._run(lambda c: c.fetchval(
            "SELECT nextval(pg_get_serial_sequence('snapshots', 'sid'))")))

    async def put_snapshot_part(self, sid: int, part: int, data: bytes) -> None:
        async def body(c: Conn) -> None:
            if await c.fetchval(
                    "INSERT INTO snapshot_parts(sid, part, data) SELECT $1, $2, $3 "
                    "WHERE EXISTS (SELECT 1 FROM snapshots WHERE sid = $1 AND parts = -1) "
                    "ON CONFLICT DO NOTHING RETURNING true", sid, part, data):
                await c.execute(
                    "WITH s AS (UPDATE snapshots SET size = size + $2 WHERE sid = $1 "
                    "RETURNING team) UPDATE teams SET usage = usage + $2 "
                    "WHERE team = (SELECT team FROM s)", sid, len(data))
                return
            row = await c.fetchrow(
                "SELECT (SELECT count(*) FROM snapshot_parts WHERE sid = $1), "
                "(SELECT data FROM snapshot_parts WHERE sid = $1 AND part = $2) "
                "FROM snapshots WHERE sid = $1 AND parts = -1", sid, part)
            if row is None:
                raise RelayConflictError(f"no unfinished snapshot {sid}")
            stored = None if row[1] is None else bytes(row[1])
            if not snapshot_part_again(int(row[0]), part, stored, data):
                raise RelayConflictError(f"part {part} of snapshot {sid} is stored already")

        await self._txn(body)

    async def finish_snapshot(self, sid: int) -> SnapshotInfo:
        async def body(c: Conn) -> Any:
            await c.execute(
                "UPDATE snapshots SET parts = (SELECT count(*) FROM snapshot_parts "
                "WHERE sid = $1) WHERE sid = $1 AND parts = -1", sid)
            return await c.fetchrow(
                "SELECT team, c, upto, parts, size, created_at FROM snapshots WHERE sid = $1",
                sid)

        row = await self._txn(body)
        if row is None:
            raise RelayConflictError(f"no snapshot {sid}")
        return SnapshotInfo(sid, bytes(row[0]), int(row[1]), int(row[2]), int(row[3]),
                            int(row[4]), float(row[5]))

    async def abort_snapshot(self, sid: int) -> None:
        await self._txn(lambda c: _abort_snapshots(c, "sid = $1", sid))

    async def _snapshots_of(self, c: Conn, team: bytes, compartment: int) -> list[SnapshotInfo]:
        rows = await c.fetch(
            "SELECT sid, upto, parts, size, created_at FROM snapshots WHERE team = $1 AND c = $2 "
            "AND parts >= 0 ORDER BY upto DESC, sid DESC", team, compartment)
        return [SnapshotInfo(int(r[0]), team, compartment, int(r[1]), int(r[2]), int(r[3]),
                             float(r[4])) for r in rows]

    async def newest_snapshot(self, team: bytes, compartment: int, *,
                              before: int = 0) -> SnapshotInfo | None:
        infos = await self._run(lambda c: self._snapshots_of(c, team, compartment))
        older = [i for i in infos if not before or i.upto < before]
        return older[0] if older else None

    async def snapshot_part(self, sid: int, part: int) -> bytes | None:
        v = await self._run(lambda c: c.fetchval(
            "SELECT data FROM snapshot_parts WHERE sid = $1 AND part = $2", sid, part))
        return None if v is None else bytes(v)

    async def prune(
        self, team: bytes, compartment: int, *, now: float, retention: float, keep: int
    ) -> int:
        async def body(c: Conn) -> int:
            # Counter row first, team row second: the order append_envelopes locks them in.
            await c.execute("SELECT 1 FROM heads WHERE team = $1 AND c = $2 FOR UPDATE",
                            team, compartment)
            infos = await self._snapshots_of(c, team, compartment)
            if keep < 1 or len(infos) < keep:
                return 0
            floor = infos[keep - 1].upto
            old = infos[keep:]
            if old:
                sids = [o.sid for o in old]
                await c.execute("DELETE FROM snapshot_parts WHERE sid = ANY($1::bigint[])", sids)
                await c.execute("DELETE FROM snapshots WHERE sid = ANY($1::bigint[])", sids)
            recent = await c.fetchval(
                "SELECT min(seq) FROM envelopes WHERE team = $1 AND c = $2 AND received_at >= $3",
                team, compartment, now - retention)
            if recent is not None:
                floor = min(floor, int(recent) - 1)
            row = await c.fetchrow(
                "WITH gone AS (DELETE FROM envelopes WHERE team = $1 AND c = $2 AND seq <= $3 "
                "RETURNING seq, length(data) AS n) "
                "SELECT count(*), coalesce(sum(n), 0), max(seq) FROM gone",
                team, compartment, floor)
            count, size, top = int(row[0]), int(row[1]), row[2]
            if count:
                await c.execute("UPDATE heads SET pruned = greatest(pruned, $1), bytes = bytes - $2"
                                " WHERE team = $3 AND c = $4", int(top), size, team, compartment)
            freed = sum(o.size for o in old)
            if freed:
                await c.execute("UPDATE teams SET usage = usage - $1 WHERE team = $2",
                                freed, team)
            return count

        return await self._txn(body)

    async def purge(self, team: bytes, compartment: int, upto: int) -> tuple[int, int]:
        """See Storage.purge. After the commit, a plain VACUUM (outside any transaction) of
        PURGED_TABLES turns the deleted rows into free space; docs/operations.md says what
        PostgreSQL may still hold (free space not yet reused, WAL, backups)."""
        async def body(c: Conn) -> tuple[int, int]:
            # Counter row first, team row second: the order append_envelopes locks them in.
            await c.execute("SELECT 1 FROM heads WHERE team = $1 AND c = $2 FOR UPDATE",
                            team, compartment)
            infos = await self._snapshots_of(c, team, compartment)
            if not infos or infos[0].upto < upto:
                raise RelayConflictError(
                    f"no snapshot of compartment {compartment} covers {upto}")
            old = infos[1:]
            if old:
                sids = [o.sid for o in old]
                await c.execute("DELETE FROM snapshot_parts WHERE sid = ANY($1::bigint[])", sids)
                await c.execute("DELETE FROM snapshots WHERE sid = ANY($1::bigint[])", sids)
            row = await c.fetchrow(
                "WITH gone AS (DELETE FROM envelopes WHERE team = $1 AND c = $2 AND seq <= $3 "
                "RETURNING length(data) AS n) SELECT count(*), coalesce(sum(n), 0) FROM gone",
                team, compartment, upto)
            count, size = int(row[0]), int(row[1])
            await c.execute(
                "INSERT INTO heads(team, c, head, pruned) VALUES ($1, $2, 0, $3) "
                "ON CONFLICT (team, c) DO UPDATE SET pruned = greatest(heads.pruned, $3), "
                "bytes = heads.bytes - $4", team, compartment, upto, size)
            freed = sum(o.size for o in old)
            if freed:
                await c.execute("UPDATE teams SET usage = usage - $1 WHERE team = $2",
                                freed, team)
            return count, len(old)

        result = await self._txn(body)
        await self._run(lambda c: c.execute(f"VACUUM {', '.join(PURGED_TABLES)}",
                                            timeout=VACUUM_TIMEOUT))
        return result


async def _abort_snapshots(c: Conn, where: str, *args: object) -> None:
    """Delete the unfinished snapshots matching ``where`` and give their bytes back."""
    rows = await c.fetch(
        f"DELETE FROM snapshots WHERE parts = -1 AND {where} RETURNING sid, team, size", *args)
    for r in rows:
        await c.execute("DELETE FROM snapshot_parts WHERE sid = $1", r[0])
        await c.execute("UPDATE teams SET usage = usage - $1 WHERE team = $2", int(r[2]), r[1])
