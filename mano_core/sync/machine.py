"""The sans-I/O sync machine of one team: what to send, persist, apply, and when to reconnect.

No asyncio, no sockets, no store here (an import-hygiene test checks it). The driver
(``engine.TeamSync`` and ``client.SyncClient``) feeds inputs and carries out the effects:

    inputs                                   effects (frozen values)
    connecting() / connected()               Send(message)         a frame for the relay
    disconnected(reason)                     Persist(ops, token)   write ``ops`` in ONE store
    received(message)   (Deliver)                                  transaction, then call
    snapshot(c, snap)   (a verified snapshot)                      committed(token) (or
    committed(token) / failed(token)                               failed(token))
    outbox(items)       (sealed envelopes waiting)  Push(item, env)   push one envelope
    push_acked(item, ack) / push_refused(…)  StartTimer(name, s)   call timer(name) after s
    local_commit()                           Close(reason)         end the session; resubscribe
    timer(name) / retry_now() / close()      Alert(kind, detail)   tell the user

**Nothing becomes true before it is committed.** Every change of the cursor, of the chain
states (replay protection), of the pending fragments and of the outbox, and every quarantine
alert, is *staged* under a token; it becomes the machine's state only at ``committed(token)``. A
``failed(token)`` (a full disk, a cancellation, a crash is the same: the process restarts from
the store) drops every staged change and closes the session, so the relay delivers the same
envelopes again from the committed cursor: work is redone, never skipped.

**One bad envelope costs only itself.** Each envelope of a delivery is opened and decoded on
its own; one that fails (bad signature, unreadable plaintext, bad update, too deep, or any
unexpected exception of a decoder) is quarantined: kept with its author, compartment, sequence
and error code, named in an alert, and the cursor moves past it only with the commit of its
quarantine row. The machine keeps no list of them: the store's rows are the one list
(mano_core/quarantine.py; the driver reads them after each commit that adds one).

The connection phases are a transition table (``MOVES``); an illegal move raises
LocalProtocolError.

The machine is three modules, by job: ``machine_core`` (state, staging, commits),
``machine_delivery`` (deliveries and snapshots), this one (connection, outbox, local edits).
"""

from __future__ import annotations

from collections.abc import Sequence

from mano_core.sync.effects import (
    BACKOFF_CAP,
    BACKOFF_FIRST,
    Alert,
    Apply,
    Backoff,
    Close,
    DropFragments,
    Effect,
    Op,
    Persist,
    Push,
    PutFragment,
    PutQuarantine,
    RemoveOutbox,
    SaveChain,
    SaveCursor,
    Send,
    StartTimer,
)
from mano_core.sync.machine_core import (
    FLUSH,
    FLUSH_DELAY,
    MOVES,
    PUSH_WINDOW,
    RECONNECT,
    SNAPSHOT_EVERY,
    Opener,
    Phase,
    Position,
    _Stage,
)
from mano_core.sync.machine_delivery import Delivering


