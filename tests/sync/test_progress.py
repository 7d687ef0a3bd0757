"""What a nurse sees while a device catches up (SyncState.received and .behind, shown by the
TUI's sync bar), and the snapshot policy by bytes (issue 24): a snapshot only once the tail
since the newest one weighs half the state, whatever the number of envelopes."""

from __future__ import annotations

import uuid

import pytest

from mano_core.demo import generate_team
from mano_core.demo.load import load_demo
from mano_core.ids import Compartment
from mano_core.sync import payload
from mano_core.sync.engine import SNAPSHOT_MIN_TAIL, SNAPSHOT_TAIL_FRACTION
from mano_core.team import sealed_outbox

from .harness import Harness, settle
from .helpers import eventually, seal_bulk_persons

pytestmark = pytest.mark.timeout(180)
GENERAL = Compartment.GENERAL


async def test_a_catch_up_reports_envelopes_and_bytes_as_they_commit(tmp_path):
    async with Harness(tmp_path, catchup_batch=5) as h:
        pair = await h.device_pair(tmp_path / "devices")
        a, team_a = await pair.open("a")
        keys_a = await a.vault.team(uuid.UUID(team_a.id).bytes)
        await seal_bulk_persons(team_a, keys_a, 40, "p")
        sealed = sum(len(i.payload) for i in await a.store.outbox_pending(
            sealed_outbox(team_a.id, GENERAL)))
        async with await h.sync(a, team_a) as sa:
            await settle(sa)
        head = await h.head(pair.team_id)
        b, team_b = await pair.open("b")
        seen: list[tuple[int, int, int]] = []
        sync_b = await h.sync(b, team_b)
        sync_b.subscribe(lambda s: seen.append((s.received.envelopes, s.behind,
                                                s.received.bytes)))
        async with sync_b as sb:
            await settle(sb)
            assert sb.state.behind == 0
            assert sb.state.received.envelopes >= 40
            assert sb.state.received.bytes >= sealed
        assert len(team_b.persons.list()) == 40
        midway = [(done, behind) for done, behind, _b in seen if behind and done]
        assert midway, "the catch-up was never seen part way"
        # what the bar shows part way: done + behind is what the relay held above b's cursor
        assert all(done + behind <= head for done, behind in midway)
        assert [d for d, _b in midway] == sorted(d for d, _b in midway)  # it only moves on


async def test_snapshots_follow_the_tail_in_bytes_not_a_count_of_envelopes(tmp_path):
    async with Harness(tmp_path) as h:
        pair = await h.device_pair(tmp_path / "devices")
        a, team_a = await pair.open("a")
        await load_demo(team_a, generate_team(seed=0, scale=0.05))  # a state of ~1 MB
        team_bytes = uuid.UUID(pair.team_id).bytes
        keys_a = await a.vault.team(team_bytes)
        async with await h.sync(a, team_a) as sa:
            await settle(sa)
            # the import itself is a tail as large as the state: one snapshot covers it
            await eventually(lambda: not sa.sync.snapshot_due(GENERAL), 60, "the upload")
        first = await h.relay.storage.newest_snapshot(team_bytes, int(GENERAL))
        assert first is not None
        # 400 small envelopes (more than the old fixed count of 300), far below half the state
        await seal_bulk_persons(team_a, keys_a, 400, "small")
        async with await h.sync(a, team_a) as sa:
            await settle(sa)
            tail, state = sa.sync.snapshot_policy(GENERAL)
            assert SNAPSHOT_MIN_TAIL <= tail < SNAPSHOT_TAIL_FRACTION * state, (tail, state)
            assert not sa.sync.snapshot_due(GENERAL)
        again = await h.relay.storage.newest_snapshot(team_bytes, int(GENERAL))
        assert again is not None and again.upto == first.upto  # no new snapshot
        # now envelopes weighing more than half the state: one snapshot, and the tail restarts
        big = "x" * 20_000
        outbox = sealed_outbox(team_a.id, GENERAL)
        core = team_a.compartment(GENERAL).core
        for _ in range(int(SNAPSHOT_TAIL_FRACTION * state / 20_000) + 2):
            core.persons.create(name="Grosse note", description=big)
            (update,) = core.drain_updates()
            await keys_a.seal(next(payload.encode_batches([update])), compartment=GENERAL,
                              doc=outbox)
        async with await h.sync(a, team_a) as sa:
            await settle(sa)
            await eventually(lambda: not sa.sync.snapshot_due(GENERAL), 60, "the upload")
            newest = await h.relay.storage.newest_snapshot(team_bytes, int(GENERAL))
            assert newest is not None and newest.upto > first.upto, (
                sa.sync.snapshot_policy(GENERAL), newest, await h.head(pair.team_id))
            tail, _state = sa.sync.snapshot_policy(GENERAL)
            assert tail < SNAPSHOT_MIN_TAIL
