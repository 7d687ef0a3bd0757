"""The role screening's index of a team opened from its store is built from the bytes the
document was made of (the stored snapshot's pieces, then the stored updates after it:
mano_core/guarded_build.py), not from ``Doc.get_update()`` (one call holding the UI loop for
seconds at ×10). It must be exactly the index of the state: a missing mark is a teammate's
overwrite of a guarded part that is not screened. States made by several clients, including
the closure case of tests/rules/test_guarded_closure.py (a settings key overwritten by a
device with a higher client id, which names an item listed later), updates after the
snapshot in an order the document had to reorder, and one still waiting for its dependency."""

from __future__ import annotations

from pathlib import Path

import pytest
from pycrdt import Doc, Map

from mano_core import guarded_build
from mano_core.document import pieces
from mano_core.document.ydeps import read_state_vector
from mano_core.guarded_build import GuardedBuild, index_from
from mano_core.ids import Compartment
from mano_core.rules.touch import GuardedIndex
from mano_core.store import TEST_KDF, LocalStore
from mano_core.team import Team

pytestmark = pytest.mark.timeout(60)

PASSPHRASE = "une phrase de passe"


def _marks(index: GuardedIndex) -> dict[int, list[tuple[int, int, object]]]:
    """The index as merged runs (client: [(start, end, code)]), whatever order built it."""
    out: dict[int, list[tuple[int, int, object]]] = {}
    for client, runs in index._runs.items():
        merged: list[tuple[int, int, object]] = []
        for start, end, code in zip(runs.starts, runs.ends, runs.codes, strict=True):
            if merged and merged[-1][1] == start and merged[-1][2] == code:
                merged[-1] = (merged[-1][0], end, code)
            else:
                merged.append((start, end, code))
        if merged:
            out[client] = merged
    return out


def _of_state(state: bytes) -> GuardedIndex:
    index = GuardedIndex()
    index.build(state)
    return index


def _writer(client: int, state: bytes) -> Doc:
    doc: Doc = Doc(client_id=client)
    doc.apply_update(state)
    return doc


def _edit(doc: Doc, change) -> bytes:
    before = doc.get_state()
    change(doc)
    return doc.get_update(before)


async def _team_with_history(path: Path) -> tuple[str, list[bytes]]:
    """A stored team: a snapshot (compacted, in several pieces) of edits by this device and
    teammates of low and high client ids, then updates after it; returns its id and a
    teammate's update held back (never delivered: the last stored one waits for it)."""
    store = await LocalStore.create(path, PASSPHRASE, kdf=TEST_KDF)
    team = await Team.create(store, name="Maraude", member="admin")
    await team.custom_fields.create(key="avant", label_text="Avant", type="text")
    await team.settings.add("actionCategories", "Soins")
    for i in range(40):
        await team.persons.create(name=f"Personne {i}")

    async def remote(update: bytes) -> None:
        await team.apply_remote(Compartment.GENERAL, [update])

    # settings["x"] overwritten by clients 10, then 1000, then 40 (each names the previous
    # writer's item: listed later in a state when its client id is lower)
    for n, client in enumerate((10, 1000, 40)):
        teammate = _writer(client, team.doc.encode_state())
        await remote(_edit(teammate, lambda d, n=n: d.get("settings", type=Map).__setitem__(
            "x", f"v{n}")))
    # a teammate's custom field, inside a record of customFields
    teammate = _writer(500, team.doc.encode_state())
    fields = teammate.get("customFields", type=Map)
    key = sorted(fields.keys())[0]
    await remote(_edit(teammate, lambda d: d.get("customFields", type=Map)[key].__setitem__(
        "label", "Renommé")))
    await team.compact()

    # After the snapshot: an overwrite of "x" by a high client id, one of a lower id on top
    # of it; a chain 7 -> 3 delivered in reverse (the document parks 3's and unparks it);
    # and one of client 9 whose dependency never arrives (it stays parked).
    high = _writer(2000, team.doc.encode_state())
    first = _edit(high, lambda d: d.get("settings", type=Map).__setitem__("x", "haut"))
    await remote(first)
    low = _writer(20, team.doc.encode_state())
    await remote(_edit(low, lambda d: d.get("settings", type=Map).__setitem__("x", "bas")))
    seven = _writer(7, team.doc.encode_state())
    made = _edit(seven, lambda d: d.get("settings", type=Map).__setitem__("y", "sept"))
    three = _writer(3, team.doc.encode_state())
    three.apply_update(made)
    on_top = _edit(three, lambda d: d.get("settings", type=Map).__setitem__("y", "trois"))
    await remote(on_top)   # parked: it names 7's item
    await remote(made)     # then both integrate
    nine = _writer(9, team.doc.encode_state())
    lost = _edit(nine, lambda d: d.get("settings", type=Map).__setitem__("z", "neuf"))
    nine_later = _edit(nine, lambda d: d.get("settings", type=Map).__setitem__("z", "neuf!"))
    await remote(nine_later)   # waits for ``lost``, which never comes
    await team.settings.add("services", "Repas")   # and this device's own edit
    team_id = team.id
    await store.close()
    return team_id, [lost]


