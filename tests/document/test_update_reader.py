"""The update reader (yreader._read, written out over local variables for issue 24) reads
exactly as the reader first written with one ``_Reader`` method call per varint (kept below as
the reference): same dependencies, structs and delete set, or the same refusal with the same
message, on updates of every kind of content and on many mutations of them (a fixed seed: the
same cases every run)."""

from __future__ import annotations

import random

import pytest

from pycrdt import Array, Doc, Map, Text

from mano_core.document import yreader as ydeps
from mano_core.document.yreader import StructInfo, _Parsed
from mano_core.errors import MalformedUpdateError, TooDeepError


def reference(update: bytes, structs: list[StructInfo] | None) -> _Parsed:
    """The reader as first written, one method call per varint (before issue 24)."""
    r = ydeps._Reader(update)
    deps = ydeps.UpdateDeps()
    levels = ydeps._Levels()
    deletes: list[tuple[int, int, int]] = []
    keep = structs is not None
    for _ in range(r.varuint()):
        count = r.varuint()
        client = r.varuint()
        clock = r.varuint()
        deps.starts[client] = min(clock, deps.starts.get(client, clock))
        for _ in range(count):
            info = r.byte()
            ref = info & 0x1F
            if ref in (0, 10):  # GC, Skip
                length = r.varuint()
                if structs is not None:
                    structs.append(ydeps.StructInfo(client, clock, length, ref))
                clock += length
                if ref == 10:  # a skip is a hole: what follows depends on what is skipped
                    deps.need(client, clock)
                continue
            level = 0  # nesting level of the item (its parent's depth), 0: not known
            origin = right = item = None
            root = sub = None
            if info & 0x80:
                origin = (r.varuint(), r.varuint())
                deps.need(origin[0], origin[1] + 1)
                level = levels.at(*origin)  # an origin has the same parent
            if info & 0x40:
                right = (r.varuint(), r.varuint())
                deps.need(right[0], right[1] + 1)
                level = max(level, levels.at(*right))
            if not info & 0xC0:
                if r.varuint() == 1:
                    if keep:
                        root = r.string()
                    else:
                        r.skip(r.varuint())  # root type name
                    level = 1
                else:
                    item = (r.varuint(), r.varuint())
                    deps.need(item[0], item[1] + 1)
                    above = levels.at(*item)
                    level = above + 1 if above else 0
                if info & 0x20:
                    if keep:
                        sub = r.string()
                    else:
                        r.skip(r.varuint())  # key in the parent map
            level = level or ydeps._UNKNOWN_LEVEL
            if ref == 7 and level > ydeps._MAX_NESTING:
                too_deep = TooDeepError("MAX_CRDT_NESTING", level, ydeps._MAX_NESTING)
                raise MalformedUpdateError(f"shared types nested too deeply: {too_deep}") from (
                    too_deep)
            start = clock
            length = ydeps._content_length(r, ref)
            clock += length
            if structs is not None:
                structs.append(ydeps.StructInfo(client, start, length, ref, origin, right, root,
                                          item, sub))
            # A lookup that misses answers "level 2", so plain items at level 2 (the bulk: a
            # record's fields) need no entry; types always do (they are parents).
            if ref == 7 or level != ydeps._UNKNOWN_LEVEL:
                levels.add(client, start, clock, level)
        deps.ends[client] = max(clock, deps.ends.get(client, 0))
    for _ in range(r.varuint()):  # delete set
        client = r.varuint()
        for _ in range(r.varuint()):
            start = r.varuint()
            length = r.varuint()
            deps.need(client, start + length)
            if keep:
                deletes.append((client, start, length))
    return deps, structs or [], deletes


def updates() -> list[bytes]:
    rnd = random.Random(24)
    out: list[bytes] = []
    doc = Doc()
    doc.observe(lambda event: out.append(event.update))
    persons, items = doc.get("persons", type=Map), doc.get("list", type=Array)
    text, settings = doc.get("text", type=Text), doc.get("settings", type=Map)
    for i in range(240):
        k = rnd.random()
        with doc.transaction():
            if k < 0.3:
                persons[f"p{i}"] = Map({"_": {"id": f"p{i}", "n": [1, 2.5, None, True,
                                              {"x": "é" * rnd.randint(0, 200)}], "b": b"\x00"}})
            elif k < 0.4 and len(persons):
                del persons[rnd.choice(sorted(persons.keys()))]
            elif k < 0.55:
                items.append(rnd.choice([1, "s", Map({"q": i}), Array([1, 2])]))
            elif k < 0.65 and len(items):
                del items[0]
            elif k < 0.8:
                text.insert(rnd.randint(0, len(str(text))), "héllo😀" * rnd.randint(1, 5))
            elif k < 0.9:
                settings[f"k{i % 7}"] = {"v": i, "deep": [[[[i]]]]}
            else:
                persons[f"p{i}"] = Map({"nested": Map({"deeper": Map({"x": 1})})})
    out.append(doc.get_update())
    return out


