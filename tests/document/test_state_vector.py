"""The state vector a document keeps from what its merges integrated (``DocumentCore.
state_vector``, issue 24: each delivery read pycrdt's encoding of it back) is the document's
own, whatever came: deliveries in any order (updates parked, then following), refused
envelopes, updates with holes (Skip structs), single updates, local edits in between."""

from __future__ import annotations

import random

import pytest
from pycrdt import Doc, Map, merge_updates

from mano_core.document import merge_run, ydeps
from mano_core.document.compartments import GeneralDocument
from mano_core.document.ydeps import read_state_vector
from mano_core.model.records import Person


def teammates_updates(steps: int, rng: random.Random) -> list[bytes]:
    """Three teammates' updates, each made on a document holding the others' so far."""
    docs = [Doc(client_id=2000 + i) for i in range(3)]
    out: list[bytes] = []
    local: list[Doc | None] = [None]
    for doc in docs:
        doc.observe(lambda event, doc=doc: out.append(event.update)
                    if local[0] is doc else None)
    for step in range(steps):
        doc = docs[rng.randrange(3)]
        persons = doc.get("persons", type=Map)
        start = len(out)
        local[0] = doc
        with doc.transaction():
            key = f"p-{rng.randrange(12)}"
            if key in persons and rng.random() < 0.6:
                persons[key]["_"]["name"] = f"N{step}"
            elif key in persons and rng.random() < 0.3:
                del persons[key]
            else:
                persons[key] = Map({"_": {"id": key, "name": f"N{step}"}})
        local[0] = None
        for update in out[start:]:
            for other in docs:
                if other is not doc:
                    other.apply_update(update)
    return out


def real(doc: GeneralDocument) -> dict[int, int]:
    return read_state_vector(doc.doc.get_state())


@pytest.mark.parametrize("combining", [True, False])
@pytest.mark.parametrize("seed", range(12))
def test_the_kept_state_vector_is_the_documents(seed: int, combining: bool,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    if combining and not ydeps.combining():
        pytest.skip("the compiled module is not built")
    monkeypatch.setattr(merge_run.ydeps, "combining", lambda: combining)
    rng = random.Random(seed)
    updates = teammates_updates(60, rng)
    reference = Doc()
    for update in updates:
        reference.apply_update(update)
    # Every update comes at least once, most in order (the runs merged as one), some late
    # (parked until what they follow comes), a few twice, some inside an update with a hole.
    order = list(updates)
    for _ in range(8):
        i, j = rng.randrange(len(order)), rng.randrange(len(order))
        order[i], order[j] = order[j], order[i]
    order += rng.sample(updates, 5)
    doc = GeneralDocument(author="reader")
    doc.guarded_index()
    kept = 0
    at = 0
    while at < len(order):
        size = rng.randrange(1, 12)
        groups = [[update] for update in order[at:at + size]]
        roll, where = rng.random(), rng.randrange(len(groups))
        if roll < 0.2:  # an envelope refused (malformed), the delivery's others merged
            groups.insert(where, [groups[where][0][: len(groups[where][0]) // 2]])
        elif roll < 0.4 and at + size < len(order):  # a hole: what lies between comes later
            later = order[rng.randrange(at + size, len(order))]
            groups.insert(where, [merge_updates(groups[where][0], later)])
        at += size
        choice = rng.random()
        if choice < 0.15 and len(groups) == 1:
            doc.apply_update(groups[0][0])
        else:
            with ydeps.parse_scope():
                refused = doc.apply_remote_groups(groups, capture=rng.random() < 0.5)
            if not refused:
                assert doc._vector is not None and doc._vector[0] == doc.revision
                kept += 1
        assert doc.state_vector() == real(doc)
        if choice > 0.9:  # a local edit in between: the vector is read again after it
            doc.collection(Person).create(name=f"local {at}")
            assert doc.state_vector() == real(doc)
    assert kept > 0  # (the kept vector was what was compared)
    assert doc.waiting_updates == 0  # everything parked followed in the end
    for client, clock in read_state_vector(reference.get_state()).items():
        assert doc.state_vector()[client] == clock


def test_an_update_with_a_hole_waits_until_the_document_fills_it() -> None:
    """pycrdt keeps what follows a Skip it cannot fill in its own pending buffer (out of the
    stored row, and of the kept vector); such an update is parked until the hole is filled."""
    source = Doc(client_id=77)
    persons = source.get("persons", type=Map)
    updates: list[bytes] = []
    source.observe(lambda event: updates.append(event.update))
    for i in range(3):
        persons[f"p-{i}"] = Map({"_": {"id": f"p-{i}", "name": f"N{i}"}})
    holed = merge_updates(updates[0], updates[2])
    doc = GeneralDocument(author="reader")
    with ydeps.parse_scope():
        doc.apply_remote_groups([[holed]])
    assert doc.waiting_updates == 1
    assert doc.state_vector() == real(doc) == {}
    with ydeps.parse_scope():
        doc.apply_remote_groups([[updates[0]], [updates[1]]])
    assert doc.waiting_updates == 0
    assert doc.state_vector() == real(doc) == read_state_vector(source.get_state())
    assert set(doc.doc.get("persons", type=Map).keys()) == {"p-0", "p-1", "p-2"}
