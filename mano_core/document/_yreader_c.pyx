# cython: language_level=3, boundscheck=True, wraparound=True, initializedcheck=True
# cython: cdivision=False, overflowcheck=False
"""The compiled reader of Yjs v1 updates (Cython), making exactly the decisions of the pure
Python reader ``yreader._read`` (the reference, kept and tested against this one): the same
dependencies, structs, delete set and refusals (MalformedUpdateError, same message), and, with
a sink, the same role-screening marks as ``ystate.read_large``. Why it is read at all before
pycrdt sees the bytes: docs/security.md, "Snapshots: what is read before pycrdt".

Memory safety: every read of the update goes through a bounds-checked typed memoryview (never
turn ``boundscheck`` off here: the bytes are a stranger's), after an explicit length check that
gives our error; numbers are read into 64-bit integers and a value of 2**62 or more (never in
an update pycrdt or Yjs writes: clocks and client ids are < 2**53) is not computed with here:
such an update is read by the Python reader whole (``_Delegate``), as is one listing a client
twice. Counts and byte lengths are capped at 2**62 instead (each counted thing takes at least
one byte, so a capped count runs out of bytes exactly where the real one would).

Loaded by ``ynative`` only when the SHA-256 of this file matches the one compiled in (a stale
build is never used); ``./dev`` rebuilds it when this file is newer than the build."""

from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.stdint cimport int64_t
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.string cimport memcmp, memcpy

cdef extern from "Python.h":
    const Py_ssize_t PY_SSIZE_T_MAX

from mano_core import limits
from mano_core.errors import MalformedUpdateError, TooDeepError

cdef extern from *:
    """
    #ifndef MANO_SOURCE_SHA256
    #define MANO_SOURCE_SHA256 "unknown"
    #endif
    """
    const char *MANO_SOURCE_SHA256

SOURCE_SHA256 = MANO_SOURCE_SHA256.decode("ascii")

cdef int64_t _CAP = 1 << 62  # values from here on: capped (counts, lengths) or delegated
cdef enum:
    _STACK = 256  # open arrays/objects of one value: bounded by MAX_CRDT_ANY_DEPTH + 2

cdef Py_ssize_t _MAX_ANY_DEPTH = limits.MAX_CRDT_ANY_DEPTH
cdef Py_ssize_t _MAX_NESTING = limits.MAX_CRDT_NESTING
if _MAX_ANY_DEPTH + 3 > _STACK:
    raise ImportError("limits.MAX_CRDT_ANY_DEPTH is beyond the compiled reader's stack")
cdef int _UNKNOWN_LEVEL = 2  # as yreader: an item whose parent is not in the update

_tuple_new = tuple.__new__
_StructInfo = None  # yreader.StructInfo, set by ``bind``
_UpdateDeps = None
_pure_read = None
_pure_large = None


def bind(struct_info, update_deps, pure_read, pure_large):
    """The Python side this module fills and hands back to: set once by ``ynative``."""
    global _StructInfo, _UpdateDeps, _pure_read, _pure_large
    _StructInfo, _UpdateDeps = struct_info, update_deps
    _pure_read, _pure_large = pure_read, pure_large


class _Delegate(Exception):
    """This update is read by the Python reader whole (a client listed twice, a value
    beyond 2**62)."""


cdef _early():
    return MalformedUpdateError("update ends early")


cdef _beyond():
    return MalformedUpdateError("length beyond the end of the update")


cdef _too_long():
    return MalformedUpdateError("varint longer than 10 bytes")


def _too_deep_value(depth):
    too_deep = TooDeepError("MAX_CRDT_ANY_DEPTH", depth, _MAX_ANY_DEPTH)
    raise MalformedUpdateError(f"value nested too deeply: {too_deep}") from too_deep


def _too_deep_types(level):
    too_deep = TooDeepError("MAX_CRDT_NESTING", level, _MAX_NESTING)
    raise MalformedUpdateError(f"shared types nested too deeply: {too_deep}") from too_deep


