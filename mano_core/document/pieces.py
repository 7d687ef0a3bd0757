"""A stored snapshot as several bounded updates, applied at open with the event loop handed
back between them (issue 24).

pycrdt's ``apply_update`` holds the GIL for its whole duration (a MANO-scale state: 0.25–0.4 s;
×10: seconds), so no thread helps: the state has to reach the document in pieces. A v1 update
names every struct by an absolute (client, clock) id, and its structs are self-contained (no
reference to the previous struct's encoding), so the struct run of one client can be cut at
any struct boundary: a piece holds consecutive structs of one or more clients, headed by the
clock of its first struct, and the last piece holds the delete set. Applied in dependency order
each piece integrates at once (nothing goes to pycrdt's pending buffer, which
mano_core/document/ydeps.py explains is not trusted); together they are the same structs and
the same deletions as the state they come from.

The cut reads every struct (``_read_clients``: the compiled reader, ``_yreader_c.read_clients``,
where it is built, else ``_read_clients_py``, the reference it is tested against; 100 ms → ~3
ms for a 1.2 MB state) and places them: it runs when a snapshot is written (compaction, in a
worker thread) and when a first sync's stored state is opened, never on the loop. A stored
snapshot is either one plain v1 state (older stores, small states) or ``MAGIC`` followed by
the pieces and the state vector they add up to (``pack``/``unpack``); ``apply_pieces`` checks
that vector once they are applied. The framing is local to this device's store (never sent):
the relay and teammates still see whole states. ``MAGIC`` starts with ten 0xFF bytes, a varint
no v1 update can start with."""

from __future__ import annotations

import asyncio
from array import array
from collections.abc import Iterator
from typing import Any, Final

from pycrdt import Doc

from mano_core.errors import MalformedUpdateError, StoreCorruptedError
from mano_core.loop_turns import Pace, drive

from . import ynative
from .ydeps import read_deps, read_state_vector
from .ylib0 import _content_length, _Reader

MAGIC: Final = b"\xff" * 10 + b"mano-pieces-1"
# Bytes of state per piece: applying 256 KiB of our layout is ~5 ms on the 2-core reference
# machine (a 20 MB state in ~0.3 s), a tenth of the 50 ms target.
PIECE_BYTES: Final = 256 * 1024
# Work on the event loop before it is handed back between pieces (mano_core.loop_turns, the
# driver, has the same budget for decoding records).
APPLY_SLICE_SECONDS: Final = 0.010


class _Client:
    """The structs of one client in a state: where each starts (bytes), its clock, and what
    it refers to of other clients (sparse: most structs refer only to their own client's
    earlier ones, or to nothing)."""

    __slots__ = ("client", "clocks", "needs", "next", "offsets")

    def __init__(self, client: int) -> None:
        self.client = client
        self.offsets = array("Q")   # byte offset of each struct, then the offset after the last
        self.clocks = array("Q")    # clock of each struct, then the clock after the last
        self.needs: dict[int, list[tuple[int, int]]] = {}  # struct index -> (client, clock+1)
        self.next = 0               # the first struct not placed in a piece yet


