"""Snapshots, pruning and purges on SQLite (mixed into sync_server.storage.sqlite.SQLiteStorage):
a snapshot is stored part by part as it arrives; pruning drops old snapshots and a contiguous
prefix of envelopes they cover; a purge drops what the newest snapshot covers at once and ends
with the backend's truncating WAL checkpoint (erased rows survive in neither file)."""

from __future__ import annotations

from collections.abc import Sequence

import aiosqlite

from mano_core.errors import RelayConflictError
from sync_server.storage.hosts import SQLiteHost
from sync_server.storage.base import SnapshotInfo, snapshot_part_again


class SQLiteSnapshots(SQLiteHost):
    """The snapshot half of the SQLite backend (``_txn``/``_one``/``_rc``/``_checkpoint`` and
    ``_lock``: SQLiteHost)."""

    # --- snapshots -----------------------------------------------------------------------------

    async def put_snapshot(
        self, team: bytes, compartment: int, upto: int, parts: Sequence[bytes], now: float
    ) -> SnapshotInfo:
        size = sum(len(p) for p in parts)
        async with self._txn() as db:
            cur = await db.execute(
                "INSERT INTO snapshots(team, c, upto, parts, size, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (team, compartment, upto, len(parts), size, now),
            )
            sid = int(cur.lastrowid or 0)
            await db.executemany(
                "INSERT INTO snapshot_parts(sid, part, data) VALUES (?, ?, ?)",
                [(sid, i, p) for i, p in enumerate(parts)],
            )
            await db.execute("UPDATE teams SET usage = usage + ? WHERE team = ?", (size, team))
        return SnapshotInfo(sid, team, compartment, upto, len(parts), size, now)

    async def begin_snapshot(self, team: bytes, compartment: int, upto: int, now: float) -> int:
        async with self._txn() as db:
            cur = await db.execute(
                "INSERT INTO snapshots(team, c, upto, parts, size, created_at) "
                "VALUES (?, ?, ?, -1, 0, ?)", (team, compartment, upto, now))
            return int(cur.lastrowid or 0)

    async def put_snapshot_part(self, sid: int, part: int, data: bytes) -> None:
        async with self._txn() as db:
            async with db.execute(
                "SELECT team FROM snapshots WHERE sid = ? AND parts = -1", (sid,)
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                raise RelayConflictError(f"no unfinished snapshot {sid}")
            async with db.execute(
                "SELECT (SELECT count(*) FROM snapshot_parts WHERE sid = ?), "
                "(SELECT data FROM snapshot_parts WHERE sid = ? AND part = ?)", (sid, sid, part)
            ) as cur:
                count, stored = await cur.fetchone() or (0, None)
            if stored is not None:
                if snapshot_part_again(int(count), part, bytes(stored), data):
                    return
                raise RelayConflictError(f"part {part} of snapshot {sid} is stored already")
            await db.execute("INSERT INTO snapshot_parts(sid, part, data) VALUES (?, ?, ?)",
                             (sid, part, data))
            await db.execute("UPDATE snapshots SET size = size + ? WHERE sid = ?",
                             (len(data), sid))
            await db.execute("UPDATE teams SET usage = usage + ? WHERE team = ?",
                             (len(data), row[0]))

    async def finish_snapshot(self, sid: int) -> SnapshotInfo:
        async with self._txn() as db:
            await db.execute(
                "UPDATE snapshots SET parts = (SELECT count(*) FROM snapshot_parts "
                "WHERE sid = ?) WHERE sid = ? AND parts = -1", (sid, sid))
            async with db.execute(
                "SELECT team, c, upto, parts, size, created_at FROM snapshots WHERE sid = ?",
                (sid,),
            ) as cur:
                row = await cur.fetchone()
        if row is None:
            raise RelayConflictError(f"no snapshot {sid}")
        t, c, u, p, z, at = row
        return SnapshotInfo(sid, bytes(t), int(c), int(u), int(p), int(z), float(at))

    async def abort_snapshot(self, sid: int) -> None:
        async with self._txn() as db:
            await abort_snapshots(db, "sid = ?", (sid,))

    async def _snapshots_of(self, team: bytes, compartment: int) -> list[SnapshotInfo]:
        rows = await self._rc.execute_fetchall(
            "SELECT sid, upto, parts, size, created_at FROM snapshots WHERE team = ? AND c = ? "
            "AND parts >= 0 ORDER BY upto DESC, sid DESC",
            (team, compartment),
        )
        return [
            SnapshotInfo(int(s), team, compartment, int(u), int(p), int(z), float(t))
            for s, u, p, z, t in rows
        ]

    async def newest_snapshot(self, team: bytes, compartment: int, *,
                              before: int = 0) -> SnapshotInfo | None:
        infos = await self._snapshots_of(team, compartment)
        older = [i for i in infos if not before or i.upto < before]
        return older[0] if older else None

    async def snapshot_part(self, sid: int, part: int) -> bytes | None:
        row = await self._one(
            "SELECT data FROM snapshot_parts WHERE sid = ? AND part = ?", (sid, part)
        )
        return None if row is None else bytes(row[0])

    async def prune(
        self, team: bytes, compartment: int, *, now: float, retention: float, keep: int
    ) -> int:
        infos = await self._snapshots_of(team, compartment)
        if keep < 1 or len(infos) < keep:
            return 0
        floor = infos[keep - 1].upto
        async with self._txn() as db:
            for old in infos[keep:]:
                await _drop_snapshot(db, old.sid)
                await db.execute(
                    "UPDATE teams SET usage = usage - ? WHERE team = ?", (old.size, team)
                )
            # Prune a contiguous prefix only: stop below the first envelope that is too recent.
            async with db.execute(
                "SELECT min(seq) FROM envelopes WHERE team = ? AND c = ? AND received_at >= ?",
                (team, compartment, now - retention),
            ) as cur:
                row = await cur.fetchone()
            if row is not None and row[0] is not None:
                floor = min(floor, int(row[0]) - 1)
            count, size, top = await _drop_envelopes(db, team, compartment, floor)
            if count:
                await db.execute(
                    "UPDATE heads SET pruned = max(pruned, ?) WHERE team = ? AND c = ?",
                    (int(top or 0), team, compartment),
                )
                await db.execute("UPDATE teams SET usage = usage - ? WHERE team = ?", (size, team))
        return count

    async def purge(self, team: bytes, compartment: int, upto: int) -> tuple[int, int]:
        async with self._lock:
            async with self._txn(locked=True) as db:
                rows = list(await db.execute_fetchall(
                    "SELECT sid, upto, size FROM snapshots WHERE team = ? AND c = ? "
                    "AND parts >= 0 ORDER BY upto DESC, sid DESC",
                    (team, compartment),
                ))
                if not rows or int(rows[0][1]) < upto:
                    raise RelayConflictError(
                        f"no snapshot of compartment {compartment} covers {upto}")
                old = [(int(sid), int(size)) for sid, _, size in rows[1:]]
                for sid, _ in old:
                    await _drop_snapshot(db, sid)
                count, size, _top = await _drop_envelopes(db, team, compartment, upto)
                await db.execute(
                    "INSERT INTO heads(team, c, head, pruned) VALUES (?, ?, 0, ?) "
                    "ON CONFLICT(team, c) DO UPDATE SET pruned = max(pruned, excluded.pruned)",
                    (team, compartment, upto),
                )
                await db.execute(
                    "UPDATE teams SET usage = usage - ? WHERE team = ?",
                    (size + sum(z for _, z in old), team),
                )
            await self._checkpoint()
        return count, len(old)


async def abort_snapshots(db: aiosqlite.Connection, where: str,
                           args: Sequence[object]) -> None:
    """Delete the unfinished snapshots matching ``where`` and give their bytes back."""
    rows = await db.execute_fetchall(
        f"SELECT sid, team, size FROM snapshots WHERE parts = -1 AND {where}", args)
    for sid, team, size in rows:
        await _drop_snapshot(db, int(sid))
        await db.execute("UPDATE teams SET usage = usage - ? WHERE team = ?", (int(size), team))


async def _drop_snapshot(db: aiosqlite.Connection, sid: int) -> None:
    """Delete a stored snapshot and its parts (usage is the caller's)."""
    await db.execute("DELETE FROM snapshot_parts WHERE sid = ?", (sid,))
    await db.execute("DELETE FROM snapshots WHERE sid = ?", (sid,))


async def _drop_envelopes(db: aiosqlite.Connection, team: bytes, compartment: int,
                          upto: int) -> tuple[int, int, int | None]:
    """Delete the envelopes of (team, compartment) with seq <= ``upto``; returns how many,
    their bytes and the highest seq deleted (None if none)."""
    async with db.execute(
        "SELECT count(*), coalesce(sum(length(data)), 0), max(seq) FROM envelopes "
        "WHERE team = ? AND c = ? AND seq <= ?",
        (team, compartment, upto),
    ) as cur:
        row = await cur.fetchone()
    count, size, top = (int(row[0]), int(row[1]), row[2]) if row else (0, 0, None)
    if count:
        await db.execute("DELETE FROM envelopes WHERE team = ? AND c = ? AND seq <= ?",
                         (team, compartment, upto))
    return count, size, None if top is None else int(top)
