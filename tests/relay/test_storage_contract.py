"""Contract tests for every relay storage backend: memory, SQLite and PostgreSQL (the latter
skipped, with its reason, when no PostgreSQL is at hand; see tests/relay/pg.py)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from mano_core.errors import RelayConflictError, RelayStorageError
from sync_server.storage import MemoryStorage, NewEnvelope, PostgresStorage, SQLiteStorage, Storage

T1, T2 = b"T" * 16, b"U" * 16
A, B = b"a" * 32, b"b" * 32

# Each factory gets the test's tmp_path and the pytest request (to reach other fixtures).
BACKENDS: dict[str, Callable[[Path, pytest.FixtureRequest], Storage]] = {
    "memory": lambda _, __: MemoryStorage(),
    "sqlite": lambda tmp, _: SQLiteStorage(tmp / "relay.db"),
    # Backend-specific skip: without PostgreSQL the pg_dsn fixture skips, saying why.
    "postgres": lambda _, req: PostgresStorage(req.getfixturevalue("pg_dsn")),
}


@pytest.fixture(params=sorted(BACKENDS))
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    st = BACKENDS[request.param](tmp_path, request)
    await st.open()
    await st.create_team(T1, [b"genesis"], 0.0)
    await st.create_team(T2, [b"other"], 0.0)
    yield st
    await st.close()


def env(author: bytes, counter: int, c: int = 0, team: bytes = T1) -> NewEnvelope:
    return NewEnvelope(team, c, author, counter, b"E:%s:%d:%d" % (author[:1], c, counter))


async def test_teams_and_log(storage: Storage) -> None:
    await storage.ping()
    assert await storage.create_team(T1, [b"x"], 1.0) is False
    assert await storage.load_log(T1) == [b"genesis"]
    assert await storage.load_log(b"Z" * 16) is None
    await storage.append_log(T1, 1, [b"e1", b"e2"])
    assert await storage.load_log(T1) == [b"genesis", b"e1", b"e2"]
    with pytest.raises(RelayConflictError):
        await storage.append_log(T1, 1, [b"fork"])
    assert await storage.load_log(T1) == [b"genesis", b"e1", b"e2"]


async def test_the_same_log_append_again_is_done_not_a_conflict(storage: Storage) -> None:
    # What PostgresStorage's retry meets when its first COMMIT went through but its answer was
    # lost: the entries are already there. Done, nothing written twice; anything else at that
    # index is still a conflict.
    await storage.append_log(T1, 1, [b"e1", b"e2"])
    usage = await storage.team_usage(T1)
    await storage.append_log(T1, 1, [b"e1", b"e2"])
    assert await storage.load_log(T1) == [b"genesis", b"e1", b"e2"]
    assert await storage.team_usage(T1) == usage
    for other in ([b"e1"], [b"e1", b"x"], [b"e2", b"e1"], [b"e1", b"e2", b"e3"]):
        with pytest.raises(RelayConflictError):
            await storage.append_log(T1, 1, other)
    assert await storage.load_log(T1) == [b"genesis", b"e1", b"e2"]


async def test_sequences_per_team_and_compartment(storage: Storage) -> None:
    res = await storage.append_envelopes(
        [env(A, 1), env(B, 1), env(A, 1, c=1), env(A, 1, team=T2), env(A, 2)], 1.0
    )
    assert [(r.seq, r.duplicate) for r in res] == [(1, False), (2, False), (1, False),
                                                   (1, False), (3, False)]
    assert await storage.head(T1, 0) == 3
    assert await storage.head(T1, 1) == 1
    assert await storage.head(T2, 0) == 1
    assert [s for s, _ in await storage.read_envelopes(T1, 0, 0, 10)] == [1, 2, 3]
    assert await storage.read_envelopes(T1, 0, 1, 1) == [(2, b"E:b:0:1")]


async def test_envelope_bytes_count_what_a_catch_up_would_deliver(storage: Storage) -> None:
    await storage.append_envelopes([env(A, i) for i in range(1, 11)] + [env(A, 1, c=1)], 1.0)
    size = len(env(A, 1).data)  # every envelope of compartment 0 here has 9 bytes
    assert all(len(env(A, i).data) == size for i in range(1, 10))
    tenth = len(env(A, 10).data)
    assert await storage.envelope_bytes(T1, 0, 0) == 9 * size + tenth
    assert await storage.envelope_bytes(T1, 0, 7) == 2 * size + tenth
    assert await storage.envelope_bytes(T1, 0, 2, upto=5) == 3 * size  # 3, 4, 5
    assert await storage.envelope_bytes(T1, 0, 10) == 0
    assert await storage.envelope_bytes(T1, 1, 0) == len(env(A, 1, c=1).data)
    assert await storage.envelope_bytes(T2, 0, 0) == 0
    await storage.put_snapshot(T1, 0, 4, [b"s"], 2.0)
    await storage.put_snapshot(T1, 0, 6, [b"t"], 2.0)
    assert await storage.prune(T1, 0, now=10_000.0, retention=60.0, keep=2) == 4
    assert await storage.envelope_bytes(T1, 0, 0) == 5 * size + tenth  # pruned ones are gone


async def test_duplicates_get_their_original_sequence(storage: Storage) -> None:
    await storage.append_envelopes([env(A, 1), env(A, 2)], 1.0)
    res = await storage.append_envelopes([env(A, 2), env(A, 3), env(A, 3)], 2.0)
    assert [(r.seq, r.duplicate) for r in res] == [(2, True), (3, False), (3, True)]
    assert len(await storage.read_envelopes(T1, 0, 0, 100)) == 3
    usage = await storage.team_usage(T1)
    assert usage == len(b"genesis") + 3 * len(env(A, 1).data)  # the log counts too


async def test_snapshots_and_safe_pruning(storage: Storage) -> None:
    await storage.append_envelopes([env(A, i) for i in range(1, 11)], 100.0)
    assert await storage.newest_snapshot(T1, 0) is None
    s1 = await storage.put_snapshot(T1, 0, 4, [b"p0", b"p1"], 200.0)
    assert await storage.snapshot_part(s1.sid, 1) == b"p1"
    assert await storage.snapshot_part(s1.sid, 2) is None
    # one snapshot is not enough with keep=2: nothing pruned
    assert await storage.prune(T1, 0, now=10_000.0, retention=60.0, keep=2) == 0
    await storage.put_snapshot(T1, 0, 8, [b"q"], 300.0)
    # inside the retention window: nothing pruned
    assert await storage.prune(T1, 0, now=120.0, retention=60.0, keep=2) == 0
    # after it: only what the OLDEST kept snapshot covers (<= 4)
    assert await storage.prune(T1, 0, now=10_000.0, retention=60.0, keep=2) == 4
    assert await storage.pruned_upto(T1, 0) == 4
    assert [s for s, _ in await storage.read_envelopes(T1, 0, 0, 100)] == list(range(5, 11))
    newest = await storage.newest_snapshot(T1, 0)
    assert newest is not None and newest.upto == 8
    # a device that refused the newest asks for the one below it (then none below that)
    older = await storage.newest_snapshot(T1, 0, before=8)
    assert older is not None and older.sid == s1.sid and older.upto == 4
    assert await storage.newest_snapshot(T1, 0, before=4) is None
    # a third snapshot drops the first and lets the second's coverage go
    await storage.put_snapshot(T1, 0, 9, [b"r"], 400.0)
    assert await storage.snapshot_part(s1.sid, 0) is not None
    assert await storage.prune(T1, 0, now=10_000.0, retention=60.0, keep=2) == 4
    assert await storage.snapshot_part(s1.sid, 0) is None
    assert await storage.pruned_upto(T1, 0) == 8
    assert await storage.head(T1, 0) == 10


async def test_pruning_never_skips_over_recent_envelopes(storage: Storage) -> None:
    await storage.append_envelopes([env(A, 1), env(A, 2)], 100.0)
    await storage.append_envelopes([env(A, 3), env(A, 4)], 5_000.0)
    await storage.put_snapshot(T1, 0, 4, [b"s"], 6_000.0)
    assert await storage.prune(T1, 0, now=5_030.0, retention=60.0, keep=1) == 2
    assert await storage.pruned_upto(T1, 0) == 2


async def test_key_packages(storage: Storage) -> None:
    k1 = await storage.put_key(T1, B, A, b"kp1", 1.0)
    k2 = await storage.put_key(T1, B, A, b"kp2", 1.0)
    await storage.put_key(T1, A, B, b"kp3", 1.0)
    assert await storage.count_keys(T1, B) == 2
    got = await storage.fetch_keys(T1, B, 10)
    assert [(k.kid, k.sender, k.blob) for k in got] == [(k1, A, b"kp1"), (k2, A, b"kp2")]
    await storage.delete_keys(T1, B, [k1])
    await storage.delete_keys(T1, A, [k2])  # not A's: ignored
    assert [k.kid for k in await storage.fetch_keys(T1, B, 10)] == [k2]
    assert await storage.count_keys(T1, A) == 1


async def test_invitations(storage: Storage) -> None:
    inv = b"i" * 16
    assert await storage.put_invite_request(T1, inv, b"req", 10.0)
    assert await storage.put_invite_request(T1, inv, b"req", 11.0)  # idempotent
    assert not await storage.put_invite_request(T1, inv, b"other", 12.0)
    assert await storage.pending_invites(T1, 10) == [(inv, b"req")]
    assert await storage.invite_answer(T1, inv) is None
    assert not await storage.answer_invite(T1, b"j" * 16, b"ans")
    assert await storage.answer_invite(T1, inv, b"ans")
    assert await storage.invite_answer(T1, inv) == b"ans"
    assert await storage.pending_invites(T1, 10) == []
    assert await storage.expire(before=5.0) == 0
    assert await storage.expire(before=50.0) == 1
    assert await storage.invite_answer(T1, inv) is None
    assert await storage.team_usage(T1) == len(b"genesis")  # only the log is left


async def test_opened_invitations(storage: Storage) -> None:
    """An admin opens an invitation with the verifier of its relay proof; it stays open, is
    counted in the team's usage, and expires with the requests."""
    inv, other, v1, v2 = b"i" * 16, b"j" * 16, b"v" * 32, b"w" * 32
    base = await storage.team_usage(T1)
    assert await storage.invite_verifier(T1, inv) is None
    assert await storage.count_open_invites(T1) == 0
    assert await storage.open_invite(T1, inv, v1, 10.0)
    assert await storage.open_invite(T1, inv, v1, 11.0)  # idempotent
    assert not await storage.open_invite(T1, inv, v2, 12.0)  # another verifier: refused
    assert await storage.open_invite(T1, other, v2, 30.0)
    assert await storage.invite_verifier(T1, inv) == v1
    assert await storage.invite_verifier(T2, inv) is None  # per team
    assert await storage.count_open_invites(T1) == 2
    assert await storage.team_usage(T1) == base + 2 * (16 + 32)
    await storage.expire(before=20.0)
    assert await storage.invite_verifier(T1, inv) is None
    assert await storage.invite_verifier(T1, other) == v2
    assert await storage.count_open_invites(T1) == 1
    assert await storage.team_usage(T1) == base + 16 + 32