@pytest.mark.parametrize("read", ["small", "large"])
@pytest.mark.parametrize("piece_bytes", [2048, None], ids=["pieces", "plain-state"])
async def test_the_index_built_from_the_stored_bytes_is_the_index_of_the_state(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, read: str,
        piece_bytes: int | None) -> None:
    if piece_bytes is not None:   # a snapshot of several pieces (else one: a plain state)
        monkeypatch.setattr(pieces, "PIECE_BYTES", piece_bytes)
    if read == "large":   # each piece read the way a state is (one pass, then the closure)
        monkeypatch.setattr(guarded_build, "MEMO_MAX_UPDATE", 0)
    team_id, (lost,) = await _team_with_history(tmp_path / "d.mano")

    async def no_state(_core: object) -> None:
        raise AssertionError("built from Doc.get_update(): the stored bytes were not used")

    monkeypatch.setattr(GuardedBuild, "_from_state", staticmethod(no_state))
    store = await LocalStore.open(tmp_path / "d.mano", PASSPHRASE)
    team = await Team._open(store, team_id)
    assert team.doc.waiting_updates == 1
    await team.settings.add("services", "Maraude du soir")   # integrated before the build
    team.guarded.start()   # as the app does, then the sync client before its first delivery
    await team.guarded.ready()
    built = team.doc._guarded
    assert built is not None
    state = team.doc.encode_state()
    assert _marks(built) == _marks(_of_state(state))
    # the overwrites of guarded keys are all screened, as the index of the state screens them
    for client, key in ((5, "x"), (6, "y")):
        attacker = _writer(client, state)
        attack = _edit(attacker, lambda d, key=key: d.get("settings", type=Map).__setitem__(
            key, "pris"))
        assert key in built.touches(attack).settings_keys
        assert built.touches(attack) == _of_state(state).touches(attack)
    # what integrates afterwards is observed as before
    await team.apply_remote(Compartment.GENERAL, [lost])
    assert team.doc.waiting_updates == 0
    assert _marks(team.doc._guarded) == _marks(_of_state(team.doc.encode_state()))
    await store.close()


def _stored_pieces(state: bytes) -> list[bytes]:
    cut = pieces.cut(state, 2048)
    assert cut is not None and len(cut) > 2
    return cut


async def test_bytes_that_are_not_the_document_are_not_trusted(tmp_path: Path) -> None:
    """Pieces out of dependency order, an update missing, or a state vector that differs:
    no index from them (the build encodes the state instead)."""
    store = await LocalStore.create(tmp_path / "d.mano", PASSPHRASE, kdf=TEST_KDF)
    team = await Team.create(store, name="Maraude", member="admin")
    for i in range(40):
        await team.persons.create(name=f"Personne {i}")
    await team.settings.add("actionCategories", "Soins")
    teammate = _writer(1000, team.doc.encode_state())
    update = _edit(teammate, lambda d: d.get("settings", type=Map).__setitem__("x", "v"))
    state = team.doc.encode_state()
    await store.close()
    cut = _stored_pieces(state)
    vector = _vector(state, update)
    framed_vector = _encoded(state)
    packed = pieces.pack(cut, framed_vector)
    fine = index_from(packed, [update], frozenset(), vector)
    assert fine is not None
    doc: Doc = Doc()
    doc.apply_update(state)
    doc.apply_update(update)
    assert _marks(fine) == _marks(_of_state(doc.get_update()))
    reordered = pieces.pack([cut[1], cut[0], *cut[2:]], framed_vector)
    assert index_from(reordered, [update], frozenset(), vector) is None
    assert index_from(packed, [], frozenset(), vector) is None           # an update left out
    assert index_from(packed, [update], frozenset({id(update)}), vector) is None
    assert index_from(packed, [update], frozenset(), {**vector, 1000: 0}) is None


def _vector(*updates: bytes) -> dict[int, int]:
    return read_state_vector(_encoded(*updates))


def _encoded(*updates: bytes) -> bytes:
    doc: Doc = Doc()
    for u in updates:
        doc.apply_update(u)
    return doc.get_state()
