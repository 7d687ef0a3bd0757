"""Contract tests for every relay storage backend: memory, SQLite and PostgreSQL (the latter
skipped, with its reason, when no PostgreSQL is at hand; see tests/relay/pg.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from mano_core.errors import RelayConflictError
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


async def test_duplicates_get_their_original_sequence(storage: Storage) -> None:
    await storage.append_envelopes([env(A, 1), env(A, 2)], 1.0)
    res = await storage.append_envelopes([env(A, 2), env(A, 3), env(A, 3)], 2.0)
    assert [(r.seq, r.duplicate) for r in res] == [(2, True), (3, False), (3, True)]
    assert len(await storage.read_envelopes(T1, 0, 0, 100)) == 3
    usage = await storage.team_usage(T1)
    assert usage == 3 * len(env(A, 1).data)


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
    assert await storage.team_usage(T1) == 0


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
