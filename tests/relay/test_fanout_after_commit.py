"""The relay fans a push out before it acks it (issue 24: the teammates wait for it, the author
holds it already), and both only after the envelope is committed: a teammate never receives an
envelope the relay has not stored, nor one whose commit failed (fault injection: a real SQLite
backend whose append waits for the test, or refuses)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

from mano_core.errors import RelayRefusedError, RelayStorageError
from mano_core.protocol import messages as m
from mano_core.protocol.codes import ErrorCode
from mano_core.sync.transport import RelayClient
from sync_server.server import Relay
from sync_server.storage import SQLiteStorage
from sync_server.storage.base import Appended, NewEnvelope
from tests.harness.relay import relay_config, relay_url
from tests.relay.kit import TeamKit

WAIT = 30.0  # seconds: generous on a loaded machine; the positive event ends every wait
pytestmark = pytest.mark.timeout(120)


class GatedAppend(SQLiteStorage):
    """Appends wait for ``gate`` (``appending`` is set once one waits); ``refuse`` makes the
    next one fail as a storage error, after the gate."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        self.gate = asyncio.Event()
        self.gate.set()
        self.appending = asyncio.Event()
        self.refuse = False

    async def append_envelopes(self, items: Sequence[NewEnvelope], now: float) -> list[Appended]:
        if not self.gate.is_set():
            self.appending.set()
            await self.gate.wait()
        if self.refuse:
            raise RelayStorageError("injected: the commit fails")
        return await super().append_envelopes(items, now)


async def _nothing_delivered_yet(bob: RelayClient) -> None:
    """A round trip on bob's connection: what the relay wrote to it before the answer has
    been read by then, so an empty inbox means no deliver was sent."""
    assert await bob.head(0) >= 0
    assert bob.inbox.empty(), "a deliver reached the teammate before its commit"


async def test_a_teammate_gets_the_envelope_only_once_it_is_committed(tmp_path: Path) -> None:
    kit = TeamKit("bob")
    cfg = relay_config(tmp_path)
    storage = GatedAppend(cfg.db_path)
    async with Relay(cfg, storage=storage) as relay:
        url = relay_url(relay)
        admin = await kit.client(url, "admin", create=True)
        bob = await kit.client(url, "bob")
        await admin.subscribe(0, 0)
        await bob.subscribe(0, 0)

        storage.gate.clear()
        pushed = admin.push_nowait(kit["admin"].seal(b"held in the commit"))
        await asyncio.wait_for(storage.appending.wait(), WAIT)
        await _nothing_delivered_yet(bob)
        assert not pushed.done()  # nor acked
        storage.gate.set()

        got = await bob.recv(WAIT)
        (ack,) = await asyncio.wait_for(pushed, WAIT)
        assert isinstance(got, m.Deliver) and isinstance(ack, m.Ack)
        assert [seq for seq, _ in got.items] == [ack.seq] == [await bob.head(0)]
        echo = await admin.recv(WAIT)  # the author's own copy comes back too
        assert isinstance(echo, m.Deliver) and [s for s, _ in echo.items] == [ack.seq]
        await admin.close()
        await bob.close()


async def test_a_failed_commit_reaches_no_teammate(tmp_path: Path) -> None:
    kit = TeamKit("bob")
    cfg = relay_config(tmp_path)
    storage = GatedAppend(cfg.db_path)
    async with Relay(cfg, storage=storage) as relay:
        url = relay_url(relay)
        admin = await kit.client(url, "admin", create=True)
        bob = await kit.client(url, "bob")
        await bob.subscribe(0, 0)
        storage.refuse = True
        with pytest.raises(RelayRefusedError) as refused:
            await asyncio.wait_for(admin.push(kit["admin"].seal(b"never stored")), WAIT)
        assert refused.value.code == ErrorCode.INTERNAL
        await _nothing_delivered_yet(bob)
        assert await bob.head(0) == 0
        await bob.close()
        await admin.close()
