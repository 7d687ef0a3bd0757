"""A new device's first sync from a version-2 snapshot, pipelined (docs/protocol.md §15): the
pieces are checked and applied into a document of the receiver's own as they download, and
that document becomes the compartment's (mano_core/sync/snapshot_adopt.py) in the
transaction that stores it with the cursor and the chain. Nothing of it is visible before
that commit; a fault at any step (a drop between pieces, a refused piece, a failed, crashed
or cancelled commit) leaves nothing half-applied, the sync resumes from the same cursor and
the data ends identical to the writer's."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from pycrdt import Doc
from pycrdt._base import BaseType

from mano_core import limits
from mano_core.document import pieces
from mano_core.document.ydeps import UpdateDeps
from mano_core.errors import MalformedEnvelopeError
from mano_core.store.transaction import StoreTransaction
from mano_core.sync import snapshot_adopt
from mano_core.sync.receiver import Receiving
from mano_core.sync.snapshot_receive import SnapshotReceiver
from mano_core.team_info import doc_name

from .harness import KINDS, Harness, drop_connection, settle
from .test_snapshot_first import AFTER, EXPECTED, GENERAL, names, trial
from .test_snapshot_v2_first_sync import template

pytestmark = pytest.mark.timeout(300)


def contents(team: Any) -> dict[str, Any]:
    """Every root map of the general document, as plain values."""
    core = team.compartment(GENERAL).core
    return {name: c._map.to_py() for name, c in core.collections.items()}


def bound_to(obj: Any) -> list[Any]:
    """The pycrdt documents that ``obj``'s attributes hold or belong to."""
    docs: list[Any] = []
    for value in vars(obj).values():
        if isinstance(value, Doc):
            docs.append(value)
        elif isinstance(value, BaseType):
            docs.append(value.doc)
    return docs


def no_v1_merge(monkeypatch: pytest.MonkeyPatch) -> None:
    async def refuse(*_args: Any, **_kw: Any) -> int:
        raise AssertionError("the version-1 path ran")
    monkeypatch.setattr(Receiving, "apply_snapshot", refuse)


async def test_the_received_document_is_adopted_nothing_shown_before_the_commit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pair, relay_db, upto = await template(tmp_path / "t", altered=False)
    no_v1_merge(monkeypatch)
    async with Harness(tmp_path, relay_db=relay_db) as h:
        pair.harness = h
        _a, team_a = await pair.open("a")
        b, team_b = await pair.open("b")
        core = team_b.compartment(GENERAL).core
        old_doc, persons = core.doc, team_b.persons
        sync_b = await h.sync(b, team_b)
        inside: list[tuple[list[str], int, int]] = []
        real_write = team_b.follow_ups.write

        async def write(tx: Any, *, mark: bool = False) -> None:  # in the adoption's tx
            inside.append((names(team_b), sync_b.sync.cursor(GENERAL),
                           sync_b.state.received.bytes))
            await real_write(tx, mark=mark)

        monkeypatch.setattr(team_b.follow_ups, "write", write)
        seen: list[tuple[int, int]] = []
        sync_b.subscribe(lambda s: seen.append((s.catchup.bytes_done, s.catchup.bytes_total))
                         if s.catchup is not None else None)
        head = await h.head(pair.team_id)
        async with sync_b as sb:
            await settle(sb)
            assert names(team_b) == EXPECTED
            assert sb.state.cursor[GENERAL] == head
            assert sb.state.received.envelopes == head - upto  # only the tail replayed
            assert not [al for al in sb.state.alerts if al.kind in ("snapshot", "gap")]
            assert sb.state.catchup is None
        assert inside[0] == ([], 0, 0)  # the commit of the snapshot: nothing shown yet
        dones = [d for d, _t in seen]
        assert dones == sorted(dones) and dones[-1] == seen[-1][1]
        # The same core, collections and durable wrappers, now on the received document;
        # nothing of them left on the empty one.
        assert team_b.compartment(GENERAL).core is core and team_b.persons is persons
        assert core.doc is not old_doc
        held = [core, *core.collections.values(), team_b.doc.settings]
        assert all(d is core.doc for obj in held for d in bound_to(obj))
        assert contents(team_b) == contents(team_a)  # identical to the writer's
        loaded = await b.store.load_document(doc_name(pair.team_id, GENERAL))
        assert loaded.snapshot is not None
        assert loaded.snapshot.startswith(pieces.MAGIC)  # the pieces as received
        await b.close()
        h.opened.remove(b)
        b, team_b = await pair.open("b")
        assert names(team_b) == EXPECTED
        assert contents(team_b) == contents(team_a)
        # A local edit after the adoption is stored and reopened like any other.
        await team_b.persons.create(name="Ensuite")
        await b.close()
        h.opened.remove(b)
        b, team_b = await pair.open("b")
        assert names(team_b) == sorted([*EXPECTED, "Ensuite"])


