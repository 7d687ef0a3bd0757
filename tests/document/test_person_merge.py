"""Merging two persons (fusion de doublons) on one device: field choices, every linked record
re-pointed, both histories kept, the medical part, and the follow-up of edits made on the
merged file by a teammate who had not seen the merge (two documents exchanging updates)."""

from __future__ import annotations

import datetime as dt

import pytest

from mano_core.document.cascade import follow_persons
from mano_core.document.person_merge import (
    follow_merges,
    medical_conflicts,
    merge,
    propose,
    resolve_medical_conflict,
)
from mano_core.document.compartments import GeneralDocument, MedicalDocument
from mano_core.errors import NotFoundError, PermissionDeniedError, ValidationError
from mano_core.model.records import PersonMerge
from mano_core.store import TEST_KDF, LocalStore
from mano_core.team import Team

PASS = "une phrase de passe"
WHEN = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)


@pytest.fixture
async def team(tmp_path):
    async with await LocalStore.create(tmp_path / "d.mano", PASS, kdf=TEST_KDF) as store:
        yield await Team.create(store, name="Maraude", member="m-1")


async def _two(team: Team):
    await team.settings.add("consultationTypes", "Médicale")
    await team.custom_fields.create(key="chien", label_text="Chien", type="yes-no")
    await team.custom_fields.create(key="vih", label_text="VIH", type="text",
                                    health_only=True)
    await team.custom_fields.create(scope="medicalFile", key="secu", label_text="N° sécu",
                                    type="text")
    await team.custom_fields.create(scope="medicalFile", key="medecin", label_text="Médecin",
                                    type="text")
    kept = await team.persons.create(name="Personne A", other_names=["Alias A"],
                                     phone="0600000001", custom_fields={"chien": True})
    dup = await team.persons.create(name="Personne A bis", other_names=["Alias B"],
                                    email="a@example.org", phone="0600000002",
                                    birthdate=dt.date(1980, 1, 2),
                                    custom_fields={"vih": "x-dup"})
    return kept, dup


async def test_merge_repoints_every_linked_record_and_keeps_both_histories(team):
    kept, dup = await _two(team)
    other = await team.persons.create(name="Personne C")
    await team.persons.update(dup.id, description="grand, barbe")
    action = await team.actions.create(name="RDV", due_at=WHEN, persons=[dup.id, other.id])
    shared = await team.actions.create(name="Tous deux", due_at=WHEN,
                                       persons=[dup.id, kept.id])
    comment = await team.comments.create(text="vu ce matin", person=dup.id, date=WHEN)
    passage = await team.passages.create(person=dup.id, date=WHEN)
    encounter = await team.encounters.create(person=dup.id, date=WHEN)
    place = await team.places.create(name="Gare")
    place2 = await team.places.create(name="Parc")
    await team.person_places.create(person=dup.id, place=place.id)
    await team.person_places.create(person=kept.id, place=place.id)
    link2 = await team.person_places.create(person=dup.id, place=place2.id)
    group = await team.groups.create(persons=[dup.id, other.id, kept.id], relations=[
        f"{dup.id}|{other.id}|frère", f"{dup.id}|{kept.id}|doublon"])
    consultation = await team.medical.consultations.create(person=dup.id, type="Médicale",
                                                           due_at=WHEN)
    treatment = await team.medical.treatments.create(person=dup.id, name="Paracétamol")
    note = await team.medical.comments.create(person=dup.id, text="note", date=WHEN)
    await team.medical.medical_files.create(person=kept.id, custom_fields={"secu": "1"})
    await team.medical.medical_files.create(person=dup.id, custom_fields={
        "secu": "2", "medecin": "Dr X"})

    proposal = team.merges.propose(kept.id, dup.id)
    assert proposal.choice("phone").default == "kept" and proposal.choice("phone").differs
    assert proposal.choice("email").default == "merged"
    assert proposal.choice("otherNames").default == "both"
    assert proposal.choice("customFields.vih").medical
    assert proposal.choice("medicalFile.secu").differs

    record = await team.merges.merge(kept.id, dup.id, {"phone": "merged",
                                                       "medicalFile.secu": "merged"})
    person = team.persons.get(kept.id)
    assert person.name == "Personne A"
    assert person.phone == "0600000002" and person.email == "a@example.org"
    assert person.birthdate == dt.date(1980, 1, 2)
    assert person.other_names == ["Alias A", "Alias B", "Personne A bis"]
    assert person.description == "grand, barbe"
    assert person.custom_fields == {"chien": True, "vih": "x-dup"}
    with pytest.raises(NotFoundError):
        team.persons.get(dup.id)  # tombstoned
    assert team.merges.merged_into(dup.id) == kept.id
    assert set(team.actions.get(action.id).persons) == {kept.id, other.id}
    assert team.actions.get(shared.id).persons == [kept.id]
    assert team.comments.get(comment.id).person == kept.id
    assert team.passages.get(passage.id).person == kept.id
    assert team.encounters.get(encounter.id).person == kept.id
    links = {(link.person, link.place) for link in team.person_places.list()}
    assert links == {(kept.id, place.id), (kept.id, place2.id)}
    assert team.person_places.get(link2.id).person == kept.id
    g = team.groups.get(group.id)
    assert set(g.persons) == {kept.id, other.id}
    assert g.relations == [f"{kept.id}|{other.id}|frère"]  # the link between the two: gone
    m = team.medical
    assert m.consultations.get(consultation.id).person == kept.id
    assert m.treatments.get(treatment.id).person == kept.id
    assert m.comments.get(note.id).person == kept.id
    (file,) = m.medical_files.list()
    assert file.person == kept.id and file.custom_fields == {"secu": "2", "medecin": "Dr X"}
    assert m.medical_files.of_person(kept.id) == file and m.medical_files.of_person(dup.id) is None
    fields = {h.field for h in team.history_of(kept.id)}
    assert {"description", "mergedFrom", "mergedInto", "phone"} <= fields
    assert record.kept == kept.id and team.merges.medical_conflicts() == []