async def test_sqlite_survives_reopen(tmp_path: Path) -> None:
    """Backend-specific: durability across a restart (the memory backend has none)."""
    st = SQLiteStorage(tmp_path / "r.db")
    await st.open()
    await st.create_team(T1, [b"g"], 0.0)
    await st.append_envelopes([env(A, 1), env(A, 2)], 1.0)
    await st.close()
    st = SQLiteStorage(tmp_path / "r.db")
    await st.open()
    res = await st.append_envelopes([env(A, 2), env(A, 3)], 2.0)
    assert [(r.seq, r.duplicate) for r in res] == [(2, True), (3, False)]
    assert await st.load_log(T1) == [b"g"]
    await st.close()


async def test_purge_needs_a_covering_snapshot_and_drops_nothing_without_one(
    storage: Storage,
) -> None:
    await storage.append_envelopes([env(A, i) for i in range(1, 11)], 100.0)
    with pytest.raises(RelayConflictError):  # no snapshot at all
        await storage.purge(T1, 0, 4)
    s1 = await storage.put_snapshot(T1, 0, 4, [b"p0"], 200.0)
    usage = await storage.team_usage(T1)
    with pytest.raises(RelayConflictError):  # the newest snapshot covers 4, not 5
        await storage.purge(T1, 0, 5)
    assert [s for s, _ in await storage.read_envelopes(T1, 0, 0, 100)] == list(range(1, 11))
    assert await storage.pruned_upto(T1, 0) == 0
    assert await storage.snapshot_part(s1.sid, 0) == b"p0"
    assert await storage.team_usage(T1) == usage


