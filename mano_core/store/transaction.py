"""Write batches: every write of the local store goes through a StoreTransaction, which encrypts
rows and queues statements; the store commits them in one SQLite transaction."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from mano_core import limits
from mano_core.errors import LimitExceededError, SnapshotRangeError, StoreError

from .crypto import RowCipher
from .database import Ahead, group_ops
from .in_thread import Op, Row
from .outbox_index import OutboxIndex
from .rows import (
    DocHead,
    doc_tag,
    record_tags,
    seal_outbox,
    seal_record,
    seal_snapshot,
    seal_update,
)


_MAX_VARIABLES: Final = 32_766  # SQLite's bound on a statement's parameters (3.32 and later)


@dataclass(slots=True)
class StoreState:
    """What an open store keeps in memory: the row cipher and every document's decrypted head."""

    cipher: RowCipher
    docs: dict[str, DocHead]
    next_doc_id: int
    next_outbox_id: int
    outbox: OutboxIndex = field(default_factory=OutboxIndex)  # as committed (outbox_index.py)

    def heads_by_id(self) -> dict[int, DocHead]:
        return {head.id: head for head in self.docs.values()}


def check_name(kind: str, name: str) -> None:
    """Raise LimitExceededError if a document name, namespace or key is too long."""
    size = len(name.encode("utf-8"))
    if size > limits.MAX_STORE_NAME_BYTES:
        raise LimitExceededError(f"MAX_STORE_NAME_BYTES ({kind})", size,
                                 limits.MAX_STORE_NAME_BYTES)


def _check_value(kind: str, value: bytes) -> None:
    if len(value) > limits.MAX_STORE_VALUE_BYTES:
        raise LimitExceededError(f"MAX_STORE_VALUE_BYTES ({kind})", len(value),
                                 limits.MAX_STORE_VALUE_BYTES)


