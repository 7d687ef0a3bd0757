"""Bounded msgpack decoding: the nesting of untrusted msgpack is checked before msgspec sees it.

msgspec decodes nested arrays and maps recursively, including the values of fields it skips
(unknown fields are ignored for forward compatibility): 5,000 nested arrays raise a bare
``RecursionError`` from any decoder, wherever they sit. ``check_depth`` walks the msgpack
structure iteratively (no recursion, O(len(data)), nothing allocated per element) and raises
``TooDeepError`` beyond ``limits.MAX_MSGPACK_DEPTH``; every decoder of bytes from the network,
a teammate or a snapshot calls it first (``decode`` below does both and maps every msgspec
error to the caller's own error class).

The walk does not validate: malformed or truncated bytes stop it quietly and msgspec then
reports them as it always did.
"""

from __future__ import annotations

from typing import Any, Final, TypeVar, overload

import msgspec

from mano_core import limits
from mano_core.errors import ManoError, TooDeepError

# The compiled walk (_WALK.compiled), installed by mano_core.document.ynative when it loads
# the compiled reader (``use_compiled``); None: the Python one. This module does not import the
# document layer: the relay decodes frames with it and loads no Yjs code (tests/packaging/
# test_hygiene.py), so the relay walks its frames in Python (a push is a few envelopes; the
# 500-envelope frames it builds, devices walk).
class _Walk:
    compiled: Any = None


_WALK: Final = _Walk()

_T = TypeVar("_T")

# Bytes of payload after a lead byte, for the fixed-size types (0xc0…0xdf).
_FIXED: Final = {
    0xc0: 0, 0xc2: 0, 0xc3: 0,                              # nil, false, true
    0xca: 4, 0xcb: 8,                                        # float32/64
    0xcc: 1, 0xcd: 2, 0xce: 4, 0xcf: 8,                      # uint8…64
    0xd0: 1, 0xd1: 2, 0xd2: 4, 0xd3: 8,                      # int8…64
    0xd4: 2, 0xd5: 3, 0xd6: 5, 0xd7: 9, 0xd8: 17,            # fixext (type byte + data)
}
# Lead bytes followed by a big-endian length of n bytes, then that many bytes (+1: ext type).
_SIZED: Final = {0xc4: (1, 0), 0xc5: (2, 0), 0xc6: (4, 0),   # bin
                 0xc7: (1, 1), 0xc8: (2, 1), 0xc9: (4, 1),   # ext
                 0xd9: (1, 0), 0xda: (2, 0), 0xdb: (4, 0)}   # str
# Containers with an explicit count: (bytes of the count, items per element).
_CONTAINERS: Final = {0xdc: (2, 1), 0xdd: (4, 1), 0xde: (2, 2), 0xdf: (4, 2)}


def use_compiled(module: Any) -> None:
    """Walk with ``module.check_depth`` from now on (``ynative``, once it has checked that the
    compiled module was built from the source next to it)."""
    _WALK.compiled = module


def compiled_walk() -> Any:
    """The compiled module walking the nesting, or None (the Python walk)."""
    return _WALK.compiled


def check_depth(data: bytes | memoryview, max_depth: int = limits.MAX_MSGPACK_DEPTH) -> None:
    """Raise TooDeepError if the first msgpack object of ``data`` nests arrays and maps more
    than ``max_depth`` deep (a top-level array is depth 1). The compiled walk where it is built
    (mano_core/document/_yreader_c.pyx: every frame and plaintext of a catch-up, 2.8 µs an
    envelope in Python), with the decisions of ``_check_depth_py``, the reference (tests/
    adversarial/test_fuzz.py compares them)."""
    compiled = _WALK.compiled
    if compiled is None:
        _check_depth_py(data, max_depth)
    else:
        compiled.check_depth(data, max_depth, _too_deep(max_depth), _check_depth_py)


class _too_deep:  # (lower case: called as the error it makes)
    __slots__ = ("limit",)

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def __call__(self, depth: int) -> TooDeepError:
        return TooDeepError("MAX_MSGPACK_DEPTH", depth, self.limit)


def _check_depth_py(data: bytes | memoryview, max_depth: int) -> None:
    """``check_depth`` in Python: the reference."""
    view = memoryview(data)
    size = len(view)
    pos = 0
    remaining: list[int] = []  # items still to read in each open container
    todo = 1                   # items still to read at the current level
    while True:
        while todo == 0:
            if not remaining:
                return
            todo = remaining.pop()
        if pos >= size:
            return  # truncated: msgspec says so
        lead = view[pos]
        pos += 1
        todo -= 1
        count = -1
        if lead <= 0x7f or lead >= 0xe0:
            continue
        if lead <= 0x8f:
            count = 2 * (lead & 0x0f)
        elif lead <= 0x9f:
            count = lead & 0x0f
        elif lead <= 0xbf:
            pos += lead & 0x1f
            continue
        elif lead in _FIXED:
            pos += _FIXED[lead]
            continue
        elif lead in _SIZED:
            width, extra = _SIZED[lead]
            pos += width + extra + int.from_bytes(view[pos:pos + width], "big")
            continue
        elif lead in _CONTAINERS:
            width, per = _CONTAINERS[lead]
            count = per * int.from_bytes(view[pos:pos + width], "big")
            pos += width
        else:
            return  # 0xc1: never used; msgspec refuses it
        if len(remaining) + 1 > max_depth:
            raise TooDeepError("MAX_MSGPACK_DEPTH", len(remaining) + 1, max_depth)
        if count > size - pos:
            return  # more elements than bytes left: truncated, msgspec says so
        remaining.append(todo)
        todo = count


@overload
def decode(data: bytes, kind: type[_T], *, error: type[ManoError], what: str,
           max_depth: int = ...) -> _T: ...
@overload
def decode(data: bytes, kind: None = None, *, error: type[ManoError], what: str,
           max_depth: int = ...) -> Any: ...
def decode(data: bytes, kind: type[_T] | None = None, *, error: type[ManoError], what: str,
           max_depth: int = limits.MAX_MSGPACK_DEPTH) -> Any:
    """Decode untrusted msgpack ``data`` (as ``kind`` if given), raising only ``error``
    (constructed with one message; a TooDeepError beyond ``max_depth`` is its cause)."""
    try:
        check_depth(data, max_depth)
    except TooDeepError as exc:
        raise error(f"{what}: {exc}") from exc
    try:
        if kind is None:
            return msgspec.msgpack.decode(data)
        return msgspec.msgpack.decode(data, type=kind)
    # ValueError: msgspec raises UnicodeDecodeError for a str of invalid UTF-8; RecursionError
    # cannot happen below max_depth, but no foreign error may cross this line.
    except (msgspec.MsgspecError, ValueError, RecursionError) as exc:
        raise error(f"{what}: cannot decode ({exc})") from None
