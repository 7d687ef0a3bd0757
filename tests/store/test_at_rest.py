"""Nothing readable on disk; a wrong passphrase changes nothing; altered rows are detected."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mano_core.errors import StoreCorruptedError, WrongPassphraseError
from mano_core.store import TEST_KDF, LocalStore

from .conftest import PASSPHRASE, store_files

SECRETS = {
    "doc": "team/4f2a/general-Ratatouille",
    "update": "Personne Zéphyrquartz, né le 12/03/1961, diabète type 2, insuline",
    "snapshot": "Personne Grandcoingerie dort sous le pont Mirabeau depuis janvier",
    "namespace": "clés-d-équipe-Caravansérail",
    "key": "epoch-Brocéliande-77",
    "value": "Xylophonique valeur secrète du trousseau",
    "payload": "Envelope for Personne Bergamotine, rendez-vous CMP jeudi",
}


def fragments(text: str, size: int = 6) -> set[bytes]:
    raw = text.encode("utf-8")
    return {raw[i:i + size] for i in range(len(raw) - size + 1)}


def assert_nothing_readable(path: Path) -> None:
    files = store_files(path)
    assert files, "no store file found"
    for name, data in files.items():
        for label, secret in SECRETS.items():
            leaked = [f for f in fragments(secret) if f in data]
            assert not leaked, f"{label} leaks into {name}: {leaked[:3]}"


async def write_secrets(store: LocalStore) -> None:
    await store.append_updates(SECRETS["doc"], [SECRETS["update"].encode()] * 3)
    await store.write_snapshot(SECRETS["doc"], SECRETS["snapshot"].encode() * 100, 2)
    await store.put(SECRETS["namespace"], SECRETS["key"], SECRETS["value"].encode())
    await store.outbox_add(SECRETS["doc"], SECRETS["payload"].encode())


def test_the_secrets_would_be_found_if_written_in_clear(tmp_path: Path) -> None:
    # Guards the no-plaintext test against checking for nothing.
    probe = tmp_path / "probe.db"
    with sqlite3.connect(probe) as conn:
        conn.execute("CREATE TABLE t (v BLOB)")
        conn.executemany("INSERT INTO t VALUES (?)", [(s.encode(),) for s in SECRETS.values()])
    with pytest.raises(AssertionError, match="leaks"):
        assert_nothing_readable(probe)


async def test_no_plaintext_on_disk_while_open_and_after_close(store: LocalStore,
                                                               store_path: Path) -> None:
    await write_secrets(store)
    assert "-wal" in " ".join(store_files(store_path))  # before any checkpoint
    assert_nothing_readable(store_path)
    await store.close()
    assert_nothing_readable(store_path)
    async with await LocalStore.open(store_path, PASSPHRASE) as reopened:
        assert await reopened.get(SECRETS["namespace"], SECRETS["key"]) == \
            SECRETS["value"].encode()
        assert await reopened.list_documents() == [SECRETS["doc"]]


async def test_wrong_passphrase_fails_and_leaves_the_file_byte_identical(
        store: LocalStore, store_path: Path) -> None:
    await write_secrets(store)
    await store.close()
    before = store_files(store_path)
    with pytest.raises(WrongPassphraseError):
        await LocalStore.open(store_path, "correct horse battery stapler")
    assert store_files(store_path) == before
    async with await LocalStore.open(store_path, PASSPHRASE) as reopened:
        assert await reopened.list_documents() == [SECRETS["doc"]]


def tamper(path: Path, sql: str, *params: object) -> None:
    conn = sqlite3.connect(path)
    with conn:
        for statement in sql.split(";"):
            assert conn.execute(statement, params).rowcount >= 1, statement
    conn.close()


async def filled(store_path: Path) -> None:
    async with await LocalStore.create(store_path, PASSPHRASE, kdf=TEST_KDF) as store:
        await store.append_updates("doc", [b"first", b"second", b"third"])
        await store.append_updates("other", [b"elsewhere"])
        await store.write_snapshot("snap", b"S" * (3 * 1024 * 1024 + 5), 0)
        await store.put("ns", "a", b"alpha")
        await store.put("ns", "b", b"beta")
        await store.outbox_add("doc", b"env-1")
        await store.outbox_add("doc", b"env-2")


# Byte 21 is replaced by another value whatever it was (ciphertext is random: a fixed X'FF' left
# the row unchanged one time in 256).
FLIP = ("UPDATE {table} SET data = substr(data, 1, 20) || CASE substr(data, 21, 1) WHEN X'FF'"
        " THEN X'00' ELSE X'FF' END || substr(data, 22) WHERE {where}")
SWAP = ("UPDATE {table} SET data = CASE {key} WHEN {a} THEN (SELECT data FROM {table} WHERE {key}"
        " = {b}) ELSE (SELECT data FROM {table} WHERE {key} = {a}) END WHERE {key} IN ({a}, {b})")


@pytest.mark.parametrize(("sql", "read", "message"), [
    (FLIP.format(table="updates", where="seq = 2"), "load:doc", "update 2"),
    (SWAP.format(table="updates", key="seq", a=1, b=3), "load:doc", "update 1"),
    (("DELETE FROM updates WHERE doc_id = 2;"
      "UPDATE updates SET doc_id = 2 WHERE doc_id = 1 AND seq = 1"), "load:other", "update 1"),
    ("DELETE FROM updates WHERE seq = 2", "load:doc", "expected updates"),
    (FLIP.format(table="snapshot_chunks", where="idx = 1"), "load:snap", "chunk 1"),
    (SWAP.format(table="snapshot_chunks", key="idx", a=0, b=2), "load:snap", "chunk 0"),
    # chunks are decrypted into their place in one buffer: one a byte short or long fails
    ("UPDATE snapshot_chunks SET data = substr(data, 1, length(data) - 1) WHERE idx = 1",
     "load:snap", "chunk 1"),
    ("UPDATE snapshot_chunks SET data = data || X'00' WHERE idx = 3", "load:snap",
     "wrong length"),
    (FLIP.format(table="records", where="1"), "items:ns", "record in 'ns'"),
    (("UPDATE records SET data = (SELECT data FROM records ORDER BY tag LIMIT 1)"
      " WHERE tag = (SELECT tag FROM records ORDER BY tag DESC LIMIT 1)"), "items:ns", "record"),
    (SWAP.format(table="outbox", key="id", a=1, b=2), "outbox", "outbox item 1"),
    ("UPDATE docs SET head = (SELECT head FROM docs WHERE id = 2) WHERE id = 1", "open",
     "docs row 1 head"),
    ("UPDATE docs SET name = (SELECT name FROM docs WHERE id = 2) WHERE id = 1", "open",
     "docs row 1 name"),
])
async def test_tampered_or_swapped_rows_are_detected(store_path: Path, sql: str, read: str,
                                                     message: str) -> None:
    await filled(store_path)
    tamper(store_path, sql)
    with pytest.raises(StoreCorruptedError, match=message):
        store = await LocalStore.open(store_path, PASSPHRASE)
        async with store:
            what, _, arg = read.partition(":")
            if what == "load":
                await store.load_document(arg)
            elif what == "items":
                await store.items(arg)
            else:
                await store.outbox_pending()


async def test_tampered_kdf_parameters_do_not_unlock(store_path: Path) -> None:
    await filled(store_path)
    tamper(store_path, "UPDATE meta SET value = ? WHERE name = 'salt'", bytes(16))
    with pytest.raises(WrongPassphraseError):
        await LocalStore.open(store_path, PASSPHRASE)
    tamper(store_path, "UPDATE meta SET value = ? WHERE name = 'kdf'", b"\xff" * 12)
    with pytest.raises(StoreCorruptedError, match="KDF"):
        await LocalStore.open(store_path, PASSPHRASE)
