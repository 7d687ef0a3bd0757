"""What a Yjs v1 update depends on, read without applying it.

pycrdt 0.14 keeps updates whose dependencies are missing in its own pending buffer, and that
buffer was seen dropping edits and misdelivering events when several out-of-order updates
interleave (tests/document/test_properties.py). So the document never hands pycrdt an update
it cannot integrate at once: this module reads, for each client, the first clock an update
starts at and every item it refers to (origins, parents, deletions), with capped varints and
bounds checks; malformed bytes raise MalformedUpdateError.

Format: https://github.com/yjs/yjs/blob/main/INTERNALS.md and lib0's encoding (v1 updates).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections import OrderedDict
from collections.abc import Iterator
from typing import Final

from mano_core.document import ynative, ystate
from mano_core.document.ylib0 import _Reader
from mano_core.document.yreader import Refs, StructInfo, UpdateDeps, _Parsed
from mano_core.document.yreader import _read as _read_small

__all__ = ["MEMO_MAX_ENTRIES", "MEMO_MAX_UPDATE", "Refs", "StructInfo", "UpdateDeps",
           "encode_state_vector", "neutralised", "parse_scope", "read_deps", "read_into",
           "read_refs", "read_state_vector", "read_structs", "read_update"]

# Recent parses, kept by the SHA-256 of the update (never its bytes: no content stays here):
# a teammate's update is read by the sync machine (to refuse a malformed one before anything
# is applied), by the role screening (rules/touch.py), by the document (its dependencies) and
# by the guarded index once integrated; each of those reads is the same pure function of the
# bytes, so the parse is done once. States (snapshots) are larger than the bound: not kept.
MEMO_MAX_ENTRIES: Final = 4096
MEMO_MAX_UPDATE: Final = 64 * 1024

# What is remembered of a small update: its dependencies, its structs (None until a caller
# asks for them: read_structs), its delete set, and what the role screening reads instead of
# the structs (``Refs``; issue 24: a catch-up's updates touch nothing guarded, and making
# every struct's record was a third of the read).
_Kept = tuple[UpdateDeps, list[StructInfo] | None, list[tuple[int, int, int]], Refs | None]


class _Memo:
    """A bounded map from (reader, digest of an update) to what the reader returned for it.
    Only successful reads are kept: a malformed update raises again each time."""

    __slots__ = ("_entries", "scope")

    def __init__(self) -> None:
        self.scope: dict[int, tuple[bytes, _Kept]] | None = None  # see parse_scope
        # An OrderedDict, not a dict: deleting a plain dict's first entry again and again
        # leaves holes that ``next(iter(...))`` walks over, so each eviction cost O(evictions
        # so far) until the dict was rebuilt (a 10,000-envelope catch-up: 27 → 56 µs a parse).
        self._entries: OrderedDict[tuple[str, bytes], object] = OrderedDict()

    @staticmethod
    def key(kind: str, update: bytes) -> tuple[str, bytes] | None:
        if len(update) > MEMO_MAX_UPDATE:
            return None
        return kind, hashlib.sha256(update).digest()

    def get(self, key: tuple[str, bytes] | None) -> object | None:
        return None if key is None else self._entries.get(key)

    def put(self, key: tuple[str, bytes] | None, value: object) -> None:
        if key is None:
            return
        if len(self._entries) >= MEMO_MAX_ENTRIES:
            self._entries.popitem(last=False)  # the oldest
        self._entries[key] = value


_memo = _Memo()
_compiled = ynative.compiled  # the compiled reader, or None: the Python one (ynative.READER)

# While a delivery is applied (``parse_scope``), the parses of the very update objects read so
# far, by identity: the sync machine, the role screening, the document and the guarded index
# each read the same bytes object of an envelope, and hashing it four times for the memo was
# 6 µs an update (issue 24). An entry holds its update, so its id cannot be reused while it
# is there, and ``is`` is checked; the whole map is dropped when the scope ends: it holds
# content (the updates) only while the delivery that carries them is being applied.
# (``_Memo.scope``; only ``bytes`` are kept by identity: a bytearray may change.)
@contextlib.contextmanager
def parse_scope() -> Iterator[None]:
    """Remember parses by update identity until the block ends (nested: the outermost)."""
    if _memo.scope is not None:
        yield
        return
    _memo.scope = {}
    try:
        yield
    finally:
        _memo.scope = None


def read_deps(update: bytes) -> UpdateDeps:
    """The dependencies of a v1 update; MalformedUpdateError if the bytes are not one, or if
    it nests shared types in one another deeper than limits.MAX_CRDT_NESTING (pycrdt reads a
    deep document back recursively: ~100,000 nested maps overflow the native stack).
    The result is shared between callers reading the same bytes (see _Memo): never change it."""
    if len(update) > MEMO_MAX_UPDATE:
        return read_update(update, None)[0]  # a state: its dependencies only, nothing kept
    return _read_memo(update)[0]


def _read_memo(update: bytes, want: int = 0) -> _Kept:
    """Dependencies and delete set of a small update in one pass, remembered, with its
    ``Refs`` or its structs: ``want`` is the place of the one needed (``_STRUCTS``,
    ``_REFS``; 0: either, the refs when it is read first), read again if it was not kept."""
    scope = _memo.scope if type(update) is bytes else None  # immutable: its parse cannot change
    if scope is not None:
        # A delivery's update is read first here, then by identity: the digest and the
        # bounded memo would cost more than they save (a catch-up reads each update once).
        if _compiled is not None:
            return _compiled.in_scope(update, scope, want)  # type: ignore[no-any-return]
        return _in_scope_py(update, scope, want)
    key = _Memo.key("update", update)
    found = _memo.get(key)
    known = found if isinstance(found, tuple) else None
    if known is not None and known[want] is not None:
        return known
    parsed = _kept(update, want == _STRUCTS, known)
    _memo.put(key, parsed)
    return parsed


_STRUCTS: Final = 1
_REFS: Final = 3


def _in_scope_py(update: bytes, scope: dict[int, tuple[bytes, _Kept]], want: int) -> _Kept:
    """What is kept of ``update`` in a delivery's ``scope`` (by identity), read now if the
    one at ``want`` is not there (``_read_memo``). The reference of the compiled
    ``in_scope`` (``_scope_c.pxi``), which runs instead when the compiled module does."""
    seen = scope.get(id(update))
    known = seen[1] if seen is not None and seen[0] is update else None
    if known is not None and known[want] is not None:
        return known
    fresh = _kept(update, want == _STRUCTS, known)
    scope[id(update)] = (update, fresh)
    return fresh



def _kept(update: bytes, structs: bool, known: _Kept | None) -> _Kept:
    """One read of ``update``, with its structs or its ``Refs``, beside what was ``known``
    of it (the same pure function of the bytes: its dependencies and delete set kept)."""
    if structs:
        found: list[StructInfo] = []
        deps, _found, deletes = read_update(update, found)
        if known is not None:
            return known[0], found, known[2], known[3]
        return deps, found, deletes, None
    refs = Refs()
    deps, _none, deletes = read_update(update, None, refs)
    if known is not None:
        return known[0], known[1], known[2], refs
    return deps, None, deletes, refs


def read_refs(update: bytes
              ) -> tuple[Refs, list[tuple[int, int, int]], UpdateDeps] | None:
    """What the role screening reads of a small update instead of its structs (``Refs``),
    with its delete set and dependencies; None for an update above MEMO_MAX_UPDATE (read its
    structs). MalformedUpdateError as read_deps. Shared between callers: never change them."""
    if len(update) > MEMO_MAX_UPDATE:
        return None
    deps, _structs, deletes, refs = _read_memo(update, _REFS)
    assert refs is not None
    return refs, deletes, deps


def read_update(update: bytes, structs: list[StructInfo] | None, refs: Refs | None = None
                ) -> _Parsed:
    """One pass over an update: by the compiled reader when it runs (ynative), else by
    yreader's, a large one (a whole state) by ystate.read_large: the same decisions, with the
    reads of ids and levels a state's bulk needs made cheaper (issue 24). Nothing is
    remembered (read_deps, read_structs and read_refs are: the loop's memo), so a worker
    thread or a caller reading bytes once uses this; the results are its own to change.
    (deps, structs or [], delete set); fills ``structs`` or ``refs`` when given one."""
    if _compiled is not None:
        parsed: _Parsed = _compiled.read_update(update, structs, refs)
        return parsed
    if len(update) > MEMO_MAX_UPDATE:
        deps = UpdateDeps()
        found: list[StructInfo] | None = [] if structs is not None else None
        deletes = ystate.read_large(update, deps, found)
        if deletes is not None:
            if structs is not None and found:
                structs.extend(found)
            return deps, structs or [], deletes
    return _read_small(update, structs, refs)


def combining() -> bool:
    """Whether ``combine_run`` can write runs (the compiled module runs)."""
    return _compiled is not None


def combine_run(updates: list[bytes], at: int,
                state: dict[int, int]) -> tuple[bytes | None, int]:
    """(one update carrying ``updates[at:end]``, ``end``): the longest run from ``at`` that
    the one-by-one merge would integrate at once against ``state`` (advanced over it here),
    each update parsed once (this scope's parse, or the memo's); see merge_run.py. Needs the
    compiled module (``combining``)."""
    assert _compiled is not None
    one, end = _compiled.combine(updates, at, state, _memo.scope, _read_memo, MEMO_MAX_UPDATE)
    return one, end


def read_into(update: bytes, sink: ystate.Sink) -> UpdateDeps | None:
    """The dependencies of a large update, as ``read_deps``, marking its items into ``sink``
    in the same pass (a state is read once for the document and the role screening's index);
    None for an update listing a client twice (read it and mark its structs the slow way,
    over the marks made before the repeat: marking is idempotent). MalformedUpdateError as
    read_deps (``sink`` may hold marks then: use a fresh one for bytes not integrated yet)."""
    deps = UpdateDeps()
    read_large = ystate.read_large if _compiled is None else _compiled.read_large
    return deps if read_large(update, deps, None, sink) is not None else None


def read_state_vector(data: bytes) -> dict[int, int]:
    """A document's state vector (``Doc.get_state()``) as {client: next clock}."""
    r = _Reader(data)
    return {r.varuint(): r.varuint() for _ in range(r.varuint())}


def encode_state_vector(state: dict[int, int]) -> bytes:
    """The Yjs encoding of a state vector {client: next clock} (for ``Doc.get_update``)."""
    out = bytearray()

    def varuint(n: int) -> None:
        while n > 0x7F:
            out.append(0x80 | (n & 0x7F))
            n >>= 7
        out.append(n)

    varuint(len(state))
    for client, clock in state.items():
        varuint(client)
        varuint(clock)
    return bytes(out)


def read_structs(update: bytes) -> tuple[list[StructInfo], list[tuple[int, int, int]]]:
    """Every struct of a v1 update and its delete set ``(client, clock, length)``, without
    applying it; MalformedUpdateError if the bytes are not one (same bounds as read_deps).
    The lists are shared between callers reading the same bytes (see _Memo): never change them."""
    if len(update) > MEMO_MAX_UPDATE:
        structs: list[StructInfo] = []
        _deps, _structs, deletes = read_update(update, structs)
        return structs, deletes
    _deps, found, deletes, _refs = _read_memo(update, _STRUCTS)
    assert found is not None
    return found, deletes


def neutralised(update: bytes) -> bytes:
    """An update holding the same clock ranges as ``update`` but no content (GC structs) and
    no deletions: applied instead of a refused update, it lets the author's later updates
    integrate (their clocks follow) while what the refused one wrote never exists here, and
    later edits of it become garbage too."""
    structs, _deletes = read_structs(update)
    out = bytearray()

    def varuint(n: int) -> None:
        while n > 0x7F:
            out.append(0x80 | (n & 0x7F))
            n >>= 7
        out.append(n)

    by_client: dict[int, list[StructInfo]] = {}
    for s in structs:
        by_client.setdefault(s.client, []).append(s)
    varuint(len(by_client))
    for client, items in by_client.items():
        runs: list[tuple[int, int]] = []  # (ref 0 or 10, length), merged
        for s in items:
            ref = 10 if s.kind == 10 else 0
            if runs and runs[-1][0] == ref:
                runs[-1] = (ref, runs[-1][1] + s.length)
            else:
                runs.append((ref, s.length))
        varuint(len(runs))
        varuint(client)
        varuint(items[0].clock)
        for ref, length in runs:
            out.append(ref)
            varuint(length)
    varuint(0)  # no deletions
    return bytes(out)
