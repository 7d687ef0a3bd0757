"""A whole state merged into an empty document (a new device's first snapshot) is merged
without the deep observers (issue 24: their events were a third of a first sync): the change
events and the collections' reads must be what the observed path gives."""

from __future__ import annotations

import datetime as dt

from mano_core.document.team_doc import Origin

from .helpers import domain_state, replica


def test_a_state_into_an_empty_document_tells_every_record_as_the_observed_path() -> None:
    source = replica("m-1", 1)
    people = [source.persons.create(name=f"Personne {i}") for i in range(30)]
    source.comments.create(person=people[0].id, text="Premier passage",
                           date=dt.datetime(2026, 11, 20, 21, 0, tzinfo=dt.timezone.utc))
    source.persons.update(people[3].id, phone="06 00 00 00 03")
    source.persons.delete(people[4].id)
    state = source.encode_state()

    empty = replica("m-2", 2)
    assert empty.doc.get_state() == b"\x00"
    assert empty.apply_remote_groups([[state]]) == {}
    quiet = {e.collection: e.ids for e in empty.take_changes(Origin.REMOTE)}

    observed = replica("m-3", 3)  # not empty: one record of its own, so the observers run
    own = observed.persons.create(name="Déjà là")
    observed.drain_updates()
    observed.take_changes(Origin.LOCAL)
    assert observed.apply_remote_groups([[state]]) == {}
    seen = {e.collection: e.ids for e in observed.take_changes(Origin.REMOTE)}

    assert quiet["persons"] == {p.id for p in people} == seen["persons"]
    assert quiet.keys() == seen.keys()
    assert quiet == seen
    assert own.id not in quiet["persons"]
    assert domain_state(empty) == domain_state(source)
    # the observers are back: a later remote edit is told as before
    source.persons.update(people[5].id, phone="06 00 00 00 05")
    (update,) = source.drain_updates()[-1:]
    empty.apply_remote_groups([[update]])
    later = {e.collection: e.ids for e in empty.take_changes(Origin.REMOTE)}
    assert later["persons"] == {people[5].id}  # (and its history entry)


def test_a_local_edit_after_a_state_merged_into_an_empty_document_is_sent() -> None:
    # The document's own observer is also off while the state is merged (pycrdt would encode
    # the whole state again for it): it must be back, or this device's edits are never sent.
    source = replica("m-1", 1)
    person = source.persons.create(name="Personne 1")
    empty = replica("m-2", 2)
    assert empty.apply_remote_groups([[source.encode_state()]]) == {}
    assert empty.drain_updates() == []  # the state merged is not an edit of this device
    empty.persons.update(person.id, phone="06 00 00 00 01")
    updates = empty.drain_updates()
    assert updates
    for update in updates:
        source.apply_update(update)
    assert source.persons.get(person.id).phone == "06 00 00 00 01"
    assert domain_state(source) == domain_state(empty)
