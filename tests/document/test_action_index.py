"""The agenda's index (mano_core.document.action_index): after a local edit, a teammate's
change, a delete, a restore or an erasure, the agenda of a day, the overdue and upcoming
lists and the status and category lists show what a filter over every action shows."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from mano_core.codes import Code
from mano_core.document.action_index import ActionIndex
from mano_core.document.compartments import GeneralDocument
from mano_core.document.queries import _day_bounds, DEFAULT_TZ
from mano_core.errors import ValidationError
from mano_core.model.records import Action

from .helpers import exchange, fresh, replica

UTC = dt.timezone.utc
DAY = dt.date(2026, 11, 20)
MORNING = dt.datetime(2026, 11, 20, 8, tzinfo=UTC)   # 09:00 in Paris
NOW = MORNING + dt.timedelta(hours=1)


def with_categories(doc: GeneralDocument) -> GeneralDocument:
    for category in ("Santé", "Logement"):
        doc.settings.add("actionCategories", category)
    return doc


def ids(actions: list[Action]) -> list[str]:
    return [a.id for a in actions]


def agenda(doc: GeneralDocument, day: dt.date = DAY) -> list[str]:
    return ids(doc.actions.due_on(day))


def expected(doc: GeneralDocument) -> dict[str, list[str]]:
    """Every query, answered by a filter over every live action (what the index replaces)."""
    live = doc.actions.list()

    def sort(found: list[Action]) -> list[str]:
        return ids(sorted(found, key=lambda a: (a.due_at, a.name, a.id)))

    out: dict[str, list[str]] = {}
    for offset in range(-3, 4):
        day = DAY + dt.timedelta(days=offset)
        start, end = _day_bounds(day, DEFAULT_TZ)
        out[f"day {day}"] = sort([a for a in live if start <= a.due_at < end])
    start, end = _day_bounds(DAY, DEFAULT_TZ)
    _, limit = _day_bounds(DAY, DEFAULT_TZ, after=2)
    out["overdue"] = sort([a for a in live if a.status == "A FAIRE" and a.due_at < start])
    out["upcoming"] = sort([a for a in live if a.status == "A FAIRE"
                            and end <= a.due_at < limit])
    for status in ("A FAIRE", "FAIT", "ANNULEE"):
        out[status] = sort([a for a in live if a.status == status])
    for category in ("Santé", "Logement"):
        out[category] = sort([a for a in live if category in a.categories])
    return out


def answered(doc: GeneralDocument) -> dict[str, list[str]]:
    actions = doc.actions
    out: dict[str, list[str]] = {}
    for offset in range(-3, 4):
        day = DAY + dt.timedelta(days=offset)
        out[f"day {day}"] = ids(actions.due_on(day))
    out["overdue"] = ids(actions.overdue(NOW))
    out["upcoming"] = ids(actions.upcoming(NOW, days=2))
    for status in ("A FAIRE", "FAIT", "ANNULEE"):
        out[status] = ids(actions.by_status(status))
    for category in ("Santé", "Logement"):
        out[category] = ids(actions.by_category(category))
    return out


@pytest.fixture
def rebuilds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times an index was rebuilt from every record (instead of kept up to date)."""
    count: list[int] = []
    original = ActionIndex.rebuild

    def counted(self: ActionIndex, records: dict[str, Action]) -> None:
        count.append(len(records))
        original(self, records)

    monkeypatch.setattr(ActionIndex, "rebuild", counted)
    return count


def test_a_moved_action_leaves_its_old_day_and_shows_on_its_new_one(rebuilds: list[int]):
    doc = replica("member-a", 1)
    dentist = doc.actions.create(name="RDV dentiste", due_at=MORNING)
    doc.actions.create(name="CAF", due_at=MORNING + dt.timedelta(days=1))
    assert agenda(doc) == [dentist.id]
    doc.actions.update(dentist.id, due_at=MORNING + dt.timedelta(days=2))
    assert agenda(doc) == []
    assert agenda(doc, DAY + dt.timedelta(days=2)) == [dentist.id]
    doc.actions.mark_done(dentist.id)
    assert ids(doc.actions.by_status("FAIT")) == [dentist.id]
    assert ids(doc.actions.upcoming(NOW)) == ids(doc.actions.due_on(DAY + dt.timedelta(1)))
    assert rebuilds == []  # the index followed every edit (built as the records were read)