async def test_purge_drops_envelopes_up_to_and_all_but_the_newest_snapshot(
    storage: Storage,
) -> None:
    await storage.append_envelopes([env(A, i) for i in range(1, 11)], 100.0)
    await storage.append_envelopes([env(A, 1, c=1), env(A, 1, team=T2)], 100.0)
    s1 = await storage.put_snapshot(T1, 0, 4, [b"old", b"er"], 200.0)
    s2 = await storage.put_snapshot(T1, 0, 9, [b"tie, older"], 250.0)
    s3 = await storage.put_snapshot(T1, 0, 9, [b"newest"], 300.0)  # same upto, newer: kept
    other = await storage.put_snapshot(T1, 1, 1, [b"medical"], 300.0)
    usage = await storage.team_usage(T1)
    assert await storage.purge(T1, 0, 7) == (7, 2)
    assert await storage.read_envelopes(T1, 0, 0, 100) == [
        (s, env(A, s).data) for s in (8, 9, 10)
    ]
    assert await storage.pruned_upto(T1, 0) == 7
    assert await storage.head(T1, 0) == 10
    assert await storage.snapshot_part(s1.sid, 0) is None
    assert await storage.snapshot_part(s2.sid, 0) is None
    assert await storage.snapshot_part(s3.sid, 0) == b"newest"
    newest = await storage.newest_snapshot(T1, 0)
    assert newest is not None and newest.sid == s3.sid
    freed = 7 * len(env(A, 1).data) + s1.size + s2.size
    assert await storage.team_usage(T1) == usage - freed
    # other compartments and teams are untouched
    assert len(await storage.read_envelopes(T1, 1, 0, 100)) == 1
    assert await storage.snapshot_part(other.sid, 0) == b"medical"
    assert len(await storage.read_envelopes(T2, 0, 0, 100)) == 1
    # idempotent: the same purge again (or a lower one) drops nothing and changes nothing
    assert await storage.purge(T1, 0, 7) == (0, 0)
    assert await storage.purge(T1, 0, 3) == (0, 0)
    assert await storage.pruned_upto(T1, 0) == 7
    assert await storage.team_usage(T1) == usage - freed
    # sequences go on after the head, and the retention pruning still works afterwards
    res = await storage.append_envelopes([env(A, 11)], 500.0)
    assert [r.seq for r in res] == [11]
    await storage.put_snapshot(T1, 0, 10, [b"later"], 600.0)
    assert await storage.prune(T1, 0, now=10_000.0, retention=60.0, keep=2) == 2
    assert await storage.pruned_upto(T1, 0) == 9
    assert [s for s, _ in await storage.read_envelopes(T1, 0, 0, 100)] == [10, 11]


