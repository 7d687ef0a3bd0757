"""The role screening's index marks every guarded item of a state, whatever the order its
clients are listed in. An update lists its clients one after the other (the highest id first)
and an item is resolved against what is marked when it is read: the value of a ``settings``
key written by a device with a higher client id than the previous writer's names the previous
item (its origin), which is read later. Left unmarked, a teammate's next write of that key,
building on it and carrying no deletion (a hand-made update), was not screened at all."""

from __future__ import annotations

import pytest
from pycrdt import Doc, Map

from mano_core.document.ydeps import MEMO_MAX_UPDATE, read_structs
from mano_core.limits import GUARDED_INDEX_PASSES
from mano_core.rules.touch import GuardedIndex
from tests.document.hostile_states import varuint


def _doc(client: int) -> Doc:
    doc: Doc = Doc(client_id=client)
    doc.get("settings", type=Map)
    doc.get("persons", type=Map)
    return doc


def _without_deletions(update: bytes) -> bytes:
    """``update`` with an empty delete set (as a hostile teammate would write it)."""
    _structs, deletes = read_structs(update)
    by: dict[int, list[tuple[int, int]]] = {}
    for client, clock, length in deletes:
        by.setdefault(client, []).append((clock, length))
    ds = varuint(len(by)) + b"".join(
        varuint(c) + varuint(len(r)) + b"".join(varuint(k) + varuint(n) for k, n in r)
        for c, r in by.items())
    assert update.endswith(ds)
    return update[:-len(ds)] + b"\x00"


def _history(writers: list[int], large: bool) -> tuple[list[bytes], bytes]:
    """Each writer in turn overwrites settings["x"]; (the updates in order, the state)."""
    doc = _doc(writers[0])
    updates: list[bytes] = []
    if large:  # a record big enough for the state to be read the large way
        before = doc.get_state()
        doc["persons"]["p"] = "z" * (MEMO_MAX_UPDATE + 1)
        updates.append(doc.get_update(before))
    for n, client in enumerate(writers):
        writer = _doc(client)
        writer.apply_update(doc.get_update())
        before = writer.get_state()
        writer["settings"]["x"] = str(n)
        update = writer.get_update(before)
        updates.append(update)
        doc.apply_update(update)
    return updates, doc.get_update()


def _attack(state: bytes) -> bytes:
    """A restricted teammate's overwrite of settings["x"] on top of ``state``, no deletion."""
    doc = _doc(5)
    doc.apply_update(state)
    before = doc.get_state()
    doc["settings"]["x"] = "pris"
    return _without_deletions(doc.get_update(before))


@pytest.mark.parametrize("large", [False, True], ids=["small", "large"])
@pytest.mark.parametrize("writers", [
    [10, 1000],                                           # one pass too few before
    list(range(10, 10 + 3 * GUARDED_INDEX_PASSES, 3)),    # more than the extra passes
], ids=["one-step", "long-chain"])
def test_an_overwrite_of_a_settings_key_is_screened_after_an_index_built_from_a_state(
        writers: list[int], large: bool) -> None:
    updates, state = _history(writers, large)
    assert (len(state) > MEMO_MAX_UPDATE) is large
    attack = _attack(state)
    structs, deletes = read_structs(attack)
    assert deletes == [] and len(structs) == 1 and structs[0].parent_root is None

    from_state = GuardedIndex()
    from_state.build(state)
    assert from_state.touches(attack).settings_keys == {"x"}
    # the same marks as the index kept up to date update by update
    step_by_step = GuardedIndex()
    for update in updates:
        step_by_step.observe(update)
    assert step_by_step.touches(attack).settings_keys == {"x"}
    assert {c: (r.starts, r.ends, r.codes) for c, r in from_state._runs.items()} == \
        {c: (r.starts, r.ends, r.codes) for c, r in step_by_step._runs.items()}
    # and the attack does overwrite the key when applied (what the screening is for)
    target = Doc(client_id=3)
    target.apply_update(state)
    target.apply_update(attack)
    assert target.get("settings", type=Map)["x"] == "pris"
