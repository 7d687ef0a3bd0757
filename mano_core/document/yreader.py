"""The one-pass reader of a Yjs v1 update behind mano_core/document/ydeps.py: dependencies,
structs and delete set, with capped varints, bounds checks and the nesting bounds
(limits.MAX_CRDT_ANY_DEPTH, limits.MAX_CRDT_NESTING); malformed bytes raise
MalformedUpdateError, and nothing else. Pure functions of the bytes (ydeps remembers them).

Format: https://github.com/yjs/yjs/blob/main/INTERNALS.md and lib0's encoding (v1 updates).

This is the reference reader. Where the compiled reader is built (``_yreader_c.pyx``, chosen
by ``ynative``) that one runs instead, with these decisions: a decision changed here must be
changed there too (tests/document/test_ycompiled.py compares the two and fails otherwise;
``MANO_YREADER=python`` runs this one everywhere).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import NamedTuple

from mano_core import limits
from mano_core.errors import MalformedUpdateError, TooDeepError

_MAX_VARINT_BYTES = 10  # 64-bit values
_MAX_ANY_DEPTH = limits.MAX_CRDT_ANY_DEPTH
_MAX_NESTING = limits.MAX_CRDT_NESTING


@dataclass(slots=True)
class UpdateDeps:
    """Per client: the clock range of the update's structs and the highest clock it refers to."""

    starts: dict[int, int] = field(default_factory=dict)
    ends: dict[int, int] = field(default_factory=dict)
    needs: dict[int, int] = field(default_factory=dict)  # client -> highest clock needed + 1

    def need(self, client: int, clock_end: int) -> None:
        if clock_end > self.needs.get(client, 0):
            self.needs[client] = clock_end

    def satisfied_by(self, state: dict[int, int]) -> bool:
        """True when a document with this state vector can integrate the update at once:
        each client's structs continue what the document has, and every item referred to is
        either in the document or in the update itself."""
        for client, start in self.starts.items():
            if start > state.get(client, 0):
                return False
        for client, end in self.needs.items():
            if end > max(state.get(client, 0), self.ends.get(client, 0)):
                return False
        return True


class _Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        try:
            b = self.data[self.pos]
        except IndexError:
            raise MalformedUpdateError("update ends early") from None
        self.pos += 1
        return b

    def varuint(self) -> int:
        data, pos = self.data, self.pos
        try:
            b = data[pos]
            if b < 0x80:  # the common case, inlined: a one-byte varint
                self.pos = pos + 1
                return b
            result, shift = b & 0x7F, 7
            for i in range(pos + 1, pos + _MAX_VARINT_BYTES):
                b = data[i]
                result |= (b & 0x7F) << shift
                if b < 0x80:
                    self.pos = i + 1
                    return result
                shift += 7
        except IndexError:
            raise MalformedUpdateError("update ends early") from None
        raise MalformedUpdateError("varint longer than 10 bytes")

    def varint(self) -> None:
        first = self.byte()
        if first & 0x80:
            for _ in range(_MAX_VARINT_BYTES):
                if self.byte() < 0x80:
                    return
            raise MalformedUpdateError("varint longer than 10 bytes")

    def skip(self, n: int) -> None:
        if n < 0 or self.pos + n > len(self.data):
            raise MalformedUpdateError("length beyond the end of the update")
        self.pos += n

    def bytes_(self) -> bytes:
        n = self.varuint()
        start = self.pos
        self.skip(n)
        return self.data[start:self.pos]

    def string(self) -> str:
        try:
            return self.bytes_().decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedUpdateError("invalid UTF-8 in update") from None

    def any(self, depth: int = 0) -> None:
        if depth > _MAX_ANY_DEPTH:
            too_deep = TooDeepError("MAX_CRDT_ANY_DEPTH", depth, _MAX_ANY_DEPTH)
            raise MalformedUpdateError(f"value nested too deeply: {too_deep}") from too_deep
        tag = self.byte()
        if tag in (127, 126, 121, 120):
            return
        if tag == 125:
            self.varint()
        elif tag == 124:
            self.skip(4)
        elif tag in (123, 122):
            self.skip(8)
        elif tag in (119, 116):
            self.skip(self.varuint())
        elif tag == 118:
            for _ in range(self.varuint()):
                self.skip(self.varuint())
                self.any(depth + 1)
        elif tag == 117:
            for _ in range(self.varuint()):
                self.any(depth + 1)
        else:
            raise MalformedUpdateError(f"unknown value tag {tag}")


