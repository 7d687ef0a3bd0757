"""Contract tests of the document-file part of every relay storage backend (memory, SQLite,
PostgreSQL: the ``storage`` fixture of test_storage_contract.py, which skips PostgreSQL with
its reason when none is at hand)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mano_core.errors import RelayConflictError
from sync_server.storage import PostgresStorage, SQLiteStorage, Storage
from tests.relay.test_storage_contract import T1, T2, fragments_in, raw_files, storage

__all__ = ["storage"]  # the fixture, parametrised over the backends

F1, F2 = b"\x01" * 16, b"\x02" * 16


async def test_a_file_is_stored_part_by_part_and_counts_in_the_usage(storage: Storage) -> None:
    base = await storage.team_usage(T1)
    assert await storage.file_info(T1, F1) is None
    info = await storage.put_file_part(T1, 0, F1, 0, b"a" * 10, False, 5.0)
    assert (info.parts, info.size, info.complete) == (1, 10, False)
    assert await storage.open_files(T1) == 1
    assert await storage.team_usage(T1) == base + 10
    info = await storage.put_file_part(T1, 0, F1, 1, b"b" * 7, True, 6.0)
    assert (info.parts, info.size, info.complete, info.created_at) == (2, 17, True, 5.0)
    assert await storage.file_info(T1, F1) == info
    assert await storage.open_files(T1) == 0
    assert [await storage.file_part(T1, F1, i) for i in range(3)] == [b"a" * 10, b"b" * 7, None]
    assert await storage.file_info(T2, F1) is None  # files belong to one team
    assert await storage.file_part(T2, F1, 0) is None
    assert await storage.team_usage(T1) == base + 17


async def test_parts_out_of_order_or_after_the_last_store_nothing(storage: Storage) -> None:
    base = await storage.team_usage(T1)
    with pytest.raises(RelayConflictError):  # no part 0 yet
        await storage.put_file_part(T1, 0, F1, 1, b"x", False, 1.0)
    assert await storage.file_info(T1, F1) is None
    await storage.put_file_part(T1, 0, F1, 0, b"x", False, 1.0)
    for part, c in ((0, 0), (2, 0), (1, 1)):  # a repeat, a gap, another compartment
        with pytest.raises(RelayConflictError):
            await storage.put_file_part(T1, c, F1, part, b"y", False, 1.0)
    await storage.put_file_part(T1, 0, F1, 1, b"z", True, 1.0)
    with pytest.raises(RelayConflictError):  # complete: nothing more
        await storage.put_file_part(T1, 0, F1, 2, b"w", False, 1.0)
    assert [await storage.file_part(T1, F1, i) for i in range(3)] == [b"x", b"z", None]
    assert await storage.team_usage(T1) == base + 2


async def test_the_same_part_again_is_done_not_a_conflict(storage: Storage) -> None:
    # What PostgresStorage's retry meets when its first COMMIT went through but its answer was
    # lost: the part is stored already. Done, nothing stored or counted twice; other bytes, or
    # the same bytes with another ``last``, are still a conflict.
    base = await storage.team_usage(T1)
    first = await storage.put_file_part(T1, 0, F1, 0, b"x" * 5, False, 1.0)
    assert await storage.put_file_part(T1, 0, F1, 0, b"x" * 5, False, 2.0) == first
    for data, last in ((b"y" * 5, False), (b"x" * 5, True)):
        with pytest.raises(RelayConflictError):
            await storage.put_file_part(T1, 0, F1, 0, data, last, 2.0)
    done = await storage.put_file_part(T1, 0, F1, 1, b"z", True, 3.0)
    assert await storage.put_file_part(T1, 0, F1, 1, b"z", True, 4.0) == done
    assert done.complete and await storage.file_info(T1, F1) == done
    assert [await storage.file_part(T1, F1, i) for i in range(3)] == [b"x" * 5, b"z", None]
    assert await storage.team_usage(T1) == base + 6


async def test_deleting_a_file_gives_its_bytes_back(storage: Storage) -> None:
    base = await storage.team_usage(T1)
    await storage.put_file_part(T1, 1, F1, 0, b"m" * 100, True, 1.0)
    await storage.put_file_part(T1, 0, F2, 0, b"k" * 5, False, 1.0)
    assert await storage.delete_file(T1, F1) == 100
    assert await storage.delete_file(T1, F1) == 0  # again: nothing
    assert await storage.file_info(T1, F1) is None
    assert await storage.file_part(T1, F1, 0) is None
    assert await storage.team_usage(T1) == base + 5
    # the id may be used again from part 0 (a device re-uploading after a lost answer)
    await storage.put_file_part(T1, 1, F1, 0, b"again", True, 2.0)
    assert await storage.file_part(T1, F1, 0) == b"again"


async def test_unfinished_files_expire_finished_ones_stay(storage: Storage) -> None:
    await storage.put_file_part(T1, 0, F1, 0, b"old-open", False, 10.0)
    await storage.put_file_part(T1, 0, F2, 0, b"old-done", True, 10.0)
    await storage.put_file_part(T2, 0, F1, 0, b"new-open", False, 100.0)
    base = await storage.team_usage(T1)
    await storage.expire(50.0)
    assert await storage.file_info(T1, F1) is None
    assert await storage.file_info(T1, F2) is not None
    assert await storage.file_info(T2, F1) is not None
    assert await storage.team_usage(T1) == base - len(b"old-open")


async def test_sqlite_deleted_file_leaves_no_bytes_in_the_files(tmp_path: Path) -> None:
    """Backend-specific: secure_delete and the truncating checkpoint after a deletion."""
    st = SQLiteStorage(tmp_path / "r.db")
    await st.open()
    try:
        await st.create_team(T1, [b"g"], 0.0)
        parts = [os.urandom(6000 if i % 2 else 300) for i in range(6)]
        kept = os.urandom(4000)
        for i, p in enumerate(parts):
            await st.put_file_part(T1, 0, F1, i, p, i == len(parts) - 1, 1.0)
        await st.put_file_part(T1, 0, F2, 0, kept, True, 1.0)
        assert all(fragments_in(p, raw_files(tmp_path, "r.db*")) for p in parts)
        assert await st.delete_file(T1, F1) == sum(map(len, parts))
        after = raw_files(tmp_path, "r.db*")
        assert [i for i, p in enumerate(parts) if fragments_in(p, after)] == []
        assert fragments_in(kept, after)
    finally:
        await st.close()


async def test_postgres_file_deletion_vacuums(request: pytest.FixtureRequest) -> None:
    """Backend-specific: a deletion VACUUMs the file tables (as a purge does its tables)."""
    st = PostgresStorage(request.getfixturevalue("pg_dsn"))
    await st.open()

    async def vacuums() -> dict[str, int]:
        rows = await st._run(lambda c: c.fetch(
            "SELECT relname, vacuum_count FROM pg_stat_user_tables "
            "WHERE schemaname = current_schema()"))
        return {str(r[0]): int(r[1]) for r in rows}

    try:
        await st.create_team(T1, [b"g"], 0.0)
        await st.put_file_part(T1, 0, F1, 0, b"s", True, 1.0)
        before = await vacuums()
        assert await st.delete_file(T1, F1) == 1
        after = await vacuums()
        for table in ("files", "file_parts"):
            assert after[table] == before.get(table, 0) + 1, table
    finally:
        await st.close()
