"""A version-2 snapshot applied as it downloads (mano_core/sync/snapshot_receive.py): pieces go
into a private document as their bytes arrive, the loop runs between them, and the result is
handed over only once every piece is checked. A bad piece, a drop or a cancellation between
pieces leaves nothing of the snapshot; receiving it again from its first byte gives the same
document."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pycrdt import Doc, Map

from mano_core.crypto import ChainState
from mano_core.document import pieces
from mano_core.errors import MalformedEnvelopeError, MalformedUpdateError, SnapshotPieceError
from mano_core.sync import snapshot_v2 as s2
from mano_core.sync.snapshot_receive import ReceivedSnapshot, SnapshotReceiver, receive
from tests.sync.test_snapshot_v2 import GENERAL, chain, piece_offsets, seal, state, team


def receiver() -> SnapshotReceiver:
    admin = team()["admin"]
    return SnapshotReceiver(log=admin.log, keyring=admin.keyring, team_id=team().team_id,
                            compartment=GENERAL)


def parts_of(raw: bytes, size: int = 100_000) -> list[bytes]:
    return [raw[i:i + size] for i in range(0, len(raw), size)]


def persons(doc: Doc[Any]) -> dict[str, object]:
    return doc.get("persons", type=Map).to_py() or {}


def whole() -> dict[str, object]:
    doc: Doc[Any] = Doc()
    doc.apply_update(state())
    return persons(doc)


async def settle() -> None:
    for _ in range(50):
        await asyncio.sleep(0.001)


def signed(updates: list[bytes]) -> bytes:
    bob = team()["bob"]
    return s2.seal_pieces(bob.identity, bob.keyring, team_id=team().team_id,
                          compartment=GENERAL, epoch=0, upto=4, updates=updates, chain=chain())


async def test_pieces_are_applied_as_their_bytes_arrive_and_handed_over_at_the_end() -> None:
    raw = seal(s2.MIN_SNAPSHOT_PIECE)
    offsets = piece_offsets(raw)
    r = receiver()
    r.put(raw[:offsets[2][1]])  # the manifest, the chain and pieces 1 and 2
    await settle()
    assert (r.pieces_applied, r.pieces_total, r.bytes_total) == (2, len(offsets) - 1, len(raw))
    r.put(raw[offsets[2][1]:offsets[4][1] - 1])  # piece 3 whole, piece 4 but its last byte
    await settle()
    assert r.pieces_applied == 3
    r.put(raw[offsets[4][1] - 1:])
    got = await r.finish()
    assert isinstance(got, ReceivedSnapshot) and r.bytes_received == len(raw) == got.size
    assert persons(got.doc) == whole() and got.upto == 9
    assert got.chain.to_bytes() == chain().to_bytes() and got.author == team()["bob"].id
    reopened: Doc[Any] = Doc()  # what an open of the stored snapshot applies
    for _ in pieces.applying(reopened, got.stored):
        pass
    assert persons(reopened) == whole() and reopened.get_state() == got.doc.get_state()


async def test_the_loop_runs_between_pieces() -> None:
    raw = seal(s2.MIN_SNAPSHOT_PIECE)
    turns: list[int] = []
    r = receiver()
    r.slice_seconds = 0  # (else after 10 ms of applies: these pieces are tiny)

    async def ticker() -> None:
        while True:
            turns.append(r.pieces_applied)
            await asyncio.sleep(0)

    tick = asyncio.create_task(ticker())
    r.put(raw)
    await r.finish()
    tick.cancel()
    assert set(range(1, len(piece_offsets(raw)) - 1)) <= set(turns)  # a turn after each


@pytest.mark.parametrize("at", [1, 3])
async def test_a_bad_piece_refuses_the_snapshot_and_nothing_of_it_is_handed_over(
        at: int) -> None:
    raw = bytearray(seal(s2.MIN_SNAPSHOT_PIECE))
    start, _ = piece_offsets(bytes(raw))[at]
    raw[start + 10] ^= 1
    r = receiver()
    with pytest.raises(SnapshotPieceError):  # from the next part put after it, or the end
        for part in parts_of(bytes(raw)):
            r.put(part)
            await asyncio.sleep(0.001)
        await r.finish()
    assert r.pieces_applied < at  # none from it on; the ones before, privately only
    with pytest.raises(SnapshotPieceError):
        r.put(b"more")
    again = await receive(parts_of(seal(s2.MIN_SNAPSHOT_PIECE)), log=team()["admin"].log,
                          keyring=team()["admin"].keyring, team_id=team().team_id,
                          compartment=GENERAL)
    assert persons(again.doc) == whole()


async def test_a_drop_between_pieces_leaves_nothing_and_the_snapshot_is_received_again() -> None:
    raw = seal(s2.MIN_SNAPSHOT_PIECE)
    r = receiver()
    r.put(raw[:len(raw) // 2])
    await settle()
    assert 0 < r.pieces_applied < r.pieces_total  # type: ignore[operator]
    r.close()  # the connection dropped: the session ends
    with pytest.raises(MalformedEnvelopeError):
        r.put(raw[len(raw) // 2:])
    got = await receive(parts_of(raw), log=team()["admin"].log,
                        keyring=team()["admin"].keyring, team_id=team().team_id,
                        compartment=GENERAL)
    assert persons(got.doc) == whole()


async def test_a_cancellation_while_finishing_hands_nothing_over() -> None:
    raw = seal(s2.MIN_SNAPSHOT_PIECE)
    r = receiver()
    for part in parts_of(raw):
        r.put(part)
    finishing = asyncio.create_task(r.finish())
    await asyncio.sleep(0)
    await asyncio.sleep(0)  # the first part in its thread, far from the end
    finishing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await finishing
    await settle()
    with pytest.raises(MalformedEnvelopeError):
        r.put(b"")


async def test_a_truncated_download_is_refused_at_the_end() -> None:
    raw = seal(s2.MIN_SNAPSHOT_PIECE)
    r = receiver()
    r.put(raw[:-1])
    with pytest.raises(MalformedEnvelopeError, match="truncated"):
        await r.finish()


async def test_pieces_out_of_dependency_order_are_refused_before_they_are_applied() -> None:
    cut = pieces.cut(state(), s2.MIN_SNAPSHOT_PIECE)
    assert cut is not None and len(cut) >= 3
    raw = signed([cut[0], cut[2], cut[1], *cut[3:]])  # signed so by the author
    r = receiver()
    r.put(raw)
    with pytest.raises(MalformedEnvelopeError, match="does not integrate"):
        await r.finish()
    assert r.pieces_applied == 1


async def test_a_piece_that_is_not_an_update_is_refused_with_its_cause() -> None:
    r = receiver()
    r.put(signed([b"\x00\x00", b"\x05\x01not an update"]))
    with pytest.raises(MalformedEnvelopeError) as caught:
        await r.finish()
    assert isinstance(caught.value.__cause__, MalformedUpdateError)
    assert r.pieces_applied <= 1  # (refused by the checks, which may run ahead of the applies)


async def test_an_empty_document_is_a_snapshot_too() -> None:
    got = await receive([signed([Doc().get_update()])], log=team()["admin"].log,
                        keyring=team()["admin"].keyring, team_id=team().team_id,
                        compartment=GENERAL)
    assert persons(got.doc) == {} and isinstance(got.chain, ChainState)
