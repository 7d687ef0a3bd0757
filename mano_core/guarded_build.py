"""The guarded index built off the event loop (issue 24).

A device screens every teammate's update against the role table (mano_core.rules.remote),
which needs the index of the items only some roles may write (mano_core.rules.touch). The
document builds it from its whole state on first use: a Python read of every struct, 1.2 s of
CPU on the UI loop at MANO scale (12 s at ×10), the first time a teammate's update arrives
after opening. Here it is built in a worker thread (the loop gets the GIL back every few
milliseconds: the reader calls the index's Python methods as it goes) and the sync client
awaits ``ready`` before screening; the app starts it once the team is read.

What it is built from. Not ``Doc.get_update()``: pycrdt encodes a whole state in one call
holding the GIL (2.9 s on the loop at ×10). A team opened from the store (``adopt``) keeps the
bytes its general document was made of: the stored snapshot's pieces (mano_core.document.
pieces) and the stored updates after it that the document integrated; the index is built
from them, in the order the document could integrate them: each is observed only once every
item it refers to is held by those observed before it (its dependencies, ``UpdateDeps``), so
each item is resolved against the complete marks of what it refers to, as when the index
observes every update the document integrates; the clocks they add up to must be the
document's state vector when it was adopted, and the updates left are exactly those the
document parked. Anything else (a piece out of order, a client listed twice, a mismatch)
falls back to ``Doc.get_update()``: the bytes are never trusted to be the document, they are
checked to be. The updates the document integrates from the adoption on (local edits, parked
updates integrating) are kept in a backlog and observed once it is built, as the document
does after a build on first use (so the index is the one the document keeps,
``DocumentCore.guarded_index``; tests/rules/test_guarded_source.py). A team without an
adoption (created in this session) builds from ``Doc.get_update()`` as before.

What the worker thread touches: the adopted bytes (immutable, or a buffer nothing writes to
any more), a fresh GuardedIndex and the readers (pure functions of the bytes; never the parse
memo of mano_core.document.ydeps, which the loop's thread uses). Never the pycrdt document.
Memory: the adopted bytes (the stored snapshot's plaintext: 20 MB at MANO scale) live until
the build ends; a backlog that grows past ``BACKLOG_MAX`` before a build starts drops them
(the build then encodes the state)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from mano_core.document import ydeps
from mano_core.document.pieces import _frames, _piece
from mano_core.document.ydeps import (
    MEMO_MAX_UPDATE,
    StructInfo,
    UpdateDeps,
    read_into,
)
from mano_core.ids import Compartment
from mano_core.rules.touch import GuardedIndex

if TYPE_CHECKING:
    from mano_core.document.team_doc import DocumentCore
    from mano_core.team import Team

# Updates integrated after the adoption and before a build starts, kept for the build: past
# this many, the adopted bytes are dropped (the build encodes the state instead).
BACKLOG_MAX: Final = 4096


class Backlog(list[bytes]):
    """The updates a document integrated while its index is not built (``DocumentCore._guard``
    appends); ``capped`` while no build is under way (past BACKLOG_MAX it is dropped)."""

    capped = True
    limit = BACKLOG_MAX


@dataclass(frozen=True, slots=True)
class _Source:
    core: DocumentCore
    snapshot: bytes | bytearray | None
    updates: Sequence[bytes]      # the stored updates after it, in store order
    parked: frozenset[int]        # ids of those the document parked when adopted
    vector: dict[int, int]        # the document's state vector when adopted
    backlog: Backlog


class GuardedBuild:
    """One team's build of the general document's guarded index (the one screened)."""

    def __init__(self, team: Team) -> None:
        self.team = team
        self._task: asyncio.Task[None] | None = None
        self._source: _Source | None = None

    def adopt(self, core: DocumentCore, snapshot: bytes | bytearray | None,
              updates: Sequence[bytes]) -> None:
        """Keep the bytes ``core`` was just made of (its stored snapshot, then the stored
        updates after it: call right after the document is made, before anything else is
        integrated), and keep what it integrates from now on in a backlog."""
        backlog = Backlog()
        core._guard_backlog = backlog
        self._source = _Source(
            core=core, snapshot=snapshot, updates=tuple(updates),
            parked=frozenset(id(u) for u in core.parked_updates()),
            vector=core.state_vector(), backlog=backlog)

    def start(self) -> None:
        """Start building it now, if it is not built or under way."""
        core = self._core()
        if self._task is not None:
            return
        if core is None or core._guarded is not None:
            self._source = None  # built already (on a synchronous use): the bytes can go
            return
        self._task = asyncio.get_running_loop().create_task(self._build(core))

    async def ready(self, compartment: Compartment = Compartment.GENERAL) -> None:
        """Return once the index screening ``compartment`` is built (at once if it is, or if
        that compartment is not screened)."""
        if compartment is not Compartment.GENERAL:
            return
        self.start()
        if self._task is not None:
            await asyncio.shield(self._task)  # a cancelled waiter leaves the build running

    def _core(self) -> DocumentCore | None:
        return getattr(self.team, "doc", None)

    async def _build(self, core: DocumentCore) -> None:
        source, self._source = self._source, None
        if source is not None and (source.core is not core
                                   or core._guard_backlog is not source.backlog):
            source = None  # another document since, or the backlog was dropped
        backlog = source.backlog if source is not None else Backlog()
        backlog.capped = False
        core._guard_backlog = backlog
        try:
            index: GuardedIndex | None = None
            if source is not None:
                try:
                    index = await asyncio.to_thread(index_from, source.snapshot,
                                                    source.updates, source.parked,
                                                    source.vector)
                except Exception:  # noqa: BLE001 - checked below: the state is read instead
                    index = None
                source = None  # (the bytes can go)
            if index is None:
                index = await self._from_state(core)
            if index is not None and core._guarded is None:  # (not built at once meanwhile)
                for update in backlog:
                    index.observe(update)
                core._guarded = index
        finally:
            core._guard_backlog = None
            self._task = None

    @staticmethod
    async def _from_state(core: DocumentCore) -> GuardedIndex | None:
        """The index of ``Doc.get_update()`` (one call holding the loop); None if it cannot
        be read (the document builds it on first use instead, and raises there)."""
        state = core.doc.get_update()
        index = GuardedIndex()
        try:
            if len(state) <= MEMO_MAX_UPDATE:
                index.build(state)  # small, and its read would share the parse memo
            else:   # read past the memo (ydeps): nothing shared with the loop's thread
                await asyncio.to_thread(index.build, state)
        except Exception:  # noqa: BLE001
            return None
        return index


def index_from(snapshot: bytes | bytearray | None, updates: Sequence[bytes],
               parked: frozenset[int], vector: dict[int, int]) -> GuardedIndex | None:
    """The index of the document a stored ``snapshot`` and ``updates`` made (see the module
    docstring), or None if these bytes are not shown to be that document (``parked``: ids of
    the updates it parked; ``vector``: its state vector). Runs in a worker thread.
    MalformedUpdateError if bytes are not updates."""
    index = GuardedIndex()
    held: dict[int, int] = {}
    if snapshot:
        frames, _vector = _frames(snapshot)
        for start, end in frames:
            if not _observe(index, _piece(snapshot, start, end), held, None):
                return None   # a piece out of order: not what compaction writes
    waiting = [u for u in updates if id(u) not in parked]
    while waiting:   # in an order the document could integrate them (as it unparks them)
        left = [u for u in waiting if not _observe(index, u, held, _deps(u))]
        if len(left) == len(waiting):
            return None   # the document integrated them: these bytes are not it
        waiting = left
    if {c: k for c, k in held.items() if k} != {c: k for c, k in vector.items() if k}:
        return None
    return index


def _deps(update: bytes) -> UpdateDeps:
    """Its dependencies, read past the parse memo (this runs off the loop's thread)."""
    deps: UpdateDeps = ydeps.read_update(update, None)[0]
    return deps


def _observe(index: GuardedIndex, update: bytes, held: dict[int, int],
             deps: UpdateDeps | None) -> bool:
    """Mark ``update``'s guarded items into ``index`` if everything it refers to is
    ``held`` (then advanced over it); False otherwise: nothing marked when its ``deps`` are
    given (they are checked first), else the marks are made before the check (a large
    update is read once) and ``index`` is to be dropped on False."""
    if deps is not None and not deps.satisfied_by(held):
        return False
    if len(update) > MEMO_MAX_UPDATE:
        marked = read_into(update, index)
        if marked is None:   # a client listed twice: the struct list's exact closure
            found: list[StructInfo] = []
            read, _found, _deletes = ydeps.read_update(update, found)
            index.mark_structs(found)
        else:
            index.close(update, marked)
            read = marked
    else:
        read, found, _deletes = ydeps.read_update(update, [])
        index.mark_structs(found)
    if deps is None and not read.satisfied_by(held):
        return False
    read.advance(held)
    return True
