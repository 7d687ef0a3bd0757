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
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from mano_core.document.ydeps import MEMO_MAX_UPDATE, StructInfo, read_into, read_structs

GUARDED_ROOTS: Final = frozenset({"settings", "customFields", "subteams"})

Code = tuple[str, str | None]  # (guarded root, settings key or None)


@dataclass(frozen=True, slots=True)
class Touch:
    """What one update touches: guarded roots, and the keys of ``settings`` it writes or
    deletes (``actionCategories[…]``, ``features.…``, ``value.…``)."""

    roots: frozenset[str] = frozenset()
    settings_keys: frozenset[str] = frozenset()


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

    def add(self, start: int, end: int, code: Code) -> None:
        i = bisect.bisect_right(self.starts, start)
        if i > 0 and self.ends[i - 1] > start:
            return  # already known (a duplicate delivery)
        if i > 0 and self.ends[i - 1] == start and self.codes[i - 1] == code:
            self.ends[i - 1] = end
            return
        self.starts.insert(i, start)
        self.ends.insert(i, end)
        self.codes.insert(i, code)


class GuardedIndex:
    """Which item ids belong to guarded roots (see the module docstring)."""

    def __init__(self) -> None:
        self._runs: dict[int, _Runs] = {}

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
        self._runs.setdefault(client, _Runs()).add(start, end, code)

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
        structs, deletes = read_structs(update)
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
        return Touch(roots=frozenset(c[0] for c in codes),
                     settings_keys=frozenset(c[1] for c in codes
                                             if c[0] == "settings" and c[1] is not None))

    def observe(self, update: bytes) -> None:
        """Add the guarded items of an update this document integrated (idempotent). A large
        one (a state) is indexed as it is read, without a record of each struct."""
        if len(update) > MEMO_MAX_UPDATE and read_into(update, self) is not None:
            return
        structs, _deletes = read_structs(update)
        for s in structs:
            code = self._code(s, {})
            if code is not None:
                self._runs.setdefault(s.client, _Runs()).add(s.clock, s.clock + s.length, code)
