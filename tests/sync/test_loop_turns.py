"""A delivery gives the event loop a turn between its stretches (issue 24): after its batch
authentication, every ``limits.DELIVERY_SLICE_SECONDS`` of its opening (between two envelopes),
after its opening, and after its role screening, before the merge (``loop_turn`` of
mano_core/sync/persist.py and mano_core/team_compartment.py). Nothing is staged as true at
those turns: a crash or a connection drop at any of them redoes the delivery, every edit
present exactly once on both devices, the cursor at the relay's head."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from mano_core import limits
from mano_core.ids import Compartment
from mano_core.sync.persist import Persisting
from mano_core.team_compartment import CompartmentHolder

from .harness import Crash, Harness, Pair, drop_connection, settle, synced_or_fired
from .test_fault_steps import EXPECTED, names, redone_after_restart, template

pytestmark = pytest.mark.timeout(900)


async def trial(pair: Pair, relay_db: Path, where: Path, turn: int, kind: str,
                monkeypatch: pytest.MonkeyPatch, slice_seconds: float = float("inf"),
                opening: list[int] | None = None) -> int:
    """One run from the template with a fault at b's ``turn``-th loop turn (0: none); returns
    how many turns b's deliveries took until synced (fault-free run) and checks the outcome.
    ``slice_seconds``: limits.DELIVERY_SLICE_SECONDS (inf: no turn inside the opening, 0: one
    before each envelope); ``opening`` gets the numbers of the turns taken inside it."""
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
                    if opening is not None and sys._getframe(1).f_code.co_name == "finish":
                        opening.append(seen)  # (loop_turns.finish: between two envelopes)
                    if seen == turn:
                        fired.set()
                        if kind == "crash":
                            raise Crash("the process died at the loop's turn")
                        closed = drop_connection(sb)()
                        if closed is not None:
                            await closed  # the delivery's task is cancelled right here
                await asyncio.sleep(0)

            with monkeypatch.context() as patch:
                patch.setattr(limits, "DELIVERY_SLICE_SECONDS", slice_seconds, raising=False)
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


@pytest.mark.parametrize("kind", ["crash", "drop"])
async def test_a_fault_between_two_envelopes_of_the_opening_redoes_the_delivery(
        tmp_path, kind, monkeypatch):
    # The opening gives the loop a turn every DELIVERY_SLICE_SECONDS (0 here: before each
    # envelope); the machine stages nothing before the delivery's last envelope is opened, so
    # a fault at any of those turns redoes the whole delivery.
    pair, relay_db = await template(tmp_path / "template")
    opening: list[int] = []
    await trial(pair, relay_db, tmp_path / "clean", 0, kind, monkeypatch, 0.0, opening)
    assert len(opening) >= 5  # a's five envelopes, each opened after a turn of the loop
    for turn in opening[:4]:
        await trial(pair, relay_db, tmp_path / f"{kind}-{turn}", turn, kind, monkeypatch, 0.0)


async def test_finish_lets_the_loop_run_between_steps_and_closes_them_when_cancelled():
    from collections.abc import Generator

    from mano_core.loop_turns import finish

    ran: list[str] = []

    def steps(n: int) -> Generator[None, None, str]:
        try:
            for i in range(n):
                yield
                ran.append(f"step {i}")
            return "done"
        finally:
            ran.append("closed")

    async def other() -> None:  # another task of the loop (the UI's), one entry a turn
        while True:
            ran.append("other")
            await asyncio.sleep(0)

    task = asyncio.get_running_loop().create_task(other())
    await asyncio.sleep(0)
    assert await finish(steps(3), slice_seconds=0) == "done"
    assert ran[ran.index("step 0"):ran.index("step 1")].count("other") >= 1  # between two
    ran.clear()
    assert await finish(steps(3), slice_seconds=3600) == "done"
    assert "other" not in ran  # under a slice: no turn
    ran.clear()
    slow = asyncio.get_running_loop().create_task(finish(steps(10**6), slice_seconds=0))
    await asyncio.sleep(0.01)
    slow.cancel()
    with pytest.raises(asyncio.CancelledError):
        await slow
    assert ran.count("closed") == 1  # the steps closed at once, not left to the collector
    task.cancel()