def test_a_teammates_change_delete_and_restore_show_in_the_agenda(rebuilds: list[int]):
    a, b = with_categories(replica("member-a", 1)), replica("member-b", 2)
    hearing = a.actions.create(name="Audience", due_at=MORNING, categories=["Logement"])
    exchange(a, b)
    assert agenda(a) == agenda(b) == [hearing.id]
    b.actions.update(hearing.id, due_at=MORNING - dt.timedelta(days=2))   # moved earlier
    exchange(a, b)
    assert agenda(a) == []
    assert ids(a.actions.overdue(NOW)) == [hearing.id]
    b.actions.delete(hearing.id)
    exchange(a, b)
    assert ids(a.actions.overdue(NOW)) == [] and ids(a.actions.by_category("Logement")) == []
    b.actions.restore(hearing.id)
    exchange(a, b)
    assert ids(a.actions.by_category("Logement")) == [hearing.id]
    assert rebuilds == []


def test_an_erased_action_is_gone_from_its_day(rebuilds: list[int]):
    doc = replica("member-a", 1)
    kept = doc.actions.create(name="Gardée", due_at=MORNING)
    erased = doc.actions.create(name="Effacée", due_at=MORNING + dt.timedelta(minutes=5))
    assert agenda(doc) == [kept.id, erased.id]
    assert doc.actions.erase([erased.id]) == [erased.id]
    assert agenda(doc) == [kept.id]
    assert rebuilds == []


def test_a_first_read_in_slices_builds_the_index_and_keeps_what_changed_meanwhile(
        rebuilds: list[int]):
    a = replica("member-a", 1)
    for i in range(40):
        a.actions.create(name=f"Action {i:02}", due_at=MORNING + dt.timedelta(hours=i))
    b = fresh(a.doc.get_update())
    steps = b.actions.loading(step=8)
    next(steps)
    moved = a.actions.update(a.actions.due_on(DAY)[0].id, due_at=MORNING
                             - dt.timedelta(days=1))
    exchange(a, b)                 # a teammate's edit arrives during the read
    for _ in steps:
        pass
    assert agenda(b) == agenda(a)
    assert moved.id in agenda(b, DAY - dt.timedelta(days=1))
    assert answered(b) == expected(b)
    assert rebuilds == []


def test_random_edits_local_and_remote_keep_every_query_true(rebuilds: list[int]):
    rng = random.Random(24)
    a, b = with_categories(replica("member-a", 1)), replica("member-b", 2)
    exchange(a, b)
    made: list[str] = []
    for step in range(300):
        doc = a if rng.random() < 0.6 else b
        held = {x.id for x in doc.actions.list(include_deleted=True)}
        live = [i for i in made if i in {x.id for x in doc.actions.list()}]
        choice = rng.random()
        when = MORNING + dt.timedelta(hours=rng.randrange(-96, 96))
        if choice < 0.3 or not live:
            made.append(doc.actions.create(
                name=rng.choice(["CAF", "RDV", "Audience"]), due_at=when,
                categories=rng.sample(["Santé", "Logement"], rng.randrange(3))).id)
        elif choice < 0.55:
            doc.actions.update(rng.choice(live), due_at=when)
        elif choice < 0.7:
            target = rng.choice(live)
            rng.choice([doc.actions.mark_done, doc.actions.mark_cancelled,
                        doc.actions.reopen])(target)
            doc.actions.update(target,
                               categories=rng.sample(["Santé", "Logement"], rng.randrange(3)))
        elif choice < 0.8:
            target = rng.choice(sorted(held))
            if doc.actions.get(target, include_deleted=True).deleted_at is None:
                doc.actions.delete(target)
            else:
                doc.actions.restore(target)
        elif choice < 0.85:
            doc.actions.erase([rng.choice(sorted(held))])
        else:
            exchange(a, b)
        if step % 7 == 0:
            assert answered(a) == expected(a), step
            assert answered(b) == expected(b), step
    exchange(a, b)
    assert answered(a) == expected(a) == answered(b) == expected(b)
    assert len(rebuilds) <= 2  # at most each replica's first read: the index followed


