"""Version-2 snapshots (mano_core/sync/snapshot_v2.py): a state sealed as pieces comes back
whole, whatever the download's split, each piece as soon as its bytes are in; a snapshot
that is truncated, extended, reordered, altered, oversized or from the wrong author is
refused with its documented error, and nothing of a refused piece comes out."""

from __future__ import annotations

import hashlib
import struct
from functools import cache

import pytest
from pycrdt import Doc, Map

from mano_core import limits
from mano_core.crypto import ChainState, Keyring
from mano_core.errors import (
    BadSignatureError,
    LimitExceededError,
    MalformedEnvelopeError,
    MissingKeyError,
    SnapshotPieceError,
    UnauthorizedAuthorError,
    WrongContextError,
)
from mano_core.ids import Compartment
from mano_core.sync import snapshot_v2 as s2
from mano_core.document import pieces
from mano_core.sync.snapshot import (
    SnapshotFrame,
    open_snapshot,
    open_snapshot_parts,
    seal_snapshot,
    snapshot_author,
)
from mano_core.sync.snapshot_join import join
from tests.relay.kit import TeamKit

GENERAL = Compartment.GENERAL


@cache
def team() -> TeamKit:
    return TeamKit("bob")


@cache
def state() -> bytes:
    """A state of ~370 KB: two pieces at the default size, six at the minimum."""
    doc: Doc = Doc()
    persons = doc.get("persons", type=Map)
    for i in range(3000):
        persons[f"p{i}"] = f"{i:06d}" + "x" * 100
    return doc.get_update()


def chain() -> ChainState:
    c = ChainState()
    c.record(team().team_id, GENERAL, team()["bob"].id, 4, b"\x07" * 32)
    return c


def seal(piece_bytes: int | None = None, upto: int = 9) -> bytes:
    bob = team()["bob"]
    return s2.seal_snapshot_v2(bob.identity, bob.keyring, team_id=team().team_id,
                               compartment=GENERAL, epoch=0, upto=upto, state=state(),
                               chain=chain(), piece_bytes=piece_bytes)


def reader(c: Compartment = GENERAL) -> s2.SnapshotReader:
    admin = team()["admin"]
    return s2.SnapshotReader(log=admin.log, keyring=admin.keyring, team_id=team().team_id,
                             compartment=c)


def open_(raw: bytes) -> s2.SnapshotV2:
    admin = team()["admin"]
    return s2.open_snapshot_v2(raw, log=admin.log, keyring=admin.keyring,
                               team_id=team().team_id, compartment=GENERAL)


def persons_of(updates: tuple[bytes, ...] | list[bytes]) -> dict[str, object]:
    doc: Doc = Doc()
    for update in updates:
        doc.apply_update(update)
    return doc.get("persons", type=Map).to_py() or {}


def piece_offsets(raw: bytes) -> list[tuple[int, int]]:
    manifest = s2.read_manifest(raw)
    assert manifest is not None
    out, at = [], manifest.size
    for length in manifest.lengths:
        out.append((at, at + length))
        at += length
    return out


def test_a_state_sealed_in_pieces_comes_back_whole_in_any_split() -> None:
    raw = seal(s2.MIN_SNAPSHOT_PIECE)
    want = persons_of([state()])
    admin = team()["admin"]
    for step in (1, 1000, limits.MAX_SNAPSHOT_CHUNK, len(raw)):
        parts = [raw[i:i + step] for i in range(0, len(raw), step)]
        snap = s2.open_snapshot_v2(parts, log=admin.log, keyring=admin.keyring,
                                   team_id=team().team_id, compartment=GENERAL)
        assert len(snap.updates) >= 5
        assert persons_of(snap.updates) == want
        assert (snap.upto, snap.author, snap.epoch) == (9, team()["bob"].id, 0)
        assert snap.chain.to_bytes() == chain().to_bytes()
    assert snapshot_author(raw) == team()["bob"].id  # v1's reader of the author works on v2


def test_each_piece_comes_out_once_its_bytes_are_in_and_not_before() -> None:
    raw = seal(s2.MIN_SNAPSHOT_PIECE)
    offsets = piece_offsets(raw)
    r = reader()
    assert r.feed(raw[:offsets[0][0] - 1]) == [] and r.manifest is None
    assert r.feed(raw[offsets[0][0] - 1:offsets[0][0]]) == [] and r.manifest is not None
    got: list[bytes] = []
    for index, (start, end) in enumerate(offsets):
        assert r.feed(raw[start:end - 1]) == []
        out = r.feed(raw[end - 1:end])
        assert (r.opened, len(out)) == (index + 1, 0 if index == 0 else 1)
        got += out
    r.finish()
    assert r.done and r.received == len(raw) and persons_of(got) == persons_of([state()])


