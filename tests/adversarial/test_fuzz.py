"""Hypothesis fuzzing of what parses bytes from the network: only documented errors (ManoError
subclasses) escape. Small example counts in the default run; MANO_FUZZ_EXAMPLES=20000 for a
long run (docs/reliability.md), or the atheris driver in atheris_fuzz.py."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mano_core.documents.body import open_body, seal_body
from mano_core.errors import (
    DocumentCorruptedError,
    MalformedUpdateError,
    ManoError,
    RemoteProtocolError,
)
from mano_core.protocol import codec
from mano_core.protocol import messages as m
from mano_core.protocol.codes import ErrorCode
from mano_core.sync import payload

from . import fuzz_targets as t

EXAMPLES = int(os.environ.get("MANO_FUZZ_EXAMPLES", "150"))
fuzz = settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 150,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
pytestmark = pytest.mark.timeout(300)


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


@fuzz
@given(st.one_of(st.binary(max_size=400), envelope_mutations()))
def test_a_delivery_opens_alike_compiled_or_not(data: bytes) -> None:
    """The compiled opening of a delivery (batch authentication's loop, the known opener)
    against the Python reference, on mutated envelopes: same results, same chain state."""
    t.open_delivery(data)  # raises AssertionError on a difference, nothing else


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
    _k, _first, second = t.kit()
    t.parse(second)
    t.open_(second)  # opens: the chain continues bob's first envelope
    t.decode_payload(b"\x81\xa1u\x90")
    with pytest.raises(ManoError):
        t.open_(second[:-1] + bytes([second[-1] ^ 1]))


# --- what the fuzzing found (kept as regression cases) ------------------------------------------

BAD_UTF8_PAYLOAD = b"\xa3\x00\x00\x80"  # a msgpack str of invalid UTF-8
BAD_UTF8_HELLO = codec.encode(m.Hello(versions=[1], client="zz")).replace(
    b"\xa2zz", b"\xa2\x80\x80")


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


# --- nesting: every decoder of untrusted bytes is bounded (issue 16) ----------------------------

DEEP = b"\x91" * 5000 + b"\xc0"  # 5,000 nested msgpack arrays: RecursionError in bare msgspec


def nested_msgpack() -> st.SearchStrategy[bytes]:
    """msgpack with deep and wide nesting (arrays, maps, unknown fields), sometimes cut."""
    def build(depth: int, kinds: list[bool], tail: bytes, cut: int) -> bytes:
        out = b""
        for i in range(depth):
            out += b"\x91" if kinds[i % len(kinds)] else b"\x81\xa1x"
        out += tail
        return out[:len(out) - cut] if cut < len(out) else out
    return st.builds(build, st.integers(0, 3000), st.lists(st.booleans(), min_size=1, max_size=5),
                     st.sampled_from([b"\xc0", b"\x90", b"\x80", b"\xa1u", b""]),
                     st.integers(0, 3))


@st.composite
def reader_statements(draw: st.DrawFn) -> bytes:
    """Bob's valid statement, with one byte changed at a drawn place (or none)."""
    k, _, _ = t.kit()
    raw = bytearray(t.snapshot_readers.statement(k["bob"].identity, k.team_id))
    at = draw(st.integers(-1, len(raw) - 1))
    if at >= 0:
        raw[at] ^= draw(st.integers(1, 255))
    return bytes(raw)


def wrapped(data: bytes) -> st.SearchStrategy[bytes]:
    return st.sampled_from([data, b"\x81\xa1u" + data, b"\x82\xa1t\xa4push\xa1x" + data,
                            b"\x81\xa1m" + data, b"\x83\xa5state\xc4\x00\xa5chain\xc4\x00\xa1x"
                            + data])


deep_inputs = nested_msgpack().flatmap(wrapped)


@fuzz
@given(st.one_of(st.binary(max_size=80), reader_statements()))
def test_a_reader_statement_counts_only_when_it_is_the_device_s_own(data: bytes) -> None:
    t.TARGETS["snapshot_reader"](data)


@fuzz
@given(deep_inputs)
@pytest.mark.parametrize("name", ["payload", "frame", "presence", "snapshot", "key_package"])
def test_nesting_raises_only_mano_errors(name: str, data: bytes) -> None:
    only_mano_errors(t.TARGETS[name], data)


@fuzz
@given(st.one_of(st.binary(max_size=300), msgpack_like()))
@pytest.mark.parametrize("name", ["presence", "snapshot", "key_package"])
def test_sealed_bodies_raise_only_mano_errors(name: str, data: bytes) -> None:
    only_mano_errors(t.TARGETS[name], data)


def _valid_update() -> bytes:
    from pycrdt import Array, Doc, Map
    doc = Doc(client_id=31337)
    persons = doc.get("persons", type=Map)
    with doc.transaction():
        persons["p1"] = Map({"_": {"id": "p1", "name": "Nom", "createdAt": "2026-11-20T09:00:00Z",
                                   "updatedAt": "2026-11-20T09:00:00Z", "n": [1, 2.5, None]}})
        persons["p1"]["otherNames[x]"] = 1.5
        persons["p2"] = Map({"list": Array([1, "deux"])})
        del persons["p2"]
    return doc.get_update()


def update_mutations() -> st.SearchStrategy[bytes]:
    """A valid update with a few bytes overwritten, cut or extended: most pass the dependency
    reader and reach pycrdt's decoder."""
    base = _valid_update()

    def mutate(edits: list[tuple[int, int]], cut: int, extra: bytes) -> bytes:
        raw = bytearray(base)
        for index, value in edits:
            raw[index % len(raw)] = value
        return bytes(raw[:len(raw) - cut] + extra)
    return st.builds(mutate, st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)),
                                      max_size=3),
                     st.integers(0, 4), st.binary(max_size=4))


