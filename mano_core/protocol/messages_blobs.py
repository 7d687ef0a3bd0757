"""Messages of snapshots and document files: the opaque blobs the relay stores in parts
(docs/protocol.md §6, §7a)."""

from __future__ import annotations


from mano_core.protocol.message_base import (
    ChunkBytes, CompartmentNo, FileId, FilePartBytes, Message, Seq, U32,
)


# --- snapshots ---------------------------------------------------------------------------------


class SnapshotPut(Message, frozen=True, tag="snapshot_put"):
    """Client → relay: part ``part`` (0, 1, …) of an encrypted snapshot of ``c`` up to ``upto``.
    ``spare``: store it only if no snapshot of ``c`` covering ``upto`` is stored or being
    uploaded (a periodic snapshot; never an erasure's, which must replace: §6)."""

    id: U32
    c: CompartmentNo
    upto: Seq
    part: U32
    last: bool
    data: ChunkBytes
    spare: bool = False


class SnapshotGet(Message, frozen=True, tag="snapshot_get"):
    """Client → relay: send the newest snapshot of compartment ``c`` (with ``before`` > 0:
    the newest whose ``upto`` is below it, after refusing a newer one)."""

    id: U32
    c: CompartmentNo
    before: Seq = 0


class SnapshotData(Message, frozen=True, tag="snapshot_data"):
    """Relay → client: part ``part`` of the newest snapshot of ``c`` (covers up to ``upto``)."""

    id: U32
    c: CompartmentNo
    upto: Seq
    part: U32
    last: bool
    data: ChunkBytes


class Purge(Message, frozen=True, tag="purge"):
    """Client → relay: drop every stored envelope of ``c`` with sequence <= ``upto`` and every
    stored snapshot of ``c`` but the newest, which must cover ``upto`` (erasure, issue 11)."""

    id: U32
    c: CompartmentNo
    upto: Seq


class Purged(Message, frozen=True, tag="purged"):
    """Relay → client: purge ``id`` is durable; it dropped ``envelopes`` envelopes and
    ``snapshots`` snapshots (both 0 when an identical purge ran before)."""

    id: U32
    c: CompartmentNo
    upto: Seq
    envelopes: Seq
    snapshots: U32


# --- document files (docs/protocol.md §7a) ---------------------------------------------------


class FilePut(Message, frozen=True, tag="file_put"):
    """Client → relay: part ``part`` of the opaque file ``file`` of compartment ``c``; part 0
    creates it, ``last`` finishes it. Answered by ``ok`` once that part is durable."""

    id: U32
    c: CompartmentNo
    file: FileId
    part: U32
    last: bool
    data: FilePartBytes


class FileStatus(Message, frozen=True, tag="file_status"):
    """Client → relay: how much of ``file`` is stored (to resume an upload)."""

    id: U32
    c: CompartmentNo
    file: FileId


class FileInfo(Message, frozen=True, tag="file_info"):
    """Relay → client: ``parts`` parts (``size`` bytes) of ``file`` are stored; ``complete``
    once its last part is."""

    id: U32
    c: CompartmentNo
    file: FileId
    parts: U32
    size: Seq
    complete: bool


class FileGet(Message, frozen=True, tag="file_get"):
    """Client → relay: send parts ``first`` … ``first + count - 1`` of a complete file
    (``count`` 0: to the end)."""

    id: U32
    c: CompartmentNo
    file: FileId
    first: U32 = 0
    count: U32 = 0


class FileData(Message, frozen=True, tag="file_data"):
    """Relay → client: part ``part`` of ``file``; ``last`` on the range's final part."""

    id: U32
    file: FileId
    part: U32
    last: bool
    data: FilePartBytes


class FileDelete(Message, frozen=True, tag="file_delete"):
    """Client → relay: delete ``file`` and every part of it (``ok`` also if it was gone)."""

    id: U32
    c: CompartmentNo
    file: FileId
