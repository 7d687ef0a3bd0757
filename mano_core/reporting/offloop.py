"""Statistics without freezing the event loop (issue 24): ``await freeze(team)`` decodes what
is not decoded yet in bounded slices (mano_core.slices), then copies every listing reporting
reads into a ``FrozenView`` (plain frozen records, settings and role: no pycrdt object), which
any reporting function reads from a worker thread; ``await computed(team, work)`` runs
``work(copy)`` in ``asyncio.to_thread`` while Python's collector waits for the copy to be
dropped (mano_core/heap.py ``copy_alive``: each collection would walk its ~500,000 references
at ×10); ``await statistics(team, …)`` computes ``compute`` and ``mano_statistics`` that way.

The copy is the records as they were when it was taken: edits arriving while the worker
computes show at the next computation (a UI recomputes on change events)."""

from __future__ import annotations

import asyncio
import datetime as dt
import traceback
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from mano_core import heap, rules
from mano_core.crypto.log_entry import Role
from mano_core.document.collection import FrozenRecords
from mano_core.document.settings import FrozenSettings
from mano_core.model.records import (
    Action,
    Comment,
    CustomFieldDefinition,
    Encounter,
    Group,
    HistoryEntry,
    Passage,
    Person,
    PersonPlace,
    Place,
    Report,
    Structure,
    SubTeam,
    Territory,
    TerritoryObservation,
)
from mano_core.rules.table import Power
from mano_core.slices import Progress

from .filtered import filtered
from .mano_stats import ManoStatistics, PersonFilter, mano_statistics
from .stats import Statistics, compute
from .view import Period, TeamView

T = TypeVar("T")

LISTINGS = ("persons", "actions", "comments", "encounters", "passages", "observations",
            "territories", "structures", "places", "person_places", "groups", "reports",
            "subteams", "custom_fields", "history")


class FrozenView:
    """A ``TeamView`` copied at one moment, readable from any thread. ``medical`` is not None
    when the copied team held its medical compartment (health-only figures are counted);
    ``require`` checks the role the team had."""

    persons: FrozenRecords[Person]
    actions: FrozenRecords[Action]
    comments: FrozenRecords[Comment]
    encounters: FrozenRecords[Encounter]
    passages: FrozenRecords[Passage]
    observations: FrozenRecords[TerritoryObservation]
    territories: FrozenRecords[Territory]
    structures: FrozenRecords[Structure]
    places: FrozenRecords[Place]
    person_places: FrozenRecords[PersonPlace]
    groups: FrozenRecords[Group]
    reports: FrozenRecords[Report]
    subteams: FrozenRecords[SubTeam]
    custom_fields: FrozenRecords[CustomFieldDefinition]
    history: FrozenRecords[HistoryEntry]

    def __init__(self, listings: dict[str, FrozenRecords[Any]], settings: FrozenSettings,
                 *, medical: bool, role: Role | None) -> None:
        for name in LISTINGS:
            setattr(self, name, listings[name])
        self.settings = settings
        self.medical: object | None = True if medical else None
        self._role = role

    def require(self, power: Power) -> None:
        """PermissionDeniedError unless the copied team's role held ``power``."""
        if self._role is not None:
            rules.require(self._role, power)


async def freeze(view: TeamView, *, progress: Progress | None = None) -> FrozenView:
    """A copy of ``view`` (an open ``Team`` or a ``GeneralDocument``) for a worker thread;
    a ``Team``'s records not decoded yet are decoded first in bounded slices (``Team.load``,
    ``progress(done, total)``). Runs on the event loop that owns the team."""
    await _decoded(view, progress)
    return _copy(view)


async def _decoded(view: TeamView, progress: Progress | None) -> None:
    load = getattr(view, "load", None)   # a Team has it, a GeneralDocument does not
    if load is not None:
        await load(progress=progress)


def _copy(view: TeamView) -> FrozenView:
    listings = {name: getattr(view, name).frozen() for name in LISTINGS}
    role = getattr(view, "role", None)
    return FrozenView(listings, view.settings.frozen(),  # type: ignore[attr-defined]
                      medical=getattr(view, "medical", None) is not None,
                      role=role if isinstance(role, Role) else None)


async def computed(view: TeamView, work: Callable[[FrozenView], T], *,
                   progress: Progress | None = None) -> T:
    """``work(copy)`` in a worker thread, over ``await freeze(view)``'s copy, the event loop
    running meanwhile. From the copy to its end (when the copy is dropped: ``work`` must not
    keep it) Python's collector makes no collection (``heap.copy_alive``), which would walk
    every record the copy holds, the UI loop waiting for the GIL meanwhile (issue 24: 60-90 ms
    of collections at ×10 for one computation)."""
    await _decoded(view, progress)
    with heap.copy_alive():
        frozen: list[FrozenView] = [_copy(view)]
        # The thread takes the copy and drops it when done; this frame keeps no reference to
        # it, so it is freed before the collector comes back (also when the work fails).
        return await asyncio.to_thread(_run_dropping, work, frozen)


def _run_dropping(work: Callable[[FrozenView], T], frozen: list[FrozenView]) -> T:
    copy = frozen.pop()
    try:
        return work(copy)
    except BaseException as exc:
        # The error's traceback keeps its frames, and so the copy in their locals, as long
        # as the error is held: their locals are dropped (the lines stay).
        traceback.clear_frames(exc.__traceback__)
        raise
    finally:
        del copy


def both(view: TeamView, period: Period, subteams: Sequence[str] = (),
         filters: Sequence[PersonFilter] = (), *,
         now: dt.datetime | None = None) -> tuple[Statistics, ManoStatistics]:
    """``compute`` of the persons ``filters`` keep and ``mano_statistics``, as the
    statistics screen shows them (synchronous: call it in a worker over a ``FrozenView``)."""
    return (compute(filtered(view, filters), period, subteams, now=now),
            mano_statistics(view, period, subteams, filters, now=now))


async def statistics(view: TeamView, period: Period, subteams: Sequence[str] = (),
                     filters: Sequence[PersonFilter] = (), *, now: dt.datetime | None = None
                     ) -> tuple[Statistics, ManoStatistics]:
    """``both`` computed in a worker thread over ``await freeze(view)``: the event loop keeps
    running meanwhile. PermissionDeniedError for roles without statistics (before any work)."""
    check = getattr(view, "require", None)
    if check is not None:
        check(Power.STATISTICS)
    return await computed(view, lambda frozen: both(frozen, period, subteams, filters,
                                                    now=now))
