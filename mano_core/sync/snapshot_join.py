"""A version-2 snapshot's updates joined back into the one state they were cut from, for the
receive path that merges a snapshot as one state (``snapshot.open_snapshot_parts``, into a
document that already holds something; docs/protocol.md §15).

``document.pieces.cut`` slices each Yjs client's run of structs at struct boundaries, so the
pieces of one client follow one another (each starts at the clock where the one before
ended), and only the last piece has a delete set. Joining is then a concatenation per client
under one header: the same structs, the same deletions, as applying the pieces in order. A
piece set that does not join so (holes, a client's runs that do not follow one another, a
delete set before the last piece) is refused: MalformedEnvelopeError.
"""

from __future__ import annotations

from collections.abc import Sequence

from mano_core.document import pieces
from mano_core.errors import MalformedEnvelopeError, MalformedUpdateError

_EMPTY_DELETE_SET = b"\x00"


class _Run:
    __slots__ = ("count", "end", "parts", "start")

    def __init__(self, start: int) -> None:
        self.start = self.end = start
        self.count = 0
        self.parts: list[memoryview] = []


def join(updates: Sequence[bytes]) -> bytes:
    """The one v1 update ``updates`` (a version-2 snapshot's, in order) add up to; the update
    itself if there is one. MalformedEnvelopeError if they do not join (see the module)."""
    if len(updates) == 1:
        return updates[0]
    runs: dict[int, _Run] = {}
    delete_set = _EMPTY_DELETE_SET
    for index, update in enumerate(updates):
        try:
            read = pieces.read_clients(update)  # (the cut's own reader, compiled)
        except MalformedUpdateError as exc:
            raise MalformedEnvelopeError(f"snapshot piece {index + 1}: {exc}") from exc
        if read is None:
            raise MalformedEnvelopeError(f"snapshot piece {index + 1} has holes")
        clients, deletes, _needs = read
        if index < len(updates) - 1 and deletes != _EMPTY_DELETE_SET:
            raise MalformedEnvelopeError("a delete set before the snapshot's last piece")
        delete_set = deletes
        view = memoryview(update)
        for c in clients:
            count = len(c.clocks) - 1
            if count <= 0:
                continue
            run = runs.get(c.client)
            if run is None:
                run = runs[c.client] = _Run(c.clocks[0])
            elif c.clocks[0] != run.end:
                raise MalformedEnvelopeError(
                    f"snapshot piece {index + 1}: client {c.client}'s structs do not follow "
                    "its structs in the pieces before")
            run.end = c.clocks[count]
            run.count += count
            run.parts.append(view[c.offsets[0]:c.offsets[count]])
    out = bytearray()
    pieces.write_varuint(out, len(runs))
    for client, run in runs.items():
        pieces.write_varuint(out, run.count)
        pieces.write_varuint(out, client)
        pieces.write_varuint(out, run.start)
        for part in run.parts:
            out += part
    out += delete_set
    return bytes(out)
