"""Key packages and invitations on SQLite: opaque blobs (mixed into
sync_server.storage.sqlite.SQLiteStorage, as pg_blobs.py is into the PostgreSQL backend)."""

from __future__ import annotations

from collections.abc import Sequence


from sync_server.storage.hosts import SQLiteHost
from sync_server.storage.base import KeyPackage
from sync_server.storage.sqlite_files import expire_files


class SQLiteBlobs(SQLiteHost):
    """The blob half of the SQLite backend (``_txn``/``_one``/``_rc``: SQLiteHost)."""

    async def _write(self, statements: Sequence[tuple[str, Sequence[object]]]) -> None:
        """Run statements in one transaction."""
        async with self._txn() as db:
            for sql, args in statements:
                await db.execute(sql, args)

    # --- key packages --------------------------------------------------------------------------

    async def put_key(
        self, team: bytes, recipient: bytes, sender: bytes, blob: bytes, now: float
    ) -> int:
        async with self._txn() as db:
            cur = await db.execute(
                "INSERT INTO key_packages(team, recipient, sender, blob, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (team, recipient, sender, blob, now),
            )
            kid = int(cur.lastrowid or 0)
            await db.execute(
                "UPDATE teams SET usage = usage + ? WHERE team = ?", (len(blob), team)
            )
        return kid

    async def fetch_keys(self, team: bytes, recipient: bytes, limit: int) -> list[KeyPackage]:
        rows = await self._rc.execute_fetchall(
            "SELECT kid, sender, blob FROM key_packages WHERE team = ? AND recipient = ? "
            "ORDER BY kid LIMIT ?",
            (team, recipient, limit),
        )
        return [KeyPackage(int(k), bytes(s), bytes(b)) for k, s, b in rows]

    async def count_keys(self, team: bytes, recipient: bytes) -> int:
        row = await self._one(
            "SELECT count(*) FROM key_packages WHERE team = ? AND recipient = ?", (team, recipient)
        )
        return 0 if row is None else int(row[0])

    async def delete_keys(self, team: bytes, recipient: bytes, kids: Sequence[int]) -> None:
        if not kids:
            return
        marks = ",".join("?" for _ in kids)
        where = f"team = ? AND recipient = ? AND kid IN ({marks})"
        args: list[object] = [team, recipient, *kids]
        await self._write(
            [
                (
                    "UPDATE teams SET usage = usage - (SELECT coalesce(sum(length(blob)), 0) "
                    f"FROM key_packages WHERE {where}) WHERE team = ?",
                    [*args, team],
                ),
                (f"DELETE FROM key_packages WHERE {where}", args),
            ]
        )

    # --- invitations ---------------------------------------------------------------------------

    async def open_invite(self, team: bytes, invite: bytes, verifier: bytes, now: float) -> bool:
        old = await self._one(
            "SELECT verifier FROM invite_opens WHERE team = ? AND invite = ?", (team, invite))
        if old is not None:
            return bytes(old[0]) == verifier
        await self._write(
            [
                ("INSERT OR IGNORE INTO invite_opens(team, invite, verifier, created_at) "
                 "VALUES (?, ?, ?, ?)", (team, invite, verifier, now)),
                ("UPDATE teams SET usage = usage + ? WHERE team = ?",
                 (len(invite) + len(verifier), team)),
            ]
        )
        return True

    async def invite_verifier(self, team: bytes, invite: bytes) -> bytes | None:
        row = await self._one(
            "SELECT verifier FROM invite_opens WHERE team = ? AND invite = ?", (team, invite))
        return None if row is None else bytes(row[0])

    async def count_open_invites(self, team: bytes) -> int:
        row = await self._one("SELECT count(*) FROM invite_opens WHERE team = ?", (team,))
        return 0 if row is None else int(row[0])

    async def put_invite_request(
        self, team: bytes, invite: bytes, blob: bytes, now: float
    ) -> bool:
        old = await self._one(
            "SELECT request FROM invitations WHERE team = ? AND invite = ?", (team, invite)
        )
        if old is not None:
            return bytes(old[0]) == blob
        await self._write(
            [
                (
                    "INSERT OR IGNORE INTO invitations(team, invite, request, created_at) "
                    "VALUES (?, ?, ?, ?)",
                    (team, invite, blob, now),
                ),
                ("UPDATE teams SET usage = usage + ? WHERE team = ?", (len(blob), team)),
            ]
        )
        return True

    async def pending_invites(self, team: bytes, limit: int) -> list[tuple[bytes, bytes]]:
        rows = await self._rc.execute_fetchall(
            "SELECT invite, request FROM invitations WHERE team = ? AND answer IS NULL "
            "ORDER BY created_at, invite LIMIT ?",
            (team, limit),
        )
        return [(bytes(i), bytes(r)) for i, r in rows]

    async def answer_invite(self, team: bytes, invite: bytes, blob: bytes) -> bool:
        if await self._one(
            "SELECT 1 FROM invitations WHERE team = ? AND invite = ?", (team, invite)
        ) is None:
            return False
        await self._write(
            [
                (
                    "UPDATE invitations SET answer = ? WHERE team = ? AND invite = ?",
                    (blob, team, invite),
                ),
                ("UPDATE teams SET usage = usage + ? WHERE team = ?", (len(blob), team)),
            ]
        )
        return True

    async def invite_answer(self, team: bytes, invite: bytes) -> bytes | None:
        row = await self._one(
            "SELECT answer FROM invitations WHERE team = ? AND invite = ?", (team, invite)
        )
        return None if row is None or row[0] is None else bytes(row[0])

    async def expire(self, before: float) -> int:
        async with self._txn() as db:
            await db.execute(
                "UPDATE teams SET usage = usage - (SELECT coalesce(sum(length(request) + "
                "coalesce(length(answer), 0)), 0) FROM invitations i "
                "WHERE i.team = teams.team AND i.created_at < ?)",
                (before,),
            )
            cur = await db.execute("DELETE FROM invitations WHERE created_at < ?", (before,))
            n = cur.rowcount
            await db.execute(
                "UPDATE teams SET usage = usage - (SELECT coalesce(sum(length(invite) + "
                "length(verifier)), 0) FROM invite_opens o "
                "WHERE o.team = teams.team AND o.created_at < ?)",
                (before,),
            )
            await db.execute("DELETE FROM invite_opens WHERE created_at < ?", (before,))
            rows = await db.execute_fetchall(
                "SELECT sid, team, size FROM snapshots WHERE parts = -1 AND created_at < ?",
                (before,))
            for sid, team, size in rows:
                await db.execute("DELETE FROM snapshot_parts WHERE sid = ?", (sid,))
                await db.execute("DELETE FROM snapshots WHERE sid = ?", (sid,))
                await db.execute("UPDATE teams SET usage = usage - ? WHERE team = ?",
                                 (size, team))
            await expire_files(db, before)
        return n