cdef inline int64_t _vu(const unsigned char[::1] d, Py_ssize_t *p) except -1:
    """A varuint at ``p[0]`` (advanced past it), capped at _CAP; as yreader's errors."""
    cdef Py_ssize_t pos = p[0], n = d.shape[0], i
    cdef unsigned char b
    cdef int64_t result = 0
    cdef int shift = 0
    cdef bint big = False
    if pos >= n:
        raise _early()
    b = d[pos]
    if b < 0x80:
        p[0] = pos + 1
        return b
    for i in range(pos, pos + 10):
        if i >= n:
            raise _early()
        b = d[i]
        if shift < 56:
            result |= (<int64_t>(b & 0x7F)) << shift
        elif shift == 56:  # bits 56..62
            result |= (<int64_t>(b & 0x7F)) << 56
        elif b & 0x7F:  # bit 63 and up
            big = True
        if b < 0x80:
            p[0] = i + 1
            if big or result >= _CAP:
                return _CAP
            return result
        shift += 7
    raise _too_long()


cdef inline int64_t _exact(int64_t value) except -1:
    """A value kept in the result (a clock, a client, a length): delegated from 2**62 on."""
    if value >= _CAP:
        raise _Delegate()
    return value


cdef inline Py_ssize_t _skip(const unsigned char[::1] d, Py_ssize_t pos,
                             int64_t n) except -1:
    if n > d.shape[0] - pos:
        raise _beyond()
    return pos + <Py_ssize_t>n


cdef Py_ssize_t _skip_anys(const unsigned char[::1] d, Py_ssize_t pos,
                           int64_t count) except -1:
    """As yreader._skip_anys: ``count`` lib0 "any" values from ``pos``, the same checks in
    the same order (depth bound, known tags, lengths); the position after them."""
    cdef int64_t left[_STACK]
    cdef bint keyed[_STACK]
    cdef Py_ssize_t top = 0, end = d.shape[0], i
    cdef int64_t n
    cdef unsigned char tag, b
    cdef bint done
    left[0] = count
    keyed[0] = False
    while top >= 0:
        if not left[top]:
            top -= 1
            continue
        left[top] -= 1
        if keyed[top]:  # an object's key: a string
            n = _vu(d, &pos)
            if n > end - pos:
                raise _beyond()
            pos += n
        if top > _MAX_ANY_DEPTH:  # yreader: len(left) > MAX + 1
            _too_deep_value(top)
        if pos >= end:
            raise _early()
        tag = d[pos]
        pos += 1
        if tag == 119 or tag == 116:  # string, binary
            n = _vu(d, &pos)
            if n > end - pos:
                raise _beyond()
            pos += n
        elif 120 <= tag <= 127:  # true, false, null, undefined; numbers
            if tag == 125:  # signed varint: a first byte and at most 10 more
                if pos >= end:
                    raise _early()
                b = d[pos]
                pos += 1
                if b & 0x80:
                    done = False
                    for i in range(10):
                        if pos >= end:
                            raise _early()
                        b = d[pos]
                        pos += 1
                        if b < 0x80:
                            done = True
                            break
                    if not done:
                        raise _too_long()
            elif tag == 124:
                pos += 4
                if pos > end:
                    raise _beyond()
            elif tag == 123 or tag == 122:
                pos += 8
                if pos > end:
                    raise _beyond()
        elif tag == 117 or tag == 118:  # array, object
            n = _vu(d, &pos)
            if top + 1 >= _STACK:  # unreachable: the depth bound comes first
                _too_deep_value(top + 1)
            top += 1
            left[top] = n
            keyed[top] = tag == 118
        else:
            raise MalformedUpdateError(f"unknown value tag {<int>tag}")
    return pos


cdef enum:
    _SPANS_INLINE = 16  # spans held in the object itself: a small update's never grow


