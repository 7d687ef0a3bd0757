# The record ids of stored bytes, read without the GIL (issue 24): included by _yreader_c.pyx
# (one compiled module; ynative checks the SHA-256 of every file). ``root_keys_into`` is the
# fast path of ``root_keys._collect`` (the reference, kept and used without this module): the
# (root name, key) of every item whose parent is a root type and which names a key in it, in
# the order met. The ids' worker (mano_core.slices.start_root_keys) runs while pycrdt applies
# the same bytes on the loop, and pycrdt holds the GIL: the reference's read made a
# ``StructInfo`` per struct holding it too, so the two took turns on one core. Here the walk
# over the bytes runs with the GIL released, noting only where each pair's texts lie, and the
# GIL is taken again to make the texts of the pairs found.
#
# The walk makes the reference's decisions in the same order: the same bounds, the same
# refusals (MalformedUpdateError, same message: the strict UTF-8 check of the texts a read with
# structs decodes, the nesting bounds with the same levels), and what the compiled reader hands
# to the Python one (a client listed twice, a value from 2**62 on) is handed back to the caller
# (False: read it the reference's way). Every read goes through the bounds-checked memoryview,
# after an explicit length check that gives our error.

from libc.stdint cimport uint64_t
from libc.stdlib cimport free, malloc, realloc

cdef enum:
    _RK_EARLY = 1        # update ends early
    _RK_BEYOND = 2       # length beyond the end of the update
    _RK_LONG = 3         # varint longer than 10 bytes
    _RK_TAG = 4          # unknown value tag (detail: the tag)
    _RK_DEEP_VALUE = 5   # value nested too deeply (detail: the depth)
    _RK_DEEP_TYPES = 6   # shared types nested too deeply (detail: the level)
    _RK_UTF8 = 7         # invalid UTF-8 in update
    _RK_CONTENT = 8      # unknown content type (detail: the type)
    _RK_DELEGATE = 9     # read by the reference instead
    _RK_MEMORY = 10


cdef struct _RkPair:
    Py_ssize_t root_at, root_n, key_at, key_n


cdef struct _RkSpan:
    int64_t start, end, level


cdef struct _RkWalk:
    int64_t detail          # of the error returned
    # The pairs found.
    _RkPair *pairs
    Py_ssize_t n_pairs, cap_pairs
    # The nesting levels of the items read so far (as _Levels): each client's spans are one
    # run of ``spans`` (a client's structs come in one section, else the walk hands over), the
    # section being read from ``current_lo`` on; the others' runs by client in an open
    # addressing table (``slots``: size a power of two, ``slot_client`` -1 where free).
    _RkSpan *spans
    Py_ssize_t n_spans, cap_spans
    int64_t *slot_client
    Py_ssize_t *slot_lo
    Py_ssize_t *slot_hi
    Py_ssize_t slots, used
    int64_t current
    Py_ssize_t current_lo


cdef inline int _rk_vu(const unsigned char[::1] d, Py_ssize_t *p, int64_t *out) \
        except -1 nogil:
    """``_vu`` without the GIL: the varuint at ``p[0]`` in ``out[0]`` (capped at _CAP), 0,
    or the error's code."""
    cdef Py_ssize_t pos = p[0], n = d.shape[0], i
    cdef unsigned char b
    cdef int64_t result = 0
    cdef int shift = 0
    cdef bint big = False
    if pos >= n:
        return _RK_EARLY
    b = d[pos]
    if b < 0x80:
        p[0] = pos + 1
        out[0] = b
        return 0
    for i in range(pos, pos + 10):
        if i >= n:
            return _RK_EARLY
        b = d[i]
        if shift < 56:
            result |= (<int64_t>(b & 0x7F)) << shift
        elif shift == 56:
            result |= (<int64_t>(b & 0x7F)) << 56
        elif b & 0x7F:
            big = True
        if b < 0x80:
            p[0] = i + 1
            out[0] = _CAP if big or result >= _CAP else result
            return 0
        shift += 7
    return _RK_LONG


