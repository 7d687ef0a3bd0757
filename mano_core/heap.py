"""Python's cyclic garbage collector during a team's open and first read (issue 24).

Decoding a team's records creates a few objects per record (its msgspec struct, its lists):
about a million at MANO scale, ten million at ×10. CPython's collector runs a full
collection (generation 2: every tracked object of the process) each time the objects that
survived the young collections grow by a quarter, so the first read ran several full
collections of a heap that kept growing, each one pause on whatever thread allocated: up to
0.25 s on the UI loop at MANO scale, seconds at ×10 (gc.callbacks in bench/ui_loop.py).

``bulk_decoding()`` wraps the open and the first read: young collections go on as usual (they
look only at recent objects: short-lived cycles are still freed), full ones wait, and at the
end the objects alive are moved to the collector's permanent generation (``gc.freeze``), so
later full collections look only at what is created afterwards, not at the records read once
and kept. The records are acyclic data: when one is replaced or dropped, reference counting
frees it, frozen or not. What freezing costs: a reference cycle that was alive at the freeze
and becomes garbage later is not freed while frozen (the open and first read make no such
cycles of their own; screens and widgets alive then may), so ``thaw()`` returns the frozen
objects to the collector when a store closes (the team is no longer open: a locked app, a
test's device closed), and what became garbage since is freed at the next full collection.

While an app runs, CPython's own full collections are held (``full_collections_deferred``) and
the app runs each one due, by CPython's rule, where its loop is not busy (``full_collection_due``,
``collect_full``; tui/collector.py), instead of inside whichever screen's styling or layout an
allocation crossed the threshold in."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterator
from typing import Final

# A full-collection threshold no open reaches: generation 2 is collected after this many
# collections of generation 1 (CPython's default is 10).
_NO_FULL: Final = 1 << 30


class _Held:
    """One generation's collection threshold, held by the blocks entered and not left (nested
    or overlapping uses), and put back when the last one ends. Only that generation's
    threshold is touched: ``bulk_decoding`` holds generation 2's and ``one_delivery``
    generation 0's, and they overlap in any order (a catch-up during an open's first read)."""

    def __init__(self, generation: int) -> None:
        self.generation = generation
        self.depth = 0
        self.saved = 0

    def enter(self, held: Callable[[int], int]) -> None:
        """Enter a block: the threshold becomes ``held(the threshold before the first one)``
        if that is higher than it is now (a block nested in one that held it less raises it:
        each block gets at least what it asked for)."""
        current = gc.get_threshold()[self.generation]
        if self.depth == 0:
            self.saved = current
        wanted = held(self.saved)
        if wanted > current:
            self._set(wanted)
        self.depth += 1

    def leave(self) -> bool:
        """Leave a block; True when it was the last (the threshold is back)."""
        self.depth -= 1
        if self.depth:
            return False
        self._set(self.saved)
        return True

    def _set(self, threshold: int) -> None:
        thresholds = list(gc.get_threshold())
        thresholds[self.generation] = threshold
        gc.set_threshold(*thresholds)


_FULL: Final = _Held(2)
_YOUNG: Final = _Held(0)


class _Opens:
    depth = 0   # bulk_decoding blocks entered and not left


_OPENS: Final = _Opens()


@contextlib.contextmanager
def bulk_decoding() -> Iterator[None]:
    """Postpone full collections while this is entered, then freeze what is alive (nested or
    overlapping uses: the threshold comes back and the freeze happens when the last one ends).
    Does nothing to a collector that is disabled."""
    if not gc.isenabled():
        yield
        return
    _FULL.enter(lambda _full: _NO_FULL)
    _OPENS.depth += 1
    try:
        yield
    finally:
        _OPENS.depth -= 1
        _FULL.leave()   # (still held while full collections are deferred, below)
        if _OPENS.depth == 0:
            gc.freeze()
            _DEFERRED.walked(0)   # what is left to walk: nothing yet


# Young collections (generation 0) while one delivery of teammates' envelopes is opened,
# merged and stored: each envelope leaves a few tracked objects (its parse, plaintext, update
# read, op) that all live until the delivery's commit, so every young collection of the default
# 700 found nothing to free, and promoted them to be walked again by generation 1's (issue 24:
# ~11 µs an envelope of a 10,000-envelope catch-up). A delivery is bounded (a Deliver frame's
# size, limits): at most this many net allocations wait, then one young collection walks them.
YOUNG_DURING_DELIVERY: Final = 100_000


@contextlib.contextmanager
def one_delivery() -> Iterator[None]:
    """Postpone young collections while a delivery is applied (nested or overlapping uses:
    the threshold comes back when the last one ends). Only generation 0's threshold changes:
    ``bulk_decoding`` changes only generation 2's. Does nothing to a disabled collector."""
    if not gc.isenabled():
        yield
        return
    _YOUNG.enter(lambda young: max(young, YOUNG_DURING_DELIVERY))
    try:
        yield
    finally:
        _YOUNG.leave()


