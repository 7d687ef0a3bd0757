"""PostgreSQL-specific storage behaviour: what several relay nodes sharing one database need
(gap-free sequences under concurrent writers, NOTIFY after commit, versioned migrations)."""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import AsyncIterator, Awaitable
from typing import TypeVar

import asyncpg
import pytest

from mano_core.errors import RelayStorageError
from sync_server.storage import NewEnvelope, PostgresStorage
from sync_server.storage.pg_schema import CHANNEL, SCHEMA_VERSION

T = b"T" * 16
R = TypeVar("R")


def env(author: bytes, counter: int, c: int = 0) -> NewEnvelope:
    return NewEnvelope(T, c, author, counter, b"%s:%d:%d" % (author[:2], c, counter))


async def test_data_survives_reopen_and_dedup_keys_use_all_64_bits(pg_dsn: str) -> None:
    st = PostgresStorage(pg_dsn)
    await st.open()
    await st.create_team(T, [b"g"], 0.0)
    big = (1 << 64) - 1
    await st.append_envelopes([env(b"a" * 32, 1), env(b"a" * 32, big)], 1.0)
    await st.close()
    st = PostgresStorage(pg_dsn)
    await st.open()
    res = await st.append_envelopes([env(b"a" * 32, big), env(b"a" * 32, (1 << 63) - 1)], 2.0)
    assert [(r.seq, r.duplicate) for r in res] == [(2, True), (3, False)]
    assert await st.load_log(T) == [b"g"]
    await st.close()


async def test_concurrent_writers_on_several_nodes_get_gap_free_sequences(pg_dsn: str) -> None:
    nodes = [PostgresStorage(pg_dsn, node=f"n{i}", pool_size=4) for i in range(3)]
    for st in nodes:
        await st.open()
    await nodes[0].create_team(T, [b"g"], 0.0)
    authors = [os.urandom(32) for _ in range(6)]
    rng = random.Random(7)

    async def writer(st: PostgresStorage, author: bytes) -> list[tuple[int, int, bool]]:
        got: list[tuple[int, int, bool]] = []
        counter = 0
        for _ in range(25):
            batch = []
            for _ in range(rng.randint(1, 6)):
                counter += 1
                batch.append(env(author, counter, c=rng.randint(0, 1)))
            batch.append(batch[0])  # a re-sent envelope in the same batch
            res = await st.append_envelopes(batch, 1.0)
            got += [(b.compartment, r.seq, r.duplicate) for b, r in zip(batch, res)]
        return got

    # Every author writes through every node at once; the same envelopes race on all three.
    results = await asyncio.gather(*(writer(st, a) for st in nodes for a in authors[:3]),
                                   *(writer(nodes[i % 3], a) for i, a in enumerate(authors[3:])))
    for c in (0, 1):
        rows = await nodes[1].read_envelopes(T, c, 0, 100_000)
        seqs = [s for s, _ in rows]
        assert seqs == list(range(1, len(seqs) + 1))  # gap-free, ordered
        assert len({d for _, d in rows}) == len(rows)  # each envelope stored once
        assert await nodes[2].head(T, c) == len(seqs)
        fresh = sorted(s for r in results for k, s, dup in r if k == c and not dup)
        assert fresh == seqs  # exactly one writer was told "new" for each sequence
    for st in nodes:
        await st.close()


async def test_notify_arrives_after_commit_and_rows_are_readable(pg_dsn: str) -> None:
    st = PostgresStorage(pg_dsn, node="n1")
    await st.open()
    await st.create_team(T, [b"g"], 0.0)
    listener = await asyncpg.connect(pg_dsn)
    got: asyncio.Queue[str] = asyncio.Queue()
    await listener.add_listener(CHANNEL, lambda *args: got.put_nowait(args[3]))
    await st.append_envelopes([env(b"a" * 32, 1), env(b"a" * 32, 2), env(b"a" * 32, 1, c=1)], 1.0)
    payloads = sorted([await asyncio.wait_for(got.get(), 5) for _ in range(2)])
    assert payloads == [f"e:{T.hex()}:0:2:n1", f"e:{T.hex()}:1:1:n1"]
    assert [s for s, _ in await st.read_envelopes(T, 0, 0, 10)] == [1, 2]
    await st.append_log(T, 1, [b"e1"])
    assert await asyncio.wait_for(got.get(), 5) == f"l:{T.hex()}:2:n1"
    await listener.close()
    await st.close()


async def test_schema_is_versioned_and_a_newer_one_is_refused(pg_dsn: str) -> None:
    nodes = [PostgresStorage(pg_dsn) for _ in range(3)]
    await asyncio.gather(*(st.open() for st in nodes))  # concurrent first starts: one migrates
    for st in nodes:
        await st.close()
    conn = await asyncpg.connect(pg_dsn)
    assert await conn.fetchval("SELECT max(version) FROM schema_version") == SCHEMA_VERSION
    await conn.execute("INSERT INTO schema_version(version, name) VALUES ($1, 'future')",
                       SCHEMA_VERSION + 1)
    await conn.close()
    with pytest.raises(RelayStorageError, match="newer"):
        await PostgresStorage(pg_dsn).open()


