"""Read back everything a device store or a relay database holds, decrypted, to search it for
erased values. Test-only: it reaches into the store's rows on purpose."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

from mano_core.crypto import ChainState, open_envelope
from mano_core.errors import EnvelopeError
from mano_core.ids import Compartment
from mano_core.store import LocalStore
from mano_core.store.rows import open_outbox, open_record, open_snapshot, open_updates
from mano_core.sync.snapshot import open_snapshot as open_relay_snapshot


async def document_rows(store: LocalStore) -> list[bytes]:
    """The ciphertext of every row holding document content (updates, snapshot chunks, outbox
    items); an erasure rewrites all of them."""
    rows = []
    for table in ("updates", "snapshot_chunks", "outbox"):
        rows += [bytes(r[0]) for r in await store._db.fetchall(f"SELECT data FROM {table}")]
    return rows


async def store_plaintexts(store: LocalStore, keys_by_team: dict[bytes, object]) -> list[bytes]:
    """Every row of the store decrypted; envelopes waiting in outboxes are opened with the
    team keys given (``TeamKeys``) so their plaintext is searched too."""
    state = store._state
    cipher = state.cipher
    out: list[bytes] = []
    async with store._db.reading() as db:  # no write interleaves: heads and rows agree
        docs = []
        for head in [dataclasses.replace(h) for h in state.docs.values()]:
            chunks = await db.fetchall(
                "SELECT idx, data FROM snapshot_chunks WHERE doc_id = ? ORDER BY idx",
                (head.id,))
            updates = await db.fetchall(
                "SELECT seq, data FROM updates WHERE doc_id = ? ORDER BY seq", (head.id,))
            outbox = await db.fetchall("SELECT id, data FROM outbox WHERE doc_id = ?",
                                       (head.id,))
            docs.append((head, chunks, updates, outbox))
        records = await db.fetchall("SELECT tag, ns, data FROM records")
    for head, chunks, updates, outbox in docs:
        if chunks:
            out.append(open_snapshot(cipher, head, [(i, bytes(d)) for i, d in chunks]))
        out += open_updates(cipher, head, [(s, bytes(d)) for s, d in updates])
        for item_id, data in outbox:
            payload = open_outbox(cipher, head, item_id, bytes(data))
            out.append(payload)
            out += _open_any(payload, keys_by_team)
    for tag, ns, data in records:
        out.append(open_record(cipher, bytes(ns), bytes(tag), bytes(data), "?")[1])
    return out


def _open_any(raw: bytes, keys_by_team: dict[bytes, object]) -> list[bytes]:
    found = []
    for keys in keys_by_team.values():
        for c in Compartment:
            try:
                opened = open_envelope(raw, log=keys.log, keyring=keys.keyring,  # type: ignore[attr-defined]
                                       team_id=keys.team_id, compartment=c,  # type: ignore[attr-defined]
                                       chain_state=ChainState())
            except EnvelopeError:
                continue
            except Exception:  # noqa: BLE001 - not an envelope
                continue
            found.append(opened.plaintext)
    return found


def relay_plaintexts(db_path: Path, keys: object) -> tuple[list[bytes], list[bytes]]:
    """(decrypted envelopes and snapshots, raw blobs) of a SQLite relay database."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        raw_envelopes = [bytes(r[0]) for r in conn.execute("SELECT data FROM envelopes")]
        snapshots: dict[int, list[bytes]] = {}
        snap_table = "snapshot_parts" if "snapshot_parts" in tables else None
        if snap_table:
            for sid, data in conn.execute(
                    f"SELECT sid, data FROM {snap_table} ORDER BY sid, part"):
                snapshots.setdefault(sid, []).append(bytes(data))
    finally:
        conn.close()
    plain = []
    for raw in raw_envelopes:
        plain += _open_any(raw, {b"": keys})
    for parts in snapshots.values():
        blob = b"".join(parts)
        for c in Compartment:
            try:
                snap = open_relay_snapshot(blob, log=keys.log, keyring=keys.keyring,  # type: ignore[attr-defined]
                                           team_id=keys.team_id, compartment=c)  # type: ignore[attr-defined]
            except EnvelopeError:
                continue
            plain.append(snap.state)
    return plain, raw_envelopes + [b"".join(p) for p in snapshots.values()]


def file_bytes(path: Path) -> bytes:
    """The database file and its write-ahead log, as they are on disk."""
    data = b""
    for suffix in ("", "-wal", "-journal"):
        p = Path(str(path) + suffix)
        if p.exists():
            data += p.read_bytes()
    return data


def containing(blobs: list[bytes], needles: list[bytes]) -> list[bytes]:
    """The needles found in any blob."""
    return [n for n in needles if any(n in b for b in blobs)]
