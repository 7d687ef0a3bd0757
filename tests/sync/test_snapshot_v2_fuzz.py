"""Fuzzing the version-2 snapshot's reader (tests/adversarial/fuzz_targets.py: ``snapshot_v2``,
``snapshot_v2_piece``): arbitrary bytes, a valid snapshot altered, cut or extended, and
arbitrary updates sealed and signed by a member raise only documented errors (ManoError).
MANO_FUZZ_EXAMPLES for a long run, as tests/adversarial/test_fuzz.py."""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mano_core.crypto import ChainState
from mano_core.document import pieces
from mano_core.errors import MalformedEnvelopeError, SnapshotPieceError
from mano_core.ids import Compartment
from mano_core.sync import snapshot_v2
from tests.adversarial import fuzz_targets as t
from tests.adversarial.test_fuzz import _valid_update, fuzz, only_mano_errors, update_mutations

pytestmark = pytest.mark.timeout(300)


@cache
def valid_blob() -> bytes:
    """A snapshot of bob's: the chain and a real update cut in three (four pieces)."""
    k, _, _ = t.kit()
    bob = k["bob"]
    updates = pieces.cut(_valid_update(), 40)
    assert updates is not None and len(updates) == 3
    return snapshot_v2.seal_pieces(bob.identity, bob.keyring, team_id=k.team_id,
                                   compartment=Compartment.GENERAL, epoch=0, upto=3,
                                   updates=updates, chain=ChainState(), nonce=b"\x01" * 12)


def blob_mutations() -> st.SearchStrategy[bytes]:
    """The valid snapshot, its split byte set, a few bytes overwritten (half of them in the
    pieces, past the manifest), cut or extended."""
    def mutate(split: int, edits: list[tuple[bool, int, int]], cut: int, extra: bytes) -> bytes:
        raw = bytearray(valid_blob())
        manifest = snapshot_v2.read_manifest(raw)
        assert manifest is not None
        for in_pieces, index, value in edits:
            at = manifest.size + index % (len(raw) - manifest.size) if in_pieces else index
            raw[at % len(raw)] = value
        return bytes([split]) + bytes(raw[:len(raw) - cut] + extra)
    return st.builds(mutate, st.integers(0, 255),
                     st.lists(st.tuples(st.booleans(), st.integers(0, 10_000),
                                        st.integers(0, 255)), max_size=3),
                     st.integers(0, 40), st.binary(max_size=40))


def test_the_valid_snapshot_opens_and_its_mutations_are_refused() -> None:
    """The target does read valid input to its end (the fuzz below is not all refusals)."""
    for split in (0, 1, 40, 255):
        t.snapshot_v2_blob(bytes([split]) + valid_blob())
    with pytest.raises(MalformedEnvelopeError):
        t.snapshot_v2_blob(bytes([3]) + valid_blob()[:-1])
    raw = bytearray(valid_blob())
    raw[-3] ^= 1
    with pytest.raises(SnapshotPieceError):
        t.snapshot_v2_blob(bytes([3]) + raw)


@fuzz
@given(st.one_of(st.binary(max_size=400), blob_mutations()))
def test_snapshot_v2_bytes_raise_only_mano_errors(data: bytes) -> None:
    only_mano_errors(t.snapshot_v2_blob, data)


@fuzz
@given(st.one_of(st.binary(max_size=300), update_mutations()))
def test_snapshot_v2_pieces_signed_by_a_member_raise_only_mano_errors(data: bytes) -> None:
    only_mano_errors(t.snapshot_v2_piece, data)
