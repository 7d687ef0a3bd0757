"""The compiled Yjs reader (mano_core/document/_yreader_c.pyx) decides exactly as the pure-Python
readers it stands for, each imported as such here so that neither goes untested: as
``yreader._read`` (deps, structs, delete set, or the same refusal with the same message and
cause) and as ``ystate.read_large`` with the role screening's sink (the same deps, the same
marks, a refusal of the same class), on updates pycrdt made, on each of them cut at every
length and with every byte flipped, on crafted hostile ones (deep nesting, huge lengths and
clocks, a client listed twice) and on Hypothesis-built ones (MANO_FUZZ_EXAMPLES=20000 for a
long run: docs/reliability.md). Without the compiled reader built these tests skip, except
under MANO_YREADER=compiled (CI), where its absence fails them."""

from __future__ import annotations

import os
import random
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycrdt import Array, Doc, Map, Text

from mano_core.document import pieces, ydeps, ynative, yreader, ystate
from mano_core.errors import MalformedUpdateError
from mano_core.rules.touch import GuardedIndex

from . import hostile_states as hs
from .test_ystate import damaged
from .test_ystate import updates as two_client_updates

compiled = ynative.compiled
if compiled is None:
    if os.environ.get("MANO_YREADER") == "compiled":  # pragma: no cover - ynative raises first
        raise RuntimeError("MANO_YREADER=compiled but the compiled reader is absent")
    pytest.skip(f"the compiled reader is not running: {ynative.READER}", allow_module_level=True)

EXAMPLES = int(os.environ.get("MANO_FUZZ_EXAMPLES", "150"))
fuzz = settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 150,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def as_read(read, update: bytes, keep: bool) -> tuple[object, ...]:
    try:
        deps, structs, deletes = read(update, [] if keep else None)
    except MalformedUpdateError as exc:
        return ("refused", str(exc), type(exc.__cause__).__name__)
    return ("read", deps.starts, deps.ends, deps.needs, [tuple(s) for s in structs], deletes)


def as_refs(read, update: bytes) -> tuple[object, ...]:
    """A read for the role screening (``yreader.Refs`` instead of the structs)."""
    refs = yreader.Refs()
    try:
        deps, structs, deletes = read(update, None, refs)
    except MalformedUpdateError as exc:
        return ("refused", str(exc), type(exc.__cause__).__name__)
    return ("read", deps.starts, deps.ends, deps.needs, structs, deletes, refs.lows,
            refs.roots)


def refs_of_structs(update: bytes) -> tuple[object, ...]:
    """What ``Refs`` must hold, from the pure reader's structs: the lowest clock each item
    refers to, per client, and the root names."""
    try:
        deps, structs, deletes = yreader._read(update, [])
    except MalformedUpdateError as exc:
        return ("refused", str(exc), type(exc.__cause__).__name__)
    lows: dict[int, int] = {}
    for s in structs:
        for ref in (s.origin, s.right_origin, s.parent_item):
            if ref is not None and ref[1] < lows.get(ref[0], ref[1] + 1):
                lows[ref[0]] = ref[1]
    return ("read", deps.starts, deps.ends, deps.needs, [], deletes, lows,
            {s.parent_root for s in structs if s.parent_root is not None})


def as_large(read_large, update: bytes, keep: bool) -> tuple[object, ...]:
    deps, index = yreader.UpdateDeps(), GuardedIndex()
    structs: list[yreader.StructInfo] | None = [] if keep else None
    try:
        deletes = read_large(update, deps, structs, index)
    except MalformedUpdateError as exc:
        return ("refused", type(exc.__cause__).__name__)
    if deletes is None:
        return ("handed back",)
    marks = {c: (r.starts, r.ends, r.codes) for c, r in index._runs.items()}
    return ("read", deps.starts, deps.ends, deps.needs, structs, deletes, marks)


def as_clients(read, update: bytes) -> tuple[object, ...]:
    """What a reader of pieces (``pieces._read_clients``: cutting a state) made of ``update``."""
    try:
        clients = read(update)
    except MalformedUpdateError as exc:
        return ("refused", str(exc), type(exc.__cause__).__name__)
    if clients is None:
        return ("holes",)
    found, delete_set, deletes_need = clients
    return ("read", [(c.client, list(c.offsets), list(c.clocks), c.needs) for c in found],
            delete_set, deletes_need)