async def test_purge_after_retention_pruning(storage: Storage) -> None:
    await storage.append_envelopes([env(A, i) for i in range(1, 7)], 100.0)
    await storage.put_snapshot(T1, 0, 2, [b"a"], 200.0)
    await storage.put_snapshot(T1, 0, 6, [b"b"], 300.0)
    assert await storage.prune(T1, 0, now=10_000.0, retention=60.0, keep=2) == 2
    assert await storage.purge(T1, 0, 5) == (3, 1)
    assert await storage.pruned_upto(T1, 0) == 5
    assert [s for s, _ in await storage.read_envelopes(T1, 0, 0, 100)] == [6]


def raw_files(folder: Path, pattern: str) -> bytes:
    """The bytes of every file matching ``pattern`` (a database and its -wal, -shm)."""
    return b"".join(p.read_bytes() for p in sorted(folder.glob(pattern)))


def fragments_in(body: bytes, raw: bytes, size: int = 24, step: int = 64) -> int:
    """How many ``size``-byte pieces of ``body`` appear in ``raw``. A row bigger than a page
    is cut over several (overflow) pages, so the whole body is never found in one piece; a
    random 24-byte piece found in the file is a leak."""
    return sum(body[i : i + size] in raw for i in range(0, len(body) - size + 1, step))


