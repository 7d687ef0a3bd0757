"""Heavy reads without freezing the event loop (issue 24): the first decoding of a team's
records runs in bounded slices on the loop, and statistics run in a worker thread over a
frozen copy of the records.

Why slices and not a thread for decoding: pycrdt's calls (``str(map)``, ``keys()``,
``apply_update``) hold the GIL for their whole duration and a pycrdt ``Doc`` must not be
touched from two threads at once; so the document is read on the loop, a few hundred records
at a time (``Collection.loading``), handing the loop back between slices. Statistics, on the
other hand, read only frozen msgspec records once decoded: they run in ``asyncio.to_thread``,
where pure Python gives the loop the GIL back every few milliseconds.

``drive(steps)`` is the driver (``mano_core.loop_turns``, below the document so that its own
modules use it too): it advances a step iterator and lets the loop run (``let_loop_run``)
whenever ``slice_seconds`` of work went by since the last time it let the loop run (always,
with ``slice_seconds=0``: tests use that to see the loop run between steps)."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from mano_core.document.collection import Collection
from mano_core.document.root_keys import root_keys
from mano_core.heap import bulk_decoding
from mano_core.loop_turns import SLICE_SECONDS, drive, let_loop_run

if TYPE_CHECKING:
    from mano_core.document.team_doc import DocumentCore

Progress = Callable[[int, int], None]  # (records read so far, records in all)


# A document's record ids read off the loop (``start_root_keys``), until its first read took
# them (each collection's list is dropped once it is read).
_HINTS: weakref.WeakKeyDictionary[DocumentCore, asyncio.Task[dict[str, list[str]] | None]] \
    = weakref.WeakKeyDictionary()


def start_root_keys(snapshot: bytes | bytearray | None,
                    updates: Sequence[bytes]) -> asyncio.Task[dict[str, list[str]] | None] | None:
    """Start reading, in a worker thread, the record ids of the document these stored bytes
    make (mano_core.document.root_keys), for its first read; call before applying them (the
    read runs meanwhile), then ``expect_keys`` once the document is made."""
    if not snapshot and not updates:
        return None
    return asyncio.get_running_loop().create_task(
        asyncio.to_thread(root_keys, snapshot, tuple(updates)))


def expect_keys(core: DocumentCore,
                hints: asyncio.Task[dict[str, list[str]] | None] | None) -> None:
    """The first read of ``core``'s collections takes their ids from ``hints``."""
    if hints is not None:
        _HINTS[core] = hints


async def _hinted(collection: Collection[Any]) -> Sequence[str] | None:
    """The ids read off the loop for ``collection``'s first read (taken: dropped from the
    hints), or None (none started, or it failed: the Map's keys are listed)."""
    task = _HINTS.get(collection._core)
    if task is None:
        return None
    try:
        found = await asyncio.shield(task)
    except Exception:  # noqa: BLE001 - a hint only: the read lists the keys instead
        return None
    return None if found is None else found.pop(collection.name, [])


async def load_all(collections: Iterable[Collection[Any]], *, progress: Progress | None = None,
                   slice_seconds: float | None = None) -> None:
    """Decode every record of ``collections`` (mano_core.document.collection.Collection) in
    bounded slices, in the order given; ``progress(done, total)`` after each step, with
    ``total`` the records of them all (as many as the ids read off the loop, ``_hinted``,
    where they were: a pycrdt Map's ``len()`` walks all its entries, and those of a ×10 team,
    one after the other, held the loop for 145 ms of CPU before the first step, issue 24)."""
    todo = [c for c in collections if not c.loaded]
    budget = SLICE_SECONDS if slice_seconds is None else slice_seconds
    keys: list[Sequence[str] | None] = []
    sizes: list[int] = []
    for collection in todo:
        hinted = await _hinted(collection)   # (its ids read off the loop, checked by loading)
        keys.append(hinted)
        if hinted is None:
            sizes.append(len(collection._map))
            await let_loop_run()   # one walk of a Map at a time
        else:
            sizes.append(len(hinted))
    total = sum(sizes)
    done_before = 0
    reached = [0]   # the count reported last: it only grows, and never past the total
    for collection, hinted, size in zip(todo, keys, sizes, strict=True):
        base = done_before

        def step(done: int, base: int = base) -> None:
            reached[0] = min(max(reached[0], base + done), total)
            if progress is not None:   # (the ids are a hint: more or fewer may be read)
                progress(reached[0], total)

        # Each step bounded in time too: it ends once a slice's budget is spent, however few
        # records that was (a loaded machine), and the loop runs after it.
        await drive(collection.loading(budget=budget, keys=hinted), slice_seconds=budget,
                    on_step=step)
        done_before = max(base + size, reached[0])
    for core in {c._core for c in todo}:
        if all(c.loaded for c in core.collections.values()):
            _HINTS.pop(core, None)   # every collection read: the ids can go
    if progress is not None:
        progress(total, total)


async def load_kept(collections: Sequence[Collection[Any]], *,
                    progress: Progress | None = None) -> None:
    """``load_all`` for records decoded to be kept (a team's first read): full collections
    wait while they are decoded, and the records are frozen after (``heap.bulk_decoding``),
    but only when there is something to decode. Entered with nothing to decode (each
    statistics computation asks again), the block froze whatever was alive, the app's screens
    and widgets among them, and the cycles they leave once closed were kept until the team
    closed (mano_core/heap.py)."""
    if all(c.loaded for c in collections):
        await load_all(collections, progress=progress)
        return
    with bulk_decoding():
        await load_all(collections, progress=progress)


async def refresh_all(collections: Iterable[Collection[Any]], *,
                      slice_seconds: float | None = None) -> None:
    """Read again, in bounded slices, the records of ``collections`` changed since they were
    read (``Collection.refreshing``): after a teammates' delivery, before its listeners read
    them (a 500-envelope delivery's records re-read at once held the loop)."""
    budget = SLICE_SECONDS if slice_seconds is None else slice_seconds
    for collection in collections:
        await drive(collection.refreshing(budget), slice_seconds=budget)
