"""The role screening's index skips indexing an update it has just screened as touching nothing
guarded (issue 24: each teammate's update was read twice, to screen and to index), but only if
nothing was marked in between: an update screened before the guarded item it builds on was
marked (delivered after it in the same delivery, so it waits, parked, and is integrated after
that item) must still be indexed when integrated, or a later write building on it would not be
screened at all."""

from __future__ import annotations

from pycrdt import Doc, Map

from mano_core.rules.touch import NOTHING, GuardedIndex


def _doc(client: int) -> Doc:
    doc: Doc = Doc(client_id=client)
    doc.get("settings", type=Map)
    doc.get("persons", type=Map)
    return doc


def _edit(doc: Doc, key: str, value: str, root: str = "settings") -> bytes:
    before = doc.get_state()
    doc.get(root, type=Map)[key] = value
    return doc.get_update(before)


def test_an_update_screened_before_its_guarded_origin_is_indexed_when_integrated() -> None:
    first, second = _doc(1), _doc(2)
    setting = _edit(first, "features.x", "on")          # a guarded item (client 1)
    second.apply_update(setting)
    overwrite = _edit(second, "features.x", "off")      # builds on it (client 2)
    index = GuardedIndex()
    # Delivered first: its origin is not in the index yet, so nothing guarded is found.
    assert index.touches(overwrite) is NOTHING
    assert index.touches(setting).roots == {"settings"}
    index.observe(setting)                              # screened and integrated
    index.observe(overwrite)                            # integrated after it (was parked)
    assert index.find(2, 0) == ("settings", "features.x")
    # And a third write, building on the overwrite, is screened as touching that key.
    third = _doc(3)
    third.apply_update(setting)
    third.apply_update(overwrite)
    again = _edit(third, "features.x", "maybe")
    assert index.touches(again).settings_keys == {"features.x"}


def test_an_update_touching_nothing_guarded_leaves_the_index_as_a_full_read_would() -> None:
    doc = _doc(5)
    person = _edit(doc, "p-1", "x", root="persons")
    setting = _edit(doc, "features.y", "on")
    skipped, full = GuardedIndex(), GuardedIndex()
    for update in (person, setting):
        skipped.touches(update)
        skipped.observe(update)
        full._observe_structs(update)
    assert skipped._runs.keys() == full._runs.keys()
    for client, runs in full._runs.items():
        mine = skipped._runs[client]
        assert (mine.starts, mine.ends, mine.codes) == (runs.starts, runs.ends, runs.codes)
