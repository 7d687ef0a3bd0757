"""A stored snapshot in pieces (issue 24, mano_core/document/pieces.py): the pieces rebuild the
same document as the state they were cut from, whatever its clients, nesting and deletions;
a team compacted in pieces reopens with the same records; a broken stored form is refused with
a specific error; local edits committed while compaction cuts the state are kept; and opening
applies the pieces with the event loop running between them (counted, never timed)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest
from pycrdt import Array, Doc, Map, Text

from mano_core.document import pieces
from mano_core.document.ydeps import read_deps, read_state_vector
from mano_core.errors import MalformedUpdateError, StoreCorruptedError
from mano_core.store import TEST_KDF, LocalStore
from mano_core.team import Team
from mano_core.team_info import doc_name
from mano_core.ids import Compartment

from .helpers import domain_state, exchange, replica

PASSPHRASE = "une phrase de passe de test"


def content(doc: Doc[Any]) -> dict[str, Any]:
    """Every root's content (never compare encoded bytes: they are not canonical)."""
    out: dict[str, Any] = {}
    for name in ("m", "a", "t"):
        kind = {"m": Map, "a": Array, "t": Text}[name]
        value = doc.get(name, type=kind)
        out[name] = str(value) if kind is Text else value.to_py()
    return out


def three_clients() -> Doc[Any]:
    """A document written by three clients editing each other's values: nested maps and
    arrays, text, overwrites and deletions, updates exchanged in rounds."""
    docs: list[Doc[Any]] = [Doc(client_id=c) for c in (7, 3, 11)]

    def sync() -> None:
        for a in docs:
            for b in docs:
                if a is not b:
                    b.apply_update(a.get_update(b.get_state()))

    for round_ in range(12):
        for i, d in enumerate(docs):
            m, arr, t = d.get("m", type=Map), d.get("a", type=Array), d.get("t", type=Text)
            with d.transaction():
                m[f"k{round_}-{i}"] = Map({"n": round_, "s": "é" * (round_ + i), "l": [1, 2]})
                arr.append(f"{round_}/{i}")
                t.insert(len(str(t)), f"[{round_}{i}]")
                if round_ % 3 == 2 and len(arr) > 2:
                    del arr[0]
                    m.pop(f"k{round_ - 1}-{(i + 1) % 3}", None)
                    del t[0:2]
                if round_ > 0:
                    inner = m.get(f"k{round_ - 1}-{(i + 2) % 3}")
                    if isinstance(inner, Map):
                        inner["n"] = -round_  # an overwrite of a teammate's nested value
        sync()
    return docs[0]


@pytest.mark.parametrize("piece_bytes", [1, 40, 300, 10_000])
def test_the_pieces_rebuild_the_same_document(piece_bytes: int) -> None:
    source = three_clients()
    state = source.get_update()
    cut = pieces.cut(state, piece_bytes)
    if piece_bytes < len(state):
        assert len(cut) > 1
    rebuilt: Doc[Any] = Doc()
    for piece in cut:
        rebuilt.apply_update(piece)
    assert _vector(rebuilt) == _vector(source)
    assert content(rebuilt) == content(source)
    # Stored and applied through the framing, with its final check.
    again: Doc[Any] = Doc()
    list(pieces.applying(again, pieces.pack(cut, source.get_state())))
    assert content(again) == content(source)


def test_each_piece_integrates_when_applied() -> None:
    source = three_clients()
    cut = pieces.cut(source.get_update(), 60)
    assert len(cut) > 10
    rebuilt: Doc[Any] = Doc()
    expected: dict[int, int] = {}
    for piece in cut:
        rebuilt.apply_update(piece)
        for client, end in read_deps(piece).ends.items():
            expected[client] = max(expected.get(client, 0), end)
        # Every struct of the piece is in the document, none waits in pycrdt's pending buffer.
        assert _vector(rebuilt) == expected
    assert _vector(rebuilt) == _vector(source)


def _vector(doc: Doc[Any]) -> dict[int, int]:
    return read_state_vector(doc.get_state())


def test_a_team_document_in_pieces_reads_the_same_records() -> None:
    a, b = replica("member-a", 101), replica("member-b", 202)
    for i in range(40):
        person = a.persons.create(name=f"Personne {i}")
        b_person = b.persons.create(name=f"Autre {i}")
        exchange(a, b)
        b.persons.update(person.id, name=f"Personne {i} (revue)")
        if i % 5 == 0:
            a.persons.delete(b_person.id)
        exchange(a, b)
    state = a.encode_state()
    cut = pieces.cut(state, 500)
    assert len(cut) > 5
    from mano_core.document.compartments import GeneralDocument
    rebuilt = GeneralDocument(author="member-c",
                              state=[pieces.pack(cut, a.doc.get_state())])
    assert domain_state(rebuilt) == domain_state(a)


