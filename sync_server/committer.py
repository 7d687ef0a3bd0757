"""Group commit: envelopes that arrive together are stored in one transaction, then fanned out
in sequence order and acked (both never before the commit)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mano_core.errors import LocalProtocolError
from mano_core.ids import Compartment
from mano_core.protocol import messages as m
from mano_core.protocol.codes import ErrorCode
from sync_server.storage.base import NewEnvelope

if TYPE_CHECKING:
    from sync_server.context import RelayContext
    from sync_server.fanout import Fanout
    from sync_server.registry import TeamRegistry
    from sync_server.session import Session

log = logging.getLogger("mano.relay.commit")


@dataclass(frozen=True, slots=True)
class PendingPush:
    """A validated push waiting for its commit."""

    session: Session
    request_id: int
    envelope: NewEnvelope
    received: float  # perf_counter() at receipt, for the ack-latency histogram


class Committer:
    """One task draining a queue of pushes: while a transaction runs, the next batch grows."""

    def __init__(self, ctx: RelayContext, registry: TeamRegistry, fanout: Fanout) -> None:
        self.ctx = ctx
        self.registry = registry
        self.fanout = fanout
        self._queue: asyncio.Queue[PendingPush] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        # Pushes are committed in submission order: ``passed(mark)`` waits for those before.
        self.submitted = 0
        self._completed = 0
        self._marks: list[tuple[int, asyncio.Future[None]]] = []

    def start(self) -> None:
        """Start the commit task (once)."""
        if self._task is not None:
            raise LocalProtocolError("committer already started")
        self._task = asyncio.create_task(self._run(), name="mano-relay-committer")

    def submit(self, push: PendingPush) -> None:
        """Queue a validated push; its ack is sent after its transaction commits."""
        self._idle.clear()
        self.submitted += 1
        team = push.session.team
        if team is not None:
            team.pending_commits += 1
        self._queue.put_nowait(push)

    async def passed(self, mark: int) -> None:
        """Wait until the first ``mark`` pushes submitted are committed (or refused) and
        fanned out: a membership change is broadcast only after the envelopes the relay
        accepted before it, so that every device sees them in that order."""
        if self._completed >= mark:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._marks.append((mark, fut))
        await fut

    async def drain(self) -> None:
        """Wait until every submitted push is committed and acked."""
        await self._idle.wait()

    async def stop(self) -> None:
        """Commit what is queued, then stop the task."""
        await self.drain()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def _run(self) -> None:
        limit = self.ctx.config.commit_batch
        while True:
            batch = [await self._queue.get()]
            while len(batch) < limit and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            await self._commit(batch)
            if self._queue.empty():
                self._idle.set()

    async def _commit(self, batch: list[PendingPush]) -> None:
        ctx = self.ctx
        metrics = ctx.metrics
        batch = self._still_allowed(batch)
        if not batch:
            return
        t0 = time.perf_counter()
        try:
            results = await ctx.storage.append_envelopes([p.envelope for p in batch], time.time())
        except Exception as exc:
            if len(batch) > 1:
                # One bad row must not fail the others: commit each push on its own, so that
                # only the one(s) that fail again are refused.
                log.warning("group commit failed; committing one by one",
                            extra={"batch": len(batch), "error": repr(exc)})
                for p in batch:
                    await self._commit([p])
                return
            log.exception("commit failed", extra={"team": batch[0].envelope.team})
            for p in batch:
                self._done(p)
                p.session.refuse(p.request_id, ErrorCode.INTERNAL, "storage failure; retry")
            return
        t1 = time.perf_counter()
        metrics.commits += 1
        metrics.commit_latency.observe(t1 - t0)
        # Fan out first, then ack and count: the teammates' devices are waiting for these
        # envelopes; the pushing devices hold them already and their acks only free outbox rows
        # (docs/protocol.md §4: a session's own envelope may come back before its ack). Both
        # come after the commit above; nothing awaits between them.
        fresh: dict[tuple[bytes, int], list[tuple[int, bytes]]] = defaultdict(list)
        authors: dict[tuple[bytes, int], set[bytes]] = defaultdict(set)
        for p, r in zip(batch, results, strict=True):
            if not r.duplicate:
                env = p.envelope
                fresh[(env.team, env.compartment)].append((r.seq, env.data))
                authors[(env.team, env.compartment)].add(env.author)
        try:
            for (team_id, c), items in fresh.items():
                team = self.registry.get(team_id)
                if team is not None:
                    metrics.envelopes_out += self.fanout.committed(
                        team, c, items, authors=authors[(team_id, c)])
        finally:  # committed: acked and counted whatever the fan-out did
            for p, r in zip(batch, results, strict=True):
                self._done(p)
                env = p.envelope
                if r.duplicate:
                    metrics.envelopes_dup += 1
                else:
                    metrics.envelopes_in += 1
                    team = self.registry.get(env.team)
                    if team is not None:
                        team.usage += len(env.data)
                p.session.send(m.Ack(id=p.request_id, c=env.compartment, seq=r.seq,
                                     dup=r.duplicate))
                metrics.ack_latency.observe(time.perf_counter() - p.received)

    def _still_allowed(self, batch: list[PendingPush]) -> list[PendingPush]:
        """Drop (FORBIDDEN) pushes whose author lost the right to write meanwhile: a log entry
        taking access away may have been stored between the push's check and its commit."""
        kept: list[PendingPush] = []
        for p in batch:
            team, env = p.session.team, p.envelope
            if team is not None and not team.log.has_access(env.author,
                                                            Compartment(env.compartment)):
                self._done(p)
                p.session.refuse(p.request_id, ErrorCode.FORBIDDEN, "not allowed to write there")
            else:
                kept.append(p)
        return kept

    def _done(self, p: PendingPush) -> None:
        team = p.session.team
        if team is not None:
            team.pending_commits -= 1
        self._completed += 1
        if self._marks and self._marks[0][0] <= self._completed:
            ready = [f for mark, f in self._marks if mark <= self._completed]
            self._marks = [(mark, f) for mark, f in self._marks if mark > self._completed]
            for f in ready:
                if not f.done():
                    f.set_result(None)
