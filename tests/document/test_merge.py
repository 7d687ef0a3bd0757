"""Merge semantics users expect when two workers edit the same team at once."""

from __future__ import annotations

import datetime as dt

import pytest

from mano_core.document.compartments import GeneralDocument
from mano_core.document.team_doc import Origin
from mano_core.errors import NotFoundError

from .helpers import domain_state, exchange, replica


@pytest.fixture
def pair() -> tuple[GeneralDocument, GeneralDocument]:
    a, b = replica("member-a", 1), replica("member-b", 2)
    return a, b


def test_different_fields_of_the_same_person_both_win(pair):
    a, b = pair
    person = a.persons.create(name="Personne J")
    exchange(a, b)
    a.persons.update(person.id, phone="06 12 34 56 78")
    b.persons.update(person.id, description="Blouson rouge, chien noir")
    exchange(a, b)
    for doc in (a, b):
        merged = doc.persons.get(person.id)
        assert merged.phone == "06 12 34 56 78"
        assert merged.description == "Blouson rouge, chien noir"


def test_same_field_converges_to_one_value_everywhere(pair):
    a, b = pair
    c = replica("member-c", 3)
    person = a.persons.create(name="Personne M")
    exchange(a, b, c)
    a.persons.update(person.id, phone="0611111111")
    b.persons.update(person.id, phone="0622222222")
    exchange(a, b, c)
    values = {d.persons.get(person.id).phone for d in (a, b, c)}
    assert len(values) == 1
    assert values <= {"0611111111", "0622222222"}


def test_concurrent_comments_are_all_kept(pair):
    a, b = pair
    person = a.persons.create(name="Personne V")
    exchange(a, b)
    now = dt.datetime(2026, 11, 20, 10, tzinfo=dt.timezone.utc)
    a.comments.create(text="Pansement refait", person=person.id, date=now)
    b.comments.create(text="Audience le 12, l'accompagner", person=person.id, date=now,
                      urgent=True)
    exchange(a, b)
    for doc in (a, b):
        texts = sorted(c.text for c in doc.comments.of_person(person.id))
        assert texts == ["Audience le 12, l'accompagner", "Pansement refait"]


def test_concurrent_list_additions_are_all_kept(pair):
    a, b = pair
    person = a.persons.create(name="Personne H", other_names=["Jeannot"])
    exchange(a, b)
    a.persons.update(person.id, other_names=["Jeannot", "Le Grand"])
    b.persons.update(person.id, other_names=["Jeannot", "JP"])
    a.settings.add("actionCategories", "Santé")
    b.settings.add("actionCategories", "Hébergement")
    exchange(a, b)
    for doc in (a, b):
        assert sorted(doc.persons.get(person.id).other_names) == ["JP", "Jeannot", "Le Grand"]
        assert sorted(doc.settings.values("actionCategories")) == ["Hébergement", "Santé"]


def test_concurrent_history_entries_are_all_kept(pair):
    a, b = pair
    person = a.persons.create(name="Personne Q")
    exchange(a, b)
    a.persons.update(person.id, phone="0600000000")
    b.persons.update(person.id, alertness=True)
    exchange(a, b)
    for doc in (a, b):
        changes = {(h.field, h.author) for h in doc.history.of_record(person.id)}
        assert ("phone", "member-a") in changes
        assert ("alertness", "member-b") in changes


def test_service_counters_incremented_concurrently_add_up(pair):
    a, b = pair
    night = a.subteams.create(name="Maraude de nuit", night_session=True)
    report = a.reports.create(team=night.id, date=dt.date(2026, 11, 20))
    exchange(a, b)
    for _ in range(3):
        a.reports.increment(report.id, "services", "Repas")
    b.reports.increment(report.id, "services", "Repas", 5)
    b.reports.increment(report.id, "services", "Douches", 2)
    exchange(a, b)
    for doc in (a, b):
        assert doc.reports.get(report.id).services == {"Repas": 8, "Douches": 2}


def test_deletion_is_a_tombstone_that_syncs(pair):
    a, b = pair
    action = a.actions.create(name="RDV CAF", due_at=dt.datetime(2026, 11, 21, 9,
                                                                  tzinfo=dt.timezone.utc))
    exchange(a, b)
    a.actions.delete(action.id)
    exchange(a, b)
    with pytest.raises(NotFoundError):
        b.actions.get(action.id)
    assert b.actions.get(action.id, include_deleted=True).deleted_at is not None
    assert action.id not in {x.id for x in b.actions.list()}


def test_updates_in_any_order_and_duplicated_converge(pair):
    a, b = pair
    person = a.persons.create(name="Personne R")
    a.persons.update(person.id, phone="0700000000")
    a.persons.update(person.id, alertness=True)
    updates = a.drain_updates()
    for u in reversed(updates + updates):
        b.apply_update(u)
    assert domain_state(a) == domain_state(b)


def test_change_events_tell_local_from_remote(pair):
    a, b = pair
    person = a.persons.create(name="Personne G")
    local = a.take_changes(Origin.LOCAL)
    assert any(e.collection == "persons" and person.id in e.ids for e in local)
    exchange(a, b)
    remote = b.take_changes(Origin.REMOTE)
    assert next(e for e in remote if e.collection == "persons").ids == {person.id}
    assert all(e.origin is Origin.REMOTE for e in remote)
