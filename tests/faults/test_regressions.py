"""Bugs the fault trials found, each kept as a small deterministic case."""

from __future__ import annotations

import pytest

from mano_core.errors import SyncError
from mano_core.sync.transport import RelayClient
from tests.faults.proxy import FaultProxy
from tests.sync.helpers import eventually

pytestmark = pytest.mark.timeout(180)


async def test_edit_committed_during_a_flush_is_sent(relay, make_device):
    """Seed 0 of the trials: an edit committed while the delayed flush was sealing stayed in
    the local outbox (pending forever) until some later edit, because schedule_flush saw a
    flush task still running and did not start another."""
    a = await make_device("a")
    team = await a.create_team("Maraude")
    async with await a.sync(team, relay.url) as sync:
        await sync.wait_synced()
        original = sync.sync.flush
        late: list[str] = []

        async def flush_then_edit() -> int:
            made = await original()
            if not late:  # an edit lands while this flush task is still running
                late.append((await team.persons.create(name="late")).id)
            return made

        sync.sync.flush = flush_then_edit  # type: ignore[method-assign]
        # Through the flush (an isolated edit is otherwise sealed in its own transaction,
        # tests/sync/test_seal_at_commit.py); the late edit, made while it holds the outbox
        # lock, is not sealed so either way.
        team.seal_at_commit = None
        await team.persons.create(name="first")
        await eventually(lambda: bool(late), 60, "the edit during the flush")
        await eventually(lambda: sync.state.pending == 0, 60, "the late edit sent")


async def test_connection_cut_during_the_handshake_is_a_sync_error(relay):
    """The trials logged "sync session failed" with a traceback on every refused connection:
    RelayClient.connect let websockets' InvalidMessage escape instead of SyncError."""
    async with FaultProxy(relay.port) as proxy:
        proxy.down_for(30)
        with pytest.raises(SyncError):
            await RelayClient.connect(proxy.url)
        assert proxy.counts["refused"] == 1


async def test_wait_synced_returns_after_a_lone_edit(relay, make_device):
    """wait_synced also waits for the flush task, but nothing woke it when that task ended
    after the last state change: tui/demo/build.py hung in wait_synced (the TUI demo test)."""
    a = await make_device("a")
    team = await a.create_team("Maraude")
    async with await a.sync(team, relay.url) as sync:
        await sync.wait_synced()
        await team.persons.create(name="P")
        await sync.flush()  # as tui/demo/build.py does: the delayed flush then finds nothing
        await sync.wait_synced(60)
