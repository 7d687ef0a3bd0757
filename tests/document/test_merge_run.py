"""A delivery's envelopes merged as one update where that update carries them exactly
(mano_core/document/merge_run.py, the compiled ``combine``): the document, what it parks, what
it refuses, the change events and the row stored are those of the one-by-one merge."""

from __future__ import annotations

import json
import random

import pytest
from pycrdt import Doc, Map

from mano_core.document import merge_run, ydeps
from mano_core.document.compartments import GeneralDocument

pytestmark = pytest.mark.skipif(not ydeps.combining(), reason="the compiled module is not built")


def team_updates(steps: int, seed: int = 1) -> list[bytes]:
    """Three teammates' updates, each made on a document holding the others' so far: new
    persons, a field changed (a delete of the old value), a person deleted (a delete alone)."""
    rng = random.Random(seed)
    docs = [Doc(client_id=1000 + i) for i in range(3)]
    out: list[bytes] = []
    local: list[Doc | None] = [None]
    for doc in docs:
        doc.observe(lambda event, doc=doc: out.append(event.update)
                    if local[0] is doc else None)
    for step in range(steps):
        doc = docs[rng.randrange(3)]
        persons = doc.get("persons", type=Map)
        start = len(out)
        local[0] = doc
        with doc.transaction():
            key = f"p-{rng.randrange(30)}"
            if key in persons and rng.random() < 0.6:
                persons[key]["_"]["name"] = f"N{step}"
            elif key in persons and rng.random() < 0.3:
                del persons[key]
            else:
                persons[key] = Map({"_": {"id": key, "name": f"N{step}",
                                          "createdAt": "2026-11-20T09:00:00Z",
                                          "updatedAt": "2026-11-20T09:00:00Z"}})
        local[0] = None
        for update in out[start:]:
            for other in docs:
                if other is not doc:
                    other.apply_update(update)
    return out


def merge(groups: list[list[bytes]], combining: bool, monkeypatch: pytest.MonkeyPatch,
          before: list[bytes] = ()) -> tuple[GeneralDocument, dict[int, str], int, list[bytes]]:
    """A fresh document given ``before`` one by one, then ``groups`` in one delivery; (the
    document, refused, pycrdt calls of the delivery, the row it stores)."""
    monkeypatch.setattr(merge_run.ydeps, "combining", lambda: combining)
    doc = GeneralDocument(author="reader")
    doc.guarded_index()
    for update in before:
        doc.apply_remote_groups([[update]])
    calls = [0]
    inner = doc.doc._doc

    class Counting:  # pycrdt's native document, its merges counted
        def __getattr__(self, name: str) -> object:
            return getattr(inner, name)

        def apply_update(self, *args: object) -> object:
            calls[0] += 1
            return inner.apply_update(*args)

    doc.doc._doc = Counting()  # type: ignore[assignment]
    try:
        with ydeps.parse_scope():
            refused = doc.apply_remote_groups(groups, capture=True)
    finally:
        doc.doc._doc = inner
    return doc, refused, calls[0], doc.take_integrated()


def content(doc: GeneralDocument) -> object:
    return json.loads(str(doc.doc.get("persons", type=Map)))


def test_a_delivery_merged_in_runs_is_the_delivery_merged_one_by_one(monkeypatch) -> None:
    updates = team_updates(300)
    groups = [[u] for u in updates]
    fast, refused, calls, row = merge(groups, True, monkeypatch, before=updates[:1])
    slow, slow_refused, slow_calls, slow_row = merge(groups, False, monkeypatch,
                                                     before=updates[:1])
    assert content(fast) == content(slow) and content(fast)
    assert fast.doc.get_state() == slow.doc.get_state()
    assert refused == slow_refused == {}
    assert slow_calls == len(updates)  # (the first again too: it integrates nothing)
    assert calls < len(updates) // 10  # (not vacuous: merged in runs)
    again = GeneralDocument(author="again")  # the row stored holds what was integrated
    for stored in (updates[:1], row):
        for update in stored:
            again.doc.apply_update(update)
    assert content(again) == content(slow) and len(row) == len(slow_row) == 1
    assert fast.take_changes(None) == slow.take_changes(None)  # type: ignore[arg-type]


def test_what_waits_for_its_dependencies_is_parked_as_one_by_one(monkeypatch) -> None:
    updates = team_updates(120, seed=2)
    held = updates[40]  # never delivered: those that build on it wait
    groups = [[u] for i, u in enumerate(updates) if i != 40]
    fast, _r, _c, _row = merge(groups, True, monkeypatch)
    slow, _r, _c, _row = merge(groups, False, monkeypatch)
    assert fast.waiting_updates == slow.waiting_updates > 0
    assert content(fast) == content(slow)
    for doc in (fast, slow):
        doc.apply_remote_groups([[held]])
    assert fast.waiting_updates == slow.waiting_updates == 0
    assert content(fast) == content(slow)


def test_a_bad_envelope_is_refused_alone_with_or_without_runs(monkeypatch) -> None:
    updates = team_updates(150, seed=3)
    groups = [[u] for u in updates]
    groups[30] = [updates[30], b"\x01\x02garbage"]  # its second update is not one
    groups[45] = [updates[45][:-3]]  # cut
    fast, refused, _c, _row = merge(groups, True, monkeypatch)
    slow, slow_refused, _c, _row = merge(groups, False, monkeypatch)
    assert refused.keys() == slow_refused.keys() == {30, 45}
    assert content(fast) == content(slow)
    assert fast.waiting_updates == slow.waiting_updates


def test_a_run_pycrdt_refuses_is_merged_one_by_one(monkeypatch) -> None:
    updates = team_updates(40, seed=4)
    groups = [[u] for u in updates]
    real = ydeps.combine_run

    def damaged(flat: list[bytes], at: int, state: dict[int, int]) -> tuple[bytes | None, int]:
        one, end = real(flat, at, state)
        return (one[:-1] if one else one), end  # pycrdt cannot decode it

    monkeypatch.setattr(merge_run.ydeps, "combine_run", damaged)
    fast, refused, calls, _row = merge(groups, True, monkeypatch)
    monkeypatch.setattr(merge_run.ydeps, "combine_run", real)
    slow, _r, _c, _row = merge(groups, False, monkeypatch)
    assert refused == {} and content(fast) == content(slow)
    assert calls == len(updates) + 1  # the refused run, then each update