cdef class _Spans:
    """One client's items with a nesting level, in clock order (clocks only grow within a
    client, and a client listed twice is delegated): [start, end, level] triples, the first
    ``_SPANS_INLINE`` in the object, more in a buffer that doubles (issue 24: an ``array('q')``
    and its memoryview made for every small update were a fifth of its read). Only this
    class indexes them, below ``3 * n`` (checked against ``cap`` as it grows)."""

    cdef int64_t inline_v[3 * _SPANS_INLINE]
    cdef int64_t *v
    cdef Py_ssize_t n, cap

    def __cinit__(self):
        self.v = self.inline_v
        self.n = 0
        self.cap = _SPANS_INLINE

    def __dealloc__(self):
        if self.v != self.inline_v:
            PyMem_Free(self.v)

    cdef int add(self, int64_t start, int64_t end, int64_t level) except -1:
        cdef Py_ssize_t at = 3 * self.n
        cdef int64_t *grown
        if self.n >= self.cap:
            if self.cap > PY_SSIZE_T_MAX // (2 * 3 * <Py_ssize_t>sizeof(int64_t)):
                raise MemoryError()
            grown = <int64_t *>PyMem_Malloc(2 * 3 * self.cap * sizeof(int64_t))
            if grown == NULL:
                raise MemoryError()
            memcpy(grown, self.v, 3 * self.n * sizeof(int64_t))
            if self.v != self.inline_v:
                PyMem_Free(self.v)
            self.v = grown
            self.cap *= 2
        self.v[at] = start
        self.v[at + 1] = end
        self.v[at + 2] = level
        self.n += 1
        return 0

    cdef int64_t at(self, int64_t clock) except -1:
        """The level of the span holding ``clock`` (the last one starting at or before it,
        as bisect_right), 0 if none."""
        cdef Py_ssize_t lo = 0, hi = self.n, mid
        while lo < hi:
            mid = (lo + hi) // 2
            if clock < self.v[3 * mid]:
                hi = mid
            else:
                lo = mid + 1
        if lo == 0:
            return 0
        lo -= 1
        if clock < self.v[3 * lo + 1]:
            return self.v[3 * lo + 2]
        return 0


cdef class _Levels:
    """The _Spans of each client read so far (the last one asked for, cached)."""

    cdef dict spans
    cdef int64_t last_client
    cdef _Spans last

    def __cinit__(self):
        self.spans = {}
        self.last_client = -1
        self.last = None

    cdef _Spans of(self, int64_t client):
        """The spans of ``client``, made when it has none yet."""
        cdef _Spans found
        if self.last is not None and self.last_client == client:
            return self.last
        found = self.spans.get(client)
        if found is None:
            found = _Spans()
            self.spans[client] = found
        self.last_client, self.last = client, found
        return found

    cdef int64_t at(self, int64_t client, int64_t clock) except -1:
        cdef _Spans s
        if self.last is not None and self.last_client == client:
            return self.last.at(clock)
        s = self.spans.get(client)
        if s is None:
            return 0
        self.last_client, self.last = client, s
        return s.at(clock)


cdef int64_t _utf16_units(const unsigned char[::1] d, Py_ssize_t pos, int64_t n) except -1:
    """Length in UTF-16 code units of the ``n`` bytes at ``pos`` (already within the update),
    MalformedUpdateError if they are not UTF-8 (Python's own strict decoder decides)."""
    cdef Py_ssize_t i
    cdef int64_t units = 0
    cdef unsigned char b
    cdef bint ascii = True
    for i in range(pos, pos + n):
        if d[i] >= 0x80:
            ascii = False
            break
    if ascii:
        return n
    _text(d, pos, n)
    for i in range(pos, pos + n):
        b = d[i]
        if b & 0xC0 != 0x80:
            units += 2 if b >= 0xF0 else 1
    return units


cdef str _text(const unsigned char[::1] d, Py_ssize_t pos, int64_t n):
    """The ``n`` bytes at ``pos`` (already within the update) as text, or our error."""
    if n == 0:
        return ""
    if pos + n > d.shape[0]:
        raise _beyond()
    try:
        return PyUnicode_DecodeUTF8(<const char *>&d[pos], n, NULL)
    except UnicodeDecodeError:
        raise MalformedUpdateError("invalid UTF-8 in update") from None


cdef inline void _low(dict lows, int64_t client, int64_t clock):
    """``yreader.Refs.low``: keep the lowest clock of ``client`` referred to."""
    known = lows.get(client)
    if known is None or clock < <int64_t>known:
        lows[client] = clock


