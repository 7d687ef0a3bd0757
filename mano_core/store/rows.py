"""Row layouts: what each table's ciphertext holds and the associated data binding it in place.

Every AD starts with the format and a table label, then the fields that locate the row (the
document's lookup tag, a sequence number, a chunk index…), so a row copied to another table,
document, sequence or chunk position fails authentication.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final

from mano_core.errors import StoreCorruptedError

from .crypto import FORMAT, OVERHEAD, RowCipher

SNAPSHOT_CHUNK_BYTES: Final = 1024 * 1024
SNAPSHOT_ID_BYTES: Final = 16


def _ad(label: bytes, *parts: bytes | int) -> bytes:
    out = bytearray(FORMAT + b"|" + label)
    for part in parts:
        if isinstance(part, int):
            out += part.to_bytes(8, "big")
        else:
            out += len(part).to_bytes(4, "big") + part
    return bytes(out)


def doc_tag(cipher: RowCipher, doc: str) -> bytes:
    return cipher.tag(b"doc", doc)


def record_tags(cipher: RowCipher, namespace: str, key: str) -> tuple[bytes, bytes]:
    """(namespace tag, record tag)."""
    return cipher.tag(b"namespace", namespace), cipher.tag(b"record", namespace, key)


# --- docs table ------------------------------------------------------------------------------

_HEAD: Final = struct.Struct(">QQIQ16s")


@dataclass(slots=True)
class DocHead:
    """A document's bookkeeping, kept decrypted in memory and sealed in its docs row.

    Updates ``snapshot_seq + 1 .. last_seq`` are in the updates table; the snapshot (if
    ``snapshot_chunks``) covers everything up to ``snapshot_seq``."""

    id: int
    tag: bytes
    name: str
    last_seq: int = 0
    snapshot_seq: int = 0
    snapshot_chunks: int = 0
    snapshot_len: int = 0
    snapshot_id: bytes = bytes(SNAPSHOT_ID_BYTES)

    def seal_head(self, cipher: RowCipher) -> bytearray:
        plain = _HEAD.pack(self.last_seq, self.snapshot_seq, self.snapshot_chunks,
                           self.snapshot_len, self.snapshot_id)
        return cipher.seal(plain, _ad(b"doc-head", self.tag))

    def seal_name(self, cipher: RowCipher) -> bytearray:
        return cipher.seal(self.name.encode("utf-8"), _ad(b"doc-name", self.tag))

    @classmethod
    def open_row(cls, cipher: RowCipher, row_id: int, tag: bytes, name_ct: bytes,
                 head_ct: bytes) -> DocHead:
        """Decrypt a docs row. Raises StoreCorruptedError if it was altered."""
        what = f"docs row {row_id}"
        name = cipher.open(name_ct, _ad(b"doc-name", tag), what + " name").decode("utf-8")
        if doc_tag(cipher, name) != tag:
            raise StoreCorruptedError(f"{what}: name does not match its lookup tag")
        plain = cipher.open(head_ct, _ad(b"doc-head", tag), what + " head")
        try:
            fields = _HEAD.unpack(plain)
        except struct.error:
            raise StoreCorruptedError(f"{what}: malformed head") from None
        return cls(row_id, tag, name, *fields)


# --- updates table ---------------------------------------------------------------------------

def seal_update(cipher: RowCipher, tag: bytes, seq: int, update: bytes) -> bytearray:
    return cipher.seal(update, _ad(b"update", tag, seq))


def open_updates(cipher: RowCipher, head: DocHead,
                 rows: Sequence[tuple[int, bytes]]) -> list[bytes]:
    """Decrypt a document's update rows, checking none is missing, moved or duplicated."""
    expected = range(head.snapshot_seq + 1, head.last_seq + 1)
    if len(rows) != len(expected) or (rows and (rows[0][0], rows[-1][0]) != (expected[0],
                                                                            expected[-1])):
        raise StoreCorruptedError(
            f"document {head.name!r}: expected updates {expected.start}..{expected.stop - 1}, "
            f"found {len(rows)} rows")
    return [cipher.open(data, _ad(b"update", head.tag, seq), f"document {head.name!r} update {seq}")
            for seq, data in rows]


# --- snapshot_chunks table -------------------------------------------------------------------