async def test_sqlite_purge_leaves_no_bytes_in_the_files(tmp_path: Path) -> None:
    """Backend-specific: secure_delete and the truncating checkpoint (the memory backend has
    no files; PostgreSQL's are the server's, see test_postgres_purge_vacuums)."""
    st = SQLiteStorage(tmp_path / "r.db")
    await st.open()
    try:
        await st.create_team(T1, [b"g"], 0.0)
        # small rows (in b-tree pages) and big ones (overflow pages), every body distinctive
        bodies = [os.urandom(300 if i % 2 else 6000) for i in range(40)]
        items = [NewEnvelope(T1, 0, A, i + 1, b) for i, b in enumerate(bodies)]
        for i in range(0, 40, 8):  # several commits: several page versions in the WAL
            await st.append_envelopes(items[i : i + 8], 1.0)
        old_snap = os.urandom(5000)
        await st.put_snapshot(T1, 0, 10, [old_snap], 2.0)
        await st.put_snapshot(T1, 0, 30, [os.urandom(5000)], 3.0)
        before = raw_files(tmp_path, "r.db*")
        # the search can fail: every body is found before the purge
        assert all(fragments_in(b, before) for b in [*bodies, old_snap])
        assert await st.purge(T1, 0, 30) == (30, 1)
        after = raw_files(tmp_path, "r.db*")
        assert [i for i, b in enumerate(bodies[:30]) if fragments_in(b, after)] == []
        assert not fragments_in(old_snap, after)
        assert all(fragments_in(b, after) for b in bodies[30:])  # what is kept is still there
        assert (tmp_path / "r.db-wal").stat().st_size == 0
    finally:
        await st.close()  # aiosqlite's threads would keep a failed run from exiting


async def test_postgres_purge_vacuums(request: pytest.FixtureRequest) -> None:
    """Backend-specific: after a purge, PostgreSQL has VACUUMed the tables it deleted from."""
    st = PostgresStorage(request.getfixturevalue("pg_dsn"))
    await st.open()

    async def vacuums() -> dict[str, int]:
        rows = await st._run(lambda c: c.fetch(
            "SELECT relname, vacuum_count FROM pg_stat_user_tables "
            "WHERE schemaname = current_schema()"))
        return {str(r[0]): int(r[1]) for r in rows}

    try:
        await st.create_team(T1, [b"g"], 0.0)
        await st.append_envelopes([env(A, i) for i in range(1, 6)], 1.0)
        await st.put_snapshot(T1, 0, 5, [b"s"], 2.0)
        before = await vacuums()
        assert await st.purge(T1, 0, 5) == (5, 0)
        after = await vacuums()
        for table in ("envelopes", "snapshots", "snapshot_parts"):
            assert after[table] == before.get(table, 0) + 1, table
    finally:
        await st.close()


