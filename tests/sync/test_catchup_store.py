"""The local store during a catch-up (issue 24): compaction (re-encoding the whole state)
waits while more deliveries follow, and happens once the catch-up reaches the head; what was
caught up survives a reopen whole."""

from __future__ import annotations


import asyncio

import pytest

from mano_core import limits
from mano_core.ids import Compartment
from mano_core.store import LocalStore
from mano_core.team import doc_name
from mano_core.team_compartment import CompartmentHolder

from .harness import PASS, Harness, StoreFaults, pair_behind, settle

pytestmark = pytest.mark.timeout(180)
GENERAL = Compartment.GENERAL


async def test_a_catch_up_compacts_once_it_reaches_the_head(tmp_path, monkeypatch):
    # 200 envelopes in 10 deliveries (one row each): their bytes outweigh the (empty) snapshot
    monkeypatch.setattr(limits, "COMPACT_AFTER_UPDATES", 40)
    monkeypatch.setattr(limits, "COMPACT_AFTER_BYTES", 1)
    monkeypatch.setattr(limits, "COALESCE_DELIVERIES_ENVELOPES", 20)  # each frame on its own
    async with Harness(tmp_path, catchup_batch=20) as h:
        pair = await pair_behind(h, tmp_path / "devices", 200)
        b, team_b = await pair.open("b")
        compactions: list[tuple[int, int]] = []  # (rows stored since, their bytes)
        real = CompartmentHolder.compact

        async def compact(holder: CompartmentHolder) -> None:
            if holder.team is team_b:
                compactions.append((holder.since_snapshot, holder.bytes_since_snapshot))
            await real(holder)

        monkeypatch.setattr(CompartmentHolder, "compact", compact)
        async with await h.sync(b, team_b) as sb:
            await settle(sb)
            head = sb.state.cursor[GENERAL]
        assert len(team_b.persons.list()) == 200
        await team_b.upkeep.settle()  # (it runs in the background: mano_core/team_upkeep.py)
        # one compaction, of the whole catch-up, after the delivery that reached the head
        # (the old bound folded the state after every second delivery: ten times)
        assert len(compactions) == 1, compactions
        assert compactions[0][0] >= 10  # every delivery's row
        assert team_b.compartment(GENERAL).since_snapshot == 0
        await b.close()
        b, team_b = await pair.open("b")  # the compacted store holds it all
        assert len(team_b.persons.list()) == 200
        assert team_b.compartment(GENERAL).since_snapshot == 0
        assert head >= 200


async def test_the_compaction_after_a_catch_up_is_not_waited_for_but_done_by_close(
        tmp_path, monkeypatch):
    # issue 24: the compaction re-encodes the whole state; the catch-up is over without it
    # (its cursor committed), and Device.close finishes it before closing the store
    monkeypatch.setattr(limits, "COMPACT_AFTER_UPDATES", 40)
    monkeypatch.setattr(limits, "COMPACT_AFTER_BYTES", 1)
    async with Harness(tmp_path) as h:
        pair = await pair_behind(h, tmp_path / "devices", 200)
        b, team_b = await pair.open("b")
        gate, started = asyncio.Event(), asyncio.Event()
        real = CompartmentHolder.compact

        async def compact(holder: CompartmentHolder) -> None:
            if holder.team is team_b:
                started.set()
                await gate.wait()  # held until the session is over
            await real(holder)

        monkeypatch.setattr(CompartmentHolder, "compact", compact)
        async with await h.sync(b, team_b) as sb:
            await settle(sb)
            head = sb.state.cursor[GENERAL]
        await started.wait()
        holder = team_b.compartment(GENERAL)
        assert holder.since_snapshot > 0 and team_b.upkeep.pending(holder)
        assert len(team_b.persons.list()) == 200 and head >= 200
        closing = asyncio.create_task(b.close())
        await asyncio.sleep(0)  # (the close starts waiting for it)
        gate.set()
        await closing
        async with await LocalStore.open(pair.b_path, PASS) as store:  # compacted, then closed
            assert await store.updates_since_snapshot(doc_name(team_b.id, GENERAL)) == 0
        b, team_b = await pair.open("b")
        assert len(team_b.persons.list()) == 200