@fuzz
@given(st.one_of(st.binary(max_size=300), update_mutations()))
def test_updates_applied_to_a_document_raise_only_mano_errors(data: bytes) -> None:
    only_mano_errors(t.apply_update, data)


# --- a document's body as the relay gives it back (docs/protocol.md §15, "Document bodies") ---

BODY = bytes(range(256)) * 3  # three parts of 300, 300 and 168 bytes
SEALED = seal_body(BODY, chunk=300)


def relayed_parts() -> st.SearchStrategy[list[bytes]]:
    """The body's sealed parts as a hostile relay may answer a download: a few bytes
    overwritten, parts cut or extended, dropped, repeated or swapped, or random ones."""
    def mutate(edits: list[tuple[int, int, int]], order: list[int], cut: int,
               extra: bytes) -> list[bytes]:
        parts = [bytearray(SEALED.parts[i % len(SEALED.parts)]) for i in order]
        for which, index, value in edits:
            if parts:
                part = parts[which % len(parts)]
                if part:
                    part[index % len(part)] = value
        if parts:
            parts[-1] = parts[-1][:max(0, len(parts[-1]) - cut)] + extra
        return [bytes(p) for p in parts]
    return st.one_of(
        st.builds(mutate, st.lists(st.tuples(st.integers(0, 5), st.integers(0, 400),
                                             st.integers(0, 255)), max_size=3),
                  st.lists(st.integers(0, 5), max_size=5), st.integers(0, 40),
                  st.binary(max_size=8)),
        st.lists(st.binary(max_size=400), max_size=4))


@fuzz
@given(relayed_parts())
def test_a_relayed_document_body_opens_as_itself_or_is_corrupted(parts: list[bytes]) -> None:
    # Only DocumentCorruptedError escapes, and whatever opens is the body its record names.
    try:
        data = open_body(SEALED.key, SEALED.file, parts, size=SEALED.size, digest=SEALED.digest)
    except DocumentCorruptedError:
        return
    assert data == BODY and parts == list(SEALED.parts)


def test_the_body_target_is_not_vacuous() -> None:
    assert open_body(SEALED.key, SEALED.file, list(SEALED.parts), size=SEALED.size,
                     digest=SEALED.digest) == BODY
    assert len(SEALED.parts) == 3


def _depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


@fuzz
@given(st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-2**63, 2**64 - 1),
                              st.floats(), st.text(max_size=40), st.binary(max_size=300)),
                    lambda c: st.one_of(st.lists(c, max_size=3),
                                        st.dictionaries(st.text(max_size=2), c, max_size=3)),
                    max_leaves=60))
def test_check_depth_measures_what_msgspec_would_recurse_into(value: object) -> None:
    import msgspec

    from mano_core.bounded import check_depth
    from mano_core.errors import TooDeepError
    data = msgspec.msgpack.encode(value)
    depth = _depth(value)
    check_depth(data, max_depth=depth)  # exactly at the limit: accepted
    if depth:
        with pytest.raises(TooDeepError):
            check_depth(data, max_depth=depth - 1)


@pytest.mark.parametrize("name, error", [
    ("payload", MalformedUpdateError), ("frame", RemoteProtocolError),
    ("presence", "MalformedEnvelopeError"), ("snapshot", "MalformedEnvelopeError"),
    ("key_package", "KeyPackageError")])
def test_five_thousand_nested_arrays_are_refused_with_a_named_limit(name, error) -> None:
    from mano_core import errors
    from mano_core.errors import TooDeepError
    kind = getattr(errors, error) if isinstance(error, str) else error
    for data in (DEEP, b"\x81\xa1u" + DEEP, b"\x82\xa1t\xa4push\xa1x" + DEEP):
        with pytest.raises(kind) as err:
            t.TARGETS[name](data if name != "key_package" else data + b"\x00" * 64)
        if name != "key_package" or data is DEEP:
            assert isinstance(err.value.__cause__, TooDeepError), err.value


def test_deeply_nested_shared_types_are_refused_before_pycrdt_reads_them() -> None:
    """100,000 nested maps in one update crash the process (native stack overflow) when
    pycrdt reads the document back; the nest is refused by the dependency reader first."""
    from pycrdt import Doc, Map

    from mano_core.errors import TooDeepError
    doc = Doc()
    level = doc.get("persons", type=Map)
    with doc.transaction():
        for _ in range(100):
            child: Map = Map()
            level["x"] = child
            level = child
    with pytest.raises(MalformedUpdateError) as err:
        t.apply_update(doc.get_update())
    assert isinstance(err.value.__cause__, TooDeepError)
    shallow = Doc()
    record = Map()
    shallow.get("persons", type=Map)["p1"] = record
    record["_"] = {"id": "p1", "name": "Nom", "createdAt": "2026-11-20T09:00:00Z",
                   "updatedAt": "2026-11-20T09:00:00Z"}
    t.apply_update(shallow.get_update())  # our own layout still passes
