"""The flush hands its sealed envelopes straight to the sender (no outbox read between sealing
and pushing, issue 24) only while the sender knows the store holds nothing else to push: an
envelope whose seal committed but was not handed over (the flush cancelled right after the
commit) is still pushed, before the next one, and nothing stays pending."""

from __future__ import annotations

import asyncio

import pytest

from mano_core.keys_at_rest import TeamKeys

from .harness import Harness, settle
from .helpers import eventually

pytestmark = pytest.mark.timeout(120)


async def test_a_sealed_envelope_not_handed_over_is_still_pushed(tmp_path, monkeypatch):
    async with Harness(tmp_path) as h:
        pair = await h.device_pair(tmp_path / "devices")
        a, team = await pair.open("a")
        async with await h.sync(a, team) as sync:
            # Every edit through the flush (not sealed in its own transaction: that path is
            # tests/sync/test_seal_at_commit.py's), whose seal is cut below.
            team.seal_at_commit = None
            await team.persons.create(name="P-0")  # the hand-over in use from here on
            await settle(sync)
            before = await h.head(pair.team_id)
            seal = TeamKeys.seal
            cut = asyncio.Event()

            async def seal_then_cancelled(self, *args, **kwargs):
                sealed = await seal(self, *args, **kwargs)  # committed: in the sealed outbox
                if not cut.is_set():
                    cut.set()
                    raise asyncio.CancelledError  # the flush cancelled just after the commit
                return sealed

            monkeypatch.setattr(TeamKeys, "seal", seal_then_cancelled)
            await team.persons.create(name="P-1")
            await asyncio.wait_for(cut.wait(), 30)
            await team.persons.create(name="P-2")
            await settle(sync, 60)  # nothing pending: P-1's envelope left the store too
            assert await h.head(pair.team_id) == before + 2
        b, team_b = await pair.open("b")
        async with await h.sync(b, team_b) as sync_b:
            await settle(sync_b, 60)
            await eventually(lambda: sorted(p.name for p in team_b.persons.list())
                             == ["P-0", "P-1", "P-2"], 30, "b holds every person")
