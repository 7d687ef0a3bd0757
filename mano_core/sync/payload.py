"""What is inside an envelope (its plaintext) and inside a snapshot, before encryption.

Envelope plaintext, msgpack (docs/protocol.md §15):

* a **batch**: ``{"u": [update, …]}``, the pycrdt (Yjs v1) updates of one flush, in order;
* a **fragment** of a batch too large for one envelope:
  ``{"g": group id (16 bytes), "i": index, "n": count, "d": bytes}``; the concatenated ``d`` of
  fragments 0…n−1 of a group is the msgpack of a batch. An author sends the fragments of a
  group consecutively; a receiver keeps them (durably) until the group is complete.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Final

import msgspec

from mano_core import bounded, limits
from mano_core.errors import MalformedUpdateError

# Room for the envelope header, AEAD tag, signature and msgpack framing.
MAX_PLAINTEXT: Final = limits.MAX_ENVELOPE_SIZE - 4096


class Batch(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    u: list[bytes]


class Fragment(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    g: bytes
    i: int
    n: int
    d: bytes




def _untagged(obj: Batch | Fragment) -> bytes:
    return msgspec.msgpack.encode(obj)


def encode_batches(updates: Sequence[bytes], max_size: int = MAX_PLAINTEXT) -> Iterator[bytes]:
    """Envelope plaintexts carrying ``updates`` in order: as few batches as fit, and fragments
    for an update too large for one envelope on its own."""
    current: list[bytes] = []
    size = 16
    for update in updates:
        if len(update) + 16 > max_size:
            if current:
                yield _untagged(Batch(u=current))
                current, size = [], 16
            yield from _fragments(_untagged(Batch(u=[update])), max_size)
            continue
        if size + len(update) + 8 > max_size and current:
            yield _untagged(Batch(u=current))
            current, size = [], 16
        current.append(update)
        size += len(update) + 8
    if current:
        yield _untagged(Batch(u=current))


def _fragments(blob: bytes, max_size: int) -> Iterator[bytes]:
    step = max_size - 64
    count = (len(blob) + step - 1) // step
    group = os.urandom(16)
    for i in range(count):
        yield _untagged(Fragment(g=group, i=i, n=count, d=blob[i * step:(i + 1) * step]))


def decode(plaintext: bytes) -> Batch | Fragment:
    """The batch or fragment in an envelope's plaintext; MalformedUpdateError otherwise (its
    cause a TooDeepError for msgpack nested beyond limits.MAX_MSGPACK_DEPTH)."""
    # The common case first, typed (issue 24: a catch-up decodes one per envelope; the depth
    # walk is pure Python): decoding *as* a Batch cannot recurse, since its one field is a
    # list of bytes and unknown fields are refused at their key, so msgspec stops at the
    # first array or map below that list (tests/sync/test_payload.py sends such nests).
    # Whatever is not exactly a batch takes the bounded path below, as before.
    try:
        return msgspec.msgpack.decode(plaintext, type=Batch)
    except (msgspec.MsgspecError, ValueError):
        pass
    decoded = bounded.decode(plaintext, error=MalformedUpdateError, what="envelope content")
    try:
        if isinstance(decoded, dict) and "u" in decoded:
            return msgspec.convert(decoded, Batch)
        return msgspec.convert(decoded, Fragment)
    except (msgspec.MsgspecError, ValueError) as exc:
        raise MalformedUpdateError(f"envelope content: {exc}") from None


def join_fragments(parts: Sequence[Fragment]) -> Batch:
    """The batch carried by a complete group of fragments (any order)."""
    ordered = sorted(parts, key=lambda f: f.i)
    if not ordered or [f.i for f in ordered] != list(range(ordered[0].n)):
        raise MalformedUpdateError("incomplete fragment group")
    result = decode(b"".join(f.d for f in ordered))
    if not isinstance(result, Batch):
        raise MalformedUpdateError("fragments do not carry a batch")
    return result