async def test_author_counters_use_all_64_bits(storage: Storage) -> None:
    """The header's counter is u64: above 2^63 it must be stored (SQLite's INTEGER and
    PostgreSQL's BIGINT are signed) and deduplicated like any other."""
    big = [2**63 - 1, 2**63, 2**64 - 1]
    res = await storage.append_envelopes([env(A, n) for n in big], 1.0)
    assert [(r.seq, r.duplicate) for r in res] == [(1, False), (2, False), (3, False)]
    res = await storage.append_envelopes([env(A, 2**64 - 1), env(A, 2**63), env(A, 0)], 2.0)
    assert [(r.seq, r.duplicate) for r in res] == [(3, True), (2, True), (4, False)]
    with pytest.raises(RelayStorageError):
        env(A, 2**64)


async def test_snapshot_streamed_part_by_part(storage: Storage) -> None:
    """An upload is stored as it arrives: unfinished, it is invisible but counted in usage;
    aborted, its bytes are given back; finished, it is the newest snapshot."""
    base = await storage.team_usage(T1)
    sid = await storage.begin_snapshot(T1, 0, 0, 1.0)
    await storage.put_snapshot_part(sid, 0, b"a" * 10)
    await storage.put_snapshot_part(sid, 1, b"b" * 5)
    assert await storage.newest_snapshot(T1, 0) is None
    assert await storage.team_usage(T1) == base + 15
    aborted = await storage.begin_snapshot(T1, 0, 0, 1.0)
    await storage.put_snapshot_part(aborted, 0, b"x" * 7)
    await storage.abort_snapshot(aborted)
    assert await storage.team_usage(T1) == base + 15
    assert await storage.snapshot_part(aborted, 0) is None
    info = await storage.finish_snapshot(sid)
    assert (info.parts, info.size, info.upto) == (2, 15, 0)
    newest = await storage.newest_snapshot(T1, 0)
    assert newest is not None and newest.sid == sid
    assert [await storage.snapshot_part(sid, i) for i in range(2)] == [b"a" * 10, b"b" * 5]
    await storage.abort_snapshot(sid)  # finished: untouched
    assert await storage.newest_snapshot(T1, 0) is not None
    stale = await storage.begin_snapshot(T1, 1, 0, 1.0)
    await storage.put_snapshot_part(stale, 0, b"s" * 3)
    await storage.expire(2.0)  # a crash interrupted it long ago
    assert await storage.team_usage(T1) == base + 15


async def test_the_same_snapshot_part_again_is_done_not_a_conflict(storage: Storage) -> None:
    # What PostgresStorage's retry meets when a part's COMMIT went through but its answer was
    # lost: the part is already there. Done, nothing written or counted twice; other bytes at
    # that place, an earlier part again, or a part of a finished snapshot are conflicts.
    sid = await storage.begin_snapshot(T1, 0, 0, 1.0)
    await storage.put_snapshot_part(sid, 0, b"a" * 10)
    usage = await storage.team_usage(T1)
    await storage.put_snapshot_part(sid, 0, b"a" * 10)
    assert await storage.team_usage(T1) == usage
    await storage.put_snapshot_part(sid, 1, b"b" * 5)
    await storage.put_snapshot_part(sid, 1, b"b" * 5)
    for part, data in ((1, b"c" * 5), (0, b"a" * 10), (0, b"x" * 10)):
        with pytest.raises(RelayConflictError):
            await storage.put_snapshot_part(sid, part, data)
    info = await storage.finish_snapshot(sid)
    assert (info.parts, info.size) == (2, 15)
    assert await storage.team_usage(T1) == usage + 5
    assert [await storage.snapshot_part(sid, i) for i in range(2)] == [b"a" * 10, b"b" * 5]
    for bad_sid in (sid, sid + 1000):  # finished, and never begun
        with pytest.raises(RelayConflictError):
            await storage.put_snapshot_part(bad_sid, 1, b"b" * 5)


async def test_membership_log_bytes_count_in_usage(storage: Storage) -> None:
    assert await storage.team_usage(T1) == len(b"genesis")
    await storage.append_log(T1, 1, [b"e" * 100])
    assert await storage.team_usage(T1) == len(b"genesis") + 100
