"""The reader of large Yjs v1 updates (whole states: snapshots, a stored first sync, a bulk
import), in one function over local variables.

It decides exactly as ``yreader._read`` (the same dependencies, structs and delete set; the same
bounds: ``limits.MAX_CRDT_ANY_DEPTH`` on JSON-like values, ``limits.MAX_CRDT_NESTING`` on
shared types, lengths within the bytes, 10-byte varints, known tags), only faster: a MANO-scale
state (20.5 MB, 100,000 structs, 50,000 record values of a dozen fields each) is read without
a method call per struct or per value (issue 24: this parse was most of a new device's first
sync). Why the bounds are read here at all, before pycrdt sees the bytes, and not trusted or
checked after applying: docs/security.md, "Snapshots: what is read before pycrdt".

A client listed twice in one update (never in a state pycrdt or Yjs encodes, but possible in
hostile bytes) makes clock ranges overlap, where this reader's level lookup and ydeps's could
differ: such an update is handed back to ``yreader._read`` whole (``None``).

The fallback of the compiled reader (``_yreader_c.read_large``, chosen by ``ynative``), which
runs instead where it is built, with these decisions (tests/document/test_ycompiled.py)."""

from __future__ import annotations

from bisect import bisect_right
from typing import TYPE_CHECKING, Protocol

from mano_core import limits
from mano_core.errors import MalformedUpdateError, TooDeepError

from .yreader import StructInfo

if TYPE_CHECKING:
    from .yreader import UpdateDeps

_MAX_ANY_DEPTH = limits.MAX_CRDT_ANY_DEPTH
_MAX_NESTING = limits.MAX_CRDT_NESTING
_UNKNOWN_LEVEL = 2  # as ydeps: an item whose parent is not in the update sits at level 2


class Sink(Protocol):
    """Marks items as they are read (mano_core.rules.touch.GuardedIndex: the items of some
    root types and those beside or inside them), so that indexing a state is not a second
    pass over it. ``find``/``add`` see the items in the update's order, as the index's own
    pass over ``read_structs`` would. Marking is idempotent: an update handed back to ydeps
(a client listed twice) is marked again the slow way over the marks already made."""

    @property
    def roots(self) -> frozenset[str]:
        """Root types whose items are marked, ``(root, None)``..."""
        ...

    @property
    def keyed(self) -> str:
        """...but the direct children of this root are marked ``(root, their key)``."""
        ...

    def find(self, client: int, clock: int) -> tuple[str, str | None] | None:
        """The mark of the item holding ``(client, clock)``, if any."""
        ...

    def add(self, client: int, start: int, end: int, code: tuple[str, str | None]) -> None:
        """Mark the clock range ``start..end`` of ``client``."""
        ...


def _varuint(data: bytes, pos: int) -> tuple[int, int]:
    """A varuint at ``pos``: (value, position after); IndexError past the end."""
    b = data[pos]
    if b < 0x80:
        return b, pos + 1
    result = b & 0x7F
    b = data[pos + 1]
    if b < 0x80:
        return result | b << 7, pos + 2
    result |= (b & 0x7F) << 7
    b = data[pos + 2]
    if b < 0x80:
        return result | b << 14, pos + 3
    result |= (b & 0x7F) << 14
    shift = 21
    for i in range(pos + 3, pos + 10):
        b = data[i]
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, i + 1
        shift += 7
    raise MalformedUpdateError("varint longer than 10 bytes")


def _too_deep(depth: int) -> MalformedUpdateError:
    too_deep = TooDeepError("MAX_CRDT_ANY_DEPTH", depth, _MAX_ANY_DEPTH)
    error = MalformedUpdateError(f"value nested too deeply: {too_deep}")
    error.__cause__ = too_deep
    return error


def skip_values(data: bytes, pos: int, count: int) -> int:
    """Skip ``count`` lib0 "any" values from ``pos``; the position after them. Refuses a value
    inside more than MAX_CRDT_ANY_DEPTH arrays/objects, an unknown tag, a length past the end
    (IndexError, or the final check: a skip past the end is caught by the next read or here)."""
    stack: list[tuple[int, bool]] = []  # (values left, is an object) of the levels open above
    left, keyed, depth = count, False, 0
    while True:
        while left:
            left -= 1
            if keyed:  # an object's key: a string
                n = data[pos]
                if n < 0x80:
                    pos += 1 + n
                else:
                    n, pos = _varuint(data, pos)
                    pos += n
            tag = data[pos]
            pos += 1
            if tag == 119 or tag == 116:  # string, binary
                n = data[pos]
                if n < 0x80:
                    pos += 1 + n
                else:
                    n, pos = _varuint(data, pos)
                    pos += n
            elif 120 <= tag <= 127:  # true, false, null, undefined (nothing more); numbers
                if tag == 125:  # signed varint: a first byte and at most 10 more (as ydeps)
                    b = data[pos]
                    pos += 1
                    if b & 0x80:
                        for _ in range(10):
                            b = data[pos]
                            pos += 1
                            if b < 0x80:
                                break
                        else:
                            raise MalformedUpdateError("varint longer than 10 bytes")
                elif tag == 124:
                    pos += 4
                elif tag == 123 or tag == 122:
                    pos += 8
            elif tag == 117 or tag == 118:  # array, object
                n = data[pos]
                if n < 0x80:
                    pos += 1
                else:
                    n, pos = _varuint(data, pos)
                if n:
                    if depth >= _MAX_ANY_DEPTH:
                        raise _too_deep(depth + 1)
                    stack.append((left, keyed))
                    left, keyed, depth = n, tag == 118, depth + 1
            else:
                raise MalformedUpdateError(f"unknown value tag {tag}")
        if not stack:
            break
        left, keyed = stack.pop()
        depth -= 1
    if pos > len(data):
        raise MalformedUpdateError("length beyond the end of the update")
    return pos


