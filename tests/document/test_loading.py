"""The first read in slices (issue 24): ``Collection.loading`` decodes the same records as a
read at once, keeps what changes between two slices, and the async driver lets the event loop
run between slices (counted, never timed)."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from mano_core.demo import generate_team
from mano_core.document.collection import BUDGET_CHECK_RECORDS
from mano_core.document.compartments import GeneralDocument
from mano_core.loop_turns import drive
from mano_core.slices import expect_keys, load_all, refresh_all
from tests.reporting.conftest import load_document

from .helpers import by_id, fresh


@pytest.fixture(scope="module")
def state() -> bytes:
    demo = generate_team(seed=5, scale=0.02)
    doc = load_document(demo, GeneralDocument(author=demo.members[0].id))
    return doc.encode_state()


def test_slices_read_what_a_read_at_once_reads(state: bytes) -> None:
    at_once, sliced = fresh(state), fresh(state)
    for name in ("persons", "actions", "comments", "history", "reports"):
        steps = list(sliced.collections[name].loading(step=7))
        assert sliced.collections[name].loaded
        size = len(sliced.collections[name]._map)
        assert steps == [min(size, n) for n in range(7, size + 7, 7)]
        assert by_id(sliced.collections[name].list(include_deleted=True)) == \
            by_id(at_once.collections[name].list(include_deleted=True))


def test_a_step_ends_when_its_time_budget_is_spent(state: bytes) -> None:
    # A budget of 0 s is spent at the first look at the clock: steps of BUDGET_CHECK_RECORDS
    # records instead of 256 (on a loaded machine, the steps shrink the same way).
    at_once, sliced = fresh(state), fresh(state)
    comments = sliced.collections["comments"]
    size = len(comments._map)
    assert size > 3 * BUDGET_CHECK_RECORDS
    steps = list(comments.loading(step=256, budget=0.0))
    assert steps == [min(size, n) for n in range(BUDGET_CHECK_RECORDS, size
                                                  + BUDGET_CHECK_RECORDS, BUDGET_CHECK_RECORDS)]
    assert by_id(comments.list(include_deleted=True)) == \
        by_id(at_once.collections["comments"].list(include_deleted=True))


def test_a_change_between_two_slices_is_read(state: bytes) -> None:
    doc = fresh(state)
    persons = doc.collections["persons"]
    steps = persons.loading(step=5)
    next(steps)
    assert not persons.loaded
    first = sorted(p for p in persons._map.keys())[0]  # noqa: SIM118 - a pycrdt Map
    renamed = doc.persons.update(first, name="NOUVEAU NOM")   # a read at once, in between
    assert renamed.name == "NOUVEAU NOM"
    list(steps)  # the sliced read gives way to the newer one
    assert doc.persons.get(first).name == "NOUVEAU NOM"

    other = fresh(state)
    steps = other.collections["comments"].loading(step=5)
    next(steps)
    # A teammate's edit arrives between two slices (applied as a remote update).
    target = sorted(str(k) for k in other.comments._map.keys())[-1]  # noqa: SIM118
    writer = fresh(state)
    writer.comments.update(target, text="corrigé entre deux tranches")
    added = writer.comments.create(text="ajouté entre deux tranches",
                                   date="2026-11-02T10:00:00Z", person=first)
    for update in writer.drain_updates():
        other.apply_update(update)
    list(steps)
    assert other.comments.loaded
    assert other.comments.get(target).text == "corrigé entre deux tranches"
    assert other.comments.get(added.id).text == "ajouté entre deux tranches"


def test_a_dropped_read_leaves_the_collection_unread(state: bytes) -> None:
    doc = fresh(state)
    steps = doc.collections["actions"].loading(step=3)
    next(steps)
    steps.close()
    assert not doc.actions.loaded
    assert by_id(doc.actions.list()) == by_id(fresh(state).actions.list())


async def test_the_loop_runs_between_slices(state: bytes) -> None:
    doc = fresh(state)
    ticks = 0
    seen: list[int] = []

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0)
            ticks += 1

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    try:
        await load_all([doc.collections[n] for n in ("persons", "actions", "comments")],
                       progress=lambda done, total: seen.append(ticks), slice_seconds=0)
    finally:
        task.cancel()
    # Every step handed the loop back: the ticker moved between each two progress reports.
    assert len(seen) > 3
    assert all(b > a for a, b in itertools.pairwise(seen))
    assert doc.persons.loaded and doc.actions.loaded and doc.comments.loaded


async def test_drive_yields_only_when_the_slice_is_spent() -> None:
    assert await drive(iter(range(10)), slice_seconds=0) == 10
    assert await drive(iter(range(10)), slice_seconds=3600) == 0


def _teammate_edits(state: bytes, ids: list[str]) -> list[bytes]:
    writer = fresh(state)
    for n, record_id in enumerate(ids):
        writer.comments.update(record_id, text=f"relu {n}")
    return writer.drain_updates()


def test_a_delivery_s_records_are_read_again_in_steps(state: bytes) -> None:
    doc = fresh(state)
    comments = doc.collections["comments"]
    comments.list()   # read: the delivery below only marks its records
    ids = sorted(str(k) for k in comments._map.keys())[:5 * BUDGET_CHECK_RECORDS]  # noqa: SIM118
    for update in _teammate_edits(state, ids):
        doc.apply_update(update)
    assert len(comments._dirty) == len(ids)
    steps = comments.refreshing(budget=0.0)   # spent at each look: one check's worth a step
    assert next(steps) == len(ids) - BUDGET_CHECK_RECORDS
    # a teammate's change of a record already read again, between two steps: read again too
    again = _teammate_edits(doc.encode_state(), ids[:1])
    for update in again:
        doc.apply_update(update)
    rest = list(steps)
    assert rest[-1] == 0 and len(rest) >= 4
    assert not comments._dirty
    expected = {r.id: r for r in fresh(doc.encode_state()).comments.list()}
    assert {r.id: r for r in comments.list()} == expected
    assert comments.get(ids[0]).text == "relu 0" and comments.get(ids[1]).text == "relu 1"


async def test_a_delivery_s_records_are_read_again_with_the_loop_run_between(
        state: bytes) -> None:
    doc = fresh(state)
    doc.comments.list()
    ids = sorted(str(k) for k in doc.comments._map.keys())[:40]  # noqa: SIM118
    for update in _teammate_edits(state, ids):
        doc.apply_update(update)
    ran: list[int] = []

    async def other() -> None:
        ran.append(len(doc.comments._dirty))

    task = asyncio.get_running_loop().create_task(other())
    await refresh_all([doc.collections["comments"]], slice_seconds=0)
    await task
    assert ran and 0 < ran[0] < len(ids)   # it ran mid-way
    assert not doc.comments._dirty
    assert {doc.comments.get(i).text for i in ids} == {f"relu {n}" for n in range(40)}


def test_the_revision_counts_the_transactions_that_change_the_document(state: bytes) -> None:
    doc = fresh(state)
    start = doc.revision
    doc.comments.list()
    with doc.doc.transaction():
        pass
    assert doc.revision == start   # reads and empty transactions change nothing
    first = sorted(str(k) for k in doc.comments._map.keys())[0]  # noqa: SIM118
    doc.comments.update(first, text="modifié")
    assert doc.revision == start + 1
    for update in _teammate_edits(state, [first]):
        doc.apply_update(update)
    assert doc.revision == start + 2
    del doc.comments._map[first]   # a deletion alone (an update of its delete set only)
    assert doc.revision == start + 3
    # a state merged into an empty document (a first sync: its observer is off meanwhile)
    empty = GeneralDocument(author="member-b")
    before = empty.revision
    assert empty.apply_remote_groups([[state]]) == {}
    assert empty.revision > before


def test_an_encoding_is_kept_while_the_document_does_not_change(state: bytes) -> None:
    """encode_state: one encoding for a compaction, the snapshot policy's size and the upload
    that follow one another, and never a state that is gone (issue 24)."""
    doc = fresh(state)
    first = doc.encode_state()
    doc.comments.list()
    assert doc.encode_state() is first   # reads change nothing
    some = sorted(str(k) for k in doc.comments._map.keys())[0]  # noqa: SIM118
    doc.comments.update(some, text="modifié")
    edited = doc.encode_state()
    assert edited is not first and fresh(edited).comments.get(some).text == "modifié"
    for update in _teammate_edits(state, [some]):
        doc.apply_update(update)
    remote = doc.encode_state()
    assert remote is not edited
    assert fresh(remote).comments.get(some).text == doc.comments.get(some).text
    empty = GeneralDocument(author="member-b")
    nothing = empty.encode_state()
    assert empty.apply_remote_groups([[state]]) == {}   # a quiet merge (its observer off)
    merged = empty.encode_state()
    assert merged is not nothing and len(fresh(merged).comments.list()) \
        == len(fresh(state).comments.list())


@pytest.mark.parametrize("hint", ["exact", "missing", "foreign"])
async def test_the_count_from_the_ids_read_off_the_loop_never_passes_its_total(
        state: bytes, hint: str) -> None:
    """The opening's count takes its total from the ids read off the loop (a Map's ``len()``
    walks it on the loop): however wrong that hint, the count only grows, never passes its
    total, and ends at it with every record read."""
    doc = fresh(state)
    names = ("persons", "actions", "comments")
    ids = {n: sorted(str(k) for k in doc.collections[n]._map.keys())  # noqa: SIM118
           for n in names}
    hints = {n: {"exact": v, "missing": v[::2], "foreign": v + ["pas-un-id"]}[hint]
             for n, v in ids.items()}
    expect_keys(doc.collections["persons"]._core,
                asyncio.get_running_loop().create_task(asyncio.sleep(0, hints)))
    seen: list[tuple[int, int]] = []
    await load_all([doc.collections[n] for n in names],
                   progress=lambda done, total: seen.append((done, total)), slice_seconds=0)
    total = seen[-1][1]
    assert len(seen) > 3 and {t for _, t in seen} == {total}
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert seen[-1] == (total, total) and all(d <= total for d, _ in seen)
    at_once = fresh(state)
    for n in names:
        assert by_id(doc.collections[n].list(include_deleted=True)) == \
            by_id(at_once.collections[n].list(include_deleted=True))


def test_the_check_of_a_hinted_read_is_a_step_of_its_own(
        state: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check that a read from ids read off the loop missed none walks the Map (its
    ``len()``, 6–42 ms for 240,000 comments at ×10): no record is decoded in the step that
    runs it, and the read yields after it, so a driver may hand the loop back between it and
    the next collection's first step."""
    doc = fresh(state)
    comments = doc.comments
    ids = sorted(str(k) for k in comments._map.keys())  # noqa: SIM118 - a pycrdt Map
    log: list[str] = []
    check = type(comments)._complete

    def logged(self: object, found: set[str], changed: set[str]) -> bool:
        log.append("check")
        return check(comments, found, changed)

    monkeypatch.setattr(type(comments), "_complete", logged)
    for _ in comments.loading(step=64, keys=ids):
        log.append("step")
    assert log.count("check") == 1 and log[-2:] == ["check", "step"]
    assert log[-3] == "step"
    assert by_id(comments.list(include_deleted=True)) == \
        by_id(fresh(state).comments.list(include_deleted=True))