def cut(update: bytes, piece_bytes: int | None = None,
        held: dict[int, int] | None = None) -> list[bytes] | None:
    """``update`` (a v1 update: a state, or a stored teammate's update) as updates of about
    ``piece_bytes`` (default ``PIECE_BYTES``) each, in an order in which each integrates at
    once into a document holding ``held`` (its state vector; empty by default): ``[update]``
    when it is small; None when it cannot integrate at once (a struct continues a clock the
    document lacks, refers to an item it lacks, or the update has holes), or its structs
    have no such order (a state pycrdt encoded always has one).
    MalformedUpdateError if the bytes are not a v1 update."""
    piece_bytes = piece_bytes or PIECE_BYTES
    if len(update) <= piece_bytes:
        return [update]
    read = _read_clients(update)
    if read is None:
        return None
    clients, delete_set, deletes_need = read
    held = dict(held or {})
    for c in clients:
        if c.clocks[0] > held.get(c.client, 0):
            return None   # continues a clock the document does not hold
    out: list[bytes] = []
    piece: dict[int, tuple[int, int]] = {}  # client -> (first struct, after the last) in it
    size = 0
    while True:
        placed = False
        for c in clients:
            first = c.next
            i = first
            count = len(c.clocks) - 1
            while i < count:
                wanted = c.needs.get(i)
                if wanted is not None and any(held.get(k, 0) < end for k, end in wanted):
                    break   # refers to what no piece holds yet: another client first
                i += 1
                if c.clocks[i] > held.get(c.client, 0):
                    held[c.client] = c.clocks[i]
                size += c.offsets[i] - c.offsets[i - 1]
                if size >= piece_bytes:
                    _add(piece, c.client, first, i)
                    out.append(_encode(update, clients, piece, b"\x00"))
                    piece, size, first = {}, 0, i
            if i > first:
                _add(piece, c.client, first, i)
            if i > c.next:
                placed = True
                c.next = i
        if all(c.next == len(c.clocks) - 1 for c in clients):
            break
        if not placed:
            return None   # refers to items neither the document nor the update holds
    if any(held.get(k, 0) < end for k, end in deletes_need):
        return None
    if piece or not out:
        out.append(_encode(update, clients, piece, delete_set))
    else:   # the delete set goes with the last piece
        out[-1] = out[-1][:-1] + delete_set
    return out if len(out) > 1 else [update]


def _add(piece: dict[int, tuple[int, int]], client: int, first: int, after: int) -> None:
    if after > first:
        was = piece.get(client)
        piece[client] = (was[0] if was is not None else first, after)


_Clients = tuple[list[_Client], bytes, list[tuple[int, int]]]


def _read_clients(state: bytes) -> _Clients | None:
    """Every struct of ``state`` by client; the delete set's bytes and what it refers to.
    None if it has holes (skips: what follows depends on what is skipped). By the compiled
    reader when it runs (the same decisions as ``_read_clients_py``: tests/document/
    test_ycompiled.py), else by the Python one."""
    if _compiled is None:
        return _read_clients_py(state)
    read = _compiled.read_clients(state)
    if read is None or isinstance(read[1], bytes):
        return read  # type: ignore[no-any-return]  # (None, or the Python reader's, delegated)
    clients = []
    for client, offsets, clocks, needs in read[0]:
        c = _Client(client)
        c.offsets = array("Q", offsets)
        c.clocks = array("Q", clocks)
        c.needs = needs
        clients.append(c)
    return clients, state[read[1]:], read[2]


def read_clients(state: bytes) -> _Clients | None:
    """``_read_clients`` for other modules (``mano_core/sync/snapshot_join.py`` joins a
    version-2 snapshot's pieces with the cut's own reader)."""
    return _read_clients(state)


def _read_clients_py(state: bytes) -> _Clients | None:
    """``_read_clients`` in Python: the reference."""
    try:
        return _clients_py(state)
    except OverflowError:  # array("Q") holds 64 bits: no pycrdt state has such a clock
        raise MalformedUpdateError("a clock beyond 64 bits") from None


def _clients_py(state: bytes) -> _Clients | None:
    r = _Reader(state)
    by_client: dict[int, _Client] = {}
    for _ in range(r.varuint()):
        count = r.varuint()
        client = r.varuint()
        clock = r.varuint()
        c = by_client.get(client)
        if c is not None:
            raise MalformedUpdateError("a client's structs in two runs")
        c = by_client[client] = _Client(client)
        offsets, clocks, needs = c.offsets, c.clocks, c.needs
        for index in range(count):
            offsets.append(r.pos)
            clocks.append(clock)
            wanted: list[tuple[int, int]] = []
            length = _skip_struct(r, client, wanted)
            if length < 0:
                return None
            clock += length
            if wanted:
                needs[index] = wanted
        offsets.append(r.pos)
        clocks.append(clock)
    delete_start = r.pos
    deletes_need: list[tuple[int, int]] = []
    for _ in range(r.varuint()):
        client = r.varuint()
        for _ in range(r.varuint()):
            start = r.varuint()
            deletes_need.append((client, start + r.varuint()))
    if r.pos != len(state):
        raise MalformedUpdateError("bytes after the delete set")
    return list(by_client.values()), state[delete_start:], deletes_need


