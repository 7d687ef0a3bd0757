"""The compiled parse scope (``_scope_c.pxi``'s ``in_scope``) keeps and answers exactly as
``ydeps._in_scope_py``, its reference: the same dependencies, structs, delete set and Refs,
or the same refusal, for every order of asking (dependencies, Refs, structs) over updates of
every kind of content, mutations of them (a fixed seed), and one the compiled reader hands to
the Python one (a client listed twice)."""

from __future__ import annotations

import random

import pytest

from mano_core.document import ydeps, ynative
from mano_core.errors import MalformedUpdateError
from tests.document.test_update_reader import updates

pytestmark = pytest.mark.skipif(ynative.compiled is None,
                                reason="the compiled module is not built")


def kept(read: object, update: bytes, wants: list[int]) -> list[object]:
    scope: dict[int, object] = {}
    got: list[object] = []
    for want in wants:
        try:
            deps, structs, deletes, refs = read(update, scope, want)  # type: ignore[operator]
        except MalformedUpdateError as exc:
            got.append(("refused", str(exc)))
            continue
        got.append((deps.starts, deps.ends, deps.needs, deps.holes,
                     None if structs is None else [tuple(s) for s in structs], deletes,
                     None if refs is None else (refs.lows, refs.roots)))
    assert set(scope) <= {id(update)}
    return got


def twice_listed() -> bytes:
    """Client 5's structs in two sections of one update: read by the Python reader."""
    one = b"\x08\x01\x01a\x01\x78"  # an item of root "a": one any (true)
    return b"\x02" + b"\x01\x05\x00" + one + b"\x01\x05\x01" + one + b"\x00"


def test_the_compiled_scope_keeps_what_the_python_one_keeps() -> None:
    assert ynative.compiled is not None
    rnd = random.Random(2026)
    cases = [twice_listed()]
    for update in updates():
        cases.append(update)
        for _ in range(10):
            b = bytearray(update)
            if rnd.random() < 0.5:
                b[rnd.randrange(len(b))] = rnd.randrange(256)
            else:
                b = b[:rnd.randrange(len(b) + 1)]
            cases.append(bytes(b))
    orders = [[0, 0], [0, 3, 1, 0, 3], [1, 0, 3, 1], [3, 1, 3], [1, 1]]
    refused = 0
    for case in cases:
        for wants in orders:
            expected = kept(ydeps._in_scope_py, case, wants)
            assert kept(ynative.compiled.in_scope, case, wants) == expected, (case.hex(), wants)
            refused += expected[0][0] == "refused"
    assert refused and refused < len(cases) * len(orders)  # reads and refusals were met
