"""Each outbox row leaves the push window exactly once: 1,500 quick edits, and the device
pushes exactly as many envelopes as the relay stores (issue 16, case 5: an acknowledged
envelope was pushed again about 30 times while its removal from the outbox was pending)."""

from __future__ import annotations

import pytest

from mano_core.sync import client as client_module
from mano_core.sync.transport import RelayClient

from .harness import Harness, settle

pytestmark = pytest.mark.timeout(300)
EDITS = 1500


async def test_quick_edits_are_pushed_once_each(tmp_path, monkeypatch):
    pushes: list[bytes] = []
    original = RelayClient.push_nowait

    def counting(self, envelope: bytes):
        pushes.append(envelope)
        return original(self, envelope)

    monkeypatch.setattr(RelayClient, "push_nowait", counting)
    sessions: list[object] = []
    authenticate = RelayClient.authenticate

    async def counting_sessions(self, *args, **kw):
        sessions.append(self)
        return await authenticate(self, *args, **kw)

    monkeypatch.setattr(RelayClient, "authenticate", counting_sessions)
    async with Harness(tmp_path) as h:
        pair = await h.device_pair(tmp_path / "devices")
        a, team = await pair.open("a")
        before = await h.head(pair.team_id)
        async with await a.sync(team, h.url, flush_delay=client_module.FLUSH_DELAY) as sync:
            await settle(sync)
            pushes.clear()
            sessions.clear()
            for i in range(EDITS):
                await team.persons.create(name=f"P-{i}")
            await settle(sync, 120)
            assert sessions == []  # one session throughout: no legitimate re-send
        stored = await h.head(pair.team_id) - before
        assert len(team.persons.list()) == EDITS
        assert stored > 1
        assert len(pushes) == stored, f"{len(pushes)} pushes for {stored} envelopes"
        assert len(set(pushes)) == len(pushes)
        assert h.relay.metrics.envelopes_dup == 0