async def test_a_crash_before_the_background_compaction_commits_compacts_next_time(
        tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "COMPACT_AFTER_UPDATES", 40)
    monkeypatch.setattr(limits, "COMPACT_AFTER_BYTES", 1)
    async with Harness(tmp_path) as h:
        pair = await pair_behind(h, tmp_path / "devices", 200)
        b, team_b = await pair.open("b")
        faults = StoreFaults(b.store)
        real = CompartmentHolder.compact

        async def compact(holder: CompartmentHolder) -> None:
            if holder.team is team_b and not faults.fired.is_set():
                faults.arm(1, "crash")  # the compaction's own transaction: power cut
            await real(holder)

        monkeypatch.setattr(CompartmentHolder, "compact", compact)
        async with await h.sync(b, team_b) as sb:
            await settle(sb)
            await faults.fired.wait()
        await team_b.upkeep.settle()  # failed: logged, the store as it was
        await b.close()
        monkeypatch.setattr(CompartmentHolder, "compact", real)
        await _rows_kept_then_folded_at_the_next_open(pair, team_b.id)


@pytest.mark.parametrize("how", ["store closed", "cancelled"])
async def test_a_crash_while_the_compaction_waits_for_a_quiet_moment_loses_nothing(
        tmp_path, monkeypatch, how):
    # mano_core/team_upkeep.py: the compaction after a catch-up waits a quiet moment; the store
    # closing under it (a crash, a close that does not wait) or a cancellation meanwhile
    # leaves the delivered rows, which the next open folds
    monkeypatch.setattr(limits, "COMPACT_AFTER_UPDATES", 40)
    monkeypatch.setattr(limits, "COMPACT_AFTER_BYTES", 1)
    monkeypatch.setattr(limits, "COMPACT_QUIET_SECONDS", 600.0)  # (the timeout comes first)
    async with Harness(tmp_path) as h:
        pair = await pair_behind(h, tmp_path / "devices", 200)
        b, team_b = await pair.open("b")
        compactions: list[CompartmentHolder] = []
        real = CompartmentHolder.compact

        async def compact(holder: CompartmentHolder) -> None:
            compactions.append(holder)
            await real(holder)

        monkeypatch.setattr(CompartmentHolder, "compact", compact)
        async with await h.sync(b, team_b) as sb:
            await settle(sb)
            head = sb.state.cursor[GENERAL]
        holder = team_b.compartment(GENERAL)
        assert team_b.upkeep.pending(holder) and holder.since_snapshot > 0
        if how == "cancelled":
            await team_b.upkeep.cancel(holder)
            assert not team_b.upkeep.pending(holder)
        await b.store.close()  # without the upkeep's close: what a crash leaves
        assert not compactions and head >= 200
        monkeypatch.setattr(limits, "COMPACT_QUIET_SECONDS", 0.0)
        await _rows_kept_then_folded_at_the_next_open(pair, team_b.id)


async def _rows_kept_then_folded_at_the_next_open(pair, team_id) -> None:
    """After a compaction that never committed: the delivered rows are in the store, the next
    open reads everything from them and folds them in the background, and the open after
    that reads the folded store."""
    name = doc_name(team_id, GENERAL)
    async with await LocalStore.open(pair.b_path, PASS) as store:
        assert await store.updates_since_snapshot(name) >= 1  # the delivery's rows, kept
    b, team_b = await pair.open("b")
    assert len(team_b.persons.list()) == 200  # caught up, from the rows not folded
    await team_b.upkeep.settle()  # the open found it due: folded in the background
    assert team_b.compartment(GENERAL).since_snapshot == 0
    await b.close()
    async with await LocalStore.open(pair.b_path, PASS) as store:
        assert await store.updates_since_snapshot(name) == 0
    b, team_b = await pair.open("b")
    assert len(team_b.persons.list()) == 200
    await b.close()