def lose_the_next_answer(monkeypatch: pytest.MonkeyPatch, of: str) -> list[bool]:
    """The next statement whose SQL contains ``of`` runs and is committed, then its answer is
    lost, once: inside a transaction at its COMMIT (asyncpg raises
    TransactionResolutionUnknownError when the connection drops during COMMIT after the server
    committed), outside one at once (the connection dropped: ConnectionDoesNotExistError). The
    list it returns holds True once that happened."""
    connection = asyncpg.connection.Connection
    lost: list[bool] = []
    ran: set[int] = set()  # the connections whose open transaction ran such a statement

    def wrap(name: str) -> None:
        real = getattr(connection, name)

        async def run_then_lose(self: asyncpg.Connection, query: str, *args: object,
                                **kwargs: object) -> object:
            result = await real(self, query, *args, **kwargs)
            if not lost and of in query:
                if self.is_in_transaction():
                    ran.add(id(self))
                else:
                    lost.append(True)
                    raise asyncpg.exceptions.ConnectionDoesNotExistError("lost after the query")
            return result

        monkeypatch.setattr(connection, name, run_then_lose)

    for name in ("execute", "fetch", "fetchrow", "fetchval"):
        wrap(name)
    real_exit = asyncpg.transaction.Transaction.__aexit__

    async def commit_then_lose(self: asyncpg.transaction.Transaction, *exc: object) -> None:
        await real_exit(self, *exc)
        if not lost and exc[0] is None and id(self._connection) in ran:
            lost.append(True)
            raise asyncpg.exceptions.TransactionResolutionUnknownError("lost during COMMIT")

    monkeypatch.setattr(asyncpg.transaction.Transaction, "__aexit__", commit_then_lose)
    return lost


async def answer_lost(monkeypatch: pytest.MonkeyPatch, of: str, call: Awaitable[R]) -> R:
    """``call``'s value, run with the answer of its statement whose SQL contains ``of`` lost
    once (lose_the_next_answer); AssertionError if no such answer was lost."""
    lost = lose_the_next_answer(monkeypatch, of)
    try:
        result = await call
    finally:
        monkeypatch.undo()
    assert lost == [True], f"no answer of {of!r} was lost"
    return result


@pytest.fixture
async def st(pg_dsn: str) -> AsyncIterator[PostgresStorage]:
    """An open PostgresStorage holding team T (its genesis: 1 byte of usage)."""
    storage = PostgresStorage(pg_dsn)
    await storage.open()
    await storage.create_team(T, [b"g"], 0.0)
    yield storage
    await storage.close()


async def test_a_log_append_whose_commit_answer_is_lost_is_done_once(
        st: PostgresStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    # _run retries on a fresh connection and the retry finds the entries already appended.
    # Before, it answered "log has 3 entries, not 1" (a RelayConflictError): the device was told
    # its membership change was refused, stored.
    await answer_lost(monkeypatch, "INSERT INTO log_entries",
                      st.append_log(T, 1, [b"e1", b"e2"]))
    assert await st.load_log(T) == [b"g", b"e1", b"e2"]
    assert await st.team_usage(T) == 5


async def test_a_file_part_whose_commit_answer_is_lost_is_stored_once(
        st: PostgresStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    # Before, the retry answered "part 0 does not continue the file": the upload was refused
    # (an alert on the device, resumed later from file_status) though the part was stored.
    info = await answer_lost(monkeypatch, "INSERT INTO file_parts",
                             st.put_file_part(T, 0, b"F" * 16, 0, b"part", False, 1.0))
    assert (info.parts, info.size, info.complete) == (1, 4, False)
    assert await st.file_part(T, b"F" * 16, 0) == b"part"
    assert await st.team_usage(T) == 1 + 4


async def snapshot_rows(dsn: str) -> list[tuple[int, int, int]]:
    """Every stored snapshot's (sid, parts, size), finished (parts >= 0) or not (-1)."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT sid, parts, size FROM snapshots ORDER BY sid")
    finally:
        await conn.close()
    return [(int(r[0]), int(r[1]), int(r[2])) for r in rows]


async def test_a_snapshot_begun_whose_answer_is_lost_is_begun_once(
        st: PostgresStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    # Before, the retry inserted a second row: the first try's unfinished snapshot stayed, its
    # sid never known to the relay, until the expiry removed it.
    sid = await answer_lost(monkeypatch, "INSERT INTO snapshots", st.begin_snapshot(T, 0, 0, 1.0))
    assert await snapshot_rows(st.dsn) == [(sid, -1, 0)]


async def test_a_snapshot_part_whose_commit_answer_is_lost_is_stored_once(
        st: PostgresStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    # Before, the retry failed on the part's primary key ('database error': the relay's
    # session failed and the device uploaded its snapshot again later) though it was stored.
    sid = await st.begin_snapshot(T, 0, 0, 1.0)
    await answer_lost(monkeypatch, "INSERT INTO snapshot_parts",
                      st.put_snapshot_part(sid, 0, b"part"))
    await st.put_snapshot_part(sid, 1, b"more")
    info = await st.finish_snapshot(sid)
    assert (info.parts, info.size) == (2, 8)
    assert await st.snapshot_part(sid, 0) == b"part"
    assert await st.team_usage(T) == 1 + 8


async def test_a_whole_snapshot_whose_commit_answer_is_lost_is_stored_once(
        st: PostgresStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    # Before, the retry stored it a second time (two snapshots of the same upto, its bytes
    # counted twice in the team's usage).
    info = await answer_lost(monkeypatch, "INSERT INTO snapshot_parts",
                             st.put_snapshot(T, 0, 0, [b"ab", b"c"], 1.0))
    assert await snapshot_rows(st.dsn) == [(info.sid, 2, 3)]
    assert await st.team_usage(T) == 1 + 3


async def test_unreachable_database_is_a_storage_error() -> None:
    st = PostgresStorage("postgresql://nobody@127.0.0.1:1/none", timeout=2.0)
    with pytest.raises(RelayStorageError, match="cannot open"):
        await st.open()