def test_a_broken_stored_form_is_refused() -> None:
    source = three_clients()
    cut = pieces.cut(source.get_update(), 60)
    vector = source.get_state()
    # A piece missing: the document does not hold what the pieces add up to.
    with pytest.raises(StoreCorruptedError, match="misses"):
        list(pieces.applying(Doc(), pieces.pack(cut[:-2] + cut[-1:], vector)))
    packed = pieces.pack(cut, vector)
    with pytest.raises(StoreCorruptedError):
        pieces.unpack(packed[:-1])            # cut short
    with pytest.raises(StoreCorruptedError):
        pieces.unpack(packed + b"\x00")       # bytes after the last piece
    with pytest.raises(StoreCorruptedError):
        pieces.unpack(pieces.MAGIC + b"\xff" * 12)  # a length that is no varint
    # A plain state (an older store) is one piece, no framing.
    assert pieces.unpack(source.get_update()) == ([source.get_update()], None)


def test_cutting_bytes_that_are_no_update_raises_our_error() -> None:
    state = three_clients().get_update()
    for broken in (state[: len(state) // 2], b"\x05" * 64, state + b"\x01"):
        with pytest.raises(MalformedUpdateError):
            pieces.cut(broken, 16)


async def _big_team(tmp_path: Path, persons: int = 120) -> tuple[LocalStore, Team]:
    store = await LocalStore.create(tmp_path / "device.mano", PASSPHRASE, kdf=TEST_KDF)
    team = await Team.create(store, name="Maraude", member="member-a")
    for i in range(persons):
        await team.persons.create(name=f"Personne {i}", description="x" * 40)
    return store, team


async def test_a_compacted_team_reopens_from_pieces(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(pieces, "PIECE_BYTES", 2048)
    store, team = await _big_team(tmp_path)
    before = {p.id: p for p in team.persons.list()}
    await team.compact()
    stored = (await store.load_document(doc_name(team.id, Compartment.GENERAL))).snapshot
    assert stored is not None and stored.startswith(pieces.MAGIC)
    assert len(pieces.unpack(stored)[0]) > 3
    reopened = await Team._open(store, team.id)
    assert {p.id: p for p in reopened.persons.list()} == before
    await store.close()


async def test_edits_committed_while_the_state_is_cut_are_kept(tmp_path: Path,
                                                              monkeypatch) -> None:
    monkeypatch.setattr(pieces, "PIECE_BYTES", 2048)
    store, team = await _big_team(tmp_path)
    cutting, committed = threading.Event(), threading.Event()
    original = pieces.cut_and_pack

    def held(*args: Any, **kwargs: Any) -> bytes:
        cutting.set()
        committed.wait(60)   # the loop commits an edit meanwhile
        return original(*args, **kwargs)

    monkeypatch.setattr(pieces, "cut_and_pack", held)
    compaction = asyncio.create_task(team.compact())
    while not cutting.is_set():
        await asyncio.sleep(0.01)
    late = await team.persons.create(name="Écrite pendant la découpe")
    committed.set()
    await compaction
    later = await team.persons.create(name="Écrite après")
    reopened = await Team._open(store, team.id)
    names = {p.name for p in reopened.persons.list()}
    assert {late.name, later.name} <= names and len(names) == 122
    await store.close()


async def test_opening_hands_the_loop_back_between_pieces(tmp_path: Path,
                                                          monkeypatch) -> None:
    monkeypatch.setattr(pieces, "PIECE_BYTES", 2048)
    monkeypatch.setattr(pieces, "APPLY_SLICE_SECONDS", 0.0)
    store, team = await _big_team(tmp_path)
    await team.compact()
    count = len(pieces.unpack((await store.load_document(
        doc_name(team.id, Compartment.GENERAL))).snapshot or b"")[0])
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    start = ticks
    opened = await Team._open(store, team.id)
    task.cancel()
    assert ticks - start >= count   # the loop ran after each piece
    assert len(opened.persons.list()) == 120
    await store.close()


def test_an_update_that_does_not_continue_the_document_is_not_cut() -> None:
    source: Doc[Any] = Doc(client_id=5)
    m = source.get("m", type=Map)
    with source.transaction():
        for i in range(50):
            m[f"a{i}"] = "x" * 30
    first = source.get_state()
    with source.transaction():
        for i in range(50):
            m[f"b{i}"] = "y" * 30
    later = source.get_update(first)   # starts at a clock an empty document lacks
    assert pieces.cut(later, 100) is None
    assert pieces.cut(later, 100, held=_vector_of(first)) is not None
    # An update with a hole (a skip) depends on what is skipped: not cut either.
    assert pieces.cut(b"\x01\x02\x05\x00\x0a\x03\x00\x02" + b"\x00", 1) is None


def _vector_of(state_vector: bytes) -> dict[int, int]:
    return read_state_vector(state_vector)


async def test_stored_updates_are_applied_in_pieces_up_to_one_that_must_wait() -> None:
    big = three_clients()
    small: Doc[Any] = Doc(client_id=21)
    small.apply_update(big.get_update())
    with small.transaction():
        small.get("m", type=Map)["par-dessus"] = "une modification après l'état"
    edit = small.get_update(big.get_state())
    # An update from a client whose earlier update never arrived: it must wait (parked).
    stranger: Doc[Any] = Doc(client_id=33)
    stranger.get("m", type=Map)["avant"] = 1
    missing = stranger.get_state()
    stranger.get("m", type=Map)["après"] = 2
    waiting = stranger.get_update(missing)
    doc: Doc[Any] = Doc()
    original = pieces.PIECE_BYTES
    try:
        pieces.PIECE_BYTES = 64   # the state counts as large: cut in a thread
        rest = await pieces.apply_leading(doc, [big.get_update(), edit, waiting, edit],
                                          slice_seconds=0)
    finally:
        pieces.PIECE_BYTES = original
    assert rest == [waiting, edit]   # left to the document, in their order
    assert content(doc) == content(small)


async def test_a_first_sync_state_stored_as_an_update_opens_in_pieces(
        tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(pieces, "PIECE_BYTES", 2048)
    monkeypatch.setattr(pieces, "APPLY_SLICE_SECONDS", 0.0)
    store, source = await _big_team(tmp_path)
    state = source.compartment(Compartment.GENERAL).core.encode_state()
    other = await Team.create(store, name="Arrivée", member="member-b")
    name = doc_name(other.id, Compartment.GENERAL)
    await store.append_updates(name, [state])   # as a first sync stores the relay's snapshot
    count = len(pieces.cut(state) or [])
    assert count > 3
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    start = ticks
    opened = await Team._open(store, other.id)
    task.cancel()
    assert ticks - start >= count
    assert {p.id: p for p in opened.persons.list()} == {p.id: p for p in source.persons.list()}
    await store.close()



async def test_a_first_sync_state_stored_as_the_snapshot_opens_in_pieces(
        tmp_path: Path, monkeypatch) -> None:
    """The open after a first sync: the relay's state stored whole as the snapshot
    (team_compartment._merge_state_ahead) is applied a piece at a time, the loop running
    between pieces (it was one apply holding the loop for the whole state)."""
    monkeypatch.setattr(pieces, "PIECE_BYTES", 2048)
    monkeypatch.setattr(pieces, "APPLY_SLICE_SECONDS", 0.0)
    store, source = await _big_team(tmp_path)
    state = source.compartment(Compartment.GENERAL).core.encode_state()
    count = len(pieces.cut(state) or [])
    assert count > 3
    doc: Doc[Any] = Doc()
    applied: list[int] = []
    apply_update = doc.apply_update
    loop_ran: list[int] = []

    def counted(update: bytes) -> None:
        applied.append(len(update))
        apply_update(update)

    async def ticker() -> None:
        while True:
            loop_ran.append(len(applied))
            await asyncio.sleep(0)

    doc.apply_update = counted  # type: ignore[method-assign]
    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    await pieces.apply_stored(doc, state)
    task.cancel()
    assert len(applied) == count and max(applied) < len(state)
    assert set(range(1, count)) <= set(loop_ran)   # the loop ran after each piece
    reference: Doc[Any] = Doc()
    reference.apply_update(state)
    assert read_state_vector(doc.get_state()) == read_state_vector(reference.get_state())

    # and a team whose snapshot is stored so reopens with the same records
    other = await Team.create(store, name="Arrivée", member="member-b")
    async with store.transaction() as tx:
        await tx.write_snapshot(doc_name(other.id, Compartment.GENERAL), state, 0)
    opened = await Team._open(store, other.id)
    assert {p.id: p for p in opened.persons.list()} == {p.id: p for p in source.persons.list()}
    await store.close()
