"""Hypothesis fuzzing of what parses bytes from the network: only documented errors (ManoError
subclasses) escape. Small example counts in the default run; MANO_FUZZ_EXAMPLES=20000 for a
long run (docs/reliability.md), or the atheris driver in atheris_fuzz.py."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mano_core.errors import MalformedUpdateError, ManoError, RemoteProtocolError
from mano_core.protocol import codec
from mano_core.protocol import messages as m
from mano_core.protocol.codes import ErrorCode
from mano_core.sync import payload

from . import fuzz_targets as t

EXAMPLES = int(os.environ.get("MANO_FUZZ_EXAMPLES", "150"))
fuzz = settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 150,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
pytestmark = pytest.mark.timeout(120)


def envelope_mutations() -> st.SearchStrategy[bytes]:
    """Bob's second valid envelope with a few bytes overwritten, cut or extended: most get
    past the format check and reach the signature, chain and AEAD checks."""
    def mutate(edits: list[tuple[int, int]], cut: int, extra: bytes) -> bytes:
        raw = bytearray(t.kit()[2])
        for index, value in edits:
            raw[index % len(raw)] = value
        return bytes(raw[:len(raw) - cut] + extra)
    return st.builds(mutate, st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)),
                                      max_size=4),
                     st.integers(0, 8), st.binary(max_size=8))


def only_mano_errors(target, data: bytes) -> None:
    try:
        target(data)
    except ManoError:
        pass


@fuzz
@given(st.one_of(st.binary(max_size=400), envelope_mutations()))
def test_envelope_parse(data: bytes) -> None:
    only_mano_errors(t.parse, data)


@fuzz
@given(st.one_of(st.binary(max_size=400), envelope_mutations()))
def test_open_envelope(data: bytes) -> None:
    only_mano_errors(t.open_, data)


def msgpack_like() -> st.SearchStrategy[bytes]:
    import msgspec
    leaf = st.one_of(st.none(), st.booleans(), st.integers(-2**63, 2**64 - 1),
                     st.binary(max_size=40), st.text(max_size=10))
    tree = st.recursive(leaf, lambda c: st.one_of(
        st.lists(c, max_size=4), st.dictionaries(st.sampled_from(["u", "g", "i", "n", "d", "x"]),
                                                 c, max_size=5)), max_leaves=12)
    return tree.map(msgspec.msgpack.encode)


@fuzz
@given(st.one_of(st.binary(max_size=300), msgpack_like()))
def test_payload_decode(data: bytes) -> None:
    only_mano_errors(t.decode_payload, data)


@fuzz
@given(st.binary(max_size=300))
def test_ydeps_read_deps(data: bytes) -> None:
    only_mano_errors(t.deps, data)


@fuzz
@given(st.one_of(st.binary(max_size=300), msgpack_like()))
def test_frame_decode(data: bytes) -> None:
    only_mano_errors(t.frame, data)


def test_valid_inputs_pass_so_the_targets_are_not_vacuous() -> None:
    k, first, second = t.kit()
    t.parse(second)
    t.open_(second)  # opens: the chain continues bob's first envelope
    t.decode_payload(b"\x81\xa1u\x90")
    with pytest.raises(ManoError):
        t.open_(second[:-1] + bytes([second[-1] ^ 1]))


# --- what the fuzzing found (kept as regression cases) ------------------------------------------

BAD_UTF8_PAYLOAD = b"\xa3\x00\x00\x80"  # a msgpack str of invalid UTF-8
BAD_UTF8_HELLO = codec.encode(m.Hello(versions=[1], client="zz")).replace(b"\xa2zz", b"\xa2\x80\x80")


def test_payload_with_invalid_utf8_is_a_malformed_update() -> None:
    """msgspec raises UnicodeDecodeError (not a DecodeError) for a str of invalid UTF-8:
    payload.decode let it escape, and a receiver's sync session died on such an envelope and
    looped on it at every reconnection (see test_envelopes)."""
    with pytest.raises(MalformedUpdateError):
        payload.decode(BAD_UTF8_PAYLOAD)


def test_frame_with_invalid_utf8_is_a_bad_frame() -> None:
    with pytest.raises(RemoteProtocolError) as err:
        codec.decode(BAD_UTF8_HELLO)
    assert err.value.code == ErrorCode.BAD_FRAME