def test_an_index_told_of_a_mutation_of_a_dict_it_did_not_follow_rebuilds():
    index = ActionIndex()
    doc = replica("member-a", 1)
    action = doc.actions.create(name="CAF", due_at=MORNING)
    records = {action.id: action}
    assert not index.follow(records)            # not empty, never followed: gives up
    index.current(records)                      # so the next query rebuilds it
    assert [a.id for a in index.due_between(*_day_bounds(DAY, DEFAULT_TZ))] == [action.id]
    records.clear()                             # a change it is not told about
    index.current(records)
    assert list(index.due_between(*_day_bounds(DAY, DEFAULT_TZ))) == []


def test_an_action_without_a_time_zone_is_read_as_utc_and_breaks_no_agenda():
    """One record with a zone-less due time (an older client's, a hostile teammate's) made
    every agenda query of the team raise TypeError: it is read as UTC instead."""
    a, b = with_categories(replica("member-a", 1)), replica("member-b", 2)
    odd = a.actions.create(name="Sans fuseau", due_at=MORNING, categories=["Santé"])
    aware = a.actions.create(name="Avec", due_at=MORNING)     # 08:00 UTC, before it
    late = a.actions.create(name="En retard", due_at=MORNING)
    zone_less(a, odd.id, "2026-11-20T09:00:00")  # (this version refuses to write one)
    zone_less(a, late.id, "2026-11-17T09:00:00")
    exchange(a, b)
    for doc in (a, b):
        assert agenda(doc) == [aware.id, odd.id]
        assert ids(doc.actions.overdue(NOW)) == [late.id]
        assert ids(doc.actions.by_category("Santé")) == [odd.id]
        assert ids(doc.actions.by_status("A FAIRE")) == [late.id, aware.id, odd.id]
    zone_less(b, odd.id, "2026-11-21T09:00:00")
    exchange(a, b)
    assert agenda(a) == [aware.id] and agenda(a, DAY + dt.timedelta(days=1)) == [odd.id]


def zone_less(doc: GeneralDocument, action_id: str, due: str) -> None:
    """An action's due time written with no time zone, as an older client or a hostile
    teammate writes it: straight into the document's field, no model in between."""
    with doc.doc.transaction():
        doc.actions._map[action_id]["dueAt"] = due


def test_an_instant_without_a_time_zone_is_refused_at_the_write():
    """This version never writes one: the write is refused with its own code and nothing is
    written; with a zone (any zone) it is taken."""
    doc = replica("member-a", 1)
    with pytest.raises(ValidationError) as refused:
        doc.actions.create(name="Sans fuseau", due_at=dt.datetime(2026, 11, 20, 9))
    assert refused.value.code is Code.NO_TIME_ZONE and refused.value.field == "dueAt"
    assert doc.actions.list() == []
    kept = doc.actions.create(name="Avec", due_at=MORNING)
    with pytest.raises(ValidationError) as refused:
        doc.actions.update(kept.id, completed_at=dt.datetime(2026, 11, 20, 10), status="FAIT")
    assert refused.value.code is Code.NO_TIME_ZONE
    assert doc.actions.get(kept.id).status == "A FAIRE"
    paris = dt.timezone(dt.timedelta(hours=1))
    doc.actions.update(kept.id, due_at=dt.datetime(2026, 11, 21, 9, tzinfo=paris))
    assert agenda(doc, DAY + dt.timedelta(days=1)) == [kept.id]
