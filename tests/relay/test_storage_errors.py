"""A driver failure under the SQLite relay storage surfaces as RelayStorageError from every
method of the Storage protocol, as it does from the PostgreSQL backend: the relay's callers
can catch our error, not sqlite3's or aiosqlite's."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from mano_core.errors import RelayStorageError
from sync_server.storage import NewEnvelope, SQLiteStorage, Storage

T, A = b"T" * 16, b"a" * 32
CALLS = {
    "create_team": (T, [b"genesis"], 0.0),
    "load_log": (T,),
    "append_log": (T, 1, [b"e1"]),
    "team_usage": (T,),
    "append_envelopes": ([NewEnvelope(T, 0, A, 1, b"E")], 1.0),
    "read_envelopes": (T, 0, 0, 10),
    "head": (T, 0),
    "pruned_upto": (T, 0),
    "envelope_bytes": (T, 0, 0),
    "put_snapshot": (T, 0, 1, [b"part"], 1.0),
    "begin_snapshot": (T, 0, 1, 1.0),
    "put_snapshot_part": (1, 0, b"part"),
    "finish_snapshot": (1,),
    "abort_snapshot": (1,),
    "newest_snapshot": (T, 0),
    "snapshot_part": (1, 0),
    "purge": (T, 0, 1),
    "put_key": (T, A, A, b"kp", 1.0),
    "fetch_keys": (T, A, 10),
    "count_keys": (T, A),
    "delete_keys": (T, A, [1]),
    "open_invite": (T, b"I" * 16, b"V" * 32, 1.0),
    "invite_verifier": (T, b"I" * 16),
    "count_open_invites": (T,),
    "put_invite_request": (T, b"I" * 16, b"req", 1.0),
    "pending_invites": (T, 10),
    "answer_invite": (T, b"I" * 16, b"ans"),
    "invite_answer": (T, b"I" * 16),
    "put_file_part": (T, 0, b"F" * 16, 0, b"part", True, 1.0),
    "file_info": (T, b"F" * 16),
    "file_part": (T, b"F" * 16, 0),
    "delete_file": (T, b"F" * 16),
    "open_files": (T,),
    "expire": (0.0,),
    "ping": (),
}
KWARGS = {"prune": {"now": 1.0, "retention": 0.0, "keep": 1}}


def test_the_calls_cover_every_storage_method() -> None:
    methods = {n for n, v in vars(Storage).items() if inspect.iscoroutinefunction(v)}
    assert methods - {"open", "close"} == set(CALLS) | set(KWARGS)


@pytest.mark.parametrize("name", sorted(set(CALLS) | set(KWARGS)))
async def test_a_lost_connection_raises_relay_storage_error(tmp_path: Path, name: str) -> None:
    storage = SQLiteStorage(tmp_path / "relay.db")
    await storage.open()
    await storage.create_team(T, [b"genesis"], 0.0)
    for conn in (storage._w, storage._r):  # the driver's connections go away underneath
        assert conn is not None
        await conn.close()
    method = getattr(storage, name)
    args = CALLS.get(name, (T, 0))
    with pytest.raises(RelayStorageError) as raised:
        await method(*args, **KWARGS.get(name, {}))
    assert not isinstance(raised.value, ValueError)
    assert raised.value.__cause__ is not None  # the driver's error, kept for the log
