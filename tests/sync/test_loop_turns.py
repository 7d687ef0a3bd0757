"""A delivery gives the event loop a turn between its stretches (issue 24): after its batch
authentication, after its opening, and after its role screening, before the merge
(``loop_turn`` of mano_core/sync/persist.py and mano_core/team_compartment.py). Nothing is
staged as true at those turns: a crash or a connection drop at any of them redoes the
delivery, every edit present exactly once on both devices, the cursor at the relay's head."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mano_core.ids import Compartment
from mano_core.sync.persist import Persisting
from mano_core.team_compartment import CompartmentHolder

from .harness import Crash, Harness, Pair, drop_connection, settle, synced_or_fired
from .test_fault_steps import EXPECTED, names, redone_after_restart, template

pytestmark = pytest.mark.timeout(900)


async def trial(pair: Pair, relay_db: Path, where: Path, turn: int, kind: str,
                monkeypatch: pytest.MonkeyPatch) -> int:
    """One run from the template with a fault at b's ``turn``-th loop turn (0: none); returns
    how many turns b's deliveries took until synced (fault-free run) and checks the outcome."""
    run_db = where / "relay.db"
    run = pair.copy_to(where, run_db)
    async with Harness(where, relay_db=run_db, catchup_batch=1) as h:
        run.harness = h
        a, team_a = await run.open("a")
        b, team_b = await run.open("b")
        async with await h.sync(a, team_a) as sa:
            sb = await h.sync(b, team_b)
            seen = 0
            fired = asyncio.Event()

            async def loop_turn(self: object) -> None:
                nonlocal seen
                if getattr(self, "team", None) is team_b and not fired.is_set():
                    seen += 1
                    if seen == turn:
                        fired.set()
                        if kind == "crash":
                            raise Crash("the process died at the loop's turn")
                        closed = drop_connection(sb)()
                        if closed is not None:
                            await closed  # the delivery's task is cancelled right here
                await asyncio.sleep(0)

            with monkeypatch.context() as patch:
                patch.setattr(Persisting, "loop_turn", loop_turn)
                patch.setattr(CompartmentHolder, "loop_turn", loop_turn)
                await sb.__aenter__()
                if turn == 0:
                    await settle(sb)
                elif kind == "drop":  # the same process recovers by itself
                    await settle(sb, 60)
                    assert fired.is_set(), f"turn {turn} never came"
                    assert names(team_b) == EXPECTED, f"turn {turn} drop, before a restart"
                    assert sb.state.cursor[Compartment.GENERAL] == await h.head(run.team_id)
                else:
                    await synced_or_fired(sb, fired)
                    assert fired.is_set(), f"turn {turn} never came"
                await sb.close()
            await b.close()
            await redone_after_restart(h, run, team_a, sa, f"turn {turn} {kind}")
        return seen


@pytest.mark.parametrize("kind", ["crash", "drop"])
async def test_a_fault_at_a_deliverys_loop_turn_redoes_it(tmp_path, kind, monkeypatch):
    pair, relay_db = await template(tmp_path / "template")
    turns = await trial(pair, relay_db, tmp_path / "clean", 0, kind, monkeypatch)
    assert turns >= 3  # a delivery of a's edits: authenticated, opened, screened, merged
    for turn in range(1, min(turns, 6) + 1):  # (those of the first deliveries: each kind)
        await trial(pair, relay_db, tmp_path / f"{kind}-{turn}", turn, kind, monkeypatch)
