"""The role screening's answers for updates touching nothing guarded (``GuardedIndex._far``
from the update's Refs without its structs, and ``GuardedIndex._plain``'s one loop, issue 24)
are the exact walk's: random teammates' edits (guarded and
plain roots, overwrites of each other's keys, deletions, nested records) screened with it and
with the walk alone give the same Touch, and the index they leave is the same. It fails if the
loop skips a check the walk makes (a deletion of a guarded item, a record inside a guarded
map, an overwrite of a guarded key)."""

from __future__ import annotations

import random

import pytest
from pycrdt import Doc, Map

from mano_core.rules.touch import NOTHING, GuardedIndex

ROOTS = ("settings", "customFields", "subteams", "persons", "actions")


def _edits(seed: int) -> list[bytes]:
    """A delivery's updates (each edit's own transaction update, as a device sends it), in
    the order three writers made them; each sees the others' work, so they overwrite and
    delete each other's items."""
    rng = random.Random(seed)
    docs = [Doc(client_id=10 + i) for i in range(3)]
    made: list[list[bytes]] = [[] for _ in docs]
    for doc, mine in zip(docs, made):
        for root in ROOTS:
            doc.get(root, type=Map)
        doc.observe(lambda event, mine=mine: mine.append(event.update))
    out: list[bytes] = []
    for _ in range(60):
        w = rng.randrange(len(docs))
        doc = docs[w]
        root = doc.get(rng.choice(ROOTS), type=Map)
        key = f"k{rng.randrange(4)}"
        move = rng.random()
        made[w].clear()
        if move < 0.2 and key in root:
            del root[key]
        elif move < 0.45 and key in root and isinstance(root[key], Map):
            root[key][f"f{rng.randrange(3)}"] = rng.randrange(100)  # inside a record
        elif move < 0.7:
            root[key] = Map({"_": {"v": rng.randrange(100)}})
        else:
            root[key] = rng.randrange(100)
        if not made[w]:
            continue
        update = made[w][0]
        out.append(update)
        for i, other in enumerate(docs):
            if i != w:
                other.apply_update(update)
    return out


def _screen_all(index: GuardedIndex, updates: list[bytes]) -> list[object]:
    found = []
    for update in updates:
        touch = index.touches(update)
        found.append(touch)
        index.observe(update)
    return found


@pytest.mark.parametrize("seed", range(12))
def test_the_one_loop_answer_is_the_walks(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    updates = _edits(seed)
    fast = _screen_all(GuardedIndex(), updates)
    real_far = GuardedIndex._far
    far_said: list[bool] = []

    def far(index: GuardedIndex, *a: object) -> bool:
        said = real_far(index, *a)  # type: ignore[arg-type]
        far_said.append(said)
        return said

    monkeypatch.setattr(GuardedIndex, "_plain", lambda *_a: False)
    monkeypatch.setattr(GuardedIndex, "_far", far)
    far_only = _screen_all(GuardedIndex(), updates)  # the Refs' answer, else the walk
    monkeypatch.setattr(GuardedIndex, "_far", lambda *_a: False)
    walk = _screen_all(GuardedIndex(), updates)
    assert fast == walk
    assert far_only == walk
    assert any(far_said) and not all(far_said)
    assert any(t is not NOTHING for t in walk) and any(t == NOTHING for t in walk)
    assert any(t is not NOTHING and t.roots == {"settings"} for t in walk)


def test_a_deletion_of_a_guarded_item_is_not_plain() -> None:
    doc = Doc(client_id=3)
    settings = doc.get("settings", type=Map)
    before = doc.get_state()
    settings["features.x"] = "on"
    created = doc.get_update(before)
    before = doc.get_state()
    del settings["features.x"]
    removal = doc.get_update(before)
    index = GuardedIndex()
    index.observe(created)
    assert index.touches(removal).settings_keys == {"features.x"}