async def test_a_snapshot_holding_merges_is_marked_for_their_follow_up(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As a version-1 merge of the same state would be: a crash after the adoption's commit
    and before the follow-up leaves the marker, so the next open follows everything."""
    pair, relay_db, _upto = await template(tmp_path / "t", altered=False, merged=True)
    no_v1_merge(monkeypatch)
    async with Harness(tmp_path, relay_db=relay_db) as h:
        pair.harness = h
        b, team_b = await pair.open("b")
        marks: list[bool] = []
        real_write = team_b.follow_ups.write

        async def write(tx: Any, *, mark: bool = False, **kw: Any) -> None:
            marks.append(mark)
            await real_write(tx, mark=mark, **kw)

        monkeypatch.setattr(team_b.follow_ups, "write", write)
        async with await h.sync(b, team_b) as sb:
            await settle(sb)
        assert team_b.holds_merges()
        assert "Doublon" not in names(team_b)
        assert marks and marks[0] is True  # the adoption's own transaction


async def test_a_drop_between_pieces_leaves_nothing_and_resumes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pair, relay_db, upto = await template(tmp_path / "t", altered=False)
    no_v1_merge(monkeypatch)
    async with Harness(tmp_path, relay_db=relay_db) as h:
        pair.harness = h
        b, team_b = await pair.open("b")
        sb = await h.sync(b, team_b)
        cut = drop_connection(sb)
        real_apply = SnapshotReceiver._apply
        dropped: list[tuple[list[str], int]] = []
        done = asyncio.Event()

        def apply(self: SnapshotReceiver, update: bytes, deps: UpdateDeps) -> None:
            real_apply(self, update, deps)
            if self.pieces_applied == 2 and not dropped:
                dropped.append((names(team_b), sb.sync.cursor(GENERAL)))
                closed = cut()
                assert closed is not None
                asyncio.ensure_future(closed).add_done_callback(lambda _f: done.set())

        monkeypatch.setattr(SnapshotReceiver, "_apply", apply)
        head = await h.head(pair.team_id)
        async with sb:
            await asyncio.wait_for(done.wait(), 30)
            assert dropped == [([], 0)]
            await settle(sb)  # the next session starts again from cursor 0
            assert names(team_b) == EXPECTED
            assert sb.state.cursor[GENERAL] == head
            assert sb.state.received.envelopes == head - upto
            assert not [al for al in sb.state.alerts if al.kind in ("snapshot", "gap")]
        await b.close()
        h.opened.remove(b)
        b, team_b = await pair.open("b")
        assert names(team_b) == EXPECTED


@pytest.mark.parametrize("kind", KINDS)
async def test_a_fault_at_any_step_of_a_pipelined_first_sync_is_redone(
        tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "COALESCE_DELIVERIES_ENVELOPES", 1)  # a step per delivery
    pair, relay_db, upto = await template(tmp_path / "template", altered=False)
    adopted: list[bool] = []
    real = snapshot_adopt.adopt

    async def adopt(*args: Any) -> bool:
        adopted.append(True)
        return await real(*args)

    monkeypatch.setattr(snapshot_adopt, "adopt", adopt)
    no_v1_merge(monkeypatch)
    steps = await trial(pair, relay_db, tmp_path / "clean", 0, kind, upto)
    assert adopted and steps >= 1 + AFTER  # the adoption's transaction, then the tail's
    for step in range(1, steps + 1):
        await trial(pair, relay_db, tmp_path / f"{kind}-{step}", step, kind, upto)


async def test_a_local_edit_during_the_download_is_kept_the_state_merged_instead(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pair, relay_db, _upto = await template(tmp_path / "t", altered=False)
    no_v1_merge(monkeypatch)
    async with Harness(tmp_path, relay_db=relay_db) as h:
        pair.harness = h
        b, team_b = await pair.open("b")
        real_apply = SnapshotReceiver._apply
        edits: list[asyncio.Future[Any]] = []
        adopted: list[bool] = []
        real_adopt = snapshot_adopt.adopt

        async def adopt(*args: Any) -> bool:
            adopted.append(await real_adopt(*args))
            return adopted[-1]

        def apply(self: SnapshotReceiver, update: bytes, deps: UpdateDeps) -> None:
            real_apply(self, update, deps)
            if self.pieces_applied == 2 and not edits:  # the user types meanwhile
                edits.append(asyncio.ensure_future(team_b.persons.create(name="Pendant")))

        monkeypatch.setattr(SnapshotReceiver, "_apply", apply)
        monkeypatch.setattr(snapshot_adopt, "adopt", adopt)
        head = await h.head(pair.team_id)
        async with await h.sync(b, team_b) as sb:
            await settle(sb)
            await edits[0]
            await settle(sb)
            assert names(team_b) == sorted([*EXPECTED, "Pendant"])
            assert sb.state.cursor[GENERAL] >= head
            assert not [al for al in sb.state.alerts if al.kind in ("snapshot", "gap")]
        assert adopted in ([], [False])  # not adopted over the edit: merged as a state
        await b.close()
        h.opened.remove(b)
        b, team_b = await pair.open("b")
        assert names(team_b) == sorted([*EXPECTED, "Pendant"])


async def test_the_store_write_runs_beside_the_last_pieces_and_a_late_refusal_commits_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stored pieces are sent to the file (``write_ahead``) while the last pieces are
    still being applied; a piece the apply refuses then rolls the transaction back: no
    snapshot stored, no cursor, and the sync takes the envelopes instead."""
    pair, relay_db, _upto = await template(tmp_path / "t", altered=False)
    no_v1_merge(monkeypatch)
    async with Harness(tmp_path, relay_db=relay_db) as h:
        pair.harness = h
        b, team_b = await pair.open("b")
        events: list[str] = []
        real_ahead = StoreTransaction.write_ahead

        async def write_ahead(self: StoreTransaction) -> None:
            events.append("ahead")
            await real_ahead(self)

        real_apply, real_all = SnapshotReceiver._apply, SnapshotReceiver._apply_all

        async def apply_all(self: SnapshotReceiver) -> None:
            deadline = time.monotonic() + 30  # (slow applies: they start once it is written)
            while "ahead" not in events and time.monotonic() < deadline:
                await asyncio.sleep(0.005)
            await real_all(self)

        def apply(self: SnapshotReceiver, update: bytes, deps: UpdateDeps) -> None:
            if self.pieces_applied + 1 == self.pieces_total:
                events.append("last piece")
                raise MalformedEnvelopeError("the last piece, refused for the test")
            real_apply(self, update, deps)

        real_adopt = snapshot_adopt.adopt
        after: list[tuple[bool, int]] = []

        async def adopt(holder: Any, *args: Any) -> bool:
            try:
                return await real_adopt(holder, *args)
            except MalformedEnvelopeError:
                loaded = await b.store.load_document(doc_name(pair.team_id, GENERAL))
                after.append((loaded.snapshot is None, sync_b.sync.cursor(GENERAL)))
                raise

        monkeypatch.setattr(StoreTransaction, "write_ahead", write_ahead)
        monkeypatch.setattr(SnapshotReceiver, "_apply", apply)
        monkeypatch.setattr(SnapshotReceiver, "_apply_all", apply_all)
        monkeypatch.setattr(snapshot_adopt, "adopt", adopt)
        sync_b = await h.sync(b, team_b)
        async with sync_b as sb:
            await settle(sb)
            assert events[:2] == ["ahead", "last piece"]
            assert after == [(True, 0)]  # rolled back: nothing of the snapshot stored
            assert names(team_b) == EXPECTED  # from the envelopes
            alerts = [al.detail for al in sb.state.alerts if al.kind == "snapshot"]
            assert len(alerts) == 1 and "refused for the test" in alerts[0], alerts
        await b.close()
        h.opened.remove(b)
        b, team_b = await pair.open("b")
        assert names(team_b) == EXPECTED
