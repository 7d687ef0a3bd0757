"""StoreTransaction.write_ahead (issue 24: a new device's first sync writes the snapshot's
chunks while pycrdt applies the state): what was sent ahead is committed with the rest of the
block or not at all, a read never sees it before the commit, and a crash or a cancellation in
between leaves the file as it was."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from mano_core.errors import StoreError
from mano_core.store import TEST_KDF, LocalStore, in_thread
from mano_core.store.rows import SNAPSHOT_CHUNK_BYTES

from .conftest import PASSPHRASE

ROOT = Path(__file__).resolve().parents[2]
# Three chunks and a bit: the chunks go as one multi-row statement.
STATE = bytes(range(256)) * (3 * SNAPSHOT_CHUNK_BYTES // 256) + b"tail"


def chunk_rows(path: Path) -> int:
    """The snapshot chunk rows in the file, whatever the store's memory says."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT COUNT(*) FROM snapshot_chunks").fetchone()[0]
    finally:
        conn.close()


async def test_what_went_ahead_commits_with_the_rest_of_the_block(store_path: Path) -> None:
    store = await LocalStore.create(store_path, PASSPHRASE, kdf=TEST_KDF)
    async with store:
        async with store.transaction() as tx:
            await tx.write_snapshot("doc", STATE, 0)
            await tx.write_ahead()
            await tx.put("ns", "key", b"written after")
        assert (await store.load_document("doc")).snapshot == STATE
    assert chunk_rows(store_path) == 4
    async with await LocalStore.open(store_path, PASSPHRASE) as reopened:
        assert (await reopened.load_document("doc")).snapshot == STATE
        assert await reopened.get("ns", "key") == b"written after"


class Refused(Exception):
    pass


async def test_a_block_that_raises_after_write_ahead_writes_nothing(store: LocalStore,
                                                                   store_path: Path) -> None:
    with pytest.raises(Refused):
        async with store.transaction() as tx:
            await tx.write_snapshot("doc", STATE, 0)
            await tx.write_ahead()
            raise Refused  # e.g. pycrdt refused the state: nothing of it is committed
    assert (await store.load_document("doc")).snapshot is None
    # The connection is free again: the next transaction commits.
    await store.put("ns", "key", b"next")
    assert await store.get("ns", "key") == b"next"
    await store.close()
    assert chunk_rows(store_path) == 0


