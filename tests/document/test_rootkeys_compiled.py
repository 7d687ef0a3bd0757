"""The record ids' walk without the GIL (``_rootkeys_c.pxi``'s ``root_keys_into``) finds what
its reference finds (``root_keys._collect``: the reader's structs, the pairs of those whose
parent is a root type and which name a key), in the same order, or refuses with the same
message: on updates pycrdt made and mutations of them, every cut and flipped bit of small
ones, hostile nesting, numbers from 2**62 on and a client listed twice (handed back: False,
nothing added), texts that are or are not UTF-8 as Python's strict decoder takes it, built
updates (Hypothesis), and a generated team's stored snapshot in pieces, read in place from
the stored bytes (bytes or bytearray)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given

from mano_core.demo import generate_team
from mano_core.document import pieces, root_keys, ynative
from mano_core.document.compartments import GeneralDocument
from mano_core.errors import MalformedUpdateError
from tests.reporting.conftest import load_document

from . import hostile_states as hs
from .test_update_reader import mutated, updates

# (test_ycompiled skips at import when the compiled reader is not running: so does this module)
from .test_ycompiled import HUGE, built_updates, fuzz, one_client, pycrdt_updates

compiled = ynative.compiled


def reference(update: bytes) -> tuple[object, ...]:
    found: dict[str, dict[str, None]] = {}
    try:
        root_keys._collect(update, found)
    except MalformedUpdateError as exc:
        return ("refused", str(exc))
    return ("read", {root: list(keys) for root, keys in found.items()})


def walked(update: bytes) -> tuple[object, ...]:
    """What the walk finds in ``update``, read in place from a larger buffer too; the
    reference's answer where it hands the update back (checked: nothing added then)."""
    answers = []
    for data, start in ((update, 0), (bytearray(b"\x05\xff" + update + b"\x80\x01"), 2)):
        assert compiled is not None
        found: dict[str, dict[str, None]] = {"persons": {"before": None}}
        try:
            read = compiled.root_keys_into(data, start, start + len(update), found)
        except MalformedUpdateError as exc:
            assert found == {"persons": {"before": None}}  # nothing added
            answers.append(("refused", str(exc)))
            continue
        if not read:
            assert found == {"persons": {"before": None}}
            answers.append(("handed back", reference(update)))
            continue
        if list(found["persons"]) == ["before"]:
            del found["persons"]
        else:
            assert next(iter(found["persons"])) == "before"
            del found["persons"]["before"]
        answers.append(("read", {root: list(keys) for root, keys in found.items()}))
    assert answers[0] == answers[1], update.hex()
    return answers[0]


def same(update: bytes) -> str:
    """The walk answers as the reference on ``update``; what that was."""
    got = walked(update)
    expected = reference(update)
    if got[0] == "handed back":
        assert got[1] == expected
        return "handed back"
    assert got == expected, update.hex()
    return str(expected[1])[:24] if expected[0] == "refused" else "read"


def test_pycrdt_updates_and_their_mutations_give_the_references_pairs() -> None:
    rnd = random.Random(16)
    kinds = set()
    for update in updates() + pycrdt_updates():
        kinds.add(same(update))
        for _ in range(20):
            kinds.add(same(mutated(update, rnd)))
    assert {"read", "update ends early", "invalid UTF-8 in upda"} <= {k[:21] for k in kinds}
    assert len(kinds) > 6, kinds


def test_every_cut_and_every_flipped_bit_of_small_updates() -> None:
    for update in [u for u in updates() if len(u) < 200][:12]:
        for n in range(len(update) + 1):
            same(update[:n])
        for i in range(len(update)):
            for bit in range(8):
                b = bytearray(update)
                b[i] ^= 1 << bit
                same(bytes(b))


def item(root: bytes, key: bytes, content: bytes = b"\x08\x01\x78") -> bytes:
    """One struct: an item of root type ``root`` under ``key`` (raw bytes), an "any" true."""
    info = content[0] | 0x20
    return (bytes([info]) + hs.varuint(1) + hs.varuint(len(root)) + root
            + hs.varuint(len(key)) + key + content[1:])


