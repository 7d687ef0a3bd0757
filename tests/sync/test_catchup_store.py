"""The local store during a catch-up (issue 24): compaction (re-encoding the whole state)
waits while more deliveries follow, and happens once the catch-up reaches the head; what was
caught up survives a reopen whole."""

from __future__ import annotations


import pytest

from mano_core import limits
from mano_core.ids import Compartment
from mano_core.team_compartment import CompartmentHolder

from .harness import Harness, pair_behind, settle

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
