"""An unexpected error in the outbox remover (the task that drops acknowledged envelopes from
the sealed outbox, Sending._remove_acked) is neither lost nor costs an ack: it ends the session
as any other task's error does (logged, shown in the sync state), and the acks that arrived
while its transaction ran are removed all the same. Before, the task died with its exception
never retrieved ("Task exception was never retrieved" under the fault tests), and an ack taken
meanwhile stayed staged for ever: its row never pushed again in this process, never removed,
shown pending, and wait_synced never returned."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from typing import Any

import pytest

from .harness import Harness, settle

pytestmark = pytest.mark.timeout(120)


class Unexpected(Exception):
    """Not a ManoError: what a bug, or a dying process, raises in the middle of a commit."""


async def test_an_unexpected_error_in_the_remover_is_reported_and_loses_no_ack(
        tmp_path, caplog):
    lost: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: lost.append(context))
    async with Harness(tmp_path) as h:
        pair = await h.device_pair(tmp_path / "devices")
        a, team = await pair.open("a")
        async with await h.sync(a, team) as sync:
            await settle(sync)
            engine, store = sync.sync, a.store
            # The acks remove the rows here: the echo of an envelope (which usually comes
            # first and removes its row with the cursor: test_echo.py) is not recognised.
            engine._remember_pushed = lambda *_args: None
            in_removal, second_ack = asyncio.Event(), asyncio.Event()
            original, on_ack = store.transaction, engine._acked
            failing = [True]

            @contextlib.asynccontextmanager
            async def transaction():
                if failing[0] and asyncio.current_task() is engine._remover:
                    failing[0] = False
                    in_removal.set()
                    await second_ack.wait()  # the second ack is staged meanwhile
                    raise Unexpected("the remover's transaction broke")
                async with original() as tx:
                    yield tx

            def ack(*args):
                on_ack(*args)
                if in_removal.is_set():
                    second_ack.set()

            store.transaction = transaction
            engine._acked = ack
            with caplog.at_level(logging.ERROR, logger="mano.sync"):
                await team.persons.create(name="P-1")
                await in_removal.wait()
                await team.persons.create(name="P-2")
                await settle(sync, 30)
            assert sync.state.pending == 0
            assert await store.outbox_size() == 0
            failures = [r for r in caplog.records if r.exc_info
                        and isinstance(r.exc_info[1], Unexpected)]
            assert failures, "the remover's error was not reported"
        assert await h.head(pair.team_id) >= 2
    gc.collect()
    assert not [c for c in lost if isinstance(c.get("exception"), Unexpected)], lost
