"""The one-pass reader of a Yjs v1 update behind mano_core/document/ydeps.py: dependencies,
structs and delete set, with capped varints, bounds checks and the nesting bounds
(limits.MAX_CRDT_ANY_DEPTH, limits.MAX_CRDT_NESTING); malformed bytes raise
MalformedUpdateError, and nothing else. Pure functions of the bytes (ydeps remembers them).

Format: https://github.com/yjs/yjs/blob/main/INTERNALS.md and lib0's encoding (v1 updates).

This is the reference reader. Where the compiled reader is built (``_yreader_c.pyx``, chosen
by ``ynative``) that one runs instead, with these decisions: a decision changed here must be
changed there too (tests/document/test_ycompiled.py compares the two and fails otherwise;
``MANO_YREADER=python`` runs this one everywhere). The lib0 decoding it stands on (varuints,
"any" values, content lengths) is ylib0.py.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import NamedTuple

from mano_core import limits
from mano_core.errors import MalformedUpdateError, TooDeepError

from .ylib0 import _content_length, _Reader, _skip_anys, _utf8, _varuint_at

__all__ = ["Refs", "StructInfo", "UpdateDeps", "_Parsed", "_read"]

_MAX_NESTING = limits.MAX_CRDT_NESTING


@dataclass(slots=True)
class UpdateDeps:
    """Per client: the clock range of the update's structs and the highest clock it refers to."""

    starts: dict[int, int] = field(default_factory=dict)
    ends: dict[int, int] = field(default_factory=dict)
    needs: dict[int, int] = field(default_factory=dict)  # client -> highest clock needed + 1
    # client -> the end of the update's last Skip of that client: a hole in the update, which
    # only the document can fill (None: no Skip, the common case; see ``satisfied_by``).
    holes: dict[int, int] | None = None

    def hole(self, client: int, clock_end: int) -> None:
        holes = self.holes
        if holes is None:
            holes = self.holes = {}
        if clock_end > holes.get(client, 0):
            holes[client] = clock_end

    def need(self, client: int, clock_end: int) -> None:
        if clock_end > self.needs.get(client, 0):
            self.needs[client] = clock_end

    def satisfied_by(self, state: dict[int, int]) -> bool:
        """True when a document with this state vector can integrate the update at once:
        each client's structs continue what the document has, and every item referred to is
        either in the document or in the update itself, and every hole (Skip) the update
        leaves in a client's clocks is in the document already (pycrdt keeps the structs
        after a hole it cannot fill in its own pending buffer: ydeps)."""
        for client, start in self.starts.items():
            if start > state.get(client, 0):
                return False
        if self.holes is not None:
            for client, end in self.holes.items():
                if end > state.get(client, 0):
                    return False
        for client, end in self.needs.items():
            if end > max(state.get(client, 0), self.ends.get(client, 0)):
                return False
        return True

    def advance(self, state: dict[int, int]) -> None:
        """``state`` (a state vector, changed in place) after the update is integrated into a
        document it ``satisfied_by``: each client's structs continue it up to their end."""
        for client, end in self.ends.items():
            if end > state.get(client, 0):
                state[client] = end


@dataclass(slots=True)
class Refs:
    """What the role screening needs of an update without its structs (rules/touch.py):
    per client, the lowest clock an item of the update refers to (an origin, a right origin,
    a parent item; the highest is below ``UpdateDeps.needs``), and the names of the root types
    its items name as their parent. Filled by a read given one (``_read(update, None, refs)``),
    which keeps the delete set and checks every text as a read with structs does."""

    lows: dict[int, int] = field(default_factory=dict)
    roots: set[str] = field(default_factory=set)

    def low(self, client: int, clock: int) -> None:
        if clock < self.lows.get(client, clock + 1):
            self.lows[client] = clock


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


_Parsed = tuple[UpdateDeps, list["StructInfo"], list[tuple[int, int, int]]]


def _read(update: bytes, structs: list[StructInfo] | None, refs: Refs | None = None
          ) -> _Parsed:
    """One pass over a v1 update: its dependencies, and (when ``structs`` is a list) every
    struct and the delete set, as read_structs returns them; with ``refs`` (and no structs),
    the delete set and ``refs`` filled instead of the structs (the same checks).

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
    keep = structs is not None or refs is not None  # (the texts checked, the delete set kept)
    screened = refs if structs is None else None
    low = screened.low if screened is not None else None
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
                    if ref == 10:  # a skip is a hole: what follows depends on it
                        if clock > needs.get(client, 0):
                            needs[client] = clock
                        deps.hole(client, clock)
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
                    if low is not None:
                        low(oc, ok)
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
                    if low is not None:
                        low(rc, rk)
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
                            if screened is not None:
                                screened.roots.add(root)
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
                        if low is not None:
                            low(ic, ik)
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
