"""A collection's derived indexes (``Collection.derive``, mano_core.document.collection): an
index is told of every record decoded into the collection's cache or dropped from it, so a
mirror of the cache kept by ``put`` alone is the cache after a local edit, a teammate's
change, a delete, a restore, an erasure and a first read in slices, without ever being
rebuilt."""

from __future__ import annotations

import random

from mano_core.document.collection import DerivedIndex
from mano_core.document.compartments import GeneralDocument
from mano_core.model.records import Comment

from .helpers import T0, exchange, fresh, replica


class Mirror:
    """The simplest derived index: a copy of the dict it follows, kept by ``put`` alone."""

    def __init__(self) -> None:
        self.source: dict[str, Comment] | None = None
        self.copy: dict[str, Comment] = {}
        self.gave_up = 0
        self.puts = 0

    def follow(self, target: dict[str, Comment]) -> bool:
        self.copy.clear()
        if target:
            self.source = None
            self.gave_up += 1
            return False
        self.source = target
        return True

    def put(self, record_id: str, record: Comment | None) -> None:
        self.puts += 1
        if record is None:
            self.copy.pop(record_id, None)
        else:
            self.copy[record_id] = record


def mirrored(doc: GeneralDocument) -> Mirror:
    mirror = Mirror()
    index: DerivedIndex[Comment] = mirror   # (the protocol, checked by mypy)
    doc.comments.derive(index)
    return mirror


def assert_mirrors(doc: GeneralDocument, mirror: Mirror) -> None:
    cache = doc.comments._records()   # (reads what changed: the index is told then)
    assert mirror.source is cache or not cache   # (nothing decoded yet: nothing told)
    assert mirror.copy == cache
    assert mirror.gave_up == 0


def test_a_mirror_follows_edits_deletes_restores_and_erasures():
    doc = replica("member-a", 1)
    mirror = mirrored(doc)
    person = doc.persons.create(name="Marie")
    first = doc.comments.create(person=person.id, date=T0, text="Vue au centre")
    assert_mirrors(doc, mirror)
    doc.comments.update(first.id, text="Vue au centre, va mieux")
    second = doc.comments.create(person=person.id, date=T0, text="Rappeler la CAF")
    assert_mirrors(doc, mirror)
    assert mirror.copy[first.id].text == "Vue au centre, va mieux"
    doc.comments.delete(first.id)
    assert_mirrors(doc, mirror)
    doc.comments.restore(first.id)
    assert_mirrors(doc, mirror)
    told = mirror.puts
    assert doc.comments.erase([second.id]) == [second.id]   # the key leaves the Map
    assert_mirrors(doc, mirror)
    assert second.id not in mirror.copy and mirror.puts > told


def test_a_mirror_follows_a_teammates_changes_and_a_read_in_slices():
    a = replica("member-a", 1)
    person = a.persons.create(name="Marie")
    made = [a.comments.create(person=person.id, date=T0, text=f"Note {i:02}").id for i in range(40)]
    b = fresh(a.doc.get_update())
    b_mirror = mirrored(b)
    steps = b.comments.loading(step=8)
    next(steps)
    a.comments.update(made[30], text="Changée pendant la lecture")
    a.comments.delete(made[3])
    exchange(a, b)                          # a teammate's edit arrives during the read
    for _ in steps:
        pass
    assert_mirrors(b, b_mirror)
    assert b_mirror.copy[made[30]].text == "Changée pendant la lecture"
    assert b.comments.get(made[3], include_deleted=True).deleted_at is not None
    a.comments.erase([made[5]])
    exchange(a, b)
    assert_mirrors(b, b_mirror)
    assert made[5] not in b_mirror.copy


def test_random_steps_keep_the_mirror_the_cache():
    rng = random.Random(13)
    a, b = replica("member-a", 1), replica("member-b", 2)
    mirrors = {id(a): mirrored(a), id(b): mirrored(b)}
    person = a.persons.create(name="Marie")
    exchange(a, b)
    for step in range(200):
        doc = a if rng.random() < 0.6 else b
        held = sorted(c.id for c in doc.comments.list(include_deleted=True))
        choice = rng.random()
        if choice < 0.35 or not held:
            doc.comments.create(person=person.id, date=T0, text=f"Note {step}")
        elif choice < 0.6:
            target = rng.choice(held)
            if doc.comments.get(target, include_deleted=True).deleted_at is None:
                doc.comments.update(target, text=f"Changée {step}")
        elif choice < 0.75:
            target = rng.choice(held)
            if doc.comments.get(target, include_deleted=True).deleted_at is None:
                doc.comments.delete(target)
            else:
                doc.comments.restore(target)
        elif choice < 0.85:
            doc.comments.erase([rng.choice(held)])
        else:
            exchange(a, b)
        if step % 5 == 0:
            assert_mirrors(a, mirrors[id(a)])
            assert_mirrors(b, mirrors[id(b)])
    exchange(a, b)
    assert_mirrors(a, mirrors[id(a)])
    assert_mirrors(b, mirrors[id(b)])
    assert mirrors[id(a)].copy == mirrors[id(b)].copy


def test_an_index_derived_after_the_read_gives_up_rather_than_mirror_a_part():
    doc = replica("member-a", 1)
    person = doc.persons.create(name="Marie")
    note = doc.comments.create(person=person.id, date=T0, text="Vue")
    doc.comments.create(person=person.id, date=T0, text="Rappeler")
    doc.comments.list()                      # read: the cache is not empty any more
    mirror = mirrored(doc)
    doc.comments.update(note.id, text="Vue, va mieux")
    doc.comments.list()
    assert mirror.source is None and mirror.gave_up == 1 and mirror.copy == {}