_compiled = ynative.compiled
if _compiled is not None:
    _compiled.bind_pieces(_read_clients_py)


def _skip_struct(r: _Reader, own: int, wanted: list[tuple[int, int]]) -> int:
    """Read one struct, noting in ``wanted`` the items of other clients it refers to; its
    clock length, -1 for a skip. (Items of its own client it refers to are earlier ones.)"""
    info = r.byte()
    ref = info & 0x1F
    if ref == 10:  # Skip: a hole (-1: not cut)
        r.varuint()
        return -1
    if ref == 0:  # GC
        return r.varuint()
    if info & 0x80:
        client, clock = r.varuint(), r.varuint()
        if client != own:
            wanted.append((client, clock + 1))
    if info & 0x40:
        client, clock = r.varuint(), r.varuint()
        if client != own:
            wanted.append((client, clock + 1))
    if not info & 0xC0:
        if r.varuint() == 1:
            r.skip(r.varuint())  # root type name
        else:
            client, clock = r.varuint(), r.varuint()
            if client != own:
                wanted.append((client, clock + 1))
        if info & 0x20:
            r.skip(r.varuint())  # key in the parent map
    return _content_length(r, ref)


def _encode(state: bytes, clients: list[_Client], piece: dict[int, tuple[int, int]],
            delete_set: bytes) -> bytes:
    by_id = {c.client: c for c in clients}
    out = bytearray()
    write_varuint(out, len(piece))
    for client, (first, after) in piece.items():
        c = by_id[client]
        write_varuint(out, after - first)
        write_varuint(out, client)
        write_varuint(out, c.clocks[first])
        out += state[c.offsets[first]:c.offsets[after]]
    out += delete_set
    return bytes(out)


def write_varuint(out: bytearray, n: int) -> None:
    """Append ``n`` to ``out`` as lib0's unsigned varint (7 bits a byte, low bits first)."""
    while n > 0x7F:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    out.append(n)


# --- the stored form --------------------------------------------------------------------------

def pack(pieces: list[bytes], state_vector: bytes) -> bytes:
    """One stored snapshot for ``pieces`` (a single piece is stored as the plain state);
    ``state_vector`` (``Doc.get_state()`` encoding) is what applying them all gives."""
    if len(pieces) == 1:
        return pieces[0]
    # Joined in one copy (a bytearray grown piece by piece, then copied into ``bytes``, was
    # several: 7.5 ms against 2.8 for a MANO-scale 20 MB state, holding the GIL).
    head = bytearray(MAGIC)
    write_varuint(head, len(state_vector))
    head += state_vector
    write_varuint(head, len(pieces))
    parts: list[bytes | bytearray] = [head]
    for piece in pieces:
        size = bytearray()
        write_varuint(size, len(piece))
        parts += (size, piece)
    return b"".join(parts)


def unpack(stored: bytes | bytearray) -> tuple[list[bytes], dict[int, int] | None]:
    """The pieces of a stored snapshot, and the state vector they add up to (None for a plain
    state, one piece). StoreCorruptedError if the framing is broken."""
    frames, vector = _frames(stored)
    return [_piece(stored, start, end) for start, end in frames], vector


def _piece(stored: bytes | bytearray, start: int, end: int) -> bytes:
    """The bytes pycrdt applies (bytes only): the stored ones if whole, else a copy."""
    if isinstance(stored, bytes) and (start, end) == (0, len(stored)):
        return stored
    with memoryview(stored) as view:
        return bytes(view[start:end])


def _frames(stored: bytes | bytearray) -> tuple[list[tuple[int, int]], dict[int, int] | None]:
    """Where each piece of a stored snapshot lies (start, end), and the state vector; the
    pieces are copied out one at a time as they are applied (a ×10 state is 224 MB: copying
    them all at once held the loop for 60 ms)."""
    if not stored.startswith(MAGIC):
        return [(0, len(stored))], None
    r = _Reader(stored)  # type: ignore[arg-type]  # reads a bytearray alike
    r.pos = len(MAGIC)
    try:
        vector = read_state_vector(bytes(r.bytes_()))
        frames = []
        for _ in range(r.varuint()):
            size = r.varuint()
            start = r.pos
            r.skip(size)
            frames.append((start, r.pos))
    except MalformedUpdateError as e:
        raise StoreCorruptedError(f"snapshot pieces: {e}") from e
    if r.pos != len(stored) or not frames:
        raise StoreCorruptedError("snapshot pieces: bytes after the last piece")
    return frames, vector