class StoreTransaction:
    """A batch of writes committed together when the ``async with store.transaction()`` block
    ends; nothing is written if the block raises. The methods mirror LocalStore's writes and only
    queue: reads through the store inside the block see the state from before it."""

    def __init__(self, state: StoreState) -> None:
        self._state = state
        self._ops: list[tuple[str, Row]] = []
        self._heads: dict[str, DocHead] = {}
        self._created: set[str] = set()
        self._deleted: set[str] = set()
        self._next_doc_id = state.next_doc_id
        self._next_outbox_id = state.next_outbox_id
        self._finished = False
        self.frees_space = False  # a snapshot or document was replaced or deleted
        # The outbox statements in order, for the index once committed: (item, doc, payload)
        # added, (item, -1, None) removed, (-1, doc, None) a document's items deleted.
        self._outbox_changes: list[tuple[int, int, bytes | None]] = []
        # write_ahead: set by LocalStore.transaction (sends statements to the file's thread),
        # and what it started there.
        self.send_ahead: Callable[[list[Op]], Awaitable[Ahead]] | None = None
        self.ahead: Ahead | None = None
        self._after_commit: list[Callable[[], None]] = []

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once this batch has committed, on the event loop, before the next
        transaction can start, even if the caller was cancelled while the commit ran; never if
        nothing was committed. For the in-memory state that must follow the file exactly (a
        counter adopted with the row that records it). It must not raise."""
        self._check_active()
        self._after_commit.append(callback)

    def _head(self, doc: str) -> DocHead:
        self._check_active()
        head = self._heads.get(doc)
        if head is None:
            current = None if doc in self._deleted else self._state.docs.get(doc)
            if current is None:
                check_name("document", doc)
                head = DocHead(self._next_doc_id, doc_tag(self._state.cipher, doc), doc)
                self._next_doc_id += 1
                self._created.add(doc)
            else:
                head = dataclasses.replace(current)
            self._heads[doc] = head
        return head

    async def append_update(self, doc: str, update: bytes) -> int:
        """Queue one update; return its local sequence number (1, 2, … per document)."""
        return (await self.append_updates(doc, [update]))[0]

    async def append_updates(self, doc: str, updates: Sequence[bytes]) -> list[int]:
        """Queue updates in order; return their sequence numbers."""
        for update in updates:
            _check_value("update", update)
        if not updates:
            return []
        head = self._head(doc)
        cipher = self._state.cipher
        seqs = []
        for update in updates:
            head.last_seq += 1
            self._ops.append(("INSERT INTO updates (doc_id, seq, data) VALUES (?, ?, ?)",
                              (head.id, head.last_seq, seal_update(cipher, head.tag,
                                                                   head.last_seq, update))))
            seqs.append(head.last_seq)
        return seqs

    async def write_snapshot(self, doc: str, state: bytes, upto_seq: int) -> None:
        """Queue a snapshot covering updates ``<= upto_seq``, and the deletion of those updates.

        ``state`` must be a re-encoded document state (apply updates to a Doc, ``get_update()``).
        Raises SnapshotRangeError unless the current snapshot's seq <= ``upto_seq`` <= the last
        seq, LimitExceededError if ``state`` is above MAX_STORE_SNAPSHOT_BYTES."""
        if len(state) > limits.MAX_STORE_SNAPSHOT_BYTES:
            raise LimitExceededError("MAX_STORE_SNAPSHOT_BYTES", len(state),
                                     limits.MAX_STORE_SNAPSHOT_BYTES)
        head = self._head(doc)
        if not head.snapshot_seq <= upto_seq <= head.last_seq:
            raise SnapshotRangeError(
                f"upto_seq {upto_seq} is outside {head.snapshot_seq}..{head.last_seq}")
        # Sealed for a copy of the head, then queued with it at once: a cancellation while a
        # worker thread seals queues nothing (and the block that ends with it writes nothing).
        sealed = dataclasses.replace(head, snapshot_seq=upto_seq)
        chunks = seal_snapshot(self._state.cipher, sealed, state)
        if len(state) >= limits.SEAL_IN_THREAD_BYTES:
            rows = await asyncio.to_thread(list, chunks)  # the loop runs meanwhile (issue 24)
        else:
            rows = list(chunks)
        self._check_active()
        self._heads[doc] = head = sealed
        self.frees_space = True
        self._ops.append(("DELETE FROM snapshot_chunks WHERE doc_id = ?", (head.id,)))
        self._ops.append(("DELETE FROM updates WHERE doc_id = ? AND seq <= ?", (head.id, upto_seq)))
        for index, chunk in rows:
            self._ops.append(("INSERT INTO snapshot_chunks (doc_id, idx, data) VALUES (?, ?, ?)",
                              (head.id, index, chunk)))

    async def write_ahead(self) -> None:
        """Send the statements queued so far to the file now, in the transaction this block
        commits, and return as soon as the file's thread runs the last of them (a snapshot's
        chunks, as one statement): what the caller does next, e.g. pycrdt's apply of the
        state, which holds the GIL, overlaps the writing (issue 24). Nothing is committed
        before the block ends; if it raises, all is rolled back. Once per transaction."""
        self._check_active()
        if self.send_ahead is None or self.ahead is not None:
            raise StoreError("write_ahead: once per transaction of LocalStore.transaction()")
        ops, self._ops = group_ops(self._ops), []
        if not ops:
            return
        sql, rows = ops[-1]
        if len(rows) > 1 and sql.count(" VALUES (") == 1 and \
                len(rows) * len(rows[0]) <= _MAX_VARIABLES:
            # One multi-row INSERT: one SQLite step, which releases the GIL all along (an
            # executemany takes the GIL back between rows).
            head, values = sql.rsplit(" VALUES ", 1)
            ops[-1] = (f"{head} VALUES {', '.join([values] * len(rows))}",
                       [tuple(value for row in rows for value in row)])
        self.ahead = await self.send_ahead(ops)

    async def delete_document(self, doc: str) -> None:
        """Queue the deletion of a document: its updates, snapshot and outbox items."""
        self._check_active()
        head = self._heads.pop(doc, None)
        if head is None and doc not in self._deleted:
            head = self._state.docs.get(doc)
        self._created.discard(doc)
        if head is None:
            return
        self._deleted.add(doc)
        self.frees_space = True
        for table in ("updates", "snapshot_chunks", "outbox"):
            self._ops.append((f"DELETE FROM {table} WHERE doc_id = ?", (head.id,)))
        self._outbox_changes.append((-1, head.id, None))
        self._ops.append(("DELETE FROM docs WHERE id = ?", (head.id,)))

    async def put(self, namespace: str, key: str, value: bytes) -> None:
        """Queue storing ``value`` under (namespace, key), replacing any previous value."""
        check_name("namespace", namespace)
        check_name("key", key)
        _check_value("record value", value)
        self._check_active()
        ns_tag, tag = record_tags(self._state.cipher, namespace, key)
        self._ops.append(("INSERT OR REPLACE INTO records (tag, ns, data) VALUES (?, ?, ?)",
                          (tag, ns_tag, seal_record(self._state.cipher, ns_tag, tag, key, value))))

    async def delete(self, namespace: str, key: str) -> None:
        """Queue deleting (namespace, key); deleting a missing record is not an error."""
        self._check_active()
        _, tag = record_tags(self._state.cipher, namespace, key)
        self._ops.append(("DELETE FROM records WHERE tag = ?", (tag,)))

    async def outbox_add(self, doc: str, payload: bytes) -> int:
        """Queue a payload in the document's outbox; return its id (increasing, never reused)."""
        _check_value("outbox payload", payload)
        head = self._head(doc)
        item_id = self._next_outbox_id
        self._next_outbox_id += 1
        self._ops.append(("INSERT INTO outbox (id, doc_id, data) VALUES (?, ?, ?)",
                          (item_id, head.id, seal_outbox(self._state.cipher, head.tag, item_id,
                                                         payload))))
        self._outbox_changes.append((item_id, head.id, payload))
        return item_id

    async def outbox_remove(self, ids: Iterable[int]) -> None:
        """Queue removing outbox items (once acknowledged); unknown ids are ignored."""
        self._check_active()
        ids = list(ids)
        self._ops.extend(("DELETE FROM outbox WHERE id = ?", (item_id,)) for item_id in ids)
        self._outbox_changes.extend((item_id, -1, None) for item_id in ids)

    def _check_active(self) -> None:
        if self._finished:
            raise StoreError("this transaction has already ended")

    # --- used by LocalStore ------------------------------------------------------------------

    def finish(self) -> list[Op]:
        """End the batch; return its grouped statements, with the changed docs rows last."""
        self._check_active()
        self._finished = True
        cipher = self._state.cipher
        for name, head in self._heads.items():
            if name in self._created:
                self._ops.append(("INSERT INTO docs (id, tag, name, head) VALUES (?, ?, ?, ?)",
                                  (head.id, head.tag, head.seal_name(cipher),
                                   head.seal_head(cipher))))
            else:
                self._ops.append(("UPDATE docs SET head = ? WHERE id = ?",
                                  (head.seal_head(cipher), head.id)))
        return group_ops(self._ops)

    def discard(self) -> None:
        """End the batch without writing anything."""
        self._finished = True

    def apply(self) -> None:
        """Record the committed batch in the store's memory (call only after COMMIT)."""
        state = self._state
        for name in self._deleted:
            state.docs.pop(name, None)
        state.docs.update(self._heads)
        state.next_doc_id = self._next_doc_id
        state.next_outbox_id = self._next_outbox_id
        index = state.outbox
        for item_id, doc_id, payload in self._outbox_changes:
            if item_id < 0:
                index.drop_document(doc_id)
            elif doc_id < 0:
                index.remove(item_id)
            else:
                index.add(item_id, doc_id, payload)
        for callback in self._after_commit:
            callback()