def check(update: bytes) -> str:
    """Both readers on ``update``, in every mode (pieces' reader of a state's clients too);
    what the pure one did."""
    for keep in (True, False):
        expected = as_read(yreader._read, update, keep)
        assert as_read(compiled.read_update, update, keep) == expected, (update.hex(), keep)
        large = as_large(ystate.read_large, update, keep)
        assert as_large(compiled.read_large, update, keep) == large, (update.hex(), keep)
    refs = as_refs(yreader._read, update)
    assert refs == refs_of_structs(update), update.hex()
    assert as_refs(compiled.read_update, update) == refs, update.hex()
    clients = as_clients(pieces._read_clients_py, update)
    assert as_clients(pieces._read_clients, update) == clients, update.hex()
    return str(expected[0] if expected[0] == "read" else expected[1][:24])


def pycrdt_updates() -> list[bytes]:
    """Deltas and states of every kind of content: maps, arrays, text (with astral
    characters), nested types, values of every lib0 tag, deletions, several clients."""
    rnd = random.Random(24)
    out: list[bytes] = []
    doc = Doc(client_id=2**53 - 7)
    doc.observe(lambda event: out.append(event.update))
    persons, items = doc.get("persons", type=Map), doc.get("list", type=Array)
    text, settings_ = doc.get("text", type=Text), doc.get("settings", type=Map)
    for i in range(120):
        k = rnd.random()
        with doc.transaction():
            if k < 0.3:
                persons[f"p{i}"] = Map({"_": {"id": f"p{i}", "n": [1, 2.5, None, True, -2**40,
                                              {"x": "é€𝄞" * rnd.randint(0, 40)}],
                                              "b": b"\x00\xff"}})
            elif k < 0.4 and len(persons):
                del persons[rnd.choice(sorted(persons.keys()))]
            elif k < 0.55:
                items.append(rnd.choice([1, "s", Map({"q": i}), Array([1, 2])]))
            elif k < 0.65 and len(items):
                del items[0]
            elif k < 0.8:
                text.insert(rnd.randint(0, len(str(text))), "héllo😀" * rnd.randint(1, 5))
            elif k < 0.9:
                settings_[f"k{i % 7}"] = {"v": i, "deep": [[[[i]]]]}
            else:
                persons[f"p{i}"] = Map({"nested": Map({"deeper": Map({"x": 1})})})
    out.append(doc.get_update())
    for seed in range(12):
        out += two_client_updates(seed)
    return out


def test_the_compiled_reader_decides_as_the_pure_ones_on_pycrdt_updates_and_damage() -> None:
    rnd = random.Random(2024)
    seen = set()
    for update in pycrdt_updates():
        seen.add(check(update))
        for _ in range(4):
            seen.add(check(damaged(rnd, update)))
    assert "read" in seen and len(seen) > 4, seen  # reads and several kinds of refusal


def test_root_names_of_one_length_interleaved_are_marked_as_by_the_pure_reader() -> None:
    """The compiled reader reuses the last root name it decoded when the next root item's
    name has the same bytes (issue 24): names of the same length, guarded and not,
    interleaved in one client's run, and a run of one, are marked as the pure reader does."""
    doc = Doc(client_id=41)
    guarded, other = doc.get("settings", type=Map), doc.get("settingz", type=Map)
    fields, subteams = doc.get("customFields", type=Map), doc.get("subteams", type=Map)
    with doc.transaction():
        for i in range(40):
            (guarded if i % 3 else other)[f"k{i}"] = Map({"v": "x" * (i * 40)})
            if i % 5 == 0:
                fields[f"f{i}"] = {"n": i}
                subteams[f"s{i}"] = Map({"name": "y" * 300})
    state = doc.get_update()
    read = as_large(compiled.read_large, state, False)
    assert read == as_large(ystate.read_large, state, False)
    assert read[0] == "read" and read[-1]  # guarded items were marked
    check(state)


def test_every_cut_and_every_flipped_byte_of_small_updates() -> None:
    seen = set()
    for update in pycrdt_updates()[:40:4]:
        for cut in range(len(update)):
            seen.add(check(update[:cut]))
        for at in range(len(update)):
            for flip in (0x01, 0x80, 0xFF):
                raw = bytearray(update)
                raw[at] ^= flip
                seen.add(check(bytes(raw)))
    assert {"read", "update ends early"} <= seen and len(seen) > 5, seen


def varuint(n: int) -> bytes:
    return hs.varuint(n)


def one_client(structs: bytes, count: int, client: int = 5, clock: int = 0,
               deletes: bytes = b"\x00") -> bytes:
    return varuint(1) + varuint(count) + varuint(client) + varuint(clock) + structs + deletes


HUGE = (2**62 - 1, 2**62, 2**63, 2**64 - 1, 2**64, 2**70 - 1)


