# A delivery's parse scope, compiled (issue 24): included by _yreader_c.pyx (one compiled
# module; ynative checks the SHA-256 of every file). ``in_scope`` is ``ydeps._in_scope_py``
# (the reference, kept and used without this module): the update looked up by identity in the
# scope (``ydeps.parse_scope``), read once, with its ``Refs`` or its structs, and kept there.
# A catch-up's first read of each update (the sync machine's) and the role screening's go
# through here; the Python version's calls and tuples were half the cost of that first read.

from cpython.long cimport PyLong_FromVoidPtr

_Refs = None  # yreader.Refs, set by ``bind_scope``


def bind_scope(refs):
    """The ``Refs`` class this section fills: set once by ``ynative``."""
    global _Refs
    _Refs = refs


cdef object _new_refs():
    """An empty Refs without its dataclass __init__ (as ``_new_deps``)."""
    refs = _Refs.__new__(_Refs)
    refs.lows = {}
    refs.roots = set()
    return refs


def in_scope(bytes update, dict scope, Py_ssize_t want):
    """As ``ydeps._in_scope_py(update, scope, want)``: what is kept of ``update`` (dependencies,
    structs or None, delete set, Refs or None), the one at ``want`` (1: structs, 3: Refs, 0:
    either) present, read now if it was not (its structs in a fresh list, or a fresh Refs),
    and kept in ``scope`` by identity. MalformedUpdateError as the read."""
    key = PyLong_FromVoidPtr(<void *>update)
    seen = scope.get(key)
    known = None
    if seen is not None and (<tuple>seen)[0] is update:
        known = (<tuple>seen)[1]
        if (<tuple>known)[want] is not None:
            return known
    if want == 1:
        structs = []
        parsed = _read_update(update, structs, None)
        if known is not None:
            fresh = (known[0], structs, known[2], known[3])
        else:
            fresh = (parsed[0], structs, parsed[2], None)
    else:
        refs = _new_refs()
        parsed = _read_update(update, None, refs)
        if known is not None:
            fresh = (known[0], known[1], known[2], refs)
        else:
            fresh = (parsed[0], None, parsed[2], refs)
    scope[key] = (update, fresh)
    return fresh