def _varuint_at(data: bytes, pos: int) -> tuple[int, int]:
    """A varuint at ``pos`` (the caller took the one-byte case): (value, position after)."""
    result, shift = 0, 0
    for i in range(pos, pos + _MAX_VARINT_BYTES):
        b = data[i]
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, i + 1
        shift += 7
    raise MalformedUpdateError("varint longer than 10 bytes")


def _skip_anys(data: bytes, pos: int, count: int) -> int:
    """Skip ``count`` JSON-like values (lib0 "any" encoding) from ``pos``; the position after
    them. The same checks as ``_Reader.any`` (depth bound, known tags, bounds), in one loop
    over local variables with an explicit stack instead of a method call per value and byte
    (issue 24: a record's base value is an object of a dozen fields, walked for the depth
    bound in every catch-up and snapshot)."""
    end = len(data)
    left = [count]      # values still to read at each open level
    keyed = [False]     # whether that level is an object (a key before each value)
    try:
        while left:
            if not left[-1]:
                left.pop()
                keyed.pop()
                continue
            left[-1] -= 1
            if keyed[-1]:  # an object's key: a string
                n = data[pos]
                if n < 0x80:
                    pos += 1
                else:
                    n, pos = _varuint_at(data, pos)
                pos += n
                if pos > end:
                    raise MalformedUpdateError("length beyond the end of the update")
            if len(left) > _MAX_ANY_DEPTH + 1:
                depth = len(left) - 1
                too_deep = TooDeepError("MAX_CRDT_ANY_DEPTH", depth, _MAX_ANY_DEPTH)
                raise MalformedUpdateError(f"value nested too deeply: {too_deep}") from too_deep
            tag = data[pos]
            pos += 1
            if tag == 119 or tag == 116:  # string, binary
                n = data[pos]
                if n < 0x80:
                    pos += 1
                else:
                    n, pos = _varuint_at(data, pos)
                pos += n
                if pos > end:
                    raise MalformedUpdateError("length beyond the end of the update")
            elif 120 <= tag <= 127:  # true, false, null, undefined; numbers
                if tag == 125:  # signed varint
                    b = data[pos]
                    pos += 1
                    if b & 0x80:
                        for _ in range(_MAX_VARINT_BYTES):
                            b = data[pos]
                            pos += 1
                            if b < 0x80:
                                break
                        else:
                            raise MalformedUpdateError("varint longer than 10 bytes")
                elif tag == 124 or tag == 123 or tag == 122:  # float32, float64, bigint
                    pos += 4 if tag == 124 else 8
                    if pos > end:
                        raise MalformedUpdateError("length beyond the end of the update")
            elif tag == 117 or tag == 118:  # array, object
                n = data[pos]
                if n < 0x80:
                    pos += 1
                else:
                    n, pos = _varuint_at(data, pos)
                left.append(n)
                keyed.append(tag == 118)
            else:
                raise MalformedUpdateError(f"unknown value tag {tag}")
    except IndexError:
        raise MalformedUpdateError("update ends early") from None
    return pos


# An item whose parent is not in the update is taken to sit at level 2 (a value of a record map
# in a collection: our deepest layout). Each level of a nest needs an item naming its parent,
# or one placed beside such an item (an origin has the same parent), so a nest built within one
# update is always seen; depth built up across many updates is not tracked here.
_UNKNOWN_LEVEL = 2


class _Levels:
    """The nesting level of the items read so far, by clock range per client."""

    __slots__ = ("_spans",)

    def __init__(self) -> None:
        self._spans: dict[int, tuple[list[int], list[int], list[int]]] = {}

    def add(self, client: int, start: int, end: int, level: int) -> None:
        starts, ends, levels = self._spans.setdefault(client, ([], [], []))
        i = bisect.bisect_right(starts, start)
        starts.insert(i, start)
        ends.insert(i, end)
        levels.insert(i, level)

    def at(self, client: int, clock: int) -> int:
        """The level of the item holding ``clock`` (a type at that level is a parent at that
        depth); 0 if that item is not in this update."""
        spans = self._spans.get(client)
        if spans is None:
            return 0
        starts, ends, levels = spans
        i = bisect.bisect_right(starts, clock) - 1
        return levels[i] if i >= 0 and clock < ends[i] else 0


