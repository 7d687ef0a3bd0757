"""The msgpack nesting walk (mano_core/bounded.py: every frame, envelope plaintext and snapshot
body is walked before msgspec decodes it): the compiled walk (mano_core/document/_yreader_c.pyx)
decides exactly as the Python one, ``bounded._check_depth_py``, the reference: the same
refusal (TooDeepError, at the same depth) or the same quiet end, on msgpack of every lead byte,
nested to each side of the bound, cut at every length, with every byte flipped, and on
Hypothesis-built bytes. Without the compiled reader built these tests skip, except under
MANO_YREADER=compiled (CI)."""

from __future__ import annotations

import os

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mano_core import bounded
from mano_core.document import ynative
from mano_core.errors import TooDeepError

if ynative.compiled is None:
    if os.environ.get("MANO_YREADER") == "compiled":  # pragma: no cover - ynative raises first
        raise RuntimeError("MANO_YREADER=compiled but the compiled reader is absent")
    pytest.skip(f"the compiled reader is not running: {ynative.READER}", allow_module_level=True)

EXAMPLES = int(os.environ.get("MANO_FUZZ_EXAMPLES", "300"))


def outcome(walk, data: bytes, max_depth: int) -> tuple[object, ...]:
    try:
        walk(data, max_depth)
    except TooDeepError as exc:
        return ("too deep", str(exc))
    return ("walked",)


def check(data: bytes, max_depth: int = 32) -> tuple[object, ...]:
    expected = outcome(bounded._check_depth_py, data, max_depth)
    assert outcome(bounded.check_depth, data, max_depth) == expected, (data.hex(), max_depth)
    return expected


def nested(depth: int, inner: object = 1) -> object:
    value = inner
    for i in range(depth):
        value = [value] if i % 2 else {"k": value, "n": [1, b"x" * 300, "é" * 40, 2**40, -5]}
    return value


SAMPLES = [
    msgspec.msgpack.encode(v) for v in (
        None, True, 1.5, -1, 2**63, "x" * 40, "y" * 300, "z" * 70_000, b"b" * 300,
        b"c" * 70_000, list(range(20)), {str(i): i for i in range(20)},
        msgspec.msgpack.Ext(1, b"1"), msgspec.msgpack.Ext(2, b"22"),
        msgspec.msgpack.Ext(3, b"4444"), msgspec.msgpack.Ext(4, b"8" * 8),
        msgspec.msgpack.Ext(5, b"6" * 16), msgspec.msgpack.Ext(6, b"e" * 3),
        msgspec.msgpack.Ext(7, b"e" * 300), msgspec.msgpack.Ext(8, b"e" * 70_000),
        [[1, 2**16, -2**31, 2**32, 1e300, 1.5]] * 20,
        {"items": [[i, b"r" * 200] for i in range(40)]},
        nested(31), nested(32), nested(33), nested(100))
] + [bytes([lead]) + b"\x00\x01\x02\x03\x04\x05\x06\x07\x08" for lead in range(256)]


def test_the_compiled_walk_decides_as_the_python_one_on_msgpack_of_every_kind() -> None:
    seen = {check(data, depth)[0] for data in SAMPLES for depth in (0, 1, 2, 31, 32, 33)}
    assert seen == {"too deep", "walked"}
    assert check(b"\x91" * 33 + b"\x01")[0] == "too deep"  # 33 arrays, one in another
    assert check(b"\x91" * 32 + b"\x01")[0] == "walked"


def test_every_cut_and_every_flipped_byte() -> None:
    for sample in SAMPLES[:26]:
        data = sample[:400]
        for cut in range(len(data)):
            check(data[:cut])
        for at in range(len(data)):
            for flip in (0x01, 0x10, 0x80, 0xFF):
                raw = bytearray(data)
                raw[at] ^= flip
                check(bytes(raw), 8)


def test_bounds_beyond_the_compiled_stack_and_views_are_walked_alike() -> None:
    deep = b"\x91" * 2000 + b"\xc0"
    for depth in (1500, 1999, 2000, 2001, 5000):
        check(deep, depth)
    assert outcome(bounded.check_depth, memoryview(deep)[10:], 32) == \
        outcome(bounded._check_depth_py, memoryview(deep)[10:], 32)
    assert outcome(bounded.check_depth, bytearray(deep), 32)[0] == "too deep"


def test_the_compiled_walk_is_the_one_running() -> None:
    assert bounded.compiled_walk() is ynative.compiled


@settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 300)
@given(st.binary(max_size=300), st.integers(0, 40))
def test_built_bytes_are_walked_alike(data: bytes, depth: int) -> None:
    check(data, depth)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 300)
@given(st.lists(st.sampled_from([b"\x91", b"\x81\xa1k", b"\xdc\x00\x02",
                                 b"\xdf\x00\x00\x00\x01", b"\xc0", b"\x01", b"\xc4\x02ab",
                                 b"\xd9\x01a", b"\xcb" + b"\x00" * 8, b"\xc7\x01\x01a",
                                 b"\x90", b"\x80"]), max_size=60),
       st.integers(0, 40))
def test_built_msgpack_is_walked_alike(parts: list[bytes], depth: int) -> None:
    check(b"".join(parts), depth)