def cut_and_pack(doc_state: bytes, state_vector: bytes,
                 piece_bytes: int | None = None) -> bytes:
    """``pack(cut(doc_state), state_vector)``: what compaction stores (in a worker thread);
    the plain state if it cannot be cut."""
    return pack(cut(doc_state, piece_bytes) or [doc_state], state_vector)


def applying(doc: Doc[Any], stored: bytes | bytearray) -> Iterator[int]:
    """Apply a stored snapshot to ``doc`` one piece at a time, yielding after each piece the
    bytes applied so far; checks at the end that the document holds every struct the pieces
    carry (StoreCorruptedError otherwise: a piece did not integrate)."""
    frames, vector = _frames(stored)
    done = 0
    for start, end in frames:
        doc.apply_update(_piece(stored, start, end))
        done += end - start
        yield done
    if vector is not None:
        held = read_state_vector(doc.get_state())
        if any(held.get(client, 0) < clock for client, clock in vector.items()):
            raise StoreCorruptedError("snapshot pieces: the document misses some of them")


async def apply_stored(doc: Doc[Any], stored: bytes | bytearray, *,
                       slice_seconds: float | None = None) -> None:
    """``applying`` on the event loop, handing it back whenever ``slice_seconds`` (default
    ``APPLY_SLICE_SECONDS``) went by. A snapshot stored whole, not in pieces (a new device's
    first sync stores the relay's state as its snapshot: ``_merge_state_ahead``), is cut in a
    worker thread and applied piece by piece, as ``apply_leading`` does for a large update:
    applied in one call it held the loop for the whole state (~160-200 ms at MANO scale, the
    open after a first sync, issue 24). Bytes that cannot be cut are applied as before."""
    if not stored.startswith(MAGIC) and len(stored) > PIECE_BYTES:
        whole = stored if isinstance(stored, bytes) else bytes(stored)
        held = read_state_vector(doc.get_state())
        try:
            cut_up = await asyncio.to_thread(cut, whole, None, held)
        except MalformedUpdateError:
            cut_up = None   # applied whole below: the open's own error, as before
        if cut_up is not None:
            await _drive(_each(doc, cut_up), slice_seconds)
            return
    await _drive(applying(doc, stored), slice_seconds)


def _each(doc: Doc[Any], updates: list[bytes]) -> Iterator[None]:
    for update in updates:
        doc.apply_update(update)
        yield None


async def apply_leading(doc: Doc[Any], updates: list[bytes], *,
                        slice_seconds: float | None = None) -> list[bytes]:
    """Apply the stored updates after the snapshot that integrate at once, in order, the
    large ones (a first sync's snapshot is stored as an update) cut in a worker thread and
    applied piece by piece, handing the loop back between pieces; stops at the first that
    does not integrate at once and returns it and the ones after it (the document parks
    them: mano_core.document.team_doc). MalformedUpdateError as read_deps."""
    pace = Pace(APPLY_SLICE_SECONDS if slice_seconds is None else slice_seconds)
    for index, update in enumerate(updates):
        held = read_state_vector(doc.get_state())
        if len(update) > PIECE_BYTES:
            cut_up = await asyncio.to_thread(cut, update, None, held)
            if cut_up is None:
                return updates[index:]
            pace.restart()   # (the loop ran while the thread cut it)
            for piece in cut_up:
                doc.apply_update(piece)
                await pace.step()
            continue
        if not read_deps(update).satisfied_by(held):
            return updates[index:]
        doc.apply_update(update)
        await pace.step()
    return []


async def _drive(steps: Iterator[object], slice_seconds: float | None) -> None:
    await drive(steps, slice_seconds=APPLY_SLICE_SECONDS if slice_seconds is None
                else slice_seconds)