def test_the_manifest_is_refused_before_any_piece_arrives() -> None:
    raw = bytearray(seal())
    manifest = s2.read_manifest(raw)
    assert manifest is not None
    raw[manifest.size - 1] ^= 1  # the signature
    with pytest.raises(BadSignatureError) as caught:
        reader().feed(bytes(raw[:manifest.size]))
    assert not isinstance(caught.value, SnapshotPieceError)


@pytest.mark.parametrize("cut", ["piece", "one byte"])
def test_a_truncated_snapshot_is_refused_at_the_end(cut: str) -> None:
    raw = seal(s2.MIN_SNAPSHOT_PIECE)
    end = piece_offsets(raw)[-1][0] if cut == "piece" else len(raw) - 1
    r = reader()
    got = r.feed(raw[:end])
    assert len(got) == len(piece_offsets(raw)) - 2  # every complete piece but the chain
    with pytest.raises(MalformedEnvelopeError, match="truncated"):
        r.finish()
    with pytest.raises(MalformedEnvelopeError, match="truncated"):
        reader().finish()  # nothing at all


def test_bytes_after_the_last_piece_are_refused() -> None:
    r = reader()
    with pytest.raises(MalformedEnvelopeError, match="after the snapshot's last piece"):
        r.feed(seal() + b"\x00")
    with pytest.raises(MalformedEnvelopeError):  # and it stays refused
        r.finish()


def test_reordered_or_altered_pieces_are_refused_and_nothing_of_them_comes_out() -> None:
    raw = seal(s2.MIN_SNAPSHOT_PIECE)
    (a0, a1), (b0, b1) = piece_offsets(raw)[2:4]
    swapped = raw[:a0] + raw[b0:b1] + raw[a0:a1] + raw[b1:]
    r = reader()
    with pytest.raises(SnapshotPieceError):
        r.feed(swapped)
    assert r.opened == 2  # the chain and piece 1 only
    altered = bytearray(raw)
    altered[b0 + 5] ^= 0x40
    r = reader()
    with pytest.raises(SnapshotPieceError):
        r.feed(bytes(altered))
    assert r.opened == 3
    with pytest.raises(SnapshotPieceError):
        r.feed(b"")  # refused for good


def test_a_piece_the_author_signed_but_that_fails_its_tag_is_refused() -> None:
    """The hash matches (the author signed it) but the AES-GCM tag does not."""
    bob = team()["bob"]
    raw = bytearray(seal())
    manifest = s2.read_manifest(raw)
    assert manifest is not None
    start = manifest.size + manifest.lengths[0]
    raw[start] ^= 1
    table = b"".join(struct.pack(">I32s", n, hashlib.sha256(
        raw[at:at + n]).digest()) for n, at in zip(manifest.lengths, _starts(manifest),
                                                   strict=True))
    resigned = manifest.header + table + bob.identity.sign(manifest.header + table,
                                                           domain=s2.DOMAIN)
    with pytest.raises(SnapshotPieceError, match="authentication"):
        open_(resigned + bytes(raw[manifest.size:]))


def _starts(manifest: s2.Manifest) -> list[int]:
    at, out = manifest.size, []
    for n in manifest.lengths:
        out.append(at)
        at += n
    return out


def header(count: int, version: int = 2) -> bytes:
    return struct.pack(">B16sBI32sQ12sI", version, team().team_id, 0, 0, team()["bob"].id, 1,
                       b"\x00" * 12, count)


@pytest.mark.parametrize("count", [0, 1, limits.MAX_SNAPSHOT_PIECES + 1, 2**32 - 1])
def test_a_piece_count_beyond_the_limits_is_refused_from_the_header_alone(count: int) -> None:
    with pytest.raises(MalformedEnvelopeError, match="pieces"):
        reader().feed(header(count))


def test_a_snapshot_larger_than_the_limit_is_refused_from_its_table() -> None:
    big = limits.MAX_SNAPSHOT_SIZE // 2
    raw = header(2) + struct.pack(">I32s", big, bytes(32)) * 2 + bytes(64)
    with pytest.raises(MalformedEnvelopeError, match="limit"):
        reader().feed(raw)
    short = header(2) + struct.pack(">I32s", 15, bytes(32)) * 2 + bytes(64)
    with pytest.raises(MalformedEnvelopeError, match="tag"):
        reader().feed(short)


def test_the_v2_reader_refuses_v1_and_the_snapshot_opener_reads_both() -> None:
    bob = team()["bob"]
    v1 = seal_snapshot(bob.identity, bob.keyring, team_id=team().team_id, compartment=GENERAL,
                       epoch=0, upto=1, state=state(), chain=chain())
    with pytest.raises(MalformedEnvelopeError, match="version 1"):
        open_(v1)
    admin = team()["admin"]
    for raw in (v1, seal(s2.MIN_SNAPSHOT_PIECE)):
        snap = open_snapshot(raw, log=admin.log, keyring=admin.keyring,
                             team_id=team().team_id, compartment=GENERAL)
        assert snap.state == state()  # v2's pieces joined back: the very bytes cut
        assert snap.chain.to_bytes() == chain().to_bytes()
    assert s2.is_v2(seal()) and not s2.is_v2(v1) and not s2.is_v2(b"")