def outcome(read: object, update: bytes, keep: bool) -> tuple[object, ...]:
    try:
        deps, structs, deletes = read(update, [] if keep else None)  # type: ignore[operator]
    except MalformedUpdateError as exc:
        return ("refused", str(exc), type(exc.__cause__).__name__)
    return ("read", deps.starts, deps.ends, deps.needs, [tuple(s) for s in structs], deletes)


def mutated(update: bytes, rnd: random.Random) -> bytes:
    """One random mutation of ``update``: a byte replaced, a cut, a flipped bit or bytes added."""
    b = bytearray(update)
    op = rnd.random()
    if op < 0.4:
        b[rnd.randrange(len(b))] = rnd.randrange(256)
    elif op < 0.7:
        b = b[:rnd.randrange(len(b) + 1)]
    elif op < 0.85:
        b[rnd.randrange(len(b))] ^= 1 << rnd.randrange(8)
    else:
        b += rnd.randbytes(rnd.randint(1, 20))
    return bytes(b)


def test_the_reader_reads_as_the_reference_on_updates_and_their_mutations() -> None:
    rnd = random.Random(2024)
    kinds = set()
    for update in updates():
        cases = [update] + [mutated(update, rnd) for _ in range(25)]
        for case in cases:
            for keep in (True, False):
                expected = outcome(reference, case, keep)
                assert outcome(ydeps._read, case, keep) == expected, (case.hex(), keep)
                kinds.add(expected[0] if expected[0] == "read" else expected[1][:20])
    assert "read" in kinds and len(kinds) > 4, kinds  # reads and several refusals were met


def test_nesting_beyond_the_bound_is_refused_as_by_the_reference() -> None:
    doc = Doc()
    inner = Map({"x": 1})
    for _ in range(ydeps._MAX_NESTING + 2):
        inner = Map({"m": inner})
    doc.get("persons", type=Map)["deep"] = inner
    state = doc.get_update()
    for keep in (True, False):
        got = outcome(ydeps._read, state, keep)
        assert got == outcome(reference, state, keep)
        assert got[0] == "refused" and got[2] == TooDeepError.__name__


def test_a_delivery_scope_reads_each_update_object_once_and_keeps_nothing_after(
        monkeypatch) -> None:
    from mano_core.document import ydeps as public

    monkeypatch.setattr(public, "_compiled", None)  # the Python scope (the compiled: below)
    reads: list[bytes] = []
    real = public.read_update

    def counting(update: bytes, structs: list[StructInfo] | None,
                 refs: object = None) -> _Parsed:
        reads.append(update)
        return real(update, structs, refs)  # type: ignore[arg-type]

    monkeypatch.setattr(public, "read_update", counting)
    monkeypatch.setattr(public, "_memo", public._Memo())  # nothing remembered from before
    first, second = updates()[:2]
    changing = bytearray(second)
    with public.parse_scope():
        for _ in range(3):
            public.read_deps(first)
            public.read_refs(first)
        assert reads == [first]  # by identity within the scope, the memo did not hash it
        for _ in range(3):  # its structs read once, the first time they are asked for
            public.read_structs(first)
            public.read_deps(first)
            public.read_refs(first)
        assert reads == [first, first]
        public.read_structs(changing)
        changing[:] = first  # a bytearray may change: read (and memoised) by its content
        assert public.read_structs(changing) == public.read_structs(first)
    assert public._memo.scope is None  # no update object held once the delivery is applied


@pytest.mark.parametrize("scope", ["python", "compiled"])
def test_a_delivery_scope_hands_back_what_it_read_first(monkeypatch, scope: str) -> None:
    """Within a scope, each later read of the same update object returns the very objects of
    its first read (nothing read again), its structs added once asked for."""
    from mano_core.document import ydeps as public, ynative

    if scope == "python":
        monkeypatch.setattr(public, "_compiled", None)
    elif ynative.compiled is None:
        pytest.skip("the compiled module is not built")
    monkeypatch.setattr(public, "_memo", public._Memo())
    first = updates()[0]
    with public.parse_scope():
        deps = public.read_deps(first)
        read = public.read_refs(first)
        assert read is not None and read[2] is deps
        structs, deletes = public.read_structs(first)
        for _ in range(2):
            assert public.read_deps(first) is deps
            again = public.read_refs(first)
            assert again is not None and again[0] is read[0] and again[1] is read[1]
            assert public.read_structs(first)[0] is structs
            assert public.read_structs(first)[1] is deletes is read[1]
        assert structs == public.read_update(first, [])[1]
    assert public._memo.scope is None
