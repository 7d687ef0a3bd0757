"""Live fan-out never skips a subscriber silently, whatever happens while it authenticates.

A team's live state is unloaded when its last session leaves. A device authenticating at that
moment (its check of the log awaits storage) must end up bound to the team the relay fans out
from: before the fix it was bound to the unloaded copy, stayed connected, and received no live
envelope at all (each later push was acked to its author and delivered to nobody).

Nor whatever happens while a pull from storage (another node's commits) ends: a notification
handled in between still gets its rows read and delivered."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path

from mano_core.crypto import DeviceIdentity, Role
from mano_core.ids import new_id
from mano_core.protocol import messages as m
from mano_core.protocol.codes import CLOSE_BASE, ErrorCode
from sync_server.server import Relay
from sync_server.storage import MemoryStorage, SQLiteStorage
from tests.harness.relay import relay_config, relay_url
from tests.relay.kit import TeamKit, live_deliveries

WAIT = 10.0  # seconds: generous on a loaded machine; the positive event ends every wait


class GatedStorage(MemoryStorage):
    """MemoryStorage whose log reads wait for ``gate`` while it is closed (``reading`` is set
    once a read waits): the test holds an authentication inside its storage await."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.gate.set()
        self.reading = asyncio.Event()

    async def load_log(self, team: bytes) -> list[bytes] | None:
        if not self.gate.is_set():
            self.reading.set()
            await self.gate.wait()
        return await super().load_log(team)


async def _until(predicate: object, what: str) -> None:
    async def poll() -> None:
        while not predicate():  # type: ignore[operator]
            await asyncio.sleep(0.01)

    try:
        await asyncio.wait_for(poll(), WAIT)
    except TimeoutError:
        raise AssertionError(f"never happened: {what}") from None


async def test_device_authenticating_while_its_team_unloads_still_gets_live_envelopes(
    tmp_path: Path,
) -> None:
    kit = TeamKit()
    storage = GatedStorage()
    async with Relay(relay_config(tmp_path), storage=storage) as relay:
        url = relay_url(relay)
        admin = await kit.client(url, "admin", create=True)
        # A device added by an admin on another node: in storage, not in this node's copy.
        newcomer = DeviceIdentity.generate()
        entry = kit.log.add_device(kit["admin"].identity, newcomer.public, member=new_id(),
                                   role=Role.NORMAL, health=False)
        await storage.append_log(kit.team_id, len(kit.log), [entry])
        kit.publish(entry)

        storage.gate.clear()
        late = await type(admin).connect(url)
        auth = asyncio.ensure_future(late.authenticate(newcomer, kit.team_id))
        await asyncio.wait_for(storage.reading.wait(), WAIT)  # it re-reads the log
        await admin.close()  # the team's last session: its live state is unloaded
        await _until(lambda: kit.team_id not in relay.teams, "the team unloaded")
        storage.gate.set()
        await asyncio.wait_for(auth, WAIT)

        writer = await kit.client(url, "admin")
        done = await late.subscribe(0, 0)
        assert done.seq == 0
        ack = await writer.push(kit["admin"].seal(b"after the unload"))
        try:
            got = await late.recv(WAIT)
        except TimeoutError:
            raise AssertionError("the live envelope never reached the subscriber") from None
        assert isinstance(got, m.Deliver)
        assert [seq for seq, _ in got.items] == [ack.seq]
        await writer.close()
        await late.close()