cdef inline int _rk_exact(const unsigned char[::1] d, Py_ssize_t *p, int64_t *out) \
        except -1 nogil:
    """A varuint kept as a value (``_exact(_vu(...))``): handed over from 2**62 on."""
    cdef int rc = _rk_vu(d, p, out)
    if rc:
        return rc
    if out[0] >= _CAP:
        return _RK_DELEGATE
    return 0


cdef inline int _rk_skip(const unsigned char[::1] d, Py_ssize_t *p) except -1 nogil:
    """``_skip(d, pos, _vu(d, &pos))``: a varuint-prefixed run of bytes skipped."""
    cdef int64_t n
    cdef int rc = _rk_vu(d, p, &n)
    if rc:
        return rc
    if n > d.shape[0] - p[0]:
        return _RK_BEYOND
    p[0] += <Py_ssize_t>n
    return 0


cdef int _rk_utf8(const unsigned char[::1] d, Py_ssize_t pos, int64_t n,
                  int64_t *units) except -1 nogil:
    """Whether the ``n`` bytes at ``pos`` (within the update) are UTF-8 as Python's strict
    decoder takes them (no overlong form, no surrogate, nothing past U+10FFFF): 0, with their
    length in UTF-16 code units in ``units`` when given, or _RK_UTF8."""
    cdef Py_ssize_t i = pos, stop = pos + <Py_ssize_t>n, j, follow
    cdef int64_t count = 0
    cdef unsigned char b, c
    while i < stop:
        b = d[i]
        if b < 0x80:
            i += 1
            count += 1
            continue
        if 0xC2 <= b <= 0xDF:
            follow = 1
        elif 0xE0 <= b <= 0xEF:
            follow = 2
        elif 0xF0 <= b <= 0xF4:
            follow = 3
        else:
            return _RK_UTF8
        if i + follow >= stop:
            return _RK_UTF8  # cut short
        c = d[i + 1]
        if (b == 0xE0 and c < 0xA0) or (b == 0xED and c > 0x9F):
            return _RK_UTF8  # overlong, surrogate
        if (b == 0xF0 and c < 0x90) or (b == 0xF4 and c > 0x8F):
            return _RK_UTF8  # overlong, past U+10FFFF
        for j in range(i + 1, i + 1 + follow):
            if d[j] & 0xC0 != 0x80:
                return _RK_UTF8
        count += 2 if follow == 3 else 1
        i += 1 + follow
    if units != NULL:
        units[0] = count
    return 0


cdef int _rk_anys(const unsigned char[::1] d, Py_ssize_t *p, int64_t count,
                  _RkWalk *w) except -1 nogil:
    """``_skip_anys`` without the GIL: ``count`` lib0 "any" values skipped, the same checks
    in the same order."""
    cdef int64_t left[_STACK]
    cdef bint keyed[_STACK]
    cdef Py_ssize_t top = 0, end = d.shape[0], i, pos = p[0]
    cdef int64_t n
    cdef unsigned char tag, b
    cdef bint done
    cdef int rc
    left[0] = count
    keyed[0] = False
    while top >= 0:
        if not left[top]:
            top -= 1
            continue
        left[top] -= 1
        if keyed[top]:
            rc = _rk_vu(d, &pos, &n)
            if rc:
                return rc
            if n > end - pos:
                return _RK_BEYOND
            pos += n
        if top > _MAX_ANY_DEPTH:
            w.detail = top
            return _RK_DEEP_VALUE
        if pos >= end:
            return _RK_EARLY
        tag = d[pos]
        pos += 1
        if tag == 119 or tag == 116:
            rc = _rk_vu(d, &pos, &n)
            if rc:
                return rc
            if n > end - pos:
                return _RK_BEYOND
            pos += n
        elif 120 <= tag <= 127:
            if tag == 125:
                if pos >= end:
                    return _RK_EARLY
                b = d[pos]
                pos += 1
                if b & 0x80:
                    done = False
                    for i in range(10):
                        if pos >= end:
                            return _RK_EARLY
                        b = d[pos]
                        pos += 1
                        if b < 0x80:
                            done = True
                            break
                    if not done:
                        return _RK_LONG
            elif tag == 124:
                pos += 4
                if pos > end:
                    return _RK_BEYOND
            elif tag == 123 or tag == 122:
                pos += 8
                if pos > end:
                    return _RK_BEYOND
        elif tag == 117 or tag == 118:
            rc = _rk_vu(d, &pos, &n)
            if rc:
                return rc
            if top + 1 >= _STACK:
                w.detail = top + 1
                return _RK_DEEP_VALUE
            top += 1
            left[top] = n
            keyed[top] = tag == 118
        else:
            w.detail = tag
            return _RK_TAG
    p[0] = pos
    return 0