class SyncMachine(Delivering):
    """One team's sync, without I/O. ``me`` is this device's id (its own envelopes are
    already in the document); ``opener`` opens envelopes; ``now`` is the wall clock."""

    # --- connection ----------------------------------------------------------------------------

    def connecting(self) -> list[Effect]:
        self._move("connecting")
        return []

    def connected(self, *, stable: bool = True) -> list[Effect]:
        """Authenticated and subscribed to every compartment."""
        self._move("connected")
        self.backoff.reset()
        return []

    def disconnected(self, reason: str = "", *, reset_backoff: bool = False) -> list[Effect]:
        """The session ended. Pushes in flight are forgotten (re-sent next session; the relay
        deduplicates); a reconnection timer starts."""
        was_closed = self.phase is Phase.CLOSED
        self._move("disconnected")
        self._in_flight.clear()
        pending_removals = {i for stage in self._staged.values() for i in stage.removed}
        self._answered &= pending_removals
        if was_closed:
            return []
        if reset_backoff:
            self.backoff.reset()
        return [StartTimer(RECONNECT, self.backoff.next_delay())]

    def timer(self, name: str) -> list[Effect]:
        """A timer the machine started has fired: the reconnect timer (OFFLINE only: the
        driver connects next) or the flush timer (the driver seals local edits now)."""
        if name == FLUSH:
            self._flush_scheduled = False
            self._last_flush = self._now()
            return []
        self._move("timer")
        return []

    def retry_now(self) -> list[Effect]:
        """The embedding client learned that the network is back: reconnect at once, and
        start the backoff again from its first step."""
        self._move("retry_now")
        self.backoff.reset()
        return [StartTimer(RECONNECT, 0.0)] if self.phase is Phase.OFFLINE else []

    def close(self) -> list[Effect]:
        self._move("close")
        return [Close("closed by its owner")]

    # --- the outbox ----------------------------------------------------------------------------

    def outbox(self, items: Sequence[tuple[int, bytes]]) -> list[Effect]:
        """Sealed envelopes waiting in the store, oldest first: push those not pushed yet in
        this session and not answered, at most PUSH_WINDOW in flight. Each item leaves the
        window exactly once: an acknowledged item is not pushed again while its removal from
        the store is being committed."""
        effects: list[Effect] = []
        if self.phase is not Phase.ONLINE:
            return effects
        for item, envelope in items:
            if len(self._in_flight) >= PUSH_WINDOW:
                break
            if item in self._in_flight or item in self._answered:
                continue
            self._in_flight.add(item)
            effects.append(Push(item, envelope))
        return effects

    def holds(self, item: int) -> bool:
        """Whether outbox ``item`` is in flight or answered in this session (not to push)."""
        return item in self._in_flight or item in self._answered

    def push_acked(self, item: int) -> list[Effect]:
        """The relay stored the envelope: remove its outbox row."""
        return self._answer(item)

    def push_refused(self, item: int, *, retry: bool, detail: str = "") -> list[Effect]:
        """The relay refused the push. ``retry``: the connection is gone or the refusal is
        temporary (pushed again next session); otherwise the envelope can never be accepted
        and its row is removed (with an alert), so the sender never loops on it."""
        if retry:
            self._in_flight.discard(item)
            return []
        return [Alert("refused", f"the relay refused an envelope: {detail}"), *self._answer(item)]

    def _answer(self, item: int) -> list[Effect]:
        if item in self._answered:
            return []  # its removal is on its way already
        self._in_flight.discard(item)
        self._answered.add(item)
        return [self._stage(_Stage(removed=(item,)), [RemoveOutbox((item,))])]

    def removal_items(self, token: int) -> tuple[int, ...]:
        """The outbox items a pending RemoveOutbox persist removes."""
        stage = self._staged.get(token)
        return stage.removed if stage is not None else ()

    def removal_failed(self, token: int) -> None:
        """A RemoveOutbox persist failed (a full disk): the rows stay in the store and may be
        pushed again (the relay answers a duplicate with the same seq, and the removal is
        tried again)."""
        stage = self._staged.pop(token, None)
        if stage is not None:
            self._answered.difference_update(stage.removed)

    def local_commit(self) -> list[Effect]:
        """A local edit was committed: seal it soon; one flush timer at a time. An edit made
        ``flush_delay`` or more after the last flush is sealed at once (a teammate waits for
        it); one made sooner waits until ``flush_delay`` after it, with every edit made
        meanwhile (a burst shares one envelope)."""
        if self._flush_scheduled or self.phase is Phase.CLOSED:
            return []
        self._flush_scheduled = True
        wait = self._last_flush + self.flush_delay - self._now()
        return [StartTimer(FLUSH, min(self.flush_delay, max(0.0, wait)))]

    def seals_at_once(self, *, background: bool = False) -> bool:
        """A local edit is about to be committed: would it be sealed at once (no flush
        scheduled, the last one ``flush_delay`` or more ago)? Then the driver may seal it in
        the edit's own transaction (``sealed_at_commit`` once that committed) instead of
        calling ``local_commit`` after it. ``background``: an edit the device makes on its
        own (no burst of the user's follows it): at once whenever no flush is scheduled."""
        return (not self._flush_scheduled and self.phase is not Phase.CLOSED
                and (background or self._now() >= self._last_flush + self.flush_delay))

    def sealed_at_commit(self, *, background: bool = False) -> None:
        """A local edit was sealed in its own transaction, committed: an edit made within
        ``flush_delay`` of it waits for the flush timer, with the others of its burst. Not
        after a ``background`` edit: the user's next edit is as isolated as it was (issue
        24: a snapshot-readers statement sealed just before it held it ~30 ms)."""
        if not background:
            self._last_flush = self._now()


__all__ = [
    "BACKOFF_CAP", "BACKOFF_FIRST", "FLUSH", "FLUSH_DELAY", "MOVES", "PUSH_WINDOW", "RECONNECT",
    "SNAPSHOT_EVERY", "Alert", "Apply", "Backoff", "Close", "DropFragments", "Effect", "Op",
    "Opener", "Persist", "Phase", "Position", "Push", "PutFragment", "PutQuarantine",
    "RemoveOutbox", "SaveChain", "SaveCursor", "Send", "StartTimer", "SyncMachine",
]
