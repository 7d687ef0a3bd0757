"""Fault injection at every step: for each store transaction a device makes while it applies
a teammate's deliveries and flushes and pushes its own outbox, inject a crash, a full disk or
a connection drop while it waits for the store; reopen the device from its file, resync, and
every edit must be present exactly once on both devices, with the cursor at the relay's head.

Before the fix (issue 16, case 1), a drop while a delivery waited for the store advanced the
replay protection in memory: the next delivery committed it, and the re-delivered envelopes
were refused as replays: a teammate's edits lost for good, silently.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from mano_core import limits
from mano_core.ids import Compartment
from mano_core.sync.client import SyncClient
from mano_core.sync.engine import TeamSync
from mano_core.sync.transport import RelayClient

from .harness import (KINDS, Crash, Harness, Pair, StoreFaults, drop_connection, settle,
                      synced_or_fired)
from .helpers import eventually

pytestmark = pytest.mark.timeout(900)
A_EDITS = 5   # persons the admin writes, one envelope each, while b is away
B_EDITS = 3   # persons b writes offline (its outbox)


def names(team) -> list[str]:
    return sorted(p.name for p in team.persons.list())


EXPECTED = sorted([f"A-{i}" for i in range(A_EDITS)] + [f"B-{i}" for i in range(B_EDITS)])


async def template(tmp: Path) -> tuple[Pair, Path]:
    """Both devices joined; a wrote A_EDITS envelopes (at the relay), b has B_EDITS offline
    edits in its outbox and has applied none of a's. Returns the pair and the relay's db."""
    async with Harness(tmp) as h:
        pair = await h.device_pair(tmp / "devices")
        a, team_a = await pair.open("a")
        async with await h.sync(a, team_a) as sa:
            for i in range(A_EDITS):
                await team_a.persons.create(name=f"A-{i}")
                await settle(sa)  # one envelope each: several deliveries to apply
        await a.close()
        b, team_b = await pair.open("b")
        for i in range(B_EDITS):
            await team_b.persons.create(name=f"B-{i}")
        await b.close()
    return pair, h.relay_db


async def trial(pair: Pair, relay_db: Path, where: Path, step: int, kind: str) -> int:
    """One run from the template with a fault at ``step`` (0: none); returns how many
    transactions b made until synced (fault-free run) and checks the outcome."""
    run_db = where / "relay.db"
    run = pair.copy_to(where, run_db)
    async with Harness(where, relay_db=run_db, catchup_batch=1) as h:
        run.harness = h
        a, team_a = await run.open("a")
        b, team_b = await run.open("b")
        async with await h.sync(a, team_a) as sa:
            faults = StoreFaults(b.store)
            sb = await h.sync(b, team_b)
            faults.arm(step, kind, on_drop=drop_connection(sb))
            count = 0
            try:
                await sb.__aenter__()
            except Crash:  # while sealing the outbox before connecting
                pass
            if step == 0:
                await settle(sb)
                count = faults.count
            elif kind == "crash":
                await synced_or_fired(sb, faults.fired)
            else:
                await settle(sb, 60)  # the same process recovers by itself
            await sb.close()
            await b.close()
            await redone_after_restart(h, run, team_a, sa, f"step {step} {kind}")
        return count


async def redone_after_restart(h: Harness, run, team_a, sa: SyncClient, what: str) -> None:
    """Reopen b from its file, as after a restart, and resync: every edit present exactly
    once on both devices, b's cursor at the relay's head, nothing quarantined."""
    b, team_b = await run.open("b")
    async with await h.sync(b, team_b) as sb:
        await settle(sb, 60)
        assert names(team_b) == EXPECTED, what
        assert sb.state.cursor[Compartment.GENERAL] == await h.head(run.team_id), what
        assert not sb.state.quarantine, what
    await eventually(lambda: names(team_a) == EXPECTED, 60, f"b's edits on a ({what})")
    assert not sa.state.quarantine


@pytest.mark.parametrize("kind", KINDS)
async def test_a_fault_at_any_step_loses_and_duplicates_nothing(tmp_path, kind, monkeypatch):
    # each frame its own delivery and transaction (limits.COALESCE_DELIVERIES_ENVELOPES): a
    # step each; test_a_fault_in_a_coalesced_delivery_redoes_all_of_it below takes them together
    monkeypatch.setattr(limits, "COALESCE_DELIVERIES_ENVELOPES", 1)
    pair, relay_db = await template(tmp_path / "template")
    steps = await trial(pair, relay_db, tmp_path / "clean", 0, kind)
    assert steps >= A_EDITS  # at least one transaction per delivery: the loop below is real
    for step in range(1, steps + 1):
        await trial(pair, relay_db, tmp_path / f"{kind}-{step}", step, kind)


@pytest.mark.parametrize("kind", KINDS)
async def test_a_fault_in_a_coalesced_delivery_redoes_all_of_it(tmp_path, kind, monkeypatch):
    # Each session of b takes its first delivery once its catch-up's frames are all received
    # (its subscription answered), so that they are applied together, in one transaction
    # (mano_core.sync.receiver.with_queued): a fault at that step, or any other, redoes all.
    pair, relay_db = await template(tmp_path / "template")
    b, _team_b = await pair.open("b")
    b_id = (await b.vault.team(uuid.UUID(pair.team_id).bytes)).identity.device_id
    await b.close()
    pair.harness.opened.remove(b)
    sizes: list[int] = []
    real_inbox, real_apply = SyncClient._inbox, TeamSync.apply_delivery

    async def inbox(self: SyncClient, client: RelayClient) -> None:
        if self.keys.identity.device_id == b_id:
            await eventually(lambda: self._caught_up, 30, "b subscribed")
        await real_inbox(self, client)

    async def apply_delivery(self: TeamSync, c: Compartment, items: list) -> bool:
        if self.keys.identity.device_id == b_id:
            sizes.append(len(items))
        return await real_apply(self, c, items)

    monkeypatch.setattr(SyncClient, "_inbox", inbox)
    monkeypatch.setattr(TeamSync, "apply_delivery", apply_delivery)
    steps = await trial(pair, relay_db, tmp_path / "clean", 0, kind)
    assert max(sizes) > 1, sizes  # frames applied together (one frame each: catchup_batch=1)
    for step in range(1, steps + 1):
        await trial(pair, relay_db, tmp_path / f"{kind}-{step}", step, kind)