cdef inline void _refer(int64_t c, int64_t k, int64_t client, int64_t* need, int64_t* low,
                        dict needs, dict lows, bint screen):
    """An id an item refers to (its origin, right origin or parent item): the client's need
    raised past it (``client``'s own in ``need``, kept local by the caller) and, when
    screening, its lowest clock referred to kept (``client``'s own in ``low``, the others in
    ``lows``: ``yreader.Refs``)."""
    if c == client:
        if k >= need[0]:
            need[0] = k + 1
        if k < low[0]:
            low[0] = k
    else:
        if k + 1 > needs.get(c, 0):
            needs[c] = k + 1
        if screen:
            _low(lows, c, k)


cdef object _new_deps():
    """An empty UpdateDeps without its dataclass __init__ (a third of a small update's read)."""
    deps = _UpdateDeps.__new__(_UpdateDeps)
    deps.starts = {}
    deps.ends = {}
    deps.needs = {}
    deps.holes = None
    return deps


def read_update(update, list structs, refs=None):
    """As ``yreader._read(update, structs, refs)``: (deps, structs or [], delete set), and
    ``refs`` (a ``yreader.Refs``, when no structs are kept) filled."""
    return _read_update(update, structs, refs)


cdef tuple _read_update(object update, list structs, object refs):
    deps = _new_deps()
    n0 = len(structs) if structs is not None else 0
    if structs is not None:
        refs = None
    try:
        deletes = _read(update, deps, structs, None, refs)
    except _Delegate:
        if structs is not None:
            del structs[n0:]
        if refs is not None:
            refs.lows.clear()
            refs.roots.clear()
        return _pure_read(update, structs, refs)
    return deps, structs or [], deletes


def read_large(update, deps, list structs, sink=None):
    """As ``ystate.read_large``: fill ``deps`` (and ``structs``), marking into ``sink``;
    the delete set, or None for a client listed twice."""
    n0 = len(structs) if structs is not None else 0
    try:
        return _read(update, deps, structs, sink, None)
    except _Delegate as why:
        if why.args == ("twice",):
            return None
        deps.starts.clear()
        deps.ends.clear()
        deps.needs.clear()
        deps.holes = None
        if structs is not None:
            del structs[n0:]
        return _pure_large(update, deps, structs, sink)


cdef list _read(object update, object deps, list structs, object sink, object refs):
    cdef const unsigned char[::1] d
    try:
        d = update
    except (TypeError, ValueError, BufferError):
        raise MalformedUpdateError("not a byte string")
    try:
        return _parse(d, deps, structs, sink, refs)
    except IndexError:  # a read past the end the explicit checks missed: still ours
        raise MalformedUpdateError("update ends early") from None