cdef inline Py_ssize_t _rk_hash(int64_t client, Py_ssize_t slots) noexcept nogil:
    return <Py_ssize_t>((<uint64_t>client * <uint64_t>0x9E3779B97F4A7C15) >> 40) & (slots - 1)


cdef int _rk_grow_slots(_RkWalk *w) noexcept nogil:
    """The client table at twice its size (or its first 64 slots): 0, or _RK_MEMORY."""
    cdef Py_ssize_t size = 64 if w.slots == 0 else 2 * w.slots, i, at
    cdef int64_t *clients = <int64_t *>malloc(size * sizeof(int64_t))
    cdef Py_ssize_t *lo = <Py_ssize_t *>malloc(size * sizeof(Py_ssize_t))
    cdef Py_ssize_t *hi = <Py_ssize_t *>malloc(size * sizeof(Py_ssize_t))
    if clients == NULL or lo == NULL or hi == NULL:
        free(clients)
        free(lo)
        free(hi)
        return _RK_MEMORY
    for i in range(size):
        clients[i] = -1
    for i in range(w.slots):
        if w.slot_client[i] >= 0:
            at = _rk_hash(w.slot_client[i], size)
            while clients[at] >= 0:
                at = (at + 1) & (size - 1)
            clients[at] = w.slot_client[i]
            lo[at] = w.slot_lo[i]
            hi[at] = w.slot_hi[i]
    free(w.slot_client)
    free(w.slot_lo)
    free(w.slot_hi)
    w.slot_client, w.slot_lo, w.slot_hi, w.slots = clients, lo, hi, size
    return 0


cdef inline Py_ssize_t _rk_slot(_RkWalk *w, int64_t client) noexcept nogil:
    """The slot of ``client`` in the table, or the free slot where it would go."""
    cdef Py_ssize_t at = _rk_hash(client, w.slots)
    while w.slot_client[at] >= 0 and w.slot_client[at] != client:
        at = (at + 1) & (w.slots - 1)
    return at


cdef int _rk_begin(_RkWalk *w, int64_t client) noexcept nogil:
    """A client's section begins: _RK_DELEGATE if it had one already (as the compiled
    reader), else 0 (or _RK_MEMORY)."""
    cdef Py_ssize_t at
    if w.current >= 0:  # the previous section's spans, kept by client
        if 2 * (w.used + 1) > w.slots and _rk_grow_slots(w):
            return _RK_MEMORY
        at = _rk_slot(w, w.current)
        w.slot_client[at] = w.current
        w.slot_lo[at] = w.current_lo
        w.slot_hi[at] = w.n_spans
        w.used += 1
    if w.current == client or (w.slots and w.slot_client[_rk_slot(w, client)] == client):
        return _RK_DELEGATE
    w.current, w.current_lo = client, w.n_spans
    return 0


