"""The outgoing half of TeamSync: seal the local outbox into envelopes (flush), push them
within the machine's window, and drop the acknowledged ones from the sealed outbox."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from typing import Final

from mano_core.errors import ManoError, RelayRefusedError
from mano_core.ids import Compartment
from mano_core.protocol import messages as m
from mano_core.protocol.codes import ErrorCode
from mano_core.sync import payload
from mano_core.sync.machine import PUSH_WINDOW, Alert as AlertEffect, Effect, Persist, Push
from mano_core.sync.snapshot_policy import Snapshots
from mano_core.sync.transport import RelayClient
from mano_core.team import local_outbox, sealed_outbox


log = logging.getLogger("mano.sync")

# Envelopes pushed whose echo this device recognises by their bytes (issue 24), at most.
MAX_PUSHED_REMEMBERED: Final = 4 * PUSH_WINDOW


class Sending(Snapshots):
    """Flush, push and acknowledgements of this device's envelopes."""

    async def flush(self) -> int:
        """Seal every local update waiting into envelopes (batched); returns how many."""
        made = 0
        async with self.flush_lock:
            for c in self.compartments:
                items = await self.store.outbox_pending(local_outbox(self.team.id, c))
                if not items:
                    continue
                plaintexts = list(payload.encode_batches([i.payload for i in items]))
                for index, plaintext in enumerate(plaintexts):
                    last = index == len(plaintexts) - 1
                    try:
                        sealed = await self.keys.seal(plaintext, compartment=c,
                                                      doc=sealed_outbox(self.team.id, c),
                                                      consume=[i.id for i in items] if last
                                                      else ())
                    except BaseException:
                        self._sealed_seen[c] = None  # it may have committed: read the store
                        raise
                    self._hand_over(c, sealed.outbox_id, sealed.envelope)
                    made += 1
        if made and self._wake_sender is not None:
            self._wake_sender.set()  # committed: the sender pushes them before we recount
            await asyncio.sleep(0)  # its turn first: the recount's reads wait for the push
        await self.refresh_counts()  # also clears the optimistic count of schedule_flush
        return made

    async def push_pending(self, client: RelayClient, wake: asyncio.Event) -> None:
        """Push sealed envelopes the machine lets out (at most PUSH_WINDOW in flight; an
        acknowledged one never again); each answer goes back to the machine. Raises what
        ended the outbox remover unexpectedly (the session ends with it)."""
        if self._removal_error is not None:
            error, self._removal_error = self._removal_error, None
            raise error
        for c in self.compartments:
            room = PUSH_WINDOW - self.sm.in_flight
            if room <= 0:
                return
            self._wake_sender = wake
            items = self._handed_over(c, client)
            complete = True
            if items is None:
                limit = PUSH_WINDOW + self.sm.held
                rows = await self.store.outbox_pending(sealed_outbox(self.team.id, c),
                                                       limit=limit)
                items = [(i.id, i.payload) for i in rows]
                complete = len(rows) < limit
            for effect in self.sm.outbox(items):
                if isinstance(effect, Push):
                    self._remember_pushed(c, effect.item, effect.envelope)
                    fut = client.push_nowait(effect.envelope)
                    fut.add_done_callback(functools.partial(
                        self._ack_callback, item_id=effect.item, wake=wake))
            self._sent_through(c, client, items, complete)
        if not self.sm.in_flight:  # every push answered: a snapshot postponed for them?
            for c in self.compartments:
                await self.snapshot_if_due(client, c)

    def _remember_pushed(self, c: Compartment, item: int, envelope: bytes) -> None:
        """``envelope`` (committed in the sealed outbox as ``item``) is pushed: its echo is
        recognised by its bytes until it comes back (bounded: the oldest are forgotten, and
        then verified as any envelope when they come back)."""
        self._forget_pushed(item)
        self._pushed.setdefault(c, {})[envelope] = item
        self._pushed_items[item] = (c, envelope)
        while len(self._pushed_items) > MAX_PUSHED_REMEMBERED:
            self._forget_pushed(next(iter(self._pushed_items)))

    def _hand_over(self, c: Compartment, item: int, envelope: bytes) -> None:
        """A sealed envelope just committed: the sender pushes it without reading the store
        (while it knows the store holds nothing else unpushed; bounded while offline)."""
        handed = self._handed.setdefault(c, [])
        handed.append((item, envelope))
        if len(handed) > PUSH_WINDOW:  # offline for a while: the store says it all
            handed.clear()
            self._sealed_seen[c] = None

    def _handed_over(self, c: Compartment,
                     client: RelayClient) -> list[tuple[int, bytes]] | None:
        """The envelopes to offer the machine without reading the store, or None to read."""
        seen = self._sealed_seen.get(c)
        if seen is None or client is not self._sealed_client:
            return None
        return [(i, e) for i, e in self._handed.get(c, []) if i > seen]

    def _sent_through(self, c: Compartment, client: RelayClient,
                      items: list[tuple[int, bytes]], complete: bool) -> None:
        """After offering ``items`` to the machine: if every one is now pushed or answered and
        nothing was left unread, the store holds nothing unpushed up to the newest of them."""
        if complete and all(self.sm.holds(i) for i, _e in items):
            seen = max([i for i, _e in items], default=self._sealed_seen.get(c) or 0)
            self._sealed_seen[c] = seen
            self._sealed_client = client
            self._handed[c] = [(i, e) for i, e in self._handed.get(c, []) if i > seen]
        else:
            self._sealed_seen[c] = None
    def _ack_callback(self, fut: asyncio.Future[list[m.Message]], *, item_id: int,
                      wake: asyncio.Event) -> None:
        self._acked(fut, item_id, wake)

    def _acked(self, fut: asyncio.Future[list[m.Message]], item_id: int,
               wake: asyncio.Event) -> None:
        effects: list[Effect] = []
        if fut.cancelled() or fut.exception() is not None:
            self._forget_pushed(item_id)  # not stored (yet): no echo of it to expect
        if fut.cancelled():
            self._read_sealed_again()
            effects = self.sm.push_refused(item_id, retry=True)
        else:
            exc = fut.exception()
            if isinstance(exc, RelayRefusedError):
                never = exc.code in (ErrorCode.BAD_ENVELOPE, ErrorCode.FORBIDDEN)
                if exc.fatal or exc.code == 0 or not never:
                    if not (exc.fatal or exc.code == 0):
                        self._alert("refused", f"the relay refused an envelope: {exc}")
                    self._read_sealed_again()
                    effects = self.sm.push_refused(item_id, retry=True)
                else:
                    effects = self.sm.push_refused(item_id, retry=False, detail=str(exc))
            elif exc is not None:
                self._read_sealed_again()
                effects = self.sm.push_refused(item_id, retry=True)
            else:
                (ack,) = fut.result()
                assert isinstance(ack, m.Ack)
                c = Compartment(ack.c)
                self.state.last_acked[c] = max(self.state.last_acked.get(c, 0), ack.seq)
                self.state.last_sync = time.time()
                pushed = self._pushed_items.get(item_id)
                if pushed is None or not self.echoes.acked(*pushed):
                    effects = self.sm.push_acked(item_id)
                # else its echo is held (echo_hold.py): the row goes with the echo's commit
        self._after_answer(effects, wake)

    def acks_dropped(self, c: Compartment, envelopes: set[bytes]) -> None:
        """Held echoes of ``c`` dropped while the session goes on (echo_hold.py): the acks
        they had left to them remove the rows after all."""
        effects: list[Effect] = []
        for envelope in envelopes:
            item = self._pushed.get(c, {}).get(envelope)
            if item is not None:
                effects += self.sm.push_acked(item)
        if effects:
            self._after_answer(effects, self._wake_sender or asyncio.Event())

    def _after_answer(self, effects: list[Effect], wake: asyncio.Event) -> None:
        wake.set()
        for effect in effects:
            if isinstance(effect, AlertEffect):
                self._alert(effect.kind, effect.detail)
            elif isinstance(effect, Persist):
                self._to_remove.append(effect.token)
        if self._to_remove and (self._remover is None or self._remover.done()):
            self._remover = asyncio.ensure_future(self._remove_acked())
            self._remover.add_done_callback(self._removal_over)

    def _removal_over(self, remover: asyncio.Future[None]) -> None:
        """The remover ended. What ended it by an exception (a ManoError of its transaction
        does not: it is recorded there, the rows pushed again) is never dropped with the
        task: the session's sender raises it (push_pending)."""
        error = None if remover.cancelled() else remover.exception()
        if error is not None:
            self._removal_error = error
            if self._wake_sender is not None:
                self._wake_sender.set()

    async def stop(self) -> None:
        """Finish removing acknowledged envelopes (the store is about to close)."""
        if self._remover is not None and not self._remover.done():
            await asyncio.gather(self._remover, return_exceptions=True)
        if self._removal_error is not None:  # no session left to end with it
            error, self._removal_error = self._removal_error, None
            log.error("removing acknowledged envelopes failed", exc_info=error)

    async def _remove_acked(self) -> None:
        """Drop acknowledged envelopes from the outbox, many per transaction (the machine
        keeps them out of the push window meanwhile)."""
        await asyncio.sleep(0.02)  # many acks per transaction
        # The loop's test is the last thing before returning, after every await: an ack that
        # arrives while this task awaits (it is not done, so _acked starts no other) is taken
        # by the next round, never left staged for ever (its row would stay, unpushed).
        try:
            while self._to_remove:
                tokens, self._to_remove = self._to_remove, []
                items = [i for t in tokens for i in self.sm.removal_items(t)]
                try:
                    async with self.store.transaction() as tx:
                        await tx.outbox_remove(items)
                except ManoError as exc:
                    self._hand_back(tokens)
                    self.state.last_error = str(exc)
                    # pushed again: the relay's duplicate ack makes a new removal
                except BaseException:
                    self._hand_back(tokens)
                    raise
                else:
                    for t in tokens:
                        self.sm.committed(t)
                if self._wake_sender is not None:
                    self._wake_sender.set()  # room for the next ones, or pushed again
                await self.refresh_counts()
        except BaseException:
            # Whatever ended this task (an error here or in the recount): the acks staged
            # while it awaited are handed back too, not left staged for ever (their rows
            # would stay, never pushed again: lost acks); the sender pushes them again.
            tokens, self._to_remove = self._to_remove, []
            self._hand_back(tokens)
            if self._wake_sender is not None:
                self._wake_sender.set()
            raise

    def _hand_back(self, tokens: list[int]) -> None:
        """Removals that did not commit: their rows stay, to be pushed again (the relay
        answers a duplicate with the same seq, and the removal is tried again)."""
        self._read_sealed_again()
        for t in tokens:
            self.sm.removal_failed(t)
