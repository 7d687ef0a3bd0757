"""Envelope contents (mano_core/sync/payload.py): a batch decodes on its typed fast path, and
whatever nests deep, there or anywhere else, is refused with MalformedUpdateError (never a
RecursionError from msgspec)."""

from __future__ import annotations

import msgspec
import pytest

from mano_core import limits
from mano_core.errors import MalformedUpdateError, TooDeepError
from mano_core.sync import payload

DEEP = b"\x91" * 100_000 + b"\xc0"  # 100,000 nested one-element arrays


def test_batches_and_fragments_round_trip() -> None:
    updates = [b"\x01\x02", b"", b"\xff" * 300]
    (blob,) = payload.encode_batches(updates)
    assert payload.decode(blob) == payload.Batch(u=updates)
    parts = list(payload.encode_batches([b"\x07" * 5000], max_size=1024))
    decoded = [payload.decode(p) for p in parts]
    assert all(isinstance(f, payload.Fragment) for f in decoded)
    assert payload.join_fragments(decoded).u == [b"\x07" * 5000]  # type: ignore[arg-type]


@pytest.mark.parametrize("blob", [
    b"\x81\xa1u" + DEEP,                    # the batch's list nests deep
    b"\x81\xa1u\x91" + DEEP,                # one of its updates is a deep array
    b"\x82\xa1u\x90\xa1x" + DEEP,           # an unknown field holds the nest
    b"\x82\xa1x" + DEEP + b"\xa1u\x90",     # ... before the batch's field
    DEEP,                                   # no map at all
    b"\x84\xa1g\xc4\x10" + b"\x00" * 16 + b"\xa1i\x00\xa1n\x01\xa1d" + DEEP,  # a fragment's d
], ids=["list", "update", "unknown-after", "unknown-before", "bare", "fragment"])
def test_deep_content_is_refused_with_our_error(blob: bytes) -> None:
    with pytest.raises(MalformedUpdateError):
        payload.decode(blob)


def test_a_deep_nest_outside_a_batch_names_the_depth_limit() -> None:
    with pytest.raises(MalformedUpdateError) as err:
        payload.decode(b"\x82\xa1g" + DEEP + b"\xa1i\x00")
    assert isinstance(err.value.__cause__, TooDeepError)
    assert "MAX_MSGPACK_DEPTH" in str(err.value)


def test_a_batch_with_an_extra_field_is_refused() -> None:
    blob = msgspec.msgpack.encode({"u": [b"\x00"], "extra": 1})
    with pytest.raises(MalformedUpdateError):
        payload.decode(blob)
    assert limits.MAX_MSGPACK_DEPTH < 100_000
