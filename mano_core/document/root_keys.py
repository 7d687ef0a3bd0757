"""The record ids of a document's collections, read from the bytes it was made of in a worker
thread (issue 24), for the first read (``Collection.loading(keys=)``).

pycrdt lists a Map's keys in one call holding the GIL: 150–160 ms of the event loop for the
240,000 comments of a ×10 team, at the start of their first read. A record is a key of its
collection's root Map, and the item that first sets a key of a root Map has no neighbour, so
a v1 update names its parent root and its key (``StructInfo.parent_root``/``parent_sub``): the
ids are read here from the stored snapshot's pieces and the stored updates after it, each
parsed in one call of the Yjs reader (a piece is ~256 KiB: a few ms holding the GIL, the loop
runs between two), never the document. About 0.13 s of CPU at MANO scale, off the loop.

That read held the GIL, which pycrdt's apply of the same bytes on the loop holds too: the two
took turns on one core (issue 24: the open ÷ bare apply). Where the compiled module runs, each
piece is read by its ``root_keys_into`` (``_rootkeys_c.pxi``) instead: the walk over the bytes
without the GIL, then only the pairs' texts made with it; ``_collect`` (the reader's structs)
stays the reference, and reads what the walk hands back (a client listed twice, a value from
2**62 on) and everything when the compiled module does not run.

They are a hint: a key of an item later deleted, or of a parked update, is listed too, a key
set by an update not read here (too large to parse in bounded calls, or integrated later) is
missing, and the bytes are not trusted to be the document; ``Collection.loading`` skips an id
the Map lacks and checks the read is complete, listing the Map's keys after all when it is
not. What the worker touches: the stored bytes (immutable, or a buffer nothing writes to any
more, as mano_core.guarded_build) and the reader's pure function (``ydeps.read_update``, past the
parse memo the loop's thread uses)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from mano_core.errors import MalformedUpdateError, StoreCorruptedError

from . import ydeps, ynative
from .pieces import PIECE_BYTES, _frames, _piece
from .ydeps import StructInfo

# An update larger than this is not read here (one call of the reader would hold the loop):
# the ids it sets are found by the check in ``Collection.loading`` instead.
MAX_READ_BYTES: Final = 2 * PIECE_BYTES


def root_keys(snapshot: bytes | bytearray | None,
              updates: Sequence[bytes]) -> dict[str, list[str]] | None:
    """For each root type, the keys the items of ``snapshot`` (stored in pieces,
    mano_core.document.pieces) and ``updates`` set in it, in the order first met; None when
    the bytes cannot be read in bounded calls (a plain large snapshot) or are malformed (the
    document's own open says why). Runs in a worker thread."""
    found: dict[str, dict[str, None]] = {}
    try:
        if snapshot:
            frames, vector = _frames(snapshot)
            if vector is None and len(snapshot) > MAX_READ_BYTES:
                return None   # one plain state: no bounded read of it
            for start, end in frames:
                _collect_at(snapshot, start, end, found)
        for update in updates:
            if len(update) <= MAX_READ_BYTES:
                _collect_at(update, 0, len(update), found)
    except (MalformedUpdateError, StoreCorruptedError):
        return None
    return {name: list(keys) for name, keys in found.items()}


def _collect_at(data: bytes | bytearray, start: int, end: int,
                found: dict[str, dict[str, None]]) -> None:
    """The keys the update ``data[start:end]`` sets, into ``found``: by the compiled walk
    without the GIL where it runs and reads it, else by ``_collect``."""
    if _compiled is not None and _compiled.root_keys_into(data, start, end, found):
        return
    _collect(_piece(data, start, end), found)


_compiled = ynative.compiled


def _collect(update: bytes, found: dict[str, dict[str, None]]) -> None:
    """The reference: the keys ``update`` sets, read from its structs (holding the GIL)."""
    structs: list[StructInfo] = []
    ydeps.read_update(update, structs)
    for s in structs:
        if s.parent_sub is not None and s.parent_root is not None:
            keys = found.get(s.parent_root)
            if keys is None:
                keys = found[s.parent_root] = {}
            keys[s.parent_sub] = None