cdef inline int64_t _rk_level(_RkWalk *w, int64_t client, int64_t clock) noexcept nogil:
    """``_Levels.at``: the level of the span of ``client`` holding ``clock``, 0 if none."""
    cdef Py_ssize_t lo, hi, mid, at, first
    if client == w.current:
        lo, hi = w.current_lo, w.n_spans
    elif w.slots:
        at = _rk_slot(w, client)
        if w.slot_client[at] != client:
            return 0
        lo, hi = w.slot_lo[at], w.slot_hi[at]
    else:
        return 0
    first = lo
    while lo < hi:  # the last span starting at or before ``clock`` (bisect_right)
        mid = (lo + hi) // 2
        if clock < w.spans[mid].start:
            hi = mid
        else:
            lo = mid + 1
    if lo == first:
        return 0
    lo -= 1
    if clock < w.spans[lo].end:
        return w.spans[lo].level
    return 0


cdef int _rk_span(_RkWalk *w, int64_t start, int64_t end, int64_t level) noexcept nogil:
    cdef _RkSpan *grown
    cdef Py_ssize_t size
    if w.n_spans == w.cap_spans:
        size = 64 if w.cap_spans == 0 else 2 * w.cap_spans
        grown = <_RkSpan *>realloc(w.spans, size * sizeof(_RkSpan))
        if grown == NULL:
            return _RK_MEMORY
        w.spans, w.cap_spans = grown, size
    w.spans[w.n_spans].start = start
    w.spans[w.n_spans].end = end
    w.spans[w.n_spans].level = level
    w.n_spans += 1
    return 0


cdef int _rk_pair(_RkWalk *w, Py_ssize_t root_at, Py_ssize_t root_n, Py_ssize_t key_at,
                  Py_ssize_t key_n) noexcept nogil:
    cdef _RkPair *grown
    cdef Py_ssize_t size
    if w.n_pairs == w.cap_pairs:
        size = 256 if w.cap_pairs == 0 else 2 * w.cap_pairs
        grown = <_RkPair *>realloc(w.pairs, size * sizeof(_RkPair))
        if grown == NULL:
            return _RK_MEMORY
        w.pairs, w.cap_pairs = grown, size
    w.pairs[w.n_pairs].root_at = root_at
    w.pairs[w.n_pairs].root_n = root_n
    w.pairs[w.n_pairs].key_at = key_at
    w.pairs[w.n_pairs].key_n = key_n
    w.n_pairs += 1
    return 0