# Young collections while a frozen copy of a team's records is alive (a statistics computation,
# mano_core.reporting.offloop): the copy's lists hold every record (~500,000 references at ×10)
# and each collection of the generation they are in walks all of them, 14-20 ms each (a young,
# a middle and a full one while the worker computes: 60-90 ms of CPU, on whichever thread
# allocated, the UI loop waiting for the GIL meanwhile). Postponed until the copy is dropped,
# they find it gone (freed by reference counting) and walk only what is still alive.
_UNTIL_COPY_DROPPED: Final = 1 << 30


@contextlib.contextmanager
def copy_alive() -> Iterator[None]:
    """Postpone young collections (and so every collection) while a large copy of the records
    lives (nested or overlapping uses, with ``one_delivery`` too: the threshold comes back when
    the last one ends). Only generation 0's threshold changes. What is garbage in cycles
    meanwhile is freed at the first collection after. Does nothing to a disabled collector."""
    if not gc.isenabled():
        yield
        return
    _YOUNG.enter(lambda _young: _UNTIL_COPY_DROPPED)
    try:
        yield
    finally:
        _YOUNG.leave()


def thaw() -> None:
    """Give the objects frozen by ``bulk_decoding`` back to the collector (a store closed),
    unless an open is under way (it freezes again when it ends)."""
    if _OPENS.depth == 0:
        gc.unfreeze()
        _DEFERRED.walked(len(gc.get_objects(2)))


# Full collections while an app runs (issue 24). Once the open has frozen the records, a full
# collection walks what the app made since (Textual's widgets, caches, segments and strips:
# 25,000-50,000 objects, their references leading into the frozen records: 20-35 ms of CPU at
# ×10, the sixteenth round's census), and CPython starts one wherever an allocation crosses its
# threshold: inside a screen's styling or layout, whose iteration of the loop it lengthens by
# that much (the seventeenth round: a 35 ms iteration of the statistics' first show, 31 of it
# a full collection). ``full_collections_deferred`` holds CPython's own full collections; the
# app asks ``full_collection_due`` from a callback of its loop and, when the loop is not busy,
# runs the one due there (``collect_full``): the same collections, by CPython's own rule, each
# in an iteration of its own.
class _Deferred:
    def __init__(self) -> None:
        self.depth = 0
        self.after_full: int | None = 0   # objects in generation 2 after the last full one
        self.seen_middle = -1      # middle collections counted when it was last measured
        self.grown = False

    def walked(self, objects: int | None) -> None:
        """Generation 2 holds ``objects`` after a full collection, a freeze or a thaw (None:
        not counted yet)."""
        self.after_full = objects
        self.seen_middle = -1
        self.grown = False


_DEFERRED: Final = _Deferred()


@contextlib.contextmanager
def full_collections_deferred() -> Iterator[None]:
    """Hold CPython's full collections while this is entered (nested uses: until the last one
    ends); ``collect_full`` runs them, when ``full_collection_due`` says one is. Young and
    middle collections go on. Does nothing to a disabled collector."""
    if not gc.isenabled():
        yield
        return
    _FULL.enter(lambda _full: _NO_FULL)
    if _DEFERRED.depth == 0:
        # counted at the first check (a callback of its own), not here: listing generation 2
        # in an app's mount (every module's objects) lengthened its launch by ~7 ms
        _DEFERRED.walked(None)
    _DEFERRED.depth += 1
    try:
        yield
    finally:
        _DEFERRED.depth -= 1
        _FULL.leave()


def full_collection_due() -> bool:
    """True when CPython would have run a full collection by now (its rule: as many middle
    collections since the last full one as its generation-2 threshold, and the objects in
    generation 2 grown by a quarter since), and one may run now: full collections are
    deferred, no open is under way (its full collection would walk every record read so far,
    before the freeze), no delivery or statistics copy holds the young collections (it would
    walk their objects). The first call after ``full_collections_deferred`` is entered or
    ``collect_full`` ran counts what generation 2 holds then (False)."""
    if _DEFERRED.depth == 0 or _OPENS.depth or _YOUNG.depth:
        return False
    if _DEFERRED.after_full is None:   # the first check since deferred counts the base
        _DEFERRED.walked(len(gc.get_objects(2)))
        return False
    middle = gc.get_count()[2]
    if middle <= _FULL.saved:   # (CPython: more than the threshold)
        return False
    if middle != _DEFERRED.seen_middle:   # measured again only once a middle collection ran
        _DEFERRED.seen_middle = middle
        grown = len(gc.get_objects(2)) - _DEFERRED.after_full
        _DEFERRED.grown = grown > _DEFERRED.after_full // 4
    return _DEFERRED.grown


def collect_full() -> int:
    """A full collection now (the one ``full_collection_due`` said is due); returns the
    objects it freed."""
    freed = gc.collect(2)
    _DEFERRED.walked(None)   # counted at the next check: listing them is a few ms at ×10
    return freed