async def test_a_live_subscriber_that_would_be_left_a_gap_is_closed_to_catch_up(
    tmp_path: Path,
) -> None:
    """The relay's own bookkeeping broken on purpose (a subscriber's cursor set back, as a
    lost live write would leave it): the next envelope is not sent over the gap; the session
    closes with SLOW_CONSUMER, the documented "reconnect and catch up"."""
    kit = TeamKit("bob")
    async with Relay(relay_config(tmp_path)) as relay:
        url = relay_url(relay)
        admin = await kit.client(url, "admin", create=True)
        bob = await kit.client(url, "bob")
        await bob.subscribe(0, 0)
        await admin.push(kit["admin"].seal(b"one"))
        first = await bob.recv(WAIT)
        assert isinstance(first, m.Deliver) and [s for s, _ in first.items] == [1]
        (session,) = [s for s in relay.teams[kit.team_id].sessions
                      if s.device == kit["bob"].id]
        session.subscriptions[0].cursor = 0  # as if seq 1 had never reached it
        await admin.push(kit["admin"].seal(b"two"))
        await asyncio.wait_for(bob.ws.wait_closed(), WAIT)
        assert bob.ws.close_code == CLOSE_BASE + ErrorCode.SLOW_CONSUMER
        assert bob.closed_error is not None and bob.closed_error.code == ErrorCode.SLOW_CONSUMER
        # Reconnected, it catches up from its own cursor and misses nothing.
        again = await kit.client(url, "bob")
        done = await again.subscribe(0, 1)
        got = await again.recv(WAIT)
        assert isinstance(got, m.Deliver) and [s for s, _ in got.items] == [2]
        assert done.seq == 2
        await admin.close()
        await again.close()


class LateCommitSQLite(SQLiteStorage):
    """SQLiteStorage whose reads see envelopes up to ``visible`` only; ``after_read`` runs once,
    inside the first read that returns something (it models another node's commit that becomes
    visible right after that read, its notification handled in the same turn of the loop)."""

    visible = 0
    after_read: Callable[[], None] | None = None

    async def read_envelopes(self, team: bytes, c: int, after: int,
                             limit: int) -> Sequence[tuple[int, bytes]]:
        rows = [r for r in await super().read_envelopes(team, c, after, limit)
                if r[0] <= self.visible]
        if rows and self.after_read is not None:
            hook, self.after_read = self.after_read, None
            hook()
        return rows


async def test_a_notification_that_comes_as_a_pull_ends_is_not_lost(tmp_path: Path) -> None:
    # Before: the ended pull stayed listed until its done callback ran, a later turn of the
    # loop; a notification handled in between was only noted for that pull, which read no
    # more, so its rows reached this node's subscribers only with the next envelope.
    kit = TeamKit("bob")
    cfg = relay_config(tmp_path)
    storage = LateCommitSQLite(cfg.db_path)
    async with Relay(cfg, storage=storage) as relay:
        admin = await kit.client(relay_url(relay), "admin", create=True)
        bob = await kit.client(relay_url(relay), "bob")
        await bob.subscribe(0, 0)
        # Two commits of another node: both in storage, the second visible after the first read.
        first, second = await kit.commit_elsewhere(storage, 2)
        storage.visible = first
        loop = asyncio.get_running_loop()

        def second_commit() -> None:
            storage.visible = second
            loop.call_soon(relay.fanout.remote, kit.team_id, 0, second)  # its notification

        storage.after_read = second_commit
        relay.fanout.remote(kit.team_id, 0, first)
        seqs = await live_deliveries(bob, second, WAIT)
        assert seqs == [first, second]
        await admin.close()
        await bob.close()


async def test_a_pull_whose_full_batch_was_delivered_meanwhile_reads_on(tmp_path: Path) -> None:
    # Before: a pull that read a full batch of rows, some of which this node's own commits
    # delivered meanwhile (Fanout.committed), counted only the rows left and took the batch for
    # the last one: the rows after it reached this node's subscribers only with the next
    # envelope (a backlog read after the bus reconnected, while this node's pushes went on).
    kit = TeamKit("bob")
    cfg = relay_config(tmp_path, catchup_batch=2)
    storage = LateCommitSQLite(cfg.db_path)
    async with Relay(cfg, storage=storage) as relay:
        admin = await kit.client(relay_url(relay), "admin", create=True)
        bob = await kit.client(relay_url(relay), "bob")
        await bob.subscribe(0, 0)
        seqs = await kit.commit_elsewhere(storage, 4)
        storage.visible = seqs[-1]
        team = relay.teams[kit.team_id]

        def own_commit_delivered() -> None:  # as this node's committer does after its COMMIT
            rows = [(s, b"own %d" % s) for s in seqs[:2]]
            relay.fanout.committed(team, 0, rows)

        storage.after_read = own_commit_delivered
        relay.fanout.remote(kit.team_id, 0, seqs[-1])  # another node's notification
        assert await live_deliveries(bob, seqs[-1], WAIT) == seqs
        await admin.close()
        await bob.close()