cdef int _rk_walk(const unsigned char[::1] d, _RkWalk *w) except -1 nogil:
    """The walk of ``_parse`` with structs kept, noting each (root, key) pair: 0, or the
    error's code (its detail in ``w.detail``)."""
    cdef Py_ssize_t pos = 0, end = d.shape[0], root_at, root_n
    cdef int64_t n_clients, count, client, clock, length, n, kind, type_ref
    cdef int64_t oc, ok, rcl, rk, ic, ik, level, above, n_ranges, ci, si, first, units
    cdef unsigned char info, ref
    cdef bint is_root
    cdef int rc
    rc = _rk_vu(d, &pos, &n_clients)
    if rc:
        return rc
    ci = 0
    while ci < n_clients:
        ci += 1
        rc = _rk_vu(d, &pos, &count)
        if rc:
            return rc
        rc = _rk_exact(d, &pos, &client)
        if rc:
            return rc
        rc = _rk_exact(d, &pos, &clock)
        if rc:
            return rc
        rc = _rk_begin(w, client)
        if rc:
            return rc
        si = 0
        while si < count:
            si += 1
            if pos >= end:
                return _RK_EARLY
            info = d[pos]
            pos += 1
            ref = info & 0x1F
            if ref == 0 or ref == 10:  # GC, Skip
                rc = _rk_exact(d, &pos, &length)
                if rc:
                    return rc
                clock += length
                if clock >= _CAP:
                    return _RK_DELEGATE
                continue
            level = 0
            is_root = False
            root_at = root_n = -1
            if info & 0x80:
                rc = _rk_exact(d, &pos, &oc)
                if not rc:
                    rc = _rk_exact(d, &pos, &ok)
                if rc:
                    return rc
                level = _rk_level(w, oc, ok)
            if info & 0x40:
                rc = _rk_exact(d, &pos, &rcl)
                if not rc:
                    rc = _rk_exact(d, &pos, &rk)
                if rc:
                    return rc
                above = _rk_level(w, rcl, rk)
                if above > level:
                    level = above
            if not info & 0xC0:
                rc = _rk_vu(d, &pos, &kind)
                if rc:
                    return rc
                if kind == 1:  # the parent is a root type, by name
                    rc = _rk_vu(d, &pos, &n)
                    if rc:
                        return rc
                    if n > end - pos:
                        return _RK_BEYOND
                    if _rk_utf8(d, pos, n, NULL):
                        return _RK_UTF8
                    is_root = True
                    root_at, root_n = pos, <Py_ssize_t>n
                    pos += n
                    level = 1
                else:
                    rc = _rk_exact(d, &pos, &ic)
                    if not rc:
                        rc = _rk_exact(d, &pos, &ik)
                    if rc:
                        return rc
                    above = _rk_level(w, ic, ik)
                    level = above + 1 if above else 0
                if info & 0x20:  # key in the parent map
                    rc = _rk_vu(d, &pos, &n)
                    if rc:
                        return rc
                    if n > end - pos:
                        return _RK_BEYOND
                    if _rk_utf8(d, pos, n, NULL):
                        return _RK_UTF8
                    if is_root and _rk_pair(w, root_at, root_n, pos, <Py_ssize_t>n):
                        return _RK_MEMORY
                    pos += n
            if not level:
                level = _UNKNOWN_LEVEL
            first = clock
            if ref == 8:  # any
                rc = _rk_vu(d, &pos, &n)
                if not rc:
                    rc = _rk_anys(d, &pos, n, w)
                if rc:
                    return rc
                length = n
            elif ref == 7:  # a type
                if level > _MAX_NESTING:
                    w.detail = level
                    return _RK_DEEP_TYPES
                rc = _rk_vu(d, &pos, &type_ref)
                if rc:
                    return rc
                if type_ref == 3 or type_ref == 5:
                    rc = _rk_skip(d, &pos)
                    if rc:
                        return rc
                length = 1
            elif ref == 1:  # deleted
                rc = _rk_exact(d, &pos, &length)
                if rc:
                    return rc
            elif ref == 2:  # JSON: n strings
                rc = _rk_vu(d, &pos, &length)
                if rc:
                    return rc
                n = 0
                while n < length:
                    n += 1
                    rc = _rk_skip(d, &pos)
                    if rc:
                        return rc
            elif ref == 3 or ref == 5:  # binary, embed
                rc = _rk_skip(d, &pos)
                if rc:
                    return rc
                length = 1
            elif ref == 4:  # string: length in UTF-16 code units
                rc = _rk_vu(d, &pos, &n)
                if rc:
                    return rc
                if n > end - pos:
                    return _RK_BEYOND
                if _rk_utf8(d, pos, n, &units):
                    return _RK_UTF8
                length = units
                pos += n
            elif ref == 6:  # format: key, value
                rc = _rk_skip(d, &pos)
                if not rc:
                    rc = _rk_skip(d, &pos)
                if rc:
                    return rc
                length = 1
            elif ref == 9:  # subdocument: guid, then one any value
                rc = _rk_skip(d, &pos)
                if not rc:
                    rc = _rk_anys(d, &pos, 1, w)
                if rc:
                    return rc
                length = 1
            else:
                w.detail = ref
                return _RK_CONTENT
            clock = first + length
            if clock >= _CAP:
                return _RK_DELEGATE
            if ref == 7 or level != _UNKNOWN_LEVEL:
                if _rk_span(w, first, clock, level):
                    return _RK_MEMORY

    rc = _rk_vu(d, &pos, &n_ranges)  # delete set: clients
    if rc:
        return rc
    ci = 0
    while ci < n_ranges:
        ci += 1
        rc = _rk_exact(d, &pos, &client)
        if not rc:
            rc = _rk_vu(d, &pos, &count)
        if rc:
            return rc
        si = 0
        while si < count:
            si += 1
            rc = _rk_exact(d, &pos, &first)
            if not rc:
                rc = _rk_exact(d, &pos, &length)
            if rc:
                return rc
    return 0


