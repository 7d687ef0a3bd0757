"""The large-update reader (mano_core.document.ystate, issue 24) decides as ydeps's reader:
the same dependencies, structs and delete set, the same refusals, on updates pycrdt made
(states and deltas of several clients: maps, arrays, text, nested types, values, deletions)
and on those bytes damaged (a fixed seed: the same cases every run); and the role
screening's index it fills in the same pass is the one read_structs gives. Hostile states
(tests/document/hostile_states.py) are refused before pycrdt sees them."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest
from pycrdt import Array, Doc, Map, Text

from mano_core.document import ydeps, ystate
from mano_core.errors import MalformedUpdateError, TooDeepError
from mano_core.rules.touch import GuardedIndex, _Runs

from . import hostile_states

ROOTS = ("persons", "settings", "customFields", "subteams", "comments")


def value(rnd: random.Random, depth: int = 0) -> object:
    kind = rnd.randrange(9 if depth < 4 else 6)
    if kind == 0:
        return rnd.choice([None, True, False])
    if kind == 1:
        return rnd.randrange(-2**40, 2**40)
    if kind == 2:
        return rnd.random() * 1e6
    if kind in (3, 4, 5):
        return "".join(rnd.choice("aé€𝄞 z") for _ in range(rnd.randrange(0, 200)))
    if kind in (6, 7):
        return {f"k{i}": value(rnd, depth + 1) for i in range(rnd.randrange(0, 5))}
    return [value(rnd, depth + 1) for _ in range(rnd.randrange(0, 5))]


def edit(rnd: random.Random, doc: Doc) -> None:
    root = doc.get(rnd.choice(ROOTS), type=Map)
    with doc.transaction():
        for _ in range(rnd.randrange(1, 12)):
            key = f"r{rnd.randrange(8)}"
            action = rnd.randrange(7)
            current = root.get(key)
            if action == 0 and key in root:
                del root[key]
            elif action == 1:
                root[key] = Map({"_": value(rnd), "inner": Map({"x": value(rnd)})})
            elif action == 2:
                root[key] = Array([value(rnd) for _ in range(rnd.randrange(1, 4))])
            elif action == 3:
                root[key] = Text("".join(rnd.choice("ab€𝄞") for _ in range(20)))
            elif action == 4 and isinstance(current, Text) and len(current):
                del current[0:1]
                current += "z𝄞"
            elif action == 5 and isinstance(current, Map):
                inner = current.get("inner")
                if isinstance(inner, Map):
                    inner["x"] = value(rnd)
            else:
                root[key] = value(rnd)


def updates(seed: int) -> list[bytes]:
    """States and deltas of two documents that exchange updates (two clients)."""
    rnd = random.Random(seed)
    a, b = Doc(client_id=rnd.randrange(1, 2**53)), Doc(client_id=rnd.randrange(1, 2**53))
    out: list[bytes] = []
    for _ in range(rnd.randrange(1, 6)):
        doc = rnd.choice((a, b))
        before = doc.get_state()
        edit(rnd, doc)
        out.append(doc.get_update(before))
        other = b if doc is a else a
        if rnd.random() < 0.7:
            other.apply_update(doc.get_update(other.get_state()))
    out += [a.get_update(), b.get_update()]
    return out


def damaged(rnd: random.Random, update: bytes) -> bytes:
    raw = bytearray(update)
    how = rnd.randrange(3)
    if how == 0 and raw:
        for _ in range(rnd.randrange(1, 4)):
            raw[rnd.randrange(len(raw))] = rnd.randrange(256)
    elif how == 1:
        del raw[rnd.randrange(len(raw) + 1):]
    else:
        at = rnd.randrange(len(raw) + 1)
        raw[at:at] = bytes(rnd.choice((117, 118, 119, 125, 0x80, 0xFF, 7, 8))
                           for _ in range(rnd.randrange(1, 6)))
    return bytes(raw)


def reference(update: bytes) -> tuple[object, ...]:
    try:
        structs: list[ydeps.StructInfo] = []
        deps, _s, deletes = ydeps._read_small(update, structs)
    except MalformedUpdateError:
        return ("refused",)
    return ("read", deps.starts, deps.ends, deps.needs, structs, deletes)


def fast(update: bytes) -> tuple[object, ...] | None:
    try:
        structs: list[ydeps.StructInfo] = []
        deps = ydeps.UpdateDeps()
        deletes = ystate.read_large(update, deps, structs)
    except MalformedUpdateError:
        return ("refused",)
    if deletes is None:
        return None  # handed back to ydeps
    return ("read", deps.starts, deps.ends, deps.needs, structs, deletes)


def test_the_large_update_reader_decides_as_ydeps() -> None:
    rnd = random.Random(24)
    seen = set()
    for seed in range(120):
        for update in updates(seed):
            for data in [update] + [damaged(rnd, update) for _ in range(6)]:
                expected = reference(data)
                got = fast(data)
                assert got is None or got == expected, (seed, data.hex())
                seen.add(expected[0])
    assert seen == {"read", "refused"}


def index_of(update: bytes, fast_path: bool) -> dict[int, tuple[list[int], list[int], list]]:
    index = GuardedIndex()
    if fast_path:
        assert ydeps.read_into(update, index) is not None
    else:  # what GuardedIndex.observe does with a small update
        structs, _deletes = ydeps.read_structs(update)
        for s in structs:
            code = index._code(s, {})
            if code is not None:
                index._runs.setdefault(s.client, _Runs()).add(s.clock, s.clock + s.length, code)
    return {c: (r.starts, r.ends, r.codes) for c, r in index._runs.items()}


def test_the_index_filled_while_reading_is_the_one_read_structs_gives() -> None:
    marked = 0
    for seed in range(60):
        for update in updates(seed):
            expected = index_of(update, fast_path=False)
            assert index_of(update, fast_path=True) == expected, seed
            marked += sum(len(starts) for starts, _e, _c in expected.values())
    assert marked  # guarded items were met


def test_a_client_listed_twice_is_read_by_ydeps() -> None:
    doc = Doc(client_id=7)
    doc.get("persons", type=Map)["p"] = "x" * 70_000  # a large update
    one = doc.get_update()
    assert one[0] == 1  # one client
    body = one[1:-1]  # that client's structs (the delete set is empty: the last byte)
    twice = bytes([2]) + body + body + b"\x00"
    assert ystate.read_large(twice, ydeps.UpdateDeps(), None) is None
    assert ydeps.read_deps(twice).ends == ydeps._read_small(twice, None)[0].ends


@pytest.mark.parametrize("make, limit", [(hostile_states.deep_value, "MAX_CRDT_ANY_DEPTH"),
                                         (hostile_states.nested_maps, "MAX_CRDT_NESTING")])
def test_a_hostile_state_is_refused_before_pycrdt_reads_it(make, limit) -> None:
    update = make()
    assert len(update) > ydeps.MEMO_MAX_UPDATE  # the large-update reader's case
    with pytest.raises(MalformedUpdateError) as err:
        ydeps.read_deps(update)
    assert isinstance(err.value.__cause__, TooDeepError) and limit in str(err.value)
    with pytest.raises(MalformedUpdateError):
        ydeps.read_into(update, GuardedIndex())


def test_unchecked_pycrdt_dies_on_a_deep_value() -> None:
    """Why the bounds are read first: pycrdt's own decoding (here its native state-vector
    reader, which reads every struct) overflows the native stack; the reader refuses it."""
    path = Path(__file__).with_name("hostile_states.py")
    script = (f"import importlib.util, pycrdt\n"
              f"spec = importlib.util.spec_from_file_location('h', {str(path)!r})\n"
              f"h = importlib.util.module_from_spec(spec); spec.loader.exec_module(h)\n"
              f"pycrdt.get_state(h.deep_value())\nprint('survived')\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert done.returncode != 0 and b"survived" not in done.stdout


@pytest.mark.parametrize("built_before", [False, True])
def test_a_state_merged_into_an_empty_document_brings_its_index(built_before) -> None:
    """The index filled while the state was read replaces the (empty) one the document had,
    and is the one built from the document afterwards; the state is read once for both."""
    from mano_core.document.compartments import GeneralDocument

    source = Doc(client_id=99)
    with source.transaction():
        source.get("settings", type=Map)["actionCategories"] = ["Soin", "Repas"]
        source.get("customFields", type=Map)["f1"] = Map({"_": {"name": "Couverture"}})
        source.get("persons", type=Map)["p1"] = Map({"_": {"name": "x" * 70_000}})
    state = source.get_update()
    target = GeneralDocument(author="y")
    if built_before:
        assert target.guarded_index().empty  # built from the empty document
    reads = []
    real = ydeps.read_into

    def counted(update, sink):
        reads.append(len(update))
        return real(update, sink)

    ydeps.read_into, saved = counted, ydeps.read_into
    try:
        import mano_core.document.preread as preread  # (the merge's reader)
        import mano_core.rules.touch as touch
        preread.read_into, touch.read_into = counted, counted
        assert target.apply_remote_groups([[state]]) == {}
    finally:
        ydeps.read_into = saved
        preread.read_into, touch.read_into = saved, saved
    assert reads == [len(state)]  # one read, for the dependencies and the index
    rebuilt = GuardedIndex()
    rebuilt.build(target.doc.get_update())
    index = target.guarded_index()
    assert not index.empty
    assert ({c: (r.starts, r.ends, r.codes) for c, r in index._runs.items()}
            == {c: (r.starts, r.ends, r.codes) for c, r in rebuilt._runs.items()})
