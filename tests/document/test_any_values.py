"""The depth walk over an update's JSON-like values (ydeps._skip_anys, one loop with its own
stack, issue 24) decides exactly as the reader's recursive ``any``: same end position, same
refusal, same message, on many generated inputs (a fixed seed: the same cases every run) and
at the depth bound."""

from __future__ import annotations

import random

import pytest

from mano_core import limits
from mano_core.document import yreader as ydeps
from mano_core.errors import MalformedUpdateError

TAGS = (127, 126, 121, 120, 125, 124, 123, 122, 119, 116, 118, 117, 5, 200)


def recursive(data: bytes, count: int) -> tuple[str, object]:
    r = ydeps._Reader(data)
    try:
        for _ in range(count):
            r.any()
    except MalformedUpdateError as exc:
        return "refused", str(exc)
    return "read", r.pos


def looped(data: bytes, count: int) -> tuple[str, object]:
    try:
        return "read", ydeps._skip_anys(data, 0, count)
    except MalformedUpdateError as exc:
        return "refused", str(exc)


def test_the_loop_decides_as_the_recursive_reader() -> None:
    rnd = random.Random(24)
    outcomes = set()
    for _ in range(30_000):
        size = rnd.randrange(0, 40)
        if rnd.random() < 0.6:  # mostly tags: deep, well-formed values happen often
            data = bytes(rnd.choice(TAGS) if rnd.random() < 0.6 else rnd.randrange(256)
                         for _ in range(size))
        else:
            data = rnd.randbytes(size)
        count = rnd.randrange(0, 4)
        expected = recursive(data, count)
        assert looped(data, count) == expected, (data.hex(), count)
        outcomes.add(expected[0])
    assert outcomes == {"read", "refused"}  # both kinds were met


@pytest.mark.parametrize("depth", [limits.MAX_CRDT_ANY_DEPTH - 1, limits.MAX_CRDT_ANY_DEPTH,
                                   limits.MAX_CRDT_ANY_DEPTH + 1, 5_000])
def test_the_depth_bound_holds_for_arrays_and_objects(depth: int) -> None:
    arrays = bytes([117, 1]) * depth + bytes([126])
    objects = bytes([118, 1, 1, ord("k")]) * depth + bytes([126])
    for data in (arrays, objects):
        assert looped(data, 1) == recursive(data, 1)
        if depth > limits.MAX_CRDT_ANY_DEPTH:
            assert looped(data, 1)[0] == "refused" and "MAX_CRDT_ANY_DEPTH" in str(
                looped(data, 1)[1])
        else:
            assert looped(data, 1) == ("read", len(data))