def read_large(update: bytes, deps: UpdateDeps, structs: list[StructInfo] | None,
               sink: Sink | None = None) -> list[tuple[int, int, int]] | None:
    """Fill ``deps`` (and ``structs`` when a list) from ``update`` as ``yreader._read`` does;
    returns the delete set, or None when a client is listed twice (the caller reads the
    update with ``ydeps.read_update`` instead). MalformedUpdateError on bytes that are not an
    update or break a bound."""
    try:
        return _read_large(update, deps, structs, sink)
    except IndexError:
        raise MalformedUpdateError("update ends early") from None


def _read_large(data: bytes, deps: UpdateDeps, structs: list[StructInfo] | None,
                sink: Sink | None) -> list[tuple[int, int, int]] | None:

    end = len(data)
    keep = structs is not None
    ids = keep or sink is not None
    roots = sink.roots if sink is not None else frozenset()
    marked = frozenset(r.encode("utf-8") for r in roots)
    keyed = sink.keyed if sink is not None else None
    starts, ends, needs = deps.starts, deps.ends, deps.needs
    # Levels of the items read so far, per client: length-1 items by clock (types always are;
    # records are types), longer ones as sorted spans (clocks only grow within a client).
    single: dict[int, dict[int, int]] = {}
    spans: dict[int, tuple[list[int], list[int], list[int]]] = {}

    def level_at(client: int, clock: int) -> int:
        got = single.get(client)
        if got is not None:
            level = got.get(clock)
            if level is not None:
                return level
        span = spans.get(client)
        if span is None:
            return 0
        first, last, levels = span
        i = bisect_right(first, clock) - 1
        return levels[i] if i >= 0 and clock < last[i] else 0

    pos = 0
    clients, pos = _varuint(data, pos)
    for _ in range(clients):
        count, pos = _varuint(data, pos)
        at = pos
        client, pos = _varuint(data, pos)
        # An id of this client is these bytes again (a varint ends at its first byte < 0x80):
        # compared in one call instead of decoded (a client id is 7-8 bytes).
        own, width = data[at:pos], pos - at
        clock, pos = _varuint(data, pos)
        if client in starts:
            return None  # listed twice: overlapping clock ranges, ydeps reads it
        starts[client] = clock
        mine = single.setdefault(client, {})
        need = needs.get(client, 0)  # this client's own highest need, kept local
        for _ in range(count):
            info = data[pos]
            pos += 1
            ref = info & 0x1F
            if ref == 0 or ref == 10:  # GC, Skip
                length, pos = _varuint(data, pos)
                if keep:
                    structs.append(StructInfo(client, clock, length, ref))  # type: ignore[union-attr]
                clock += length
                if ref == 10:  # a hole (UpdateDeps.holes)
                    if clock > need:
                        need = clock
                    deps.hole(client, clock)
                continue
            level = 0
            origin = right = item = None
            root = sub = None
            if info & 0x80:
                if data.startswith(own, pos):
                    oc, pos = client, pos + width
                else:
                    oc, pos = _varuint(data, pos)
                ok, pos = _varuint(data, pos)
                if oc == client:
                    if ok >= need:
                        need = ok + 1
                elif ok + 1 > needs.get(oc, 0):
                    needs[oc] = ok + 1
                level = level_at(oc, ok)
                if ids:
                    origin = (oc, ok)
            if info & 0x40:
                if data.startswith(own, pos):
                    rc, pos = client, pos + width
                else:
                    rc, pos = _varuint(data, pos)
                rk, pos = _varuint(data, pos)
                if rc == client:
                    if rk >= need:
                        need = rk + 1
                elif rk + 1 > needs.get(rc, 0):
                    needs[rc] = rk + 1
                above = level_at(rc, rk)
                if above > level:
                    level = above
                if ids:
                    right = (rc, rk)
            if not info & 0xC0:
                kind, pos = _varuint(data, pos)
                if kind == 1:  # a root type, by name
                    n, pos = _varuint(data, pos)
                    if keep:
                        root = _text(data, pos, n)
                    elif marked and data[pos:pos + n] in marked:
                        root = data[pos:pos + n].decode("utf-8")
                    else:
                        root = ""  # (a root the sink does not mark)
                    pos += n
                    level = 1
                else:
                    if data.startswith(own, pos):
                        pc, pos = client, pos + width
                    else:
                        pc, pos = _varuint(data, pos)
                    pk, pos = _varuint(data, pos)
                    if pc == client:
                        if pk >= need:
                            need = pk + 1
                    elif pk + 1 > needs.get(pc, 0):
                        needs[pc] = pk + 1
                    above = level_at(pc, pk)
                    level = above + 1 if above else 0
                    if ids:
                        item = (pc, pk)
                if info & 0x20:  # key in the parent map
                    n, pos = _varuint(data, pos)
                    if keep or (root and root == keyed):
                        sub = _text(data, pos, n)
                    pos += n
                if pos > end:
                    raise MalformedUpdateError("length beyond the end of the update")
            if not level:
                level = _UNKNOWN_LEVEL
            start = clock
            if ref == 8:  # any: the bulk of a state (a record's fields)
                n = data[pos]
                if n < 0x80:
                    pos += 1
                else:
                    n, pos = _varuint(data, pos)
                pos = skip_values(data, pos, n)
                length = n
            elif ref == 7:  # a type
                if level > _MAX_NESTING:
                    too_deep = TooDeepError("MAX_CRDT_NESTING", level, _MAX_NESTING)
                    raise MalformedUpdateError(
                        f"shared types nested too deeply: {too_deep}") from too_deep
                type_ref, pos = _varuint(data, pos)
                if type_ref == 3 or type_ref == 5:  # XmlElement, XmlHook carry a name
                    n, pos = _varuint(data, pos)
                    pos += n
                length = 1
            else:
                length, pos = _content(data, pos, ref)
            if pos > end:
                raise MalformedUpdateError("length beyond the end of the update")
            clock += length
            if keep:
                structs.append(StructInfo(client, start, length, ref, origin, right,  # type: ignore[union-attr]
                                          root, item, sub))
            if sink is not None:  # as GuardedIndex._code, against what is marked so far
                code: tuple[str, str | None] | None = None
                if root:
                    if root in roots:
                        code = (root, sub if root == keyed else None)
                elif root is None:
                    at_id = item or origin or right
                    if at_id is not None:
                        code = sink.find(at_id[0], at_id[1])
                        if code is not None and item is not None:
                            code = (code[0], None)
                if code is not None:
                    sink.add(client, start, clock, code)
            if ref == 7 or level != _UNKNOWN_LEVEL:
                if length == 1:
                    mine[start] = level
                else:
                    first, last, levels = spans.setdefault(client, ([], [], []))
                    i = bisect_right(first, start)
                    first.insert(i, start)
                    last.insert(i, clock)
                    levels.insert(i, level)
        if need > needs.get(client, 0):
            needs[client] = need
        if clock:  # as yreader: a client whose structs end at clock 0 has no end
            ends[client] = clock
    deletes: list[tuple[int, int, int]] = []
    ranges, pos = _varuint(data, pos)
    for _ in range(ranges):
        client, pos = _varuint(data, pos)
        count, pos = _varuint(data, pos)
        for _ in range(count):
            start, pos = _varuint(data, pos)
            length, pos = _varuint(data, pos)
            if start + length > needs.get(client, 0):
                needs[client] = start + length
            if keep:
                deletes.append((client, start, length))
    return deletes


