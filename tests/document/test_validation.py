"""A validation error names the record, the field and the reason, and changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from mano_core.errors import ValidationError

from .helpers import domain_state, replica

DUE = dt.datetime(2026, 11, 21, 9, tzinfo=dt.timezone.utc)


@pytest.fixture
def doc():
    d = replica("member-a", 1)
    d.custom_fields.create(key="housing", label_text="Hébergement", type="enum",
                           options=["Rue", "Squat", "Hôtel"])
    d.custom_fields.create(key="rsa", label_text="RSA", type="yes-no")
    d.drain_updates()
    return d


@pytest.mark.parametrize(("collection", "fields", "field", "reason"), [
    ("persons", {"name": ""}, "name", "is required"),
    ("persons", {"name": "A", "gender": "Robot"}, "gender", "Invalid enum value"),
    ("persons", {"name": "A", "birthdate": "31/02/1990"}, "birthdate", "date"),
    ("persons", {"name": "A", "out_of_active_list": True}, "outOfActiveListDate", "required"),
    ("persons", {"name": "A", "custom_fields": {"housing": "Château"}}, "customFields.housing",
     "must be among"),
    ("persons", {"name": "A", "custom_fields": {"rsa": "oui"}}, "customFields.rsa", "yes or no"),
    ("persons", {"name": "A", "custom_fields": {"nope": 1}}, "customFields.nope", "no such"),
    ("persons", {"name": "A", "shoe_size": 42}, "shoe_size", "unknown field"),
    ("persons", {"name": "x" * 2000}, "name", "longer than"),
    ("actions", {"name": "RDV", "due_at": DUE, "status": "DONE"}, "status", "enum"),
    ("actions", {"name": "RDV", "due_at": DUE, "status": "FAIT"}, "completedAt", "required"),
    ("actions", {"name": "RDV"}, "dueAt", "required"),
    ("comments", {"text": "Vu ce matin", "date": DUE}, "person", "on a person or on an action"),
    ("observations", {"territory": "t", "observed_at": DUE, "men": -1}, "men", "negative"),
])
def test_invalid_record_is_refused_and_changes_nothing(doc, collection, fields, field, reason):
    before = domain_state(doc)
    with pytest.raises(ValidationError) as info:
        doc.collections[collection].create(**fields)
    err = info.value
    assert err.field == field
    assert reason in err.reason
    assert err.record.startswith(doc.collections[collection].kind.label)
    assert domain_state(doc) == before
    assert doc.drain_updates() == []


def test_invalid_update_changes_nothing(doc):
    person = doc.persons.create(name="Personne S", phone="0600000000")
    doc.drain_updates()
    before = domain_state(doc)
    with pytest.raises(ValidationError) as info:
        doc.persons.update(person.id, name="   ", phone="0700000000")
    assert info.value.field == "name"
    assert person.id in info.value.record
    assert domain_state(doc) == before
    assert doc.drain_updates() == []


def test_done_and_cancelled_get_a_completion_date(doc):
    action = doc.actions.create(name="Domiciliation", due_at=DUE)
    done = doc.actions.mark_done(action.id)
    assert done.status == "FAIT" and done.completed_at is not None
    reopened = doc.actions.reopen(action.id)
    assert reopened.status == "A FAIRE" and reopened.completed_at is None
    cancelled = doc.actions.mark_cancelled(action.id)
    assert cancelled.status == "ANNULEE" and cancelled.completed_at is not None


def test_valid_custom_fields_are_kept(doc):
    person = doc.persons.create(name="Personne Y",
                                custom_fields={"housing": "Squat", "rsa": True})
    assert doc.persons.get(person.id).custom_fields == {"housing": "Squat", "rsa": True}
