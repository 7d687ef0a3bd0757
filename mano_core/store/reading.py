"""Reads of the local store: fetch rows under the connection lock, then authenticate and decrypt
them (outside the lock)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from typing import Final

from mano_core.errors import StoreCorruptedError

from .crypto import RowCipher
from .database import Database
from .rows import DocHead, open_outbox, open_record, open_snapshot, open_updates, record_tags
from .transaction import StoreState
from .types import LoadedDocument, OutboxItem

_NO_SNAPSHOT: Final = bytes(16)


def _open_loaded(cipher: RowCipher, head: DocHead, chunks: Sequence[tuple[int, bytes]],
                 updates: Sequence[tuple[int, bytes]]) -> LoadedDocument:
    snapshot = (None if head.snapshot_id == _NO_SNAPSHOT
                else open_snapshot(cipher, head, chunks))
    return LoadedDocument(snapshot, head.snapshot_seq, open_updates(cipher, head, updates),
                          head.last_seq)


class StoreReader:
    """The read side of an open store (LocalStore checks it is open, then delegates here)."""

    __slots__ = ("_db", "_state")

    def __init__(self, db: Database, state: StoreState) -> None:
        self._db = db
        self._state = state

    async def load_document(self, doc: str) -> LoadedDocument:
        """The document's snapshot and the updates after it (empty if unknown)."""
        async with self._db.reading() as db:
            head = self._state.docs.get(doc)
            if head is None:
                return LoadedDocument(None, 0, [], 0)
            head = dataclasses.replace(head)
            chunks = await db.fetchall(
                "SELECT idx, data FROM snapshot_chunks WHERE doc_id = ? ORDER BY idx", (head.id,))
            updates = await db.fetchall(
                "SELECT seq, data FROM updates WHERE doc_id = ? ORDER BY seq", (head.id,))
        # Decrypted in a worker thread (issue 24: 224 MB of chunks at ×10 held the event loop
        # for 0.3 s): AES-GCM releases the GIL, the rows and ``head`` (a copy) are this call's
        # own, and the cipher is immutable.
        return await asyncio.to_thread(_open_loaded, self._state.cipher, head, chunks, updates)

    async def updates_since_snapshot(self, doc: str) -> int:
        """How many updates a load would replay after the snapshot (compare with
        limits.COMPACT_AFTER_UPDATES to decide when to compact)."""
        head = self._state.docs.get(doc)
        return 0 if head is None else head.last_seq - head.snapshot_seq

    async def list_documents(self) -> list[str]:
        """Names of the stored documents, sorted."""
        return sorted(self._state.docs)

    async def get(self, namespace: str, key: str) -> bytes | None:
        """The value under (namespace, key), or None."""
        ns_tag, tag = record_tags(self._state.cipher, namespace, key)
        async with self._db.reading() as db:
            rows = await db.fetchall("SELECT data FROM records WHERE tag = ?", (tag,))
        if not rows:
            return None
        stored_key, value = open_record(self._state.cipher, ns_tag, tag, rows[0][0], namespace)
        if stored_key != key:
            raise StoreCorruptedError(f"record in {namespace!r}: key does not match its tag")
        return value

    async def items(self, namespace: str) -> list[tuple[str, bytes]]:
        """Every (key, value) of a namespace, sorted by key."""
        ns_tag = self._state.cipher.tag(b"namespace", namespace)
        async with self._db.reading() as db:
            rows = await db.fetchall("SELECT tag, data FROM records WHERE ns = ?", (ns_tag,))
        return sorted(open_record(self._state.cipher, ns_tag, tag, data, namespace)
                      for tag, data in rows)

    async def outbox_pending(self, doc: str | None = None, *,
                             limit: int | None = None) -> list[OutboxItem]:
        """Queued outbox items in queue order (of one document, or all), at most ``limit``:
        from memory when the store holds their payloads (outbox_index.py), else read."""
        index = self._state.outbox
        if doc is not None:
            head = self._state.docs.get(doc)
            if head is None:
                return []
            held = index.pending(head.id, limit)
            if held is not None:
                return [OutboxItem(item_id, doc, payload) for item_id, payload in held]
        async with self._db.reading() as db:
            heads = self._state.heads_by_id()
            if doc is None:
                rows = await db.fetchall("SELECT id, doc_id, data FROM outbox ORDER BY id LIMIT ?",
                                         (-1 if limit is None else limit,))
            elif doc in self._state.docs:
                rows = await db.fetchall(
                    "SELECT id, doc_id, data FROM outbox WHERE doc_id = ? ORDER BY id LIMIT ?",
                    (self._state.docs[doc].id, -1 if limit is None else limit))
            else:
                rows = []
        items = []
        for item_id, doc_id, data in rows:
            head = heads.get(doc_id)
            if head is None:
                raise StoreCorruptedError(f"outbox item {item_id}: unknown document")
            items.append(OutboxItem(item_id, head.name,
                                    open_outbox(self._state.cipher, head, item_id, data)))
        for item in items:
            index.remember(item.id, item.payload)
        return items

    async def outbox_size(self, doc: str | None = None) -> int:
        """How many items wait in the outbox (of one document, or all), as committed (kept in
        memory: outbox_index.py)."""
        if doc is None:
            return self._state.outbox.size(None)
        head = self._state.docs.get(doc)
        return 0 if head is None else self._state.outbox.size(head.id)