def _text(data: bytes, pos: int, n: int) -> str:
    if pos + n > len(data):
        raise MalformedUpdateError("length beyond the end of the update")
    try:
        return data[pos:pos + n].decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedUpdateError("invalid UTF-8 in update") from None


def _content(data: bytes, pos: int, ref: int) -> tuple[int, int]:
    """(length in clock units, position after) of an item's content other than any or type."""
    if ref == 1:  # deleted
        return _varuint(data, pos)
    if ref == 2:  # JSON: n strings
        n, pos = _varuint(data, pos)
        for _ in range(n):
            size, pos = _varuint(data, pos)
            pos += size
            if pos > len(data):
                raise MalformedUpdateError("length beyond the end of the update")
        return n, pos
    if ref == 3 or ref == 5:  # binary, embed
        size, pos = _varuint(data, pos)
        return 1, pos + size
    if ref == 4:  # string: length in UTF-16 code units
        size, pos = _varuint(data, pos)
        text = _text(data, pos, size)
        return len(text.encode("utf-16-le")) // 2, pos + size
    if ref == 6:  # format: key, value
        size, pos = _varuint(data, pos)
        pos += size
        size, pos = _varuint(data, pos)
        return 1, pos + size
    if ref == 9:  # subdocument: guid, then one any value (its options)
        size, pos = _varuint(data, pos)
        pos += size
        if pos > len(data):
            raise MalformedUpdateError("length beyond the end of the update")
        return 1, skip_values(data, pos, 1)
    raise MalformedUpdateError(f"unknown content type {ref}")