cdef int _rk_refuse(int code, int64_t detail) except -1:
    """Raise the reader's error for ``code`` (as the reference raises it)."""
    if code == _RK_EARLY:
        raise _early()
    if code == _RK_BEYOND:
        raise _beyond()
    if code == _RK_LONG:
        raise _too_long()
    if code == _RK_TAG:
        raise MalformedUpdateError(f"unknown value tag {<int>detail}")
    if code == _RK_DEEP_VALUE:
        _too_deep_value(detail)
    if code == _RK_DEEP_TYPES:
        _too_deep_types(detail)
    if code == _RK_UTF8:
        raise MalformedUpdateError("invalid UTF-8 in update")
    if code == _RK_CONTENT:
        raise MalformedUpdateError(f"unknown content type {<int>detail}")
    if code == _RK_MEMORY:
        raise MemoryError()
    raise AssertionError(f"walk code {code}")


def root_keys_into(data, Py_ssize_t start, Py_ssize_t stop, dict found):
    """As ``root_keys._collect(data[start:stop], found)``: the keys the items of that update
    set in each root type added to ``found`` ({root: {key: None}}, in the order met), True;
    False when the reference must read it instead (a client listed twice, a value from 2**62
    on: nothing added); MalformedUpdateError as the reference (nothing added). ``data``: bytes
    or a buffer nothing writes to while this runs (the walk runs without the GIL)."""
    cdef const unsigned char[::1] whole
    cdef const unsigned char[::1] d
    cdef _RkWalk w
    cdef int code
    cdef Py_ssize_t i, last_at = 0, last_n = -1
    cdef _RkPair *pair
    cdef dict keys = None
    try:
        whole = data
    except (TypeError, ValueError, BufferError):
        raise MalformedUpdateError("not a byte string")
    if not 0 <= start <= stop <= whole.shape[0]:
        raise ValueError("not a range of the bytes")
    d = whole[start:stop]
    w.detail = 0
    w.pairs = NULL
    w.n_pairs = w.cap_pairs = 0
    w.spans = NULL
    w.n_spans = w.cap_spans = 0
    w.slot_client = NULL
    w.slot_lo = w.slot_hi = NULL
    w.slots = w.used = 0
    w.current = -1
    w.current_lo = 0
    try:
        try:
            with nogil:
                code = _rk_walk(d, &w)
        except IndexError:  # a read past the end the explicit checks missed: still ours
            raise MalformedUpdateError("update ends early") from None
        if code == _RK_DELEGATE:
            return False
        if code:
            _rk_refuse(code, w.detail)
        root = None
        for i in range(w.n_pairs):
            pair = &w.pairs[i]
            if pair.root_n != last_n or (last_n and memcmp(&d[pair.root_at], &d[last_at],
                                                           last_n) != 0):
                root = _text(d, pair.root_at, pair.root_n)
                keys = found.get(root)
                if keys is None:
                    keys = found[root] = {}
                last_at, last_n = pair.root_at, pair.root_n
            keys[_text(d, pair.key_at, pair.key_n)] = None
        return True
    finally:
        free(w.pairs)
        free(w.spans)
        free(w.slot_client)
        free(w.slot_lo)
        free(w.slot_hi)