@pytest.mark.parametrize("value", HUGE)
def test_huge_clocks_clients_lengths_and_counts_decide_as_the_pure_readers(value) -> None:
    """Numbers up to 10-byte varints: a kept one (clock, client, length) from 2**62 on is read
    by the Python reader whole; a count or a byte length is capped, and runs out of bytes."""
    root = varuint(1) + hs.text("persons") + hs.text("k")
    cases = [
        one_client(bytes([0]) + varuint(value), 1),                   # a GC's length
        one_client(bytes([10]) + varuint(value), 1),                  # a skip's length
        one_client(bytes([1 | 0x20]) + root + varuint(value), 1),     # deleted content
        one_client(bytes([8 | 0x20]) + root + varuint(1) + bytes([125]), 1, clock=value),
        one_client(bytes([8 | 0x20]) + root + varuint(1) + bytes([125]), 1, client=value),
        one_client(bytes([8 | 0x80]) + varuint(value) + varuint(3) + varuint(1) + b"\x7e", 1),
        one_client(bytes([8 | 0x40]) + varuint(7) + varuint(value) + varuint(1) + b"\x7e", 1),
        one_client(bytes([8]) + varuint(2) + varuint(value) + varuint(0) + varuint(1) + b"\x7e",
                   1),
        one_client(bytes([8 | 0x20]) + root + varuint(value) + b"\x7e", 1),  # any: count
        one_client(bytes([8 | 0x20]) + root + varuint(1) + bytes([119]) + varuint(value), 1),
        one_client(bytes([8 | 0x20]) + root + varuint(1) + bytes([117]) + varuint(value), 1),
        one_client(bytes([2 | 0x20]) + root + varuint(value) + varuint(1) + b"x", 1),  # JSON
        one_client(bytes([4 | 0x20]) + root + varuint(value) + b"abc", 1),   # string
        one_client(bytes([8 | 0x20]) + root + varuint(1) + b"\x7e", value),  # struct count
        varuint(value) + one_client(b"", 0)[1:],                               # client count
        one_client(b"", 0, deletes=varuint(1) + varuint(5) + varuint(1) + varuint(value)
                   + varuint(2)),                                             # delete set
        one_client(b"", 0, deletes=varuint(1) + varuint(value) + varuint(1) + varuint(0)
                   + varuint(2)),
        one_client(b"", 0, deletes=varuint(1) + varuint(5) + varuint(value)),
    ]
    for update in cases:
        check(update)
        check(update + b"\x00" * 3)


def test_ten_byte_varints_and_longer_ones() -> None:
    for raw in (b"\xff" * 9 + b"\x01", b"\xff" * 9 + b"\x7f", b"\xff" * 10 + b"\x01",
                b"\x80" * 10, b"\x80" * 9):
        check(raw + b"\x00\x00")
        check(b"\x01\x01" + raw + b"\x00\x00\x00")
        check(one_client(bytes([8 | 0x20]) + varuint(1) + hs.text("persons") + hs.text("k")
                         + varuint(1) + bytes([125]) + raw, 1))


@pytest.mark.parametrize("depth", [63, 64, 65, 66, 1_000])
def test_deep_values_and_types_are_refused_as_by_the_pure_readers(depth) -> None:
    assert check(hs.deep_value(depth)) == ("read" if depth <= 64 else "value nested too deeply:")
    check(hs.nested_maps(depth))
    subdoc = (bytes([9 | 0x20]) + varuint(1) + hs.text("persons") + hs.text("k")
              + hs.text("guid") + bytes([118, 1]) + hs.text("o")
              + bytes([117, 1]) * depth + bytes([126]))
    check(one_client(subdoc, 1))


def test_hostile_states_are_refused_by_the_compiled_reader_before_pycrdt() -> None:
    for update, limit in ((hs.deep_value(), "MAX_CRDT_ANY_DEPTH"),
                          (hs.nested_maps(), "MAX_CRDT_NESTING")):
        assert len(update) > ydeps.MEMO_MAX_UPDATE
        with pytest.raises(MalformedUpdateError, match=limit):
            compiled.read_update(update, None)
        with pytest.raises(MalformedUpdateError, match=limit):
            compiled.read_large(update, yreader.UpdateDeps(), None, GuardedIndex())


def test_a_client_listed_twice_is_handed_to_the_pure_readers() -> None:
    doc = Doc(client_id=7)
    doc.get("settings", type=Map)["p"] = "x" * 300
    body = doc.get_update()[1:-1]
    twice = bytes([2]) + body + body + b"\x00"
    assert check(twice) == "read"
    assert compiled.read_large(twice, yreader.UpdateDeps(), None, GuardedIndex()) is None


