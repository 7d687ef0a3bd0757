"""What a teammate's CRDT update touches among the parts only some roles may write.

A Yjs update names the map an item goes into only for an item with neither left nor right
neighbour; an overwrite of an existing key names only its predecessor (``origin``), and an item
inside a record names the record's own item. So each device keeps a small index of the items
of the *guarded* roots (``settings``, ``customFields``, ``subteams``: tens to thousands of
items, never the bulk of a team's data), built once from its state and kept up to date with
every update it integrates, and resolves an update's items against it and against the update
itself, without applying it. An item that resolves to nothing guarded is about something else
(a person, an action…), or about garbage-collected content (integrated as garbage too)."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from mano_core.document.ydeps import (
    MEMO_MAX_UPDATE,
    Refs,
    StructInfo,
    UpdateDeps,
    read_into,
    read_refs,
    read_structs,
)
from mano_core.limits import GUARDED_INDEX_PASSES

GUARDED_ROOTS: Final = frozenset({"settings", "customFields", "subteams"})
# Updates ``touches`` found touching nothing guarded, remembered until ``observe`` (at most
# this many: screened updates that are never integrated are forgotten with the rest).
CLEAN_REMEMBERED: Final = 4096

Code = tuple[str, str | None]  # (guarded root, settings key or None)


@dataclass(frozen=True, slots=True)
class Touch:
    """What one update touches: guarded roots, and the keys of ``settings`` it writes or
    deletes (``actionCategories[…]``, ``features.…``, ``value.…``)."""

    roots: frozenset[str] = frozenset()
    settings_keys: frozenset[str] = frozenset()


NOTHING: Final = Touch()


@dataclass(slots=True)
class _Runs:
    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    codes: list[Code] = field(default_factory=list)

    def find(self, clock: int) -> Code | None:
        i = bisect.bisect_right(self.starts, clock) - 1
        if i >= 0 and clock < self.ends[i]:
            return self.codes[i]
        return None

    def overlapping(self, start: int, end: int) -> Iterable[Code]:
        i = max(bisect.bisect_right(self.starts, start) - 1, 0)
        while i < len(self.starts) and self.starts[i] < end:
            if self.ends[i] > start:
                yield self.codes[i]
            i += 1

    def add(self, start: int, end: int, code: Code) -> bool:
        """Mark [start, end); False if it was known already (a duplicate delivery)."""
        i = bisect.bisect_right(self.starts, start)
        if i > 0 and self.ends[i - 1] > start:
            return False
        if i > 0 and self.ends[i - 1] == start and self.codes[i - 1] == code:
            self.ends[i - 1] = end
            return True
        self.starts.insert(i, start)
        self.ends.insert(i, end)
        self.codes.insert(i, code)
        return True


class GuardedIndex:
    """Which item ids belong to guarded roots (see the module docstring)."""

    def __init__(self) -> None:
        self._runs: dict[int, _Runs] = {}
        self._marks = 0  # how many marks were added: a pass that adds none ends the closure
        # id(update) -> (update, marks then), for updates ``touches`` found touching nothing:
        # ``observe`` of the same object with no mark added since has nothing to mark (what
        # it would mark, a struct resolving to a guarded item, ``touches`` would have found:
        # it resolves every struct against the same index and the update's own items, and a
        # chain of references ends at an item it resolves directly). Issue 24: each
        # teammate's update was read struct by struct twice, once to screen, once to index.
        self._clean: dict[int, tuple[bytes, int]] = {}

    def build(self, state: bytes) -> None:
        """Index a whole document state (``Doc.get_update()``)."""
        self.observe(state)

    @property
    def empty(self) -> bool:
        """Nothing indexed (built from an empty document)."""
        return not self._runs

    # --- as a ystate.Sink: indexing a large update while it is read for its dependencies ----

    roots: frozenset[str] = GUARDED_ROOTS
    keyed: str = "settings"

    def find(self, client: int, clock: int) -> Code | None:
        runs = self._runs.get(client)
        return None if runs is None else runs.find(clock)

    def add(self, client: int, start: int, end: int, code: Code) -> None:
        if self._runs.setdefault(client, _Runs()).add(start, end, code):
            self._marks += 1

    def _find(self, item: tuple[int, int], extra: dict[int, _Runs] | None = None
              ) -> Code | None:
        client, clock = item
        for runs in (self._runs.get(client), (extra or {}).get(client)):
            if runs is not None and (code := runs.find(clock)) is not None:
                return code
        return None

    def _code(self, s: StructInfo, extra: dict[int, _Runs]) -> Code | None:
        if s.kind in (0, 10):
            return None
        if s.parent_root is not None:
            if s.parent_root not in GUARDED_ROOTS:
                return None
            return (s.parent_root, s.parent_sub if s.parent_root == "settings" else None)
        ref = s.parent_item or s.origin or s.right_origin
        if ref is None:
            return None
        code = self._find(ref, extra)
        if code is None:
            return None
        # inside a guarded record (parent_item), or next to a guarded item (origin): same root
        return code if s.parent_item is None else (code[0], None)

    def touches(self, update: bytes) -> Touch:
        """What ``update`` would touch, resolved against this index and itself; it does not
        change the index. MalformedUpdateError if it is not an update."""
        read = read_refs(update)
        if read is not None and self._far(*read):
            self._remember_clean(update)
            return NOTHING
        structs, deletes = read_structs(update)
        if self._plain(structs, deletes):
            self._remember_clean(update)
            return NOTHING
        extra: dict[int, _Runs] = {}
        codes: set[Code] = set()
        for s in structs:
            code = self._code(s, extra)
            if code is not None:
                codes.add(code)
                extra.setdefault(s.client, _Runs()).add(s.clock, s.clock + s.length, code)
        for client, start, length in deletes:
            for runs in (self._runs.get(client), extra.get(client)):
                if runs is not None:
                    codes.update(runs.overlapping(start, start + length))
        if not codes:
            self._remember_clean(update)
            return NOTHING
        return Touch(roots=frozenset(c[0] for c in codes),
                     settings_keys=frozenset(c[1] for c in codes
                                             if c[0] == "settings" and c[1] is not None))

    def _remember_clean(self, update: bytes) -> None:
        if type(update) is bytes:  # immutable: the same object, the same answer
            if len(self._clean) >= CLEAN_REMEMBERED:
                self._clean.clear()
            self._clean[id(update)] = (update, self._marks)

    def _far(self, refs: Refs, deletes: Sequence[tuple[int, int, int]],
             deps: UpdateDeps) -> bool:
        """Whether ``touches`` finds nothing, decided from the update's ``Refs`` without its
        structs (issue 24: the read that makes them was a third of a catch-up's read): it
        names no guarded root, and no indexed item lies between the lowest and the highest
        clock it refers to of each client (``Refs.lows``, ``UpdateDeps.needs``), nor in a
        deletion. Every item the walk looks up is in those ranges, and the walk adds to its
        own items only what resolved to a guarded code, so this "nothing" is the walk's; a
        False here only means "read the structs" (``_plain``, then the walk)."""
        if not refs.roots.isdisjoint(GUARDED_ROOTS):
            return False
        runs_of = self._runs
        if not runs_of:
            return True
        needs = deps.needs
        for client, low in refs.lows.items():
            if (runs := runs_of.get(client)) is not None and next(iter(runs.overlapping(
                    low, max(needs.get(client, 0), low + 1))), None) is not None:
                return False
        return self._deletes_clear(deletes)

    def _plain(self, structs: Sequence[StructInfo],
               deletes: Sequence[tuple[int, int, int]]) -> bool:
        """Whether ``touches`` finds nothing, decided in one loop without its records (issue
        24: the bulk of a replay's updates touch nothing guarded): no struct names a guarded
        root or refers to an indexed item, no deletion overlaps one. The same lookups as
        ``touches``' walk, in the same order: that walk adds to its own items (``extra``)
        only what resolved to a guarded code, so until the first such struct its answers are
        this loop's, and that first struct is where this one returns False."""
        runs_of = self._runs
        for _client, _clock, _length, kind, origin, right, root, item, _sub in structs:
            if kind == 0 or kind == 10:
                continue
            if root is not None:
                if root in GUARDED_ROOTS:
                    return False
                continue
            ref = item or origin or right
            if ref is not None and (runs := runs_of.get(ref[0])) is not None \
                    and runs.find(ref[1]) is not None:
                return False
        return self._deletes_clear(deletes)

    def _deletes_clear(self, deletes: Sequence[tuple[int, int, int]]) -> bool:
        """Whether no deletion of an update overlaps an indexed (guarded) item."""
        runs_of = self._runs
        for client, start, length in deletes:
            if (runs := runs_of.get(client)) is not None \
                    and next(iter(runs.overlapping(start, start + length)), None) is not None:
                return False
        return True

    def observe(self, update: bytes) -> None:
        """Add the guarded items of an update this document integrated (idempotent), all of
        them (``close``). A large one (a state) is indexed as it is read, without a record of
        each struct."""
        clean = self._clean.pop(id(update), None)
        if clean is not None and clean[0] is update and clean[1] == self._marks:
            return  # screened a moment ago: nothing guarded in it, nothing marked since
        if len(update) > MEMO_MAX_UPDATE and (deps := read_into(update, self)) is not None:
            self.close(update, deps)
            return
        self._observe_structs(update)

    def close(self, update: bytes, deps: UpdateDeps) -> None:
        """After a marking pass over a large ``update`` (``read_into``): mark what that pass
        could not. An item is resolved against what is marked *when it is read*, and an
        update lists its clients one after the other: an item whose neighbour or parent is an
        item of a client listed later (a key of ``settings`` overwritten by a device whose
        client id is higher than the previous writer's: clients are listed from the highest)
        was left unmarked, and a teammate's later update building on it would not be screened
        (tests/rules/test_guarded_closure.py). Passes again until one marks nothing; a chain
        that needs more than ``GUARDED_INDEX_PASSES`` passes is closed exactly over the
        struct list instead. Nothing to do when the update has one client's structs (``deps``,
        from that pass): they refer only to its own earlier items or to items marked before."""
        if len(deps.starts) <= 1:
            return
        for _ in range(GUARDED_INDEX_PASSES):
            before = self._marks
            if read_into(update, self) is None:  # (not when the first pass read it)
                break
            if self._marks == before:
                return
        self._observe_structs(update)

    def _observe_structs(self, update: bytes) -> None:
        self.mark_structs(read_structs(update)[0])

    def mark_structs(self, structs: Sequence[StructInfo]) -> None:
        """Mark the guarded items of an update from its struct list (``read_structs``), to the
        fixed point: each item left unresolved waits for the item it refers to, and is marked
        when that item is (each struct is looked at a bounded number of times, whatever the
        order)."""
        waiting: dict[int, list[tuple[int, int]]] = {}  # referred client: [(its clock, struct)]
        marked: list[tuple[int, int, int]] = []
        for i, s in enumerate(structs):
            code = self._code(s, {})
            if code is not None:
                self.add(s.client, s.clock, s.clock + s.length, code)
                marked.append((s.client, s.clock, s.clock + s.length))
            elif s.kind not in (0, 10) and s.parent_root is None:
                ref = s.parent_item or s.origin or s.right_origin
                if ref is not None:
                    waiting.setdefault(ref[0], []).append((ref[1], i))
        if not waiting:
            return
        for refs in waiting.values():
            refs.sort()
        while marked:
            client, start, end = marked.pop()
            pending = waiting.get(client)
            if not pending:
                continue
            lo = bisect.bisect_left(pending, (start, -1))
            hi = bisect.bisect_left(pending, (end, -1))
            resolved, pending[lo:hi] = pending[lo:hi], []
            for _clock, i in resolved:
                s = structs[i]
                code = self._code(s, {})
                if code is not None:
                    self.add(s.client, s.clock, s.clock + s.length, code)
                    marked.append((s.client, s.clock, s.clock + s.length))
