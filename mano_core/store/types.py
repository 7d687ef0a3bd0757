"""Values returned by the local store."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LoadedDocument:
    """A document as stored: apply ``snapshot`` (if any), then ``updates`` in order.

    ``updates`` are the updates numbered ``snapshot_seq + 1 .. last_seq``; ``snapshot_seq`` is 0
    when there is no snapshot. An unknown document loads as empty (no snapshot, no updates)."""

    snapshot: bytes | bytearray | None  # a bytearray when read from several chunks
    snapshot_seq: int
    updates: list[bytes]
    last_seq: int


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A queued payload waiting for the relay's acknowledgement. ``id`` grows in queue order."""

    id: int
    doc: str
    payload: bytes
