"""A first read's record ids read off the loop (issue 24, mano_core/document/root_keys.py):
read from the stored bytes they are the collections' keys; used by ``Collection.loading`` they
are a hint it checks, so a list missing ids, holding ids the document lacks, or overtaken by
changes between two steps still reads exactly what a read at once reads; and a team reopened
from its store reads its collections without listing their keys when the hint holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mano_core.demo import generate_team
from mano_core.document import pieces
from mano_core.document.collection import Collection
from mano_core.document.compartments import GeneralDocument
from mano_core.document.root_keys import root_keys
from mano_core.ids import Compartment
from mano_core.store import TEST_KDF, LocalStore
from mano_core.team import Team
from mano_core.team_info import doc_name
from tests.reporting.conftest import load_document

from .helpers import by_id, fresh

PASSPHRASE = "une phrase de passe de test"


@pytest.fixture(scope="module")
def state() -> bytes:
    demo = generate_team(seed=7, scale=0.02)
    doc = load_document(demo, GeneralDocument(author=demo.members[0].id))
    return doc.encode_state()


def keys_of(doc: GeneralDocument, name: str) -> set[str]:
    return {str(k) for k in doc.collections[name]._map.keys()}  # noqa: SIM118 - a pycrdt Map


def listing_counted(collection: Collection[Any], monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times ``collection`` lists its Map's keys (one pycrdt call) from now on."""
    calls: list[int] = []
    original = collection._listed

    def counted() -> list[str]:
        calls.append(1)
        return original()

    monkeypatch.setattr(collection, "_listed", counted)
    return calls


def test_the_ids_read_from_the_pieces_are_the_collections_keys(state: bytes) -> None:
    doc = fresh(state)
    first = sorted(keys_of(doc, "comments"))[0]
    doc.comments.rewrite_deleted(first)   # a record written again: a second item of its key
    erased = sorted(keys_of(doc, "persons"))[0]
    doc.persons.erase([erased])           # a key removed for good
    stored = pieces.cut_and_pack(doc.encode_state(), doc.doc.get_state(), 2048)
    assert len(pieces.unpack(stored)[0]) > 3
    found = root_keys(stored, [])
    assert found is not None
    for name in ("persons", "actions", "comments", "encounters"):
        assert set(found[name]) - {erased} == keys_of(doc, name)
        assert len(found[name]) == len(set(found[name]))   # each once
    assert erased in found["persons"]    # listed: the read skips what the document lacks


def test_bytes_that_cannot_be_read_in_bounded_calls_give_no_ids(state: bytes) -> None:
    plain_large = state * (1 + 2 * pieces.PIECE_BYTES // len(state))
    assert root_keys(plain_large, []) is None            # one plain state: not read
    assert root_keys(b"\xff" * 10 + b"mano-pieces-1" + b"\x05", []) is None  # broken framing
    assert root_keys(None, [b"\x07" * 40]) is None         # not an update


@pytest.mark.parametrize("hint", ["exact", "missing", "foreign", "empty"])
def test_a_hinted_read_reads_what_a_read_at_once_reads(state: bytes, hint: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    doc = fresh(state)
    comments = doc.collections["comments"]
    ids = sorted(keys_of(doc, "comments"))
    keys = {"exact": ids, "missing": ids[::2], "foreign": ids + ["pas-un-id", "autre"],
            "empty": []}[hint]
    listed = listing_counted(comments, monkeypatch)
    steps = list(comments.loading(step=7, keys=keys))
    assert comments.loaded and steps == sorted(steps)
    assert by_id(comments.list(include_deleted=True)) == \
        by_id(fresh(state).comments.list(include_deleted=True))
    # The hint is used when it holds, and checked: a hint missing ids lists the keys after all.
    assert len(listed) == (0 if hint in ("exact", "foreign") else 1)


def test_changes_between_two_hinted_steps_are_read(state: bytes,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    doc = fresh(state)
    comments = doc.collections["comments"]
    ids = sorted(keys_of(doc, "comments"))
    listed = listing_counted(comments, monkeypatch)
    steps = comments.loading(step=5, keys=ids)
    next(steps)
    writer = fresh(state)   # a teammate's edits arrive between two steps
    writer.comments.update(ids[-1], text="corrigé entre deux tranches")
    added = writer.comments.create(text="ajouté entre deux tranches",
                                   date="2026-11-02T10:00:00Z",
                                   person=sorted(keys_of(doc, "persons"))[0])
    writer.comments.erase([ids[-2]])
    for update in writer.drain_updates():
        doc.apply_update(update)
    list(steps)
    assert comments.loaded and not listed   # the changes were watched: the hint held
    assert doc.comments.get(ids[-1]).text == "corrigé entre deux tranches"
    assert doc.comments.get(added.id).text == "ajouté entre deux tranches"
    assert ids[-2] not in by_id(doc.comments.list(include_deleted=True))
    assert by_id(doc.comments.list(include_deleted=True)) == \
        by_id(fresh(doc.encode_state()).comments.list(include_deleted=True))


async def test_a_team_reopened_from_its_store_reads_without_listing_keys(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pieces, "PIECE_BYTES", 2048)
    store = await LocalStore.create(tmp_path / "device.mano", PASSPHRASE, kdf=TEST_KDF)
    team = await Team.create(store, name="Maraude", member="member-a")
    for i in range(60):
        await team.persons.create(name=f"Personne {i}", description="x" * 40)
    await team.compact()
    late = await team.persons.create(name="Écrite après la compaction")   # a stored update
    before = by_id(team.persons.list())
    stored = (await store.load_document(doc_name(team.id, Compartment.GENERAL))).snapshot
    assert stored is not None and stored.startswith(pieces.MAGIC)
    listed: list[str] = []
    original = Collection._listed

    def counted(self: Collection[Any]) -> list[str]:
        listed.append(self.name)
        return original(self)

    monkeypatch.setattr(Collection, "_listed", counted)
    reopened = await Team._open(store, team.id)
    await reopened.load()
    assert by_id(reopened.persons.list()) == before and late.id in before
    assert "persons" not in listed and "history" not in listed
    await store.close()