async def test_cancelled_after_write_ahead_writes_nothing(store: LocalStore,
                                                          store_path: Path) -> None:
    ahead, never = asyncio.Event(), asyncio.Event()

    async def first_sync() -> None:
        async with store.transaction() as tx:
            await tx.write_snapshot("doc", STATE, 0)
            await tx.write_ahead()
            ahead.set()
            await never.wait()  # the session ends here: cancelled

    task = asyncio.ensure_future(first_sync())
    await asyncio.wait_for(ahead.wait(), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (await store.load_document("doc")).snapshot is None
    await store.put("ns", "key", b"next")
    assert await store.get("ns", "key") == b"next"
    await store.close()
    assert chunk_rows(store_path) == 0


async def test_a_read_waits_for_the_commit_of_what_went_ahead(store: LocalStore) -> None:
    await store.put("ns", "key", b"before")
    async with store.transaction() as tx:
        await tx.write_snapshot("doc", STATE, 0)
        await tx.write_ahead()
        await tx.put("ns", "key", b"after")
        reads = [asyncio.ensure_future(store.load_document("doc")),
                 asyncio.ensure_future(store.get("ns", "key"))]
        for _ in range(100):  # the reads start, and wait for the connection
            await asyncio.sleep(0)
        assert not any(read.done() for read in reads)
    loaded, value = await asyncio.gather(*reads)
    assert loaded.snapshot == STATE and value == b"after"


WRITER = """
import asyncio, sys
from mano_core.errors import StoreError
from mano_core.store import TEST_KDF, LocalStore, in_thread
STATE = bytes(range(256)) * (3 * 1024 * 1024 // 256) + b"tail"
async def main(path):
    store = await LocalStore.create(path, sys.argv[2], kdf=TEST_KDF)
    await store.put("ns", "key", b"committed")
    async with store.transaction() as tx:
        await tx.write_snapshot("doc", STATE, 0)
        await tx.write_ahead()
        print("ahead", flush=True)
        await asyncio.Event().wait()  # killed here
asyncio.run(main(sys.argv[1]))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
async def test_a_crash_after_write_ahead_leaves_nothing_of_it(store_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(store_path), PASSPHRASE],
                            stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ahead\n"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    async with await LocalStore.open(store_path, PASSPHRASE) as store:
        assert await store.get("ns", "key") == b"committed"
        assert (await store.load_document("doc")).snapshot is None
    assert chunk_rows(store_path) == 0


COMMITTER = WRITER.replace(
    '        print("ahead", flush=True)\n'
    "        await asyncio.Event().wait()  # killed here",
    '        await tx.put("ns", "key", b"with the snapshot")\n'
    '    print("committed", flush=True)  # its log copied into the file since, or not yet\n'
    "    await asyncio.Event().wait()  # killed here")


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
async def test_a_crash_after_the_commit_of_what_went_ahead_keeps_it_all(
        store_path: Path) -> None:
    """The COMMIT of a write-ahead transaction leaves the log's copy into the file to a
    checkpoint after it (issue 24): what it committed is durable without it."""
    assert COMMITTER != WRITER  # (the replace above matched)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", COMMITTER, str(store_path), PASSPHRASE],
                            stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "committed\n"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    async with await LocalStore.open(store_path, PASSPHRASE) as store:
        assert await store.get("ns", "key") == b"with the snapshot"
        assert (await store.load_document("doc")).snapshot == STATE
    assert chunk_rows(store_path) == 4


async def test_the_log_is_checkpointed_as_usual_after_a_write_ahead(store: LocalStore) -> None:
    """The automatic checkpoint, off for a write-ahead transaction's COMMIT, is on again
    after it, committed or rolled back: otherwise the -wal file would grow without end."""
    async def setting() -> int:
        return int((await store._db.fetchall("PRAGMA wal_autocheckpoint"))[0][0])

    default = await setting()
    assert default > 0
    async with store.transaction() as tx:
        await tx.write_snapshot("doc", STATE, 0)
        await tx.write_ahead()
        await tx.put("ns", "key", b"committed")
    assert await setting() == default
    with pytest.raises(Refused):
        async with store.transaction() as tx:
            await tx.write_snapshot("doc", STATE, 0)
            await tx.write_ahead()
            raise Refused
    assert await setting() == default
    assert (await store.load_document("doc")).snapshot == STATE


def test_the_chunks_statement_is_prepared_before_it_is_signalled(tmp_path: Path) -> None:
    """``in_thread.prepare`` leaves the statement in the connection's cache and runs nothing:
    the run that follows compiles nothing (SQLite asks the authorizer only while it compiles), so
    it goes from its binding to its step without releasing the GIL in a prepare (the event
    loop, told the statement was starting, took the GIL there, and the INSERT waited for
    pycrdt's whole apply: issue 24)."""
    conn = sqlite3.connect(tmp_path / "t.db", isolation_level=None)
    conn.execute("CREATE TABLE t (a INTEGER, b BLOB)")
    compiled: list[int] = []

    def authorizer(*_: object) -> int:
        compiled.append(1)
        return sqlite3.SQLITE_OK

    conn.set_authorizer(authorizer)
    op = ("INSERT INTO t (a, b) VALUES (?, ?), (?, ?)", [(1, b"x", 2, b"y")])
    in_thread.prepare(conn, op)
    assert compiled  # compiled once, there
    assert conn.execute("SELECT COUNT(*) FROM t").fetchone() == (0,)  # and not run
    compiled.clear()
    in_thread.run_ops(conn, [op])
    assert not compiled  # the statement came from the cache
    conn.set_authorizer(None)
    assert conn.execute("SELECT a FROM t ORDER BY a").fetchall() == [(1,), (2,)]
    conn.close()


async def test_a_write_ahead_that_fails_before_the_chunks_raises(
        store: LocalStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """The loop looks for the statements' progress (``_started``): a failure before the
    last statement ends the wait with the store's error, and the connection is free."""
    real = in_thread.run_ops

    def failing(conn: sqlite3.Connection, ops: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(in_thread, "run_ops", failing)
    with pytest.raises(StoreError):
        async with store.transaction() as tx:
            await tx.write_snapshot("doc", STATE, 0)
            await asyncio.wait_for(tx.write_ahead(), 30)
    monkeypatch.setattr(in_thread, "run_ops", real)
    await store.put("ns", "key", b"next")
    assert await store.get("ns", "key") == b"next"
    assert (await store.load_document("doc")).snapshot is None
