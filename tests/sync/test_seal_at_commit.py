"""An isolated edit is sealed in the transaction that commits it (issue 24,
mano_core/sync/seal_at_commit.py): the envelope and its author counter are durable when the
edit returns, and true only with that commit. A crash, a full disk, a dropped connection or a
cancellation at any step loses no edit reported saved, never reuses a counter (the teammate
would quarantine the envelope as a replay) and never skips one (a chain gap alert)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from mano_core.errors import StoreError
from mano_core.ids import Compartment
from mano_core.team import local_outbox, sealed_outbox

from .harness import KINDS, Crash, Harness, Pair, StoreFaults, drop_connection, settle
from .helpers import eventually

pytestmark = pytest.mark.timeout(600)
EDITS = 3  # isolated edits b makes online


def names(team) -> list[str]:
    return sorted(p.name for p in team.persons.list())


def chain_alerts(sync) -> list[str]:
    return [a.detail for a in sync.state.alerts if a.kind in ("gap", "fork")]


async def outboxes(device, team) -> tuple[int, int]:
    c = Compartment.GENERAL
    return (await device.store.outbox_size(local_outbox(team.id, c)),
            await device.store.outbox_size(sealed_outbox(team.id, c)))


async def template(tmp: Path) -> tuple[Pair, Path]:
    async with Harness(tmp) as h:
        pair = await h.device_pair(tmp / "devices")
    return pair, h.relay_db


async def test_an_isolated_edit_is_sealed_when_it_returns(tmp_path):
    async with Harness(tmp_path) as h:
        pair = await h.device_pair(tmp_path / "devices")
        a, team_a = await pair.open("a")
        b, team_b = await pair.open("b")
        async with await h.sync(a, team_a) as sa, await h.sync(b, team_b) as sb:
            await settle(sb)
            await team_b.persons.create(name="B-0")
            # Durable and ready to push the moment the edit returns: no second commit to wait.
            assert await outboxes(b, team_b) == (0, 1)
            await settle(sb)
            await eventually(lambda: names(team_a) == ["B-0"], 30, "b's edit on a")
            assert not sa.state.quarantine and not chain_alerts(sa)


async def trial(pair: Pair, relay_db: Path, where: Path, step: int, kind: str) -> int:
    """b makes EDITS isolated edits online, its ``step``-th transaction failing (0: none);
    b is then reopened from its file and resynced. Returns b's transaction count (step 0)."""
    run_db = where / "relay.db"
    run = pair.copy_to(where, run_db)
    what = f"step {step} {kind}"
    async with Harness(where, relay_db=run_db) as h:
        run.harness = h
        a, team_a = await run.open("a")
        b, team_b = await run.open("b")
        saved: list[str] = []
        async with await h.sync(a, team_a) as sa:
            sb = await h.sync(b, team_b)
            await sb.__aenter__()
            await settle(sb)
            faults = StoreFaults(b.store)
            faults.arm(step, kind, on_drop=drop_connection(sb))
            alerts: list[str] = []
            for i in range(EDITS):
                try:
                    await team_b.persons.create(name=f"B-{i}")
                except (Crash, StoreError):
                    if faults.dead:
                        break
                    continue  # not saved (a full disk): kept in memory, saved by the next
                saved.append(f"B-{i}")
                if kind != "crash" or not faults.dead:
                    with contextlib.suppress(AssertionError):
                        await settle(sb, 20)
            count = faults.count
            alerts += chain_alerts(sb)
            await sb.close()
            await b.close()
            b, team_b = await run.open("b")  # as after a restart
            async with await h.sync(b, team_b) as sb:
                await settle(sb, 60)
                assert not sb.state.quarantine, what
                alerts += chain_alerts(sb)
                assert (await outboxes(b, team_b)) == (0, 0), what
            assert set(saved) <= set(names(team_b)), what
            await eventually(lambda: set(saved) <= set(names(team_a)), 60, f"b's edits ({what})")
            assert names(team_a) == names(team_b), what
            assert not sa.state.quarantine, what  # a counter reused: refused as a replay
            assert not chain_alerts(sa) and not alerts, what  # a counter skipped: a gap
        if step == 0:
            assert saved == [f"B-{i}" for i in range(EDITS)]
        return count


@pytest.mark.parametrize("kind", KINDS)
async def test_a_fault_at_any_step_of_sealed_edits_loses_and_reuses_nothing(tmp_path, kind):
    pair, relay_db = await template(tmp_path / "template")
    steps = await trial(pair, relay_db, tmp_path / "clean", 0, kind)
    assert steps >= EDITS
    for step in range(1, steps + 1):
        await trial(pair, relay_db, tmp_path / f"{kind}-{step}", step, kind)


class CancelAt:
    """Cancels the task of b's next transaction: ``before`` its commit (inside the block:
    nothing is written) or ``during`` it (the commit still lands, the caller is cancelled)."""

    def __init__(self, store: Any) -> None:
        self.where = ""
        self._original = store.transaction
        store.transaction = self._transaction

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Any]:
        where, self.where = self.where, ""
        async with self._original() as tx:
            yield tx
            if where == "before":
                raise asyncio.CancelledError
            if where == "during":  # delivered while the task awaits the shielded commit
                task = asyncio.current_task()
                assert task is not None
                asyncio.get_running_loop().call_soon(task.cancel)


@pytest.mark.parametrize("where", ["before", "during"])
async def test_an_edit_cancelled_at_its_commit_neither_skips_nor_reuses_a_counter(tmp_path,
                                                                                  where):
    async with Harness(tmp_path) as h:
        pair = await h.device_pair(tmp_path / "devices")
        a, team_a = await pair.open("a")
        b, team_b = await pair.open("b")
        async with await h.sync(a, team_a) as sa, await h.sync(b, team_b) as sb:
            await settle(sb)
            head = await h.head(pair.team_id)
            cancel = CancelAt(b.store)
            cancel.where = where
            with pytest.raises(asyncio.CancelledError):
                await team_b.persons.create(name="B-0")
            if where == "during":
                # Committed with its envelope: pushed without waiting for another edit.
                for _ in range(500):
                    if await h.head(pair.team_id) == head + 1:
                        break
                    await asyncio.sleep(0.01)
                assert await h.head(pair.team_id) == head + 1
            else:
                assert await outboxes(b, team_b) == (0, 0)  # nothing of it written
            await team_b.persons.create(name="B-1")  # B-0 is saved with it if it was not
            await settle(sb)
            await eventually(lambda: names(team_a) == ["B-0", "B-1"], 30, "b's edits on a")
            assert not sa.state.quarantine  # a counter reused: refused as a replay
            assert not chain_alerts(sa) and not chain_alerts(sb)  # a counter skipped: a gap


async def test_a_burst_after_an_isolated_edit_still_shares_one_envelope(tmp_path):
    async with Harness(tmp_path) as h:
        pair = await h.device_pair(tmp_path / "devices")
        a, team_a = await pair.open("a")
        async with await a.sync(team_a, h.url, flush_delay=2.0) as sa:
            await settle(sa)
            head = await h.head(pair.team_id)
            await team_a.persons.create(name="P-0")  # isolated: sealed in its transaction
            assert await outboxes(a, team_a) == (0, 1)
            for i in range(1, 6):  # within the flush delay: they wait for the flush timer
                await team_a.persons.create(name=f"P-{i}")
            assert (await outboxes(a, team_a))[0] == 5
            await settle(sa)
            assert await h.head(pair.team_id) == head + 2  # P-0's envelope, the burst's one