def test_a_large_generated_state_reads_the_same() -> None:
    """A state of the MANO layout (records as nested maps in collections, settings, custom
    fields) above the memo bound: deps, structs, delete set and the role-screening index.
    (The 20.5 MB MANO-scale state: ``python -m bench.reader_bench --check``.)"""
    rnd = random.Random(5)
    doc = Doc(client_id=991)
    with doc.transaction():
        persons = doc.get("persons", type=Map)
        for i in range(1500):
            persons[f"p{i}"] = Map({"_": {"name": f"n{i}", "age": rnd.randrange(90),
                                          "tags": ["a", "b"], "note": "é" * rnd.randrange(30)}})
        doc.get("settings", type=Map)["actionCategories"] = ["Soin", "Repas"]
        doc.get("customFields", type=Map)["f1"] = Map({"_": {"name": "Couverture"}})
    for i in range(0, 1500, 7):
        with doc.transaction():
            del persons[f"p{i}"]
    state = doc.get_update()
    assert len(state) > ydeps.MEMO_MAX_UPDATE
    assert check(state) == "read"


# --- built updates: random structure, every content ref, flags and numbers ----------------

def _any(draw, depth: int) -> bytes:
    tag = draw(st.sampled_from([116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127, 99]))
    if tag in (116, 119):
        raw = draw(st.binary(max_size=6))
        return bytes([tag]) + varuint(len(raw)) + raw
    if tag == 125:
        return bytes([tag]) + draw(st.binary(min_size=1, max_size=12))
    if tag in (122, 123, 124):
        return bytes([tag]) + draw(st.binary(min_size=0, max_size=9))
    if tag in (117, 118) and depth < 70:
        n = draw(st.integers(0, 3))
        body = b"".join((varuint(1) + b"k" if tag == 118 else b"") + _any(draw, depth + 1)
                        for _ in range(n))
        return bytes([tag]) + varuint(n) + body
    return bytes([tag])


@st.composite
def built_updates(draw) -> bytes:
    numbers = st.one_of(st.integers(0, 300), st.sampled_from(HUGE + (2**53,)))
    clients = draw(st.lists(st.sampled_from([1, 2, 3, 2**40]), min_size=0, max_size=3))
    out = bytearray(varuint(len(clients)))
    for client in clients:
        structs = bytearray()
        count = draw(st.integers(0, 5))
        for _ in range(count):
            ref = draw(st.integers(0, 12))
            flags = draw(st.sampled_from([0, 0x20, 0x80, 0x40, 0xC0, 0xA0]))
            structs.append(ref | flags)
            if ref in (0, 10):
                structs += varuint(draw(numbers))
                continue
            for bit in (0x80, 0x40):
                if flags & bit:
                    structs += varuint(draw(st.sampled_from(clients))) + varuint(draw(numbers))
            if not flags & 0xC0:
                if draw(st.booleans()):
                    name = draw(st.sampled_from([b"persons", b"settings", b"subteams", b"\xff"]))
                    structs += varuint(1) + varuint(len(name)) + name
                else:
                    structs += (varuint(0) + varuint(draw(st.sampled_from(clients)))
                                + varuint(draw(numbers)))
                if flags & 0x20:
                    key = draw(st.sampled_from([b"k", b"actionCategories", b"\xc3", b""]))
                    structs += varuint(len(key)) + key
            if ref == 8:
                n = draw(st.integers(0, 3))
                structs += varuint(n) + b"".join(_any(draw, 0) for _ in range(n))
            elif ref == 7:
                structs += varuint(draw(st.integers(0, 6))) + varuint(1) + b"x"
            elif ref == 4:
                raw = draw(st.sampled_from(["ab", "é𝄞", ""])).encode()
                raw = draw(st.sampled_from([raw, b"\xed\xa0\x80", b"\xc3"]))
                structs += varuint(len(raw)) + raw
            elif ref == 9:
                structs += varuint(1) + b"g" + _any(draw, 0)
            else:
                structs += varuint(draw(numbers)) + draw(st.binary(max_size=4))
        out += varuint(count) + varuint(client) + varuint(draw(numbers)) + structs
    ranges = draw(st.lists(st.tuples(st.sampled_from([1, 2, 7]), st.lists(
        st.tuples(numbers, numbers), max_size=2)), max_size=2))
    out += varuint(len(ranges))
    for client, spans in ranges:
        out += varuint(client) + varuint(len(spans))
        for first, length in spans:
            out += varuint(first) + varuint(length)
    cut = draw(st.integers(0, 3))
    return bytes(out[:len(out) - cut] if cut and draw(st.booleans()) else out)


