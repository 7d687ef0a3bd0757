"""A delivery's persons reach the persons index in slices (tui/index_feed.py, issue 24): the
loop runs between slices, the persons go in in the order they were announced, and the app
redraws for the change only once the index holds every one of them (a list drawn then finds
each announced person)."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from mano_core.document.change_types import ChangeEvent, Origin
from mano_core.ids import Compartment
from mano_core.model.records import Person
from tui import app as tui_app
from tui import index_feed
from tui.index_feed import IndexFeed
from tui.people_index import ALL, PersonIndex, PersonQuery

from .conftest import SIZE, app_on, wait_for
from .pilots import opened

pytestmark = pytest.mark.timeout(180)

T = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)


def person(pid: str, name: str, *, deleted: bool = False) -> Person:
    return Person(id=pid, name=name, created_at=T, updated_at=T, created_by="m",
                  updated_by="m", deleted_at=T if deleted else None)


def names(index: PersonIndex) -> list[str]:
    return [p.name for p in index.query(PersonQuery(status=ALL))]


@pytest.fixture
def one_a_slice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index_feed, "FEED_CHUNK", 1)
    monkeypatch.setattr(index_feed, "FEED_SLICE", 0.0)   # one person, then the loop


async def test_persons_go_in_slices_in_the_order_announced(one_a_slice: None) -> None:
    index = PersonIndex([person("gone", "Partie"), person("moved", "Ancien nom")])
    feed = IndexFeed(lambda: index)
    ticks = 0

    async def ticking() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    ticker = asyncio.create_task(ticking())
    done = asyncio.Event()
    feed.push([person(f"p{i}", f"Personne {i:02}") for i in range(20)])
    feed.push([person("moved", "Nouveau nom"), "gone", person("moved", "Dernier nom"),
               person("p3", "Personne 03", deleted=True)])
    assert feed.busy and "Personne 00" not in names(index)   # not at once: in slices
    feed.when_idle(done.set)
    await asyncio.wait_for(done.wait(), 10)
    ticker.cancel()
    assert not feed.busy
    assert ticks >= 20                     # the loop ran between the slices
    assert names(index) == ["Dernier nom"] + [f"Personne {i:02}" for i in range(20) if i != 3]


async def test_idle_at_once_when_nothing_waits() -> None:
    feed = IndexFeed(PersonIndex)
    called: list[int] = []
    feed.when_idle(lambda: called.append(1))
    assert called == [1]


async def test_the_app_redraws_for_announced_persons_once_the_index_holds_them(
        demo_store, one_a_slice: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tui_app, "CHANGE_DEBOUNCE", 0.001)   # the redraw asked at once
    app = app_on(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        team = app.session.team
        made = [person(f"feed-{i:02}", f"Arrivée {i:02}") for i in range(30)]
        team.doc.persons.insert_many(made)            # as a teammates' delivery writes them
        version = app.data_version
        seen: list[int] = []

        def drawn() -> None:   # what a list drawn at the redraw finds in the index
            seen.append(sum(app.persons_index.get(p.id) is not None for p in made))

        app.watch(app, "data_version", lambda _v: drawn(), init=False)
        app._on_change(ChangeEvent(Compartment.GENERAL, "persons",
                                   frozenset(p.id for p in made), Origin.REMOTE))
        assert app.persons_feed.busy
        await wait_for(pilot, lambda: app.data_version > version, what="the redraw")
        assert seen and seen[0] == len(made)
        assert all(app.persons_index.get(p.id) is not None for p in made)


async def test_the_agenda_names_a_renamed_person_by_the_new_name(demo_store) -> None:
    from tui.screens.actions_common import action_row
    from tui.screens.agenda import AgendaScreen

    app = app_on(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        team = app.session.team
        someone = await team.persons.create(name="Avant Renommage")
        action = await team.actions.create(name="RDV", due_at=app.now(), persons=[someone.id])
        await wait_for(pilot, lambda: isinstance(app.screen, AgendaScreen)
                       and "Avant Renommage" in str(action_row(app.screen, action)),
                       what="the person's name in the agenda's row")
        await team.persons.update(someone.id, name="Après Renommage")
        await wait_for(pilot, lambda: "Après Renommage" in str(action_row(app.screen, action)),
                       what="the new name")
        await team.persons.delete(someone.id)
        await wait_for(pilot, lambda: "Renommage" not in str(action_row(app.screen, action)),
                       what="no name for a deleted person")