def test_texts_are_utf8_exactly_where_pythons_strict_decoder_says_so() -> None:
    rnd = random.Random(8)
    edges = [0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF,
             0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF]
    outcomes = set()
    for _ in range(3000):
        raw = bytes(rnd.choice(edges) for _ in range(rnd.randint(0, 5)))
        try:
            raw.decode()
            valid = True
        except UnicodeDecodeError:
            valid = False
        outcomes.add(valid)
        string = b"\x04" + hs.varuint(len(raw)) + raw   # a Text's string: its UTF-16 length
        for update in (one_client(item(b"persons", raw), 1),
                       one_client(item(raw, b"k"), 1),
                       one_client(item(b"text", b"k", string) + item(b"persons", b"after"), 2)):
            assert same(update) == ("read" if valid else "invalid UTF-8 in update"[:24])
    assert outcomes == {True, False}


@pytest.mark.parametrize("value", HUGE)
def test_numbers_from_2_62_on_are_handed_back_and_counts_run_out_of_bytes(value: int) -> None:
    """A kept number (clock, client, length) from 2**62 on is the reference's to read; a count
    or a byte length is capped, and runs out of bytes."""
    root = hs.varuint(1) + hs.text("persons") + hs.text("k")
    cases = [
        one_client(bytes([0]) + hs.varuint(value), 1),
        one_client(bytes([1 | 0x20]) + root + hs.varuint(value), 1),
        one_client(bytes([8 | 0x20]) + root + hs.varuint(1) + bytes([125]), 1, clock=value),
        one_client(bytes([8 | 0x20]) + root + hs.varuint(1) + bytes([125]), 1, client=value),
        one_client(bytes([8 | 0x80]) + hs.varuint(value) + hs.varuint(3) + hs.varuint(1)
                   + b"\x7e", 1),
        one_client(bytes([8 | 0x20]) + root + hs.varuint(value) + b"\x7e", 1),
        one_client(bytes([4 | 0x20]) + root + hs.varuint(value) + b"abc", 1),
        one_client(bytes([8 | 0x20]) + root + hs.varuint(1) + b"\x7e", value),
        one_client(b"", 0, deletes=hs.varuint(1) + hs.varuint(5) + hs.varuint(1)
                   + hs.varuint(value) + hs.varuint(2)),
    ]
    answers = {same(update) for update in cases} | {same(u + b"\x00" * 3) for u in cases}
    assert "handed back" in answers   # (2**62 - 1: the clock after the item is 2**62)


@pytest.mark.parametrize("depth", [63, 64, 65, 66, 1_000])
def test_deep_values_and_types_are_refused_as_by_the_reference(depth: int) -> None:
    assert same(hs.deep_value(depth)) == ("read" if depth <= 64 else "value nested too deeply:")
    assert same(hs.nested_maps(depth)) == ("read" if depth <= 64 else "shared types nested too ")


def test_a_client_listed_twice_is_handed_back() -> None:
    one = item(b"a", b"k")
    twice = b"\x02" + b"\x01\x05\x00" + one + b"\x01\x05\x01" + item(b"a", b"l") + b"\x00"
    assert same(twice) == "handed back"
    assert reference(twice) == ("read", {"a": ["k", "l"]})
    # Two clients, each once, the second referring to the first's item: read by the walk.
    other = (b"\x02" + b"\x01\x05\x00" + item(b"a", b"k")
             + b"\x01\x06\x00" + bytes([8 | 0x80]) + b"\x05\x00" + b"\x01\x78" + b"\x00")
    assert same(other) == "read"


@fuzz
@given(built_updates())
def test_built_updates_give_the_references_pairs(update: bytes) -> None:
    same(update)


def test_a_stored_snapshots_pieces_give_the_references_ids(
        monkeypatch: pytest.MonkeyPatch) -> None:
    demo = generate_team(seed=3, scale=0.02)
    doc = load_document(demo, GeneralDocument(author=demo.members[0].id))
    doc.persons.erase([doc.persons.list()[0].id])
    stored = pieces.cut_and_pack(doc.encode_state(), doc.doc.get_state(), 4096)
    frames, _vector = pieces._frames(stored)
    assert len(frames) > 10
    late = updates()[:30]
    walked_ids = [root_keys.root_keys(stored, late), root_keys.root_keys(bytearray(stored), late)]
    monkeypatch.setattr(root_keys, "_compiled", None)
    expected = root_keys.root_keys(stored, late)
    assert expected is not None and expected["persons"]
    assert walked_ids == [expected, expected]


def test_what_is_not_a_range_of_bytes_is_refused() -> None:
    assert compiled is not None
    with pytest.raises(MalformedUpdateError, match="not a byte string"):
        compiled.root_keys_into("a text", 0, 1, {})
    for start, stop in ((0, 9), (-1, 2), (3, 2)):
        with pytest.raises(ValueError, match="not a range"):
            compiled.root_keys_into(b"\x00\x00", start, stop, {})
