"""The persons as read, kept between reads (issue 24): a person's change replaces that person
in what is read, not every person. What a reader sees after any sequence of local edits,
teammates' edits, deletions and health values is what a device reading the same state from
scratch sees."""

from __future__ import annotations

import random

from mano_core.document.cascade import follow_persons
from mano_core.document.compartments import GeneralDocument, MedicalDocument


def _docs(author: str) -> tuple[GeneralDocument, MedicalDocument]:
    general = GeneralDocument(author=author)
    medical = MedicalDocument(custom_fields=general.custom_fields.list,
                              settings=general.settings, author=author)
    general.persons.attach_health(medical.health_values)
    follow_persons(medical, general)
    return general, medical


def _sync(src: GeneralDocument | MedicalDocument, dst: GeneralDocument | MedicalDocument) -> None:
    for update in src.drain_updates():
        dst.apply_update(update)


def _read(general: GeneralDocument) -> tuple[dict[str, object], set[str]]:
    """The persons listed, and the ids of those deleted."""
    return ({p.id: p for p in general.persons.list()},
            {p.id for p in general.persons.list(include_deleted=True) if p.deleted})


def _read_from_scratch(general: GeneralDocument,
                       medical: MedicalDocument) -> tuple[dict[str, object], set[str]]:
    fresh, fresh_medical = _docs("reader")
    fresh.apply_update(general.encode_state())
    fresh_medical.apply_update(medical.encode_state())
    return _read(fresh)


def test_a_person_restored_reads_their_health_values_again():
    general, _medical = _docs("a")
    general.custom_fields.create(key="vih", label_text="VIH", type="text", health_only=True)
    person = general.persons.create(name="Personne", custom_fields={"vih": "positif"})
    assert general.persons.get(person.id).custom_fields == {"vih": "positif"}
    general.persons.delete(person.id)  # (Ctrl+Z in the app: restored at once)
    assert general.persons.get(person.id, include_deleted=True).custom_fields == {}
    general.persons.restore(person.id)
    assert general.persons.get(person.id).custom_fields == {"vih": "positif"}
    general.persons.update(person.id, phone="0600000000")
    assert general.persons.get(person.id).custom_fields == {"vih": "positif"}


def test_what_is_read_after_each_change_is_what_a_fresh_read_sees():
    rng = random.Random(7)
    a, am = _docs("a")
    b, bm = _docs("b")
    a.custom_fields.create(key="vih", label_text="VIH", type="text", health_only=True)
    a.custom_fields.create(key="chien", label_text="Chien", type="yes-no")
    ids = [a.persons.create(name=f"P{i}", custom_fields={"vih": f"v{i}"} if i % 2 else {}).id
           for i in range(8)]
    for src, dst in ((a, b), (am, bm)):
        _sync(src, dst)
    assert len(b.persons.list()) == 8  # both devices have read their persons once
    for step in range(80):
        general = a if rng.random() < 0.6 else b
        person = rng.choice([i for i in ids if i in {p.id for p in
                                                    general.persons.list(include_deleted=True)}])
        deleted = general.persons.get(person, include_deleted=True).deleted
        op = rng.randrange(6)
        if op == 0 and not deleted:
            general.persons.update(person, phone=f"06{step:08d}")
        elif op == 1 and not deleted:
            general.persons.update(person, custom_fields={"vih": f"s{step}", "chien": True})
        elif op == 2 and not deleted:
            general.persons.delete(person)
        elif op == 3 and deleted:
            general.persons.restore(person)
        elif op == 4:
            ids.append(general.persons.create(name=f"N{step}",
                                              custom_fields={"vih": f"n{step}"}).id)
        else:
            for src, dst in ((a, b), (am, bm), (b, a), (bm, am)):
                _sync(src, dst)
        # a device that has not received everything yet reads only what it has: compare
        # each with a fresh read of its own state
        for g, m in ((a, am), (b, bm)):
            assert _read(g) == _read_from_scratch(g, m), step
            assert [p.id for p in g.persons.list()] == [
                p.id for p in g.persons.list(include_deleted=True) if not p.deleted]
    for src, dst in ((a, b), (am, bm), (b, a), (bm, am)):
        _sync(src, dst)
    assert _read(a) == _read(b)
    assert len(_read(a)[0]) > 8  # (the draws made and kept some persons)
