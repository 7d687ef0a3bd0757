"""Statistics off the event loop (mano_core/reporting/offloop.py): the figures of a copy
computed in a worker thread are those of the team, no collection of Python's collector walks
the copy while the work runs, and the copy is freed as the work ends (also when it fails)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from mano_core.document.compartments import GeneralDocument
from mano_core.reporting.offloop import FrozenView, both, computed, statistics
from mano_core.team import Team

from .conftest import NOW
from .test_stats import PERIOD


class Collections:
    """Python's collections while a test runs (gc.callbacks): whether each found a copy alive."""

    def __init__(self) -> None:
        self.copies: list[weakref.ref[FrozenView]] = []
        self.seen: list[tuple[int, bool]] = []   # (generation, a copy alive)

    def started(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.seen.append((info["generation"], any(c() is not None for c in self.copies)))


@pytest.fixture
def collections() -> Iterator[Collections]:
    thresholds = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    watched = Collections()
    gc.callbacks.append(watched.started)
    try:
        yield watched
    finally:
        gc.callbacks.remove(watched.started)
        gc.set_threshold(*thresholds)


async def test_the_figures_computed_off_the_loop_are_the_teams(team: Team) -> None:
    await team.load()
    assert await statistics(team, PERIOD, now=NOW) == both(team, PERIOD, now=NOW)


async def test_no_collection_walks_the_copy_and_it_is_freed_when_the_work_ends(
        doc: GeneralDocument, collections: Collections) -> None:
    def work(frozen: FrozenView) -> int:
        collections.copies.append(weakref.ref(frozen))
        made = [[i] for i in range(50_000)]   # a computation's objects: 70 young collections
        return len(made) + len(frozen.persons.list())

    found = await computed(doc, work)
    assert found == 50_000 + len(doc.persons.list())
    assert collections.copies and collections.copies[0]() is None   # freed, no collection
    assert gc.get_threshold() == (700, 10, 10)                         # the collector is back
    [[i] for i in range(5_000)]
    assert collections.seen                                  # it collects again, and
    assert not [g for g, alive in collections.seen if alive]  # no collection saw the copy


async def test_a_failed_computation_gives_the_collector_back_and_frees_the_copy(
        doc: GeneralDocument, collections: Collections) -> None:
    def work(frozen: FrozenView) -> int:
        collections.copies.append(weakref.ref(frozen))
        raise ValueError("the computation failed")

    with pytest.raises(ValueError, match="failed"):
        await computed(doc, work)
    assert gc.get_threshold() == (700, 10, 10)
    assert collections.copies and collections.copies[0]() is None


class _Screen:
    """A closed screen's widgets: objects that refer to each other (a cycle)."""


async def test_statistics_of_a_loaded_team_keep_no_closed_screen_alive(team: Team) -> None:
    """Each statistics computation asks for the team's records; once they are all decoded it
    freezes nothing: a screen closed after it is freed by the next full collection, not kept
    until the team closes (a working day of statistics kept every screen shown before)."""
    await team.load()
    freed: list[str] = []
    screen = _Screen()
    screen.parts = [screen]   # type: ignore[attr-defined]
    weakref.finalize(screen, freed.append, "freed")
    frozen = gc.get_freeze_count()
    try:
        await statistics(team, PERIOD, now=NOW)
        del screen            # the screen closed
        gc.collect()
        assert freed == ["freed"]
    finally:
        if gc.get_freeze_count() > frozen:
            gc.unfreeze()     # (the code before froze it: give it back to the collector)