def _chunk_ad(head: DocHead, index: int) -> bytes:
    return _ad(b"snapshot-chunk", head.tag, head.snapshot_id, head.snapshot_seq, index,
               head.snapshot_chunks, head.snapshot_len)


def seal_snapshot(cipher: RowCipher, head: DocHead,
                  state: bytes) -> Iterator[tuple[int, bytearray]]:
    """Set ``head``'s snapshot fields for ``state`` and yield its sealed (index, chunk) rows."""
    head.snapshot_id = os.urandom(SNAPSHOT_ID_BYTES)
    head.snapshot_len = len(state)
    head.snapshot_chunks = -(-len(state) // SNAPSHOT_CHUNK_BYTES)
    view = memoryview(state)
    for index in range(head.snapshot_chunks):
        piece = view[index * SNAPSHOT_CHUNK_BYTES:(index + 1) * SNAPSHOT_CHUNK_BYTES]
        yield index, cipher.seal(piece, _chunk_ad(head, index))


def open_snapshot(cipher: RowCipher, head: DocHead,
                  rows: Sequence[tuple[int, bytes]]) -> bytes | bytearray:
    """Decrypt a snapshot's chunks, each straight into its place at the end of one buffer
    (no join: one copy of the plaintext, written by AES-GCM, which releases the GIL; a worker
    thread may run this while the event loop goes on, issue 24).

    The buffer grows a chunk at a time, each chunk's zeros appended before AES-GCM overwrites
    them, instead of being made at the snapshot's length at once: ``bytearray(n)`` zero-fills
    its n bytes (and faults in their pages) in one call holding the GIL, 120-150 ms of CPU for
    the 205 MB of a ×10 team, and the event loop, which needs the GIL, waited that long and
    more (a stall of 170-560 ms with 1 ms of its own CPU at open, load 7-11). A chunk's zeros
    are a short hold (a megabyte); growing reallocates in place (a large block is remapped,
    not copied)."""
    what = f"document {head.name!r} snapshot"
    if [index for index, _ in rows] != list(range(head.snapshot_chunks)):
        raise StoreCorruptedError(f"{what}: expected {head.snapshot_chunks} chunks, "
                                  f"found {len(rows)}")
    if len(rows) == 1:
        state: bytes | bytearray = cipher.open(rows[0][1], _chunk_ad(head, 0), f"{what} chunk 0")
    else:
        state = bytearray()
        for index, data in rows:
            size = len(data) - OVERHEAD
            pos = len(state)
            if size < 0 or pos + size > head.snapshot_len:
                raise StoreCorruptedError(f"{what}: wrong length")
            state += bytes(size)
            with memoryview(state) as view:   # released before the next growth
                cipher.open_into(data, _chunk_ad(head, index), f"{what} chunk {index}",
                                 view[pos:pos + size])
    if len(state) != head.snapshot_len:
        raise StoreCorruptedError(f"{what}: wrong length")
    return state


# --- records table ---------------------------------------------------------------------------

def seal_record(cipher: RowCipher, ns_tag: bytes, tag: bytes, key: str, value: bytes) -> bytearray:
    raw = key.encode("utf-8")
    return cipher.seal(len(raw).to_bytes(4, "big") + raw + value, _ad(b"record", ns_tag, tag))


def open_record(cipher: RowCipher, ns_tag: bytes, tag: bytes, data: bytes,
                namespace: str) -> tuple[str, bytes]:
    """Decrypt a record row to (key, value)."""
    plain = cipher.open(data, _ad(b"record", ns_tag, tag), f"record in {namespace!r}")
    size = int.from_bytes(plain[:4], "big")
    if len(plain) < 4 + size:
        raise StoreCorruptedError(f"record in {namespace!r}: malformed")
    try:
        key = plain[4:4 + size].decode("utf-8")
    except UnicodeDecodeError:
        raise StoreCorruptedError(f"record in {namespace!r}: malformed key") from None
    return key, plain[4 + size:]


# --- outbox table ----------------------------------------------------------------------------

def seal_outbox(cipher: RowCipher, tag: bytes, item_id: int, payload: bytes) -> bytearray:
    return cipher.seal(payload, _ad(b"outbox", tag, item_id))


def open_outbox(cipher: RowCipher, head: DocHead, item_id: int, data: bytes) -> bytes:
    return cipher.open(data, _ad(b"outbox", head.tag, item_id),
                       f"outbox item {item_id} of {head.name!r}")
