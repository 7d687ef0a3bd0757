"""The lib0 decoding under the Yjs v1 update reader (mano_core/document/yreader.py) and the
compaction's cut (pieces.py): a bounded reader of varuints, strings and "any" values, the skip
of "any" values in one loop, and the length of an item's content; capped varints, bounds
checks and the "any" nesting bound (limits.MAX_CRDT_ANY_DEPTH); malformed bytes raise
MalformedUpdateError (a TooDeepError as its cause for a nest too deep), and nothing else.

Split from yreader.py (issue 24, eighth round: one job a module). The reference for the
compiled reader as yreader is (``_yreader_c.pyx`` makes the same decisions).

Format: https://github.com/yjs/yjs/blob/main/INTERNALS.md and lib0's encoding (v1 updates).
"""

from __future__ import annotations

from mano_core import limits
from mano_core.errors import MalformedUpdateError, TooDeepError

_MAX_VARINT_BYTES = 10  # 64-bit values
_MAX_ANY_DEPTH = limits.MAX_CRDT_ANY_DEPTH


class _Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        try:
            b = self.data[self.pos]
        except IndexError:
            raise MalformedUpdateError("update ends early") from None
        self.pos += 1
        return b

    def varuint(self) -> int:
        data, pos = self.data, self.pos
        try:
            b = data[pos]
            if b < 0x80:  # the common case, inlined: a one-byte varint
                self.pos = pos + 1
                return b
            result, shift = b & 0x7F, 7
            for i in range(pos + 1, pos + _MAX_VARINT_BYTES):
                b = data[i]
                result |= (b & 0x7F) << shift
                if b < 0x80:
                    self.pos = i + 1
                    return result
                shift += 7
        except IndexError:
            raise MalformedUpdateError("update ends early") from None
        raise MalformedUpdateError("varint longer than 10 bytes")

    def varint(self) -> None:
        first = self.byte()
        if first & 0x80:
            for _ in range(_MAX_VARINT_BYTES):
                if self.byte() < 0x80:
                    return
            raise MalformedUpdateError("varint longer than 10 bytes")

    def skip(self, n: int) -> None:
        if n < 0 or self.pos + n > len(self.data):
            raise MalformedUpdateError("length beyond the end of the update")
        self.pos += n

    def bytes_(self) -> bytes:
        n = self.varuint()
        start = self.pos
        self.skip(n)
        return self.data[start:self.pos]

    def string(self) -> str:
        try:
            return self.bytes_().decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedUpdateError("invalid UTF-8 in update") from None

    def any(self, depth: int = 0) -> None:
        if depth > _MAX_ANY_DEPTH:
            too_deep = TooDeepError("MAX_CRDT_ANY_DEPTH", depth, _MAX_ANY_DEPTH)
            raise MalformedUpdateError(f"value nested too deeply: {too_deep}") from too_deep
        tag = self.byte()
        if tag in (127, 126, 121, 120):
            return
        if tag == 125:
            self.varint()
        elif tag == 124:
            self.skip(4)
        elif tag in (123, 122):
            self.skip(8)
        elif tag in (119, 116):
            self.skip(self.varuint())
        elif tag == 118:
            for _ in range(self.varuint()):
                self.skip(self.varuint())
                self.any(depth + 1)
        elif tag == 117:
            for _ in range(self.varuint()):
                self.any(depth + 1)
        else:
            raise MalformedUpdateError(f"unknown value tag {tag}")


def _varuint_at(data: bytes, pos: int) -> tuple[int, int]:
    """A varuint at ``pos`` (the caller took the one-byte case): (value, position after)."""
    result, shift = 0, 0
    for i in range(pos, pos + _MAX_VARINT_BYTES):
        b = data[i]
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, i + 1
        shift += 7
    raise MalformedUpdateError("varint longer than 10 bytes")


def _skip_anys(data: bytes, pos: int, count: int) -> int:
    """Skip ``count`` JSON-like values (lib0 "any" encoding) from ``pos``; the position after
    them. The same checks as ``_Reader.any`` (depth bound, known tags, bounds), in one loop
    over local variables with an explicit stack instead of a method call per value and byte
    (issue 24: a record's base value is an object of a dozen fields, walked for the depth
    bound in every catch-up and snapshot)."""
    end = len(data)
    left = [count]      # values still to read at each open level
    keyed = [False]     # whether that level is an object (a key before each value)
    try:
        while left:
            if not left[-1]:
                left.pop()
                keyed.pop()
                continue
            left[-1] -= 1
            if keyed[-1]:  # an object's key: a string
                n = data[pos]
                if n < 0x80:
                    pos += 1
                else:
                    n, pos = _varuint_at(data, pos)
                pos += n
                if pos > end:
                    raise MalformedUpdateError("length beyond the end of the update")
            if len(left) > _MAX_ANY_DEPTH + 1:
                depth = len(left) - 1
                too_deep = TooDeepError("MAX_CRDT_ANY_DEPTH", depth, _MAX_ANY_DEPTH)
                raise MalformedUpdateError(f"value nested too deeply: {too_deep}") from too_deep
            tag = data[pos]
            pos += 1
            if tag == 119 or tag == 116:  # string, binary
                n = data[pos]
                if n < 0x80:
                    pos += 1
                else:
                    n, pos = _varuint_at(data, pos)
                pos += n
                if pos > end:
                    raise MalformedUpdateError("length beyond the end of the update")
            elif 120 <= tag <= 127:  # true, false, null, undefined; numbers
                if tag == 125:  # signed varint
                    b = data[pos]
                    pos += 1
                    if b & 0x80:
                        for _ in range(_MAX_VARINT_BYTES):
                            b = data[pos]
                            pos += 1
                            if b < 0x80:
                                break
                        else:
                            raise MalformedUpdateError("varint longer than 10 bytes")
                elif tag == 124 or tag == 123 or tag == 122:  # float32, float64, bigint
                    pos += 4 if tag == 124 else 8
                    if pos > end:
                        raise MalformedUpdateError("length beyond the end of the update")
            elif tag == 117 or tag == 118:  # array, object
                n = data[pos]
                if n < 0x80:
                    pos += 1
                else:
                    n, pos = _varuint_at(data, pos)
                left.append(n)
                keyed.append(tag == 118)
            else:
                raise MalformedUpdateError(f"unknown value tag {tag}")
    except IndexError:
        raise MalformedUpdateError("update ends early") from None
    return pos


def _content_length(r: _Reader, ref: int) -> int:
    if ref == 1:  # deleted
        return r.varuint()
    if ref == 2:  # JSON
        n = r.varuint()
        for _ in range(n):
            r.skip(r.varuint())
        return n
    if ref == 3:  # binary
        r.skip(r.varuint())
        return 1
    if ref == 4:  # string: length in UTF-16 code units
        return len(r.string().encode("utf-16-le")) // 2
    if ref == 5:  # embed
        r.skip(r.varuint())
        return 1
    if ref == 6:  # format
        r.skip(r.varuint())
        r.skip(r.varuint())
        return 1
    if ref == 7:  # type
        type_ref = r.varuint()
        if type_ref in (3, 5):  # XmlElement, XmlHook carry a name
            r.skip(r.varuint())
        return 1
    if ref == 8:  # any
        n = r.varuint()
        r.pos = _skip_anys(r.data, r.pos, n)
        return n
    if ref == 9:  # subdocument
        r.skip(r.varuint())
        r.any()
        return 1
    raise MalformedUpdateError(f"unknown content type {ref}")


def _utf8(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedUpdateError("invalid UTF-8 in update") from None