async def test_choices_are_checked_before_anything_is_written(team):
    kept, dup = await _two(team)
    with pytest.raises(ValidationError):
        await team.merges.merge(kept.id, dup.id, {"nope": "kept"})
    with pytest.raises(ValidationError):
        await team.merges.merge(kept.id, dup.id, {"phone": "both"})
    with pytest.raises(ValidationError):
        await team.merges.merge(kept.id, kept.id)
    assert team.persons.get(dup.id).name == "Personne A bis"
    assert team.merges.list() == []


def _docs():
    general = GeneralDocument(author="a")
    medical = MedicalDocument(custom_fields=general.custom_fields.list,
                              settings=general.settings, author="a")

    general.persons.attach_health(medical.health_values)
    follow_persons(medical, general)
    return general, medical


def _sync(src, dst):
    for update in src.drain_updates():
        dst.apply_update(update)


def test_an_edit_made_meanwhile_on_the_merged_file_lands_on_the_kept_one():
    a, am = _docs()
    b, bm = _docs()
    a.custom_fields.create(key="vih", label_text="VIH", type="text", health_only=True)
    a.settings.add("consultationTypes", "Médicale")
    kept = a.persons.create(name="K")
    dup = a.persons.create(name="D", phone="1", custom_fields={"vih": "old"})
    _sync(a, b)
    _sync(am, bm)
    # B has not seen the merge: it edits the duplicate, comments on it, adds an alias
    b.persons.update(dup.id, phone="2", other_names=["Nouveau"],
                     custom_fields={"vih": "new"})
    comment = b.comments.create(text="vu", person=dup.id, date=WHEN)
    consultation = bm.consultations.create(person=dup.id, type="Médicale", due_at=WHEN)
    merge(a, am, kept.id, dup.id)
    _sync(a, b)
    _sync(am, bm)
    _sync(b, a)
    _sync(bm, am)
    for general, medical in ((a, am), (b, bm)):
        follow_merges(general, medical)
    _sync(a, b)
    _sync(b, a)
    _sync(am, bm)
    _sync(bm, am)
    for general, medical in ((a, am), (b, bm)):
        person = general.persons.get(kept.id)
        assert person.phone == "2" and "Nouveau" in person.other_names
        assert person.custom_fields == {"vih": "new"}
        assert general.comments.get(comment.id).person == kept.id
        assert medical.consultations.get(consultation.id).person == kept.id
        with pytest.raises(NotFoundError):
            general.persons.get(dup.id)
    # carried once: a later edit of the kept file is not overwritten by the next follow-up
    a.persons.update(kept.id, phone="3")
    assert follow_merges(a, am) == 0
    assert a.persons.get(kept.id).phone == "3"


def test_a_merge_without_medical_keys_leaves_medical_choices_to_a_health_device():
    a, am = _docs()
    plain = GeneralDocument(author="b")  # a device without the medical compartment
    a.custom_fields.create(key="vih", label_text="VIH", type="text", health_only=True)
    kept = a.persons.create(name="K", custom_fields={"vih": "k"})
    dup = a.persons.create(name="D", custom_fields={"vih": "d"})
    _sync(a, plain)
    assert "customFields.vih" not in {c.field for c in propose(plain, None, kept.id,
                                                               dup.id).fields}
    with pytest.raises(PermissionDeniedError):
        merge(plain, None, kept.id, dup.id, {"customFields.vih": "merged"})
    merge(plain, None, kept.id, dup.id)
    _sync(plain, a)
    follow_merges(a, am)
    (conflict,) = medical_conflicts(a, am)
    assert (conflict.field, conflict.kept, conflict.merged) == ("customFields.vih", "k", "d")
    resolve_medical_conflict(a, am, conflict.merge, conflict.field, "merged")
    assert a.persons.get(kept.id).custom_fields == {"vih": "d"}
    assert medical_conflicts(a, am) == []
    assert len(am.collection(PersonMerge).list()) == 1


def test_two_medical_files_created_at_once_fold_into_one():
    a, am = _docs()
    b, bm = _docs()
    for key in ("secu", "medecin"):
        a.custom_fields.create(scope="medicalFile", key=key, label_text=key, type="text")
    person = a.persons.create(name="P")
    _sync(a, b)
    am.medical_files.create(person=person.id, custom_fields={"secu": "1"})
    bm.medical_files.create(person=person.id, custom_fields={"medecin": "Dr Y"})
    with pytest.raises(ValidationError):
        am.medical_files.create(person=person.id)
    _sync(am, bm)
    _sync(bm, am)
    for general, medical in ((a, am), (b, bm)):
        follow_merges(general, medical)
    _sync(am, bm)
    _sync(bm, am)
    for medical in (am, bm):
        (file,) = medical.medical_files.list()
        assert file.custom_fields == {"secu": "1", "medecin": "Dr Y"}


async def test_erasing_the_kept_person_erases_the_file_merged_into_it(team):
    kept, dup = await _two(team)
    await team.merges.merge(kept.id, dup.id)
    await team.erasures.erase([kept.id])
    for person_id in (kept.id, dup.id):
        with pytest.raises(NotFoundError):
            team.persons.get(person_id, include_deleted=True)
    assert team.doc.collection(PersonMerge).list(include_deleted=True) == []
    assert team.medical_doc.collection(PersonMerge).list(include_deleted=True) == []
    assert team.history_of(kept.id) == [] and team.history.of_record(dup.id) == []