@fuzz
@given(built_updates())
def test_built_updates_are_read_as_by_the_pure_readers(update: bytes) -> None:
    check(update)


@fuzz
@given(st.sampled_from(range(40)), st.lists(st.tuples(st.integers(0, 10**6),
                                                      st.integers(0, 255)), max_size=3))
def test_mutated_pycrdt_updates_are_read_as_by_the_pure_readers(which, edits) -> None:
    raw = bytearray(_cached_updates()[which])
    for at, value in edits:
        raw[at % len(raw)] = value
    check(bytes(raw))


_CACHE: list[bytes] = []


def _cached_updates() -> list[bytes]:
    if not _CACHE:
        _CACHE.extend(pycrdt_updates()[:40])
    return _CACHE


# --- which reader runs ---------------------------------------------------------------------

def test_ydeps_reads_with_the_compiled_reader() -> None:
    assert ydeps._compiled is compiled and ynative.READER.startswith("compiled")


def test_a_build_from_another_source_is_not_used(monkeypatch, tmp_path: Path) -> None:
    edited = tmp_path / "_yreader_c.pyx"
    edited.write_bytes(ynative.SOURCE.read_bytes() + b"# an edit not rebuilt\n")
    monkeypatch.setattr(ynative, "SOURCE", edited)
    monkeypatch.delenv("MANO_YREADER", raising=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module, reader = ynative._load()
    assert module is None and "another version" in reader
    assert any("pure-Python reader" in str(w.message) for w in caught)
    monkeypatch.setenv("MANO_YREADER", "compiled")
    with pytest.raises(ImportError, match="another version"):
        ynative._load()
    monkeypatch.setenv("MANO_YREADER", "python")
    assert ynative._load() == (None, "python (MANO_YREADER=python)")


def ydeps_answers(monkeypatch, reader: object) -> list[object]:
    monkeypatch.setattr(ydeps, "_compiled", reader)
    monkeypatch.setattr(ydeps, "_memo", ydeps._Memo())
    doc = Doc(client_id=77)
    with doc.transaction():
        doc.get("settings", type=Map)["actionCategories"] = ["Soin"]
        doc.get("persons", type=Map)["p"] = Map({"_": {"name": "x" * 70_000}})
    got: list[object] = []
    for update in (doc.get_update(), pycrdt_updates()[3]):
        index = GuardedIndex()
        deps = ydeps.read_into(update, index)
        assert (ydeps.read_deps(update), ydeps.read_structs(update)) == (
            yreader._read(update, None)[0], tuple(yreader._read(update, [])[1:]))
        got.append((ydeps.read_deps(update), ydeps.read_structs(update), deps,
                    {c: (r.starts, r.ends, r.codes) for c, r in index._runs.items()},
                    ydeps.neutralised(update)))
    for update, limit in ((hs.deep_value(), "MAX_CRDT_ANY_DEPTH"),
                          (hs.nested_maps(), "MAX_CRDT_NESTING")):
        for read in (ydeps.read_deps, ydeps.read_structs,
                     lambda u: ydeps.read_into(u, GuardedIndex())):
            with pytest.raises(MalformedUpdateError, match=limit):
                read(update)
    return got


def test_ydeps_gives_the_same_answers_with_either_reader(monkeypatch) -> None:
    """ydeps's public reads (what the document, the sync machine and the role screening
    call) with the compiled reader and with the Python fallback (``MANO_YREADER=python``):
    the same dependencies, structs, index marks and neutralised update, the same refusals."""
    python = ydeps_answers(monkeypatch, None)
    assert python[0][3]  # the guarded item of the large state was marked
    assert ydeps_answers(monkeypatch, compiled) == python


def test_a_state_is_cut_into_the_same_pieces_by_either_reader(monkeypatch) -> None:
    """pieces.cut (compaction's, and an open's of a first sync's stored state) reads the
    state's structs with the compiled reader: the same pieces as with the Python one."""
    from .test_pieces import three_clients

    states = [three_clients().get_update(), pycrdt_updates()[-1]]
    got = [[pieces.cut(state, size) for size in (64, 512, 4096)] for state in states]
    assert all(len(cuts[0]) > 1 for cuts in got)  # really cut
    monkeypatch.setattr(pieces, "_compiled", None)
    assert [[pieces.cut(state, size) for size in (64, 512, 4096)] for state in states] == got