cdef list _parse(const unsigned char[::1] d, object deps, list structs, object sink,
                 object refs):
    cdef Py_ssize_t pos = 0, end = d.shape[0]
    cdef int64_t n_clients, count, client, clock, need, length, n, start, kind, type_ref
    cdef int64_t oc, ok, rc, rk, ic, ik, level, above, n_ranges, first, ci, si
    cdef unsigned char info, ref
    cdef bint keep = structs is not None or refs is not None  # (texts checked, deletes kept)
    cdef bint screen = refs is not None  # (yreader.Refs: lows, roots; never with structs)
    cdef dict lows = refs.lows if screen else None
    cdef set found_roots = refs.roots if screen else None
    cdef int64_t low  # the lowest clock of this client's own referred to, as ``need``
    cdef bint marking = sink is not None
    cdef bint has_origin, has_right, has_item, is_root
    cdef dict starts = deps.starts, ends = deps.ends, needs = deps.needs
    cdef _Levels levels = None  # made at the first item with a level to remember
    cdef list deletes = []
    cdef object py_client, origin, right, item, root, sub, code, at_id
    cdef object roots = None, keyed = None
    # The last root name decoded when marking, where it is and what it gave: a state's
    # records are runs of one collection's (issue 24: each decoded and hashed again was a
    # quarter of the first sync's read of its state, on the event loop).
    cdef Py_ssize_t name_at = 0, name_n = -1
    cdef object name = None
    if marking:
        roots = sink.roots
        keyed = sink.keyed

    n_clients = _vu(d, &pos)
    for ci in range(n_clients):
        count = _vu(d, &pos)
        client = _exact(_vu(d, &pos))
        clock = _exact(_vu(d, &pos))
        py_client = client
        if py_client in starts:
            raise _Delegate("twice")
        starts[py_client] = clock
        need = needs.get(py_client, 0)  # this client's own highest need, kept local
        low = _CAP
        for si in range(count):
            if pos >= end:
                raise _early()
            info = d[pos]
            pos += 1
            ref = info & 0x1F
            if ref == 0 or ref == 10:  # GC, Skip
                length = _exact(_vu(d, &pos))
                if structs is not None:
                    structs.append(_tuple_new(_StructInfo, (
                        py_client, clock, length, ref, None, None, None, None, None)))
                clock = _exact(clock + length)
                if ref == 10:  # a skip is a hole: what follows depends on it
                    if clock > need:
                        need = clock
                    deps.hole(py_client, clock)  # (UpdateDeps.holes: rare)
                continue
            level = 0  # nesting level of the item (its parent's depth), 0: not known
            has_origin = has_right = has_item = is_root = False
            origin = right = item = root = sub = None
            oc = ok = rc = rk = ic = ik = 0
            if info & 0x80:
                oc = _exact(_vu(d, &pos))
                ok = _exact(_vu(d, &pos))
                has_origin = True
                _refer(oc, ok, client, &need, &low, needs, lows, screen)
                level = levels.at(oc, ok) if levels is not None else 0
            if info & 0x40:
                rc = _exact(_vu(d, &pos))
                rk = _exact(_vu(d, &pos))
                has_right = True
                _refer(rc, rk, client, &need, &low, needs, lows, screen)
                above = levels.at(rc, rk) if levels is not None else 0
                if above > level:
                    level = above
            if not info & 0xC0:
                kind = _vu(d, &pos)
                if kind == 1:  # the parent is a root type, by name
                    n = _vu(d, &pos)
                    if n > end - pos:
                        raise _beyond()
                    is_root = True
                    if keep:
                        root = _text(d, pos, n)
                        if screen:
                            found_roots.add(root)
                    elif n > 0 and n == name_n and memcmp(&d[pos], &d[name_at], n) == 0:
                        root = name  # the same name as the last root item's: its answer
                    elif marking:  # as ystate: a marked root by name, any other is ""
                        try:
                            root = _text(d, pos, n)
                        except MalformedUpdateError:
                            root = ""
                        if root not in roots:
                            root = ""
                        name, name_at, name_n = root, pos, n
                    pos += n
                    level = 1
                else:
                    ic = _exact(_vu(d, &pos))
                    ik = _exact(_vu(d, &pos))
                    has_item = True
                    _refer(ic, ik, client, &need, &low, needs, lows, screen)
                    above = levels.at(ic, ik) if levels is not None else 0
                    level = above + 1 if above else 0
                if info & 0x20:  # key in the parent map
                    n = _vu(d, &pos)
                    if n > end - pos:
                        raise _beyond()
                    if keep or (marking and is_root and root and root == keyed):
                        sub = _text(d, pos, n)  # (with refs: checked, not kept)
                    pos += n
            if not level:
                level = _UNKNOWN_LEVEL
            start = clock
            if ref == 8:  # any: the bulk of a record's content
                n = _vu(d, &pos)
                pos = _skip_anys(d, pos, n)
                length = n
            elif ref == 7:  # a type
                if level > _MAX_NESTING:
                    _too_deep_types(level)
                type_ref = _vu(d, &pos)
                if type_ref == 3 or type_ref == 5:  # XmlElement, XmlHook carry a name
                    n = _vu(d, &pos)
                    if n > end - pos:
                        raise _beyond()
                    pos += n
                length = 1
            elif ref == 1:  # deleted
                length = _exact(_vu(d, &pos))
            elif ref == 2:  # JSON: n strings
                length = _vu(d, &pos)
                for n in range(length):
                    pos = _skip(d, pos, _vu(d, &pos))
            elif ref == 3 or ref == 5:  # binary, embed
                pos = _skip(d, pos, _vu(d, &pos))
                length = 1
            elif ref == 4:  # string: length in UTF-16 code units
                n = _vu(d, &pos)
                if n > end - pos:
                    raise _beyond()
                length = _utf16_units(d, pos, n)
                pos += n
            elif ref == 6:  # format: key, value
                pos = _skip(d, pos, _vu(d, &pos))
                pos = _skip(d, pos, _vu(d, &pos))
                length = 1
            elif ref == 9:  # subdocument: guid, then one any value (its options)
                pos = _skip(d, pos, _vu(d, &pos))
                pos = _skip_anys(d, pos, 1)
                length = 1
            else:
                raise MalformedUpdateError(f"unknown content type {<int>ref}")
            clock = _exact(clock + length)
            if structs is not None or marking:
                if has_origin:
                    origin = (oc, ok)
                if has_right:
                    right = (rc, rk)
                if has_item:
                    item = (ic, ik)
            if structs is not None:
                structs.append(_tuple_new(_StructInfo, (
                    py_client, start, length, ref, origin, right, root, item, sub)))
            if marking:  # as ystate / GuardedIndex._code, against what is marked so far
                code = None
                if is_root:
                    if root and root in roots:
                        code = (root, sub if root == keyed else None)
                else:
                    at_id = item if has_item else (origin if has_origin else right)
                    if at_id is not None:
                        code = sink.find(at_id[0], at_id[1])
                        if code is not None and has_item:
                            code = (code[0], None)
                if code is not None:
                    sink.add(py_client, start, clock, code)
            # A lookup that misses answers "level 2", so plain items at level 2 (the bulk:
            # a record's fields) need no entry; types always do (they are parents).
            if ref == 7 or level != _UNKNOWN_LEVEL:
                if levels is None:
                    levels = _Levels()
                levels.of(client).add(start, clock, level)
        if need > needs.get(py_client, 0):
            needs[py_client] = need
        if screen and low != _CAP:
            _low(lows, client, low)
        if clock > 0:
            ends[py_client] = clock

    n_ranges = _vu(d, &pos)  # delete set: clients
    for ci in range(n_ranges):
        client = _exact(_vu(d, &pos))
        py_client = client
        count = _vu(d, &pos)
        for si in range(count):
            first = _exact(_vu(d, &pos))
            length = _exact(_vu(d, &pos))
            if first + length > needs.get(py_client, 0):
                needs[py_client] = first + length
            if keep:
                deletes.append((py_client, first, length))
    return deletes


