"""Key packages and invitations on PostgreSQL: opaque blobs, each write notifying the other
nodes (mixed into sync_server.storage.postgres.PostgresStorage)."""

from __future__ import annotations

from collections.abc import Sequence

from sync_server.storage.base import KeyPackage
from sync_server.storage.hosts import Conn as Conn
from sync_server.storage.hosts import PgHost
from sync_server.storage.pg_files import expire_files
from sync_server.storage.pg_schema import CHANNEL


def notify_payload(kind: str, team: bytes, *fields: object) -> str:
    """``kind:team_hex:field…`` (short: NOTIFY payloads must stay under 8000 bytes)."""
    return ":".join([kind, team.hex(), *(str(f) for f in fields)])


class PgBlobs(PgHost):
    """The blob half of the PostgreSQL backend (``_run``/``_txn``: PgHost)."""

    @staticmethod
    async def _notify(c: Conn, payloads: Sequence[str]) -> None:
        """Queue notifications in the current transaction (sent by PostgreSQL after COMMIT)."""
        await c.execute("SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p",
                        CHANNEL, list(payloads))

    # --- key packages --------------------------------------------------------------------------

    async def put_key(
        self, team: bytes, recipient: bytes, sender: bytes, blob: bytes, now: float
    ) -> int:
        async def body(c: Conn) -> int:
            kid = int(await c.fetchval(
                "INSERT INTO key_packages(team, recipient, sender, blob, created_at) "
                "VALUES ($1, $2, $3, $4, $5) RETURNING kid", team, recipient, sender, blob, now))
            await c.execute("UPDATE teams SET usage = usage + $1 WHERE team = $2",
                            len(blob), team)
            await self._notify(c, [notify_payload("k", team, recipient.hex(), kid, self.node)])
            return kid

        return await self._txn(body)

    async def fetch_keys(self, team: bytes, recipient: bytes, limit: int) -> list[KeyPackage]:
        rows = await self._run(lambda c: c.fetch(
            "SELECT kid, sender, blob FROM key_packages WHERE team = $1 AND recipient = $2 "
            "ORDER BY kid LIMIT $3", team, recipient, limit))
        return [KeyPackage(int(r[0]), bytes(r[1]), bytes(r[2])) for r in rows]

    async def count_keys(self, team: bytes, recipient: bytes) -> int:
        v = await self._run(lambda c: c.fetchval(
            "SELECT count(*) FROM key_packages WHERE team = $1 AND recipient = $2",
            team, recipient))
        return int(v or 0)

    async def delete_keys(self, team: bytes, recipient: bytes, kids: Sequence[int]) -> None:
        if not kids:
            return

        async def body(c: Conn) -> None:
            freed = await c.fetchval(
                "WITH gone AS (DELETE FROM key_packages WHERE team = $1 AND recipient = $2 "
                "AND kid = ANY($3::bigint[]) RETURNING length(blob) AS n) "
                "SELECT coalesce(sum(n), 0) FROM gone", team, recipient, list(kids))
            if freed:
                await c.execute("UPDATE teams SET usage = usage - $1 WHERE team = $2",
                                int(freed), team)

        await self._txn(body)

    # --- invitations ---------------------------------------------------------------------------

    async def open_invite(self, team: bytes, invite: bytes, verifier: bytes, now: float) -> bool:
        async def body(c: Conn) -> bool:
            inserted = await c.fetchval(
                "INSERT INTO invite_opens(team, invite, verifier, created_at) "
                "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING true",
                team, invite, verifier, now)
            if not inserted:
                old = await c.fetchval(
                    "SELECT verifier FROM invite_opens WHERE team = $1 AND invite = $2",
                    team, invite)
                return old is not None and bytes(old) == verifier
            await c.execute("UPDATE teams SET usage = usage + $1 WHERE team = $2",
                            len(invite) + len(verifier), team)
            return True

        return await self._txn(body)

    async def invite_verifier(self, team: bytes, invite: bytes) -> bytes | None:
        v = await self._run(lambda c: c.fetchval(
            "SELECT verifier FROM invite_opens WHERE team = $1 AND invite = $2", team, invite))
        return None if v is None else bytes(v)

    async def count_open_invites(self, team: bytes) -> int:
        return int(await self._run(lambda c: c.fetchval(
            "SELECT count(*) FROM invite_opens WHERE team = $1", team)))

    async def put_invite_request(
        self, team: bytes, invite: bytes, blob: bytes, now: float
    ) -> bool:
        async def body(c: Conn) -> bool:
            inserted = await c.fetchval(
                "INSERT INTO invitations(team, invite, request, created_at) "
                "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING true",
                team, invite, blob, now)
            if not inserted:
                old = await c.fetchval(
                    "SELECT request FROM invitations WHERE team = $1 AND invite = $2",
                    team, invite)
                return old is not None and bytes(old) == blob
            await c.execute("UPDATE teams SET usage = usage + $1 WHERE team = $2",
                            len(blob), team)
            await self._notify(c, [notify_payload("r", team, invite.hex(), self.node)])
            return True

        return await self._txn(body)

    async def pending_invites(self, team: bytes, limit: int) -> list[tuple[bytes, bytes]]:
        rows = await self._run(lambda c: c.fetch(
            "SELECT invite, request FROM invitations WHERE team = $1 AND answer IS NULL "
            "ORDER BY created_at, invite LIMIT $2", team, limit))
        return [(bytes(r[0]), bytes(r[1])) for r in rows]

    async def answer_invite(self, team: bytes, invite: bytes, blob: bytes) -> bool:
        async def body(c: Conn) -> bool:
            done = await c.fetchval(
                "UPDATE invitations SET answer = $1 WHERE team = $2 AND invite = $3 "
                "RETURNING true", blob, team, invite)
            if not done:
                return False
            await c.execute("UPDATE teams SET usage = usage + $1 WHERE team = $2",
                            len(blob), team)
            await self._notify(c, [notify_payload("a", team, invite.hex(), self.node)])
            return True

        return await self._txn(body)

    async def invite_answer(self, team: bytes, invite: bytes) -> bytes | None:
        v = await self._run(lambda c: c.fetchval(
            "SELECT answer FROM invitations WHERE team = $1 AND invite = $2", team, invite))
        return None if v is None else bytes(v)

    async def expire(self, before: float) -> int:
        async def body(c: Conn) -> int:
            rows = await c.fetch(
                "WITH gone AS (DELETE FROM invitations WHERE created_at < $1 RETURNING team, "
                "length(request) + coalesce(length(answer), 0) AS n) "
                "SELECT team, sum(n), count(*) FROM gone GROUP BY team ORDER BY team", before)
            for r in rows:
                await c.execute("UPDATE teams SET usage = usage - $1 WHERE team = $2",
                                int(r[1]), r[0])
            opened = await c.fetch(
                "WITH gone AS (DELETE FROM invite_opens WHERE created_at < $1 RETURNING team, "
                "length(invite) + length(verifier) AS n) "
                "SELECT team, sum(n) FROM gone GROUP BY team ORDER BY team", before)
            for r in opened:
                await c.execute("UPDATE teams SET usage = usage - $1 WHERE team = $2",
                                int(r[1]), r[0])
            stale = await c.fetch(
                "DELETE FROM snapshots WHERE parts = -1 AND created_at < $1 "
                "RETURNING sid, team, size", before)
            for r in stale:  # uploads a crash interrupted
                await c.execute("DELETE FROM snapshot_parts WHERE sid = $1", r[0])
                await c.execute("UPDATE teams SET usage = usage - $1 WHERE team = $2",
                                int(r[2]), r[1])
            await expire_files(c, before)
            return sum(int(r[2]) for r in rows)

        return await self._txn(body)