async def test_the_parts_of_a_v2_snapshot_open_as_a_v1_one_where_a_snapshot_is_merged() -> None:
    admin = team()["admin"]
    raw = seal(s2.MIN_SNAPSHOT_PIECE)
    frame = SnapshotFrame()
    for i in range(0, len(raw), limits.MAX_SNAPSHOT_CHUNK // 8):
        frame.add(raw[i:i + limits.MAX_SNAPSHOT_CHUNK // 8])
    read: list[bytes] = []
    for parts in (frame, [raw[:1000], raw[1000:]]):
        snap = await open_snapshot_parts(parts, log=admin.log, keyring=admin.keyring,
                                         team_id=team().team_id, compartment=GENERAL,
                                         read_ahead=read.append)
        assert (snap.state, snap.upto, snap.author) == (state(), 9, team()["bob"].id)
    assert read == [state(), state()]
    altered = bytearray(raw)
    altered[-100] ^= 1
    read.clear()
    with pytest.raises(SnapshotPieceError):
        await open_snapshot_parts([bytes(altered)], log=admin.log, keyring=admin.keyring,
                                  team_id=team().team_id, compartment=GENERAL,
                                  read_ahead=read.append)
    assert read == []  # nothing of a refused snapshot is read ahead


def test_pieces_that_do_not_join_are_refused() -> None:
    cut = pieces.cut(state(), s2.MIN_SNAPSHOT_PIECE)
    assert cut is not None and len(cut) >= 3 and join(cut) == state()
    with pytest.raises(MalformedEnvelopeError, match="do not follow"):
        join([cut[0], cut[2], cut[1], *cut[3:]])
    with pytest.raises(MalformedEnvelopeError, match="delete set"):
        join([cut[0][:-1] + b"\x01\x01\x01\x00\x01", *cut[1:]])
    with pytest.raises(MalformedEnvelopeError, match="piece 2"):
        join([cut[0], b"\x05not an update"])


def test_the_manifest_is_checked_for_team_compartment_author_and_key() -> None:
    with pytest.raises(WrongContextError):
        reader(Compartment.MEDICAL).feed(seal())
    outsider = TeamKit()["admin"]
    forged = s2.seal_snapshot_v2(outsider.identity, team()["bob"].keyring,
                                 team_id=team().team_id, compartment=GENERAL, epoch=0, upto=1,
                                 state=state(), chain=chain())
    with pytest.raises(UnauthorizedAuthorError):
        open_(forged)
    fresh = s2.SnapshotReader(log=team()["admin"].log, keyring=Keyring(team().team_id),
                              team_id=team().team_id, compartment=GENERAL)
    with pytest.raises(MissingKeyError):
        fresh.feed(seal())


def test_a_chain_piece_that_does_not_decode_is_malformed() -> None:
    class Garbage(ChainState):
        def to_bytes(self) -> bytes:
            return b"\x93\x07"

    bob = team()["bob"]
    raw = s2.seal_pieces(bob.identity, bob.keyring, team_id=team().team_id,
                         compartment=GENERAL, epoch=0, upto=1, updates=[b"\x00\x00"],
                         chain=Garbage())
    with pytest.raises(MalformedEnvelopeError, match="chain state"):
        open_(raw)


def test_the_writer_keeps_to_the_piece_limits() -> None:
    manifest = s2.read_manifest(seal(1))
    assert manifest is not None
    assert min(manifest.lengths[1:-1]) >= limits.MIN_SNAPSHOT_PIECE  # not 1 byte a piece
    default = s2.read_manifest(seal())
    assert default is not None and len(default.lengths) == 3  # chain + 2 pieces of 256 KiB
    bob = team()["bob"]
    with pytest.raises(LimitExceededError):
        s2.seal_pieces(bob.identity, bob.keyring, team_id=team().team_id, compartment=GENERAL,
                       epoch=0, upto=1, updates=[b"\x00\x00"] * limits.MAX_SNAPSHOT_PIECES,
                       chain=chain())


def test_each_piece_has_its_own_nonce() -> None:
    nonce = bytes(range(12))
    assert s2.piece_nonce(nonce, 0) == nonce
    assert s2.piece_nonce(nonce, 0x0102) == bytes(range(10)) + bytes([10 ^ 1, 11 ^ 2])
    assert len({s2.piece_nonce(nonce, i) for i in range(limits.MAX_SNAPSHOT_PIECES)}) == \
        limits.MAX_SNAPSHOT_PIECES