# --- a state's structs by client, for cutting it into pieces (pieces._read_clients) ----------

_pure_clients = None  # pieces._read_clients_py, set by ``bind_pieces``


def bind_pieces(pure_clients):
    """The Python reader of pieces this one hands back to (values beyond 2**62)."""
    global _pure_clients
    _pure_clients = pure_clients


def read_clients(state):
    """As ``pieces._read_clients_py(state)``: per client ``(client, offsets, clocks, needs)``
    (``offsets``, ``clocks``: lists, one more entry than the client's structs; ``needs``:
    struct index -> [(client, clock + 1)] of other clients' items it refers to), the delete
    set's start and what it refers to; None for a state with holes. The same refusals."""
    cdef const unsigned char[::1] d
    try:
        d = state
    except (TypeError, ValueError, BufferError):
        raise MalformedUpdateError("not a byte string")
    try:
        return _clients(d)
    except _Delegate:
        return _pure_clients(state)
    except IndexError:  # a read past the end the explicit checks missed: still ours
        raise MalformedUpdateError("update ends early") from None


cdef inline Py_ssize_t _skip_n(const unsigned char[::1] d, Py_ssize_t *p) except -1:
    """Skip a varuint-prefixed run of bytes (pieces' ``r.skip(r.varuint())``)."""
    cdef int64_t n = _vu(d, p)
    if n > d.shape[0] - p[0]:
        raise _beyond()
    p[0] += <Py_ssize_t>n
    return 0