def _content_length(r: _Reader, ref: int) -> int:
    if ref == 1:  # deleted
        return r.varuint()
    if ref == 2:  # JSON
        n = r.varuint()
        for _ in range(n):
            r.skip(r.varuint())
        return n
    if ref == 3:  # binary
        r.skip(r.varuint())
        return 1
    if ref == 4:  # string: length in UTF-16 code units
        return len(r.string().encode("utf-16-le")) // 2
    if ref == 5:  # embed
        r.skip(r.varuint())
        return 1
    if ref == 6:  # format
        r.skip(r.varuint())
        r.skip(r.varuint())
        return 1
    if ref == 7:  # type
        type_ref = r.varuint()
        if type_ref in (3, 5):  # XmlElement, XmlHook carry a name
            r.skip(r.varuint())
        return 1
    if ref == 8:  # any
        n = r.varuint()
        r.pos = _skip_anys(r.data, r.pos, n)
        return n
    if ref == 9:  # subdocument
        r.skip(r.varuint())
        r.any()
        return 1
    raise MalformedUpdateError(f"unknown content type {ref}")


_Parsed = tuple[UpdateDeps, list["StructInfo"], list[tuple[int, int, int]]]


def _read(update: bytes, structs: list[StructInfo] | None) -> _Parsed:
    """One pass over a v1 update: its dependencies, and (when ``structs`` is a list) every
    struct and the delete set, as read_structs returns them.

    Written out over local variables (issue 24: one parse per envelope of a catch-up): each
    varint takes its one-byte case inline and calls ``_varuint_at`` otherwise; lengths are
    checked against the end of the update; an index past the end is "update ends early".
    The rarer contents go through ``_content_length`` on a ``_Reader``."""
    data = update
    end = len(data)
    deps = UpdateDeps()
    starts, ends, needs = deps.starts, deps.ends, deps.needs
    levels = _Levels()
    level_at = levels.at
    deletes: list[tuple[int, int, int]] = []
    keep = structs is not None
    pos = 0
    try:
        n_clients = data[pos]
        if n_clients < 0x80:
            pos += 1
        else:
            n_clients, pos = _varuint_at(data, pos)
        for _ in range(n_clients):
            count = data[pos]
            if count < 0x80:
                pos += 1
            else:
                count, pos = _varuint_at(data, pos)
            client = data[pos]
            if client < 0x80:
                pos += 1
            else:
                client, pos = _varuint_at(data, pos)
            clock = data[pos]
            if clock < 0x80:
                pos += 1
            else:
                clock, pos = _varuint_at(data, pos)
            known = starts.get(client)
            if known is None or clock < known:
                starts[client] = clock
            for _ in range(count):
                info = data[pos]
                pos += 1
                ref = info & 0x1F
                if ref == 0 or ref == 10:  # GC, Skip
                    length = data[pos]
                    if length < 0x80:
                        pos += 1
                    else:
                        length, pos = _varuint_at(data, pos)
                    if structs is not None:
                        structs.append(StructInfo(client, clock, length, ref))
                    clock += length
                    if ref == 10 and clock > needs.get(client, 0):
                        needs[client] = clock  # a skip is a hole: what follows depends on it
                    continue
                level = 0  # nesting level of the item (its parent's depth), 0: not known
                origin = right = item = None
                root = sub = None
                if info & 0x80:
                    oc = data[pos]
                    if oc < 0x80:
                        pos += 1
                    else:
                        oc, pos = _varuint_at(data, pos)
                    ok = data[pos]
                    if ok < 0x80:
                        pos += 1
                    else:
                        ok, pos = _varuint_at(data, pos)
                    origin = (oc, ok)
                    if ok >= needs.get(oc, 0):
                        needs[oc] = ok + 1
                    level = level_at(oc, ok)  # an origin has the same parent
                if info & 0x40:
                    rc = data[pos]
                    if rc < 0x80:
                        pos += 1
                    else:
                        rc, pos = _varuint_at(data, pos)
                    rk = data[pos]
                    if rk < 0x80:
                        pos += 1
                    else:
                        rk, pos = _varuint_at(data, pos)
                    right = (rc, rk)
                    if rk >= needs.get(rc, 0):
                        needs[rc] = rk + 1
                    at = level_at(rc, rk)
                    if at > level:
                        level = at
                if not info & 0xC0:
                    kind = data[pos]
                    if kind < 0x80:
                        pos += 1
                    else:
                        kind, pos = _varuint_at(data, pos)
                    if kind == 1:  # the parent is a root type, by name
                        n = data[pos]
                        if n < 0x80:
                            pos += 1
                        else:
                            n, pos = _varuint_at(data, pos)
                        if pos + n > end:
                            raise MalformedUpdateError("length beyond the end of the update")
                        if keep:
                            root = _utf8(data[pos:pos + n])
                        pos += n
                        level = 1
                    else:
                        ic = data[pos]
                        if ic < 0x80:
                            pos += 1
                        else:
                            ic, pos = _varuint_at(data, pos)
                        ik = data[pos]
                        if ik < 0x80:
                            pos += 1
                        else:
                            ik, pos = _varuint_at(data, pos)
                        item = (ic, ik)
                        if ik >= needs.get(ic, 0):
                            needs[ic] = ik + 1
                        above = level_at(ic, ik)
                        level = above + 1 if above else 0
                    if info & 0x20:  # key in the parent map
                        n = data[pos]
                        if n < 0x80:
                            pos += 1
                        else:
                            n, pos = _varuint_at(data, pos)
                        if pos + n > end:
                            raise MalformedUpdateError("length beyond the end of the update")
                        if keep:
                            sub = _utf8(data[pos:pos + n])
                        pos += n
                level = level or _UNKNOWN_LEVEL
                start = clock
                if ref == 8:  # any: the bulk of a record's content
                    n = data[pos]
                    if n < 0x80:
                        pos += 1
                    else:
                        n, pos = _varuint_at(data, pos)
                    pos = _skip_anys(data, pos, n)
                    length = n
                elif ref == 7:  # a type
                    if level > _MAX_NESTING:
                        too_deep = TooDeepError("MAX_CRDT_NESTING", level, _MAX_NESTING)
                        raise MalformedUpdateError(
                            f"shared types nested too deeply: {too_deep}") from too_deep
                    type_ref = data[pos]
                    if type_ref < 0x80:
                        pos += 1
                    else:
                        type_ref, pos = _varuint_at(data, pos)
                    if type_ref == 3 or type_ref == 5:  # XmlElement, XmlHook carry a name
                        n = data[pos]
                        if n < 0x80:
                            pos += 1
                        else:
                            n, pos = _varuint_at(data, pos)
                        if pos + n > end:
                            raise MalformedUpdateError("length beyond the end of the update")
                        pos += n
                    length = 1
                else:
                    r = _Reader(data)
                    r.pos = pos
                    length = _content_length(r, ref)
                    pos = r.pos
                clock += length
                if structs is not None:
                    structs.append(StructInfo(client, start, length, ref, origin, right, root,
                                              item, sub))
                # A lookup that misses answers "level 2", so plain items at level 2 (the bulk:
                # a record's fields) need no entry; types always do (they are parents).
                if ref == 7 or level != _UNKNOWN_LEVEL:
                    levels.add(client, start, clock, level)
            if clock > ends.get(client, 0):
                ends[client] = clock
        n_deleted = data[pos]  # delete set
        if n_deleted < 0x80:
            pos += 1
        else:
            n_deleted, pos = _varuint_at(data, pos)
        for _ in range(n_deleted):
            client = data[pos]
            if client < 0x80:
                pos += 1
            else:
                client, pos = _varuint_at(data, pos)
            n_ranges = data[pos]
            if n_ranges < 0x80:
                pos += 1
            else:
                n_ranges, pos = _varuint_at(data, pos)
            for _ in range(n_ranges):
                first = data[pos]
                if first < 0x80:
                    pos += 1
                else:
                    first, pos = _varuint_at(data, pos)
                length = data[pos]
                if length < 0x80:
                    pos += 1
                else:
                    length, pos = _varuint_at(data, pos)
                if first + length > needs.get(client, 0):
                    needs[client] = first + length
                if keep:
                    deletes.append((client, first, length))
    except IndexError:
        raise MalformedUpdateError("update ends early") from None
    return deps, structs or [], deletes


def _utf8(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedUpdateError("invalid UTF-8 in update") from None


class StructInfo(NamedTuple):
    """One struct of a v1 update, as far as who-touched-what needs it (mano_core.rules).
    A named tuple, not a frozen dataclass: made once per struct of every update parsed, and a
    frozen dataclass sets each field through object.__setattr__ (issue 24)."""

    client: int
    clock: int
    length: int
    kind: int                           # content ref: 0 GC, 10 Skip, else an Item's content
    origin: tuple[int, int] | None = None
    right_origin: tuple[int, int] | None = None
    parent_root: str | None = None      # the parent is a root type of that name
    parent_item: tuple[int, int] | None = None  # the parent is the type item with that id
    parent_sub: str | None = None       # key in the parent map
