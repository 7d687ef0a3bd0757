"""The outbox as committed, in memory: which items each document holds, and the payloads of the
recent ones (issue 24: the edit → visible path counted and read the outbox through SQLite after
every flush, acknowledgement and delivery; each is a round trip to the store's worker thread).

Filled when the store opens (ids and documents only: one query) and kept by every commit
(``StoreTransaction.apply``, after COMMIT, in the order the statements ran), so it never shows
an item before its commit nor keeps one after its removal committed. Payloads are those this
process wrote or read back (plaintext, as ``outbox_pending`` returns them), at most
OUTBOX_CACHE_BYTES in all: an item whose payload is not held is read from the file, and
authenticated there, as before."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

OUTBOX_CACHE_BYTES: Final = 4 * 1024 * 1024  # payloads held in memory, in all


class OutboxIndex:
    """Per document (by its row id), the ids of its committed outbox items in queue order."""

    __slots__ = ("_doc_of", "_held", "_items", "_payloads")

    def __init__(self, rows: Iterable[tuple[int, int]] = ()) -> None:
        self._doc_of: dict[int, int] = {}
        self._items: dict[int, dict[int, None]] = {}  # doc id -> item ids, increasing
        self._payloads: dict[int, bytes] = {}
        self._held = 0
        for item_id, doc_id in sorted(rows):
            self.add(item_id, doc_id, None)

    def add(self, item_id: int, doc_id: int, payload: bytes | None) -> None:
        """An item committed (ids are handed out in increasing order, and transactions commit
        one at a time in that order, so each document's items stay in queue order)."""
        self._doc_of[item_id] = doc_id
        self._items.setdefault(doc_id, {})[item_id] = None
        if payload is not None:
            self._hold(item_id, bytes(payload))

    def remove(self, item_id: int) -> None:
        """An item's removal committed (unknown ids are ignored, as by the statement)."""
        doc_id = self._doc_of.pop(item_id, None)
        if doc_id is None:
            return
        items = self._items[doc_id]
        del items[item_id]
        if not items:
            del self._items[doc_id]
        payload = self._payloads.pop(item_id, None)
        if payload is not None:
            self._held -= len(payload)

    def drop_document(self, doc_id: int) -> None:
        """A document's deletion committed: its items went with it."""
        for item_id in list(self._items.get(doc_id, ())):
            self.remove(item_id)

    def size(self, doc_id: int | None) -> int:
        """How many items the document holds (every document's with None)."""
        if doc_id is None:
            return len(self._doc_of)
        return len(self._items.get(doc_id, ()))

    def pending(self, doc_id: int, limit: int | None) -> list[tuple[int, bytes]] | None:
        """The document's first ``limit`` items (id, payload) in queue order, or None when a
        payload among them is not held (read them from the file)."""
        out: list[tuple[int, bytes]] = []
        for item_id in self._items.get(doc_id, ()):
            if limit is not None and len(out) >= limit:
                break
            payload = self._payloads.get(item_id)
            if payload is None:
                return None
            out.append((item_id, payload))
        return out

    def remember(self, item_id: int, payload: bytes) -> None:
        """A payload read back from the file: held if the item is still committed."""
        if item_id in self._doc_of and item_id not in self._payloads:
            self._hold(item_id, payload)

    def _hold(self, item_id: int, payload: bytes) -> None:
        if self._held + len(payload) <= OUTBOX_CACHE_BYTES:
            self._payloads[item_id] = payload
            self._held += len(payload)