cdef object _clients(const unsigned char[::1] d):
    cdef Py_ssize_t pos = 0, end = d.shape[0], delete_start
    cdef int64_t n_clients, count, client, clock, length, n, c2, k2, ci, si
    cdef unsigned char info, ref
    cdef list out = [], offsets, clocks, wanted, deletes_need
    cdef dict needs
    cdef set seen = set()
    cdef object py_client
    n_clients = _vu(d, &pos)
    for ci in range(n_clients):
        count = _vu(d, &pos)
        client = _exact(_vu(d, &pos))
        clock = _exact(_vu(d, &pos))
        py_client = client
        if py_client in seen:
            raise MalformedUpdateError("a client's structs in two runs")
        seen.add(py_client)
        offsets, clocks, needs = [], [], {}
        for si in range(count):
            offsets.append(pos)
            clocks.append(clock)
            if pos >= end:
                raise _early()
            info = d[pos]
            pos += 1
            ref = info & 0x1F
            if ref == 10:  # Skip: a hole (not cut)
                _vu(d, &pos)
                return None
            if ref == 0:  # GC
                length = _exact(_vu(d, &pos))
                clock = _exact(clock + length)
                continue
            wanted = None
            if info & 0x80:
                c2 = _exact(_vu(d, &pos))
                k2 = _exact(_vu(d, &pos))
                if c2 != client:
                    wanted = [(c2, k2 + 1)]
            if info & 0x40:
                c2 = _exact(_vu(d, &pos))
                k2 = _exact(_vu(d, &pos))
                if c2 != client:
                    if wanted is None:
                        wanted = []
                    wanted.append((c2, k2 + 1))
            if not info & 0xC0:
                if _vu(d, &pos) == 1:
                    _skip_n(d, &pos)  # root type name
                else:
                    c2 = _exact(_vu(d, &pos))
                    k2 = _exact(_vu(d, &pos))
                    if c2 != client:
                        if wanted is None:
                            wanted = []
                        wanted.append((c2, k2 + 1))
                if info & 0x20:
                    _skip_n(d, &pos)  # key in the parent map
            if ref == 8:  # any
                n = _vu(d, &pos)
                pos = _skip_anys(d, pos, n)
                length = n
            elif ref == 7:  # a type
                if _vu(d, &pos) in (3, 5):  # XmlElement, XmlHook carry a name
                    _skip_n(d, &pos)
                length = 1
            elif ref == 1:  # deleted
                length = _vu(d, &pos)
            elif ref == 2:  # JSON: n strings
                length = _vu(d, &pos)
                for n in range(length):
                    _skip_n(d, &pos)
            elif ref == 3 or ref == 5:  # binary, embed
                _skip_n(d, &pos)
                length = 1
            elif ref == 4:  # string: length in UTF-16 code units
                n = _vu(d, &pos)
                if n > end - pos:
                    raise _beyond()
                length = _utf16_units(d, pos, n)
                pos += n
            elif ref == 6:  # format: key, value
                _skip_n(d, &pos)
                _skip_n(d, &pos)
                length = 1
            elif ref == 9:  # subdocument: guid, then one any value (its options)
                _skip_n(d, &pos)
                pos = _skip_anys(d, pos, 1)
                length = 1
            else:
                raise MalformedUpdateError(f"unknown content type {<int>ref}")
            clock = _exact(clock + _exact(length))
            if wanted is not None:
                needs[si] = wanted
        offsets.append(pos)
        clocks.append(clock)
        out.append((py_client, offsets, clocks, needs))
    delete_start = pos
    deletes_need = []
    n = _vu(d, &pos)
    for ci in range(n):
        client = _exact(_vu(d, &pos))
        count = _vu(d, &pos)
        for si in range(count):
            clock = _exact(_vu(d, &pos))
            length = _exact(_vu(d, &pos))
            deletes_need.append((client, clock + length))
    if pos != end:
        raise MalformedUpdateError("bytes after the delete set")
    return out, delete_start, deletes_need


