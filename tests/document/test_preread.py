"""A state read ahead of its merge (mano_core/document/preread.py, issue 24): the merge of those
very bytes takes the read, any other merge reads as before, and nothing refused is kept."""

from __future__ import annotations

import pytest

from mano_core.document import preread
from mano_core.document.compartments import GeneralDocument
from mano_core.errors import MalformedUpdateError


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The large reads made (preread.read_into calls)."""
    made: list[int] = []
    real = preread.read_into

    def counting(update, sink):
        made.append(len(update))
        return real(update, sink)

    monkeypatch.setattr(preread, "read_into", counting)
    yield made
    preread.forget()


def _state(count: int = 400) -> bytes:
    source = GeneralDocument(author="member-a")
    for i in range(count):  # above MEMO_MAX_UPDATE: read as a state, with its index
        source.persons.create(name=f"Personne {i}")
    state = source.encode_state()
    assert len(state) > preread.MEMO_MAX_UPDATE
    return state


def test_the_merge_of_the_bytes_read_ahead_takes_that_read(reads: list[int]) -> None:
    state = _state()
    preread.read_ahead(state)
    assert reads == [len(state)]
    doc = GeneralDocument(author="member-b")
    assert doc.apply_remote_groups([[state]]) == {}
    assert reads == [len(state)]  # not read again
    assert len(doc.persons.list()) == 400


def test_other_bytes_are_read_as_before(reads: list[int]) -> None:
    state = _state()
    preread.read_ahead(state)
    equal = bytes(bytearray(state))  # the same content, another object: not what was read
    doc = GeneralDocument(author="member-b")
    assert doc.apply_remote_groups([[equal]]) == {}
    assert reads == [len(state), len(state)]
    assert len(doc.persons.list()) == 400


def test_forget_drops_a_read_no_merge_took(reads: list[int]) -> None:
    state = _state()
    preread.read_ahead(state)
    preread.forget()  # e.g. the snapshot's signature was bad
    assert GeneralDocument(author="member-b").apply_remote_groups([[state]]) == {}
    assert reads == [len(state), len(state)]


def test_a_refused_read_ahead_keeps_nothing() -> None:
    garbage = b"\x01" + b"\xff" * 70_000
    with pytest.raises(MalformedUpdateError):
        preread.read_ahead(garbage)
    doc = GeneralDocument(author="member-b")
    assert doc.apply_remote_groups([[garbage]])  # refused by the merge's own read
