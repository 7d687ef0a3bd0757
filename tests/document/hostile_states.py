"""Crafted Yjs v1 updates a hostile member could put in a snapshot: each is a well-formed,
self-contained update (pycrdt decodes and integrates it), larger than ydeps.MEMO_MAX_UPDATE so
that it takes the large-update reader (mano_core.document.ystate). What pycrdt 0.14 does with
them unchecked (measured in a subprocess, docs/security.md): ``deep_value`` (a value inside
100,000 arrays) kills the process with a native stack overflow in ``apply_update``,
``get_state``, ``merge_updates`` alike; ``nested_maps`` (10,000 maps in one another) applies,
and reading it back with ``str()`` overflows from ~100,000 levels."""

from __future__ import annotations


def varuint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    out.append(n)
    return bytes(out)


def text(value: str) -> bytes:
    raw = value.encode()
    return varuint(len(raw)) + raw


CLIENT = 4242  # the crafted structs' client id


def deep_value(depth: int = 100_000, root: str = "persons", key: str = "x") -> bytes:
    """One item of root map ``root`` under ``key`` whose value (lib0 "any") is an array
    nested ``depth`` times."""
    value = bytes([117, 1]) * depth + bytes([126])
    return (varuint(1) + varuint(1) + varuint(CLIENT) + varuint(0)
            + bytes([8 | 0x20]) + varuint(1) + text(root) + text(key)
            + varuint(1) + value + varuint(0))


def nested_maps(depth: int = 10_000, root: str = "persons", key: str = "x") -> bytes:
    """``depth`` maps, each the value of ``key`` in the one before, the first in ``root``."""
    body = bytearray(bytes([7 | 0x20]) + varuint(1) + text(root) + text(key) + varuint(1))
    for clock in range(1, depth):
        body += (bytes([7 | 0x20]) + varuint(0) + varuint(CLIENT) + varuint(clock - 1)
                 + text(key) + varuint(1))
    return (varuint(1) + varuint(depth) + varuint(CLIENT) + varuint(0) + bytes(body)
            + varuint(0))