# --- msgpack nesting (bounded.check_depth) ----------------------------------------------------

cdef enum:
    _MSGPACK_STACK = 1024  # open containers tracked here; a deeper bound: the Python walk


cdef inline int64_t _be(const unsigned char[::1] v, Py_ssize_t pos, int width):
    """The big-endian number of ``width`` bytes at ``pos``, as ``int.from_bytes`` of the bytes
    there are (a truncated one: only those)."""
    cdef int64_t n = 0
    cdef Py_ssize_t i
    for i in range(pos, min(pos + width, v.shape[0])):
        n = (n << 8) | v[i]
    return n


def check_depth(data, Py_ssize_t max_depth, too_deep, pure):
    """As ``bounded._check_depth_py(data, max_depth)`` (``pure``, which reads what this one
    cannot view, and a bound beyond its stack): ``too_deep(depth)`` is raised at the same
    container, else None."""
    cdef const unsigned char[::1] v
    if max_depth >= _MSGPACK_STACK or max_depth < 0:
        return pure(data, max_depth)
    try:
        v = data
    except (TypeError, ValueError, BufferError):
        return pure(data, max_depth)
    cdef int64_t remaining[_MSGPACK_STACK]
    cdef Py_ssize_t depth = 0, size = v.shape[0], pos = 0
    cdef int64_t todo = 1, count
    cdef unsigned char lead
    while True:
        while todo == 0:
            if depth == 0:
                return None
            depth -= 1
            todo = remaining[depth]
        if pos >= size:
            return None  # truncated: msgspec says so
        lead = v[pos]
        pos += 1
        todo -= 1
        if lead <= 0x7f or lead >= 0xe0:
            continue
        if lead <= 0x8f:
            count = 2 * (lead & 0x0f)
        elif lead <= 0x9f:
            count = lead & 0x0f
        elif lead <= 0xbf:
            pos += lead & 0x1f
            continue
        elif lead == 0xc0 or lead == 0xc2 or lead == 0xc3:
            continue
        elif lead == 0xca or lead == 0xce or lead == 0xd2:
            pos += 4
            continue
        elif lead == 0xcb or lead == 0xcf or lead == 0xd3:
            pos += 8
            continue
        elif lead == 0xcc or lead == 0xd0:
            pos += 1
            continue
        elif lead == 0xcd or lead == 0xd1 or lead == 0xd4:
            pos += 2
            continue
        elif lead == 0xd5:
            pos += 3
            continue
        elif lead == 0xd6:
            pos += 5
            continue
        elif lead == 0xd7:
            pos += 9
            continue
        elif lead == 0xd8:
            pos += 17
            continue
        elif lead == 0xc4 or lead == 0xd9:
            pos += 1 + _be(v, pos, 1)
            continue
        elif lead == 0xc5 or lead == 0xda:
            pos += 2 + _be(v, pos, 2)
            continue
        elif lead == 0xc6 or lead == 0xdb:
            pos += 4 + _be(v, pos, 4)
            continue
        elif lead == 0xc7:
            pos += 2 + _be(v, pos, 1)
            continue
        elif lead == 0xc8:
            pos += 3 + _be(v, pos, 2)
            continue
        elif lead == 0xc9:
            pos += 5 + _be(v, pos, 4)
            continue
        elif lead == 0xdc:
            count = _be(v, pos, 2)
            pos += 2
        elif lead == 0xdd:
            count = _be(v, pos, 4)
            pos += 4
        elif lead == 0xde:
            count = 2 * _be(v, pos, 2)
            pos += 2
        elif lead == 0xdf:
            count = 2 * _be(v, pos, 4)
            pos += 4
        else:
            return None  # 0xc1: never used; msgspec refuses it
        if depth + 1 > max_depth:
            raise too_deep(depth + 1)
        if count > size - pos:
            return None  # more elements than bytes left: truncated, msgspec says so
        remaining[depth] = todo
        depth += 1
        todo = count


include "_open_c.pxi"
include "_combine_c.pxi"
include "_scope_c.pxi"
include "_rootkeys_c.pxi"
