"""Carrying out the sync machine's effects (machine.py): each Persist in one store transaction
(a delivery's updates with the role table screened, its quarantine rows, cursor and chain
states), then ``committed`` — the machine's state moves only after the commit."""

from __future__ import annotations

import time
from collections.abc import Sequence

import msgspec

from mano_core.crypto import ChainState
from mano_core.errors import MalformedUpdateError, ManoError, SyncError
from mano_core.ids import Compartment
from mano_core.loop_turns import let_loop_run
from mano_core.quarantine import QuarantinedEnvelope
from mano_core.store import StoreTransaction
from mano_core.sync.driver import TeamSyncBase, _Cursor, _cursor_key
from mano_core.sync.machine import (
    Alert as AlertEffect,
    Apply,
    Close,
    DropFragments,
    Effect,
    Op,
    Persist,
    PutFragment,
    PutQuarantine,
    RemoveOutbox,
    SaveChain,
    SaveCursor,
    Send,
)
from mano_core.sync.transport import RelayClient


class SessionClosed(SyncError):
    """The machine ended the session (a gap in a delivery, a transaction that did not
    commit): the next session resubscribes from the committed cursor."""


class Persisting(TeamSyncBase):
    """Runs the machine's effects; Persist ops in one transaction each."""

    async def run(self, effects: list[Effect], client: RelayClient | None = None) -> None:
        """Carry out the machine's effects in order. Persist: one transaction, then
        committed(token); any failure or cancellation before the commit: failed(token), and
        the error propagates (the session ends). Close raises SessionClosed."""
        queue = list(effects)
        while queue:
            effect = queue.pop(0)
            if isinstance(effect, Persist):
                queue[:0] = await self._persist(effect)
            elif isinstance(effect, AlertEffect):
                self._alert(effect.kind, effect.detail)
            elif isinstance(effect, Close):
                raise SessionClosed(effect.reason)
            elif isinstance(effect, Send) and client is not None:
                client._send(effect.message)

    async def loop_turn(self) -> None:
        """The event loop's turn between two stretches of a delivery (issue 24): after its
        batch authentication, every ``limits.DELIVERY_SLICE_SECONDS`` of its opening
        (decryption, payload decoding, dependency reads: ``SyncMachine.receiving``), before
        the role screening, then before the merge (mano_core/team_compartment.py
        ``loop_turn``); 2,000 envelopes were ~60 ms on the loop without a pause. Before the
        commit, with nothing merged, staged or stored: a cancellation or failure here redoes
        the delivery (a seam for the fault tests)."""
        await let_loop_run()  # twice: the loop's timers and I/O run before the next stretch

    async def _persist(self, effect: Persist) -> list[Effect]:
        applies = [op for op in effect.ops if isinstance(op, Apply)]
        others = [op for op in effect.ops if not isinstance(op, Apply)]
        quarantined: list[QuarantinedEnvelope] = []  # rows this transaction writes
        try:
            if applies:
                c = applies[0].c
                await self.team.guarded.ready(c)  # built off the loop (mano_core.guarded_build)
                if not applies[0].snapshot:  # the opening just ran; the screening follows
                    await self.loop_turn()
                groups, screened = self._screen(c, applies)

                async def also(tx: StoreTransaction, refused: dict[int, str]) -> None:
                    if any(applies[i].snapshot for i in refused):  # nothing is committed
                        raise MalformedUpdateError(f"snapshot state refused: {refused}")
                    keep = not self.team.erasures.orders()
                    for _op, update, reason in screened:
                        await self.team.quarantine.put(tx, c, update, f"refused: {reason}",
                                                       keep_content=keep)
                    for index, error in refused.items():
                        bad = applies[index]
                        row = QuarantinedEnvelope(
                            compartment=int(c), seq=bad.seq, author=bad.author,
                            counter=bad.counter, code="MalformedUpdateError", detail=error,
                            at=time.time(), envelope=bad.envelope)
                        await self.team.quarantine.put_envelope(tx, row, keep_content=keep)
                        quarantined.append(row)
                    await self._write(tx, others, quarantined)

                refused_at = await self.team.apply_remote_groups(
                    c, groups, also, snapshot=len(applies) == 1 and applies[0].snapshot)
                refused = {applies[i].seq: e for i, e in refused_at.items()}
                for screened_op, _update, reason in screened:
                    self._alert("refused", f"envelope {screened_op.seq} of compartment "
                                           f"{c.name}, author {screened_op.author.hex()[:12]}…: "
                                           f"{reason}")
            else:
                async with self.store.transaction() as tx:
                    await self._write(tx, others, quarantined)
                refused = {}
        except BaseException as exc:
            self._tail_staged.clear()
            if any(isinstance(op, RemoveOutbox) for op in effect.ops):
                self._read_sealed_again()
            if not any(isinstance(op, SaveCursor) for op in effect.ops) and any(
                    isinstance(op, RemoveOutbox) for op in effect.ops):
                self.sm.removal_failed(effect.token)
            else:  # a delivery (its echoed rows, if any, are pushed again)
                self.sm.failed(effect.token, type(exc).__name__)
            raise
        self._tail.update(self._tail_staged)
        self._tail_staged.clear()
        for op in others:
            if isinstance(op, SaveChain):
                self.keys.adopt_chain(op.c, ChainState.from_bytes(op.chain))
        after = self.sm.committed(effect.token, refused)
        self.quarantine_committed(quarantined)  # listed before anyone is woken
        self.state.last_sync = time.time()
        self._publish()
        return after

    def _screen(self, c: Compartment, applies: Sequence[Apply]) -> tuple[
            list[list[bytes]], list[tuple[Apply, bytes, str]]]:
        """The role table on what this device applies (mano_core.rules.remote): each update
        a teammate may not make is replaced by a neutral one and quarantined."""
        groups: list[list[bytes]] = []
        refusals: list[tuple[Apply, bytes, str]] = []
        screen = self.team.remote_screen(c)  # (its lookups once a delivery: issue 24)
        for op in applies:
            if op.snapshot or screen is None:
                groups.append(list(op.updates))
                continue
            out: list[bytes] = []
            for update in op.updates:
                try:
                    kept, refusal = screen.screen(update, op.author)
                except ManoError:
                    kept, refusal = update, None  # the document refuses it: quarantined
                if refusal is not None:
                    refusals.append((op, update, str(refusal)))
                out.append(kept)
            groups.append(out)
        return groups, refusals

    def _next_tail(self, op: SaveCursor) -> tuple[int, int]:
        """(tail bytes, state bytes) this cursor row commits, staged until it committed: a new
        snapshot (made or applied) starts the tail again; a delivery adds its bytes."""
        tail, state = self._tail_staged.get(op.c) or self._tail.get(op.c, (0, 0))
        if op.snapshot > self.sm.position(op.c).snapshot:
            # A snapshot made here counts from the tail it was taken at (the deliveries
            # committed while it was uploaded are after its ``upto``); one applied, from 0.
            since = tail - self._snapshot_tail if self._snapshot_tail is not None else 0
            tail, state = max(0, since), self._snapshot_state or state
        else:
            tail += self._delivered
        self._tail_staged[op.c] = (tail, state)
        return tail, state

    def snapshot_policy(self, c: Compartment) -> tuple[int, int]:
        """(bytes delivered since the newest snapshot, bytes of its state; 0 if unknown),
        as committed."""
        return self._tail.get(c, (0, 0))

    async def _write(self, tx: StoreTransaction, ops: Sequence[Op],
                     quarantined: list[QuarantinedEnvelope]) -> None:
        """Write ``ops`` in ``tx``; the quarantine rows written are appended to
        ``quarantined`` (listed in ``state.quarantine`` once ``tx`` commits)."""
        chains: dict[Compartment, ChainState] = {}
        removed: list[int] = []
        for op in ops:
            if isinstance(op, SaveCursor):
                tail, state = self._next_tail(op)
                await tx.put(self._ns, _cursor_key(op.c),
                             msgspec.msgpack.encode(_Cursor(op.seq, op.snapshot, tail, state)))
            elif isinstance(op, SaveChain):
                chains[op.c] = ChainState.from_bytes(op.chain)
            elif isinstance(op, PutFragment):
                f = op.fragment
                await tx.put(self._ns, f"frag/{f.g.hex()}/{f.i}", msgspec.msgpack.encode(f))
            elif isinstance(op, DropFragments):
                for i in op.indexes:
                    await tx.delete(self._ns, f"frag/{op.group.hex()}/{i}")
            elif isinstance(op, PutQuarantine):
                q = op.entry
                # no content kept once a team has erasure orders (mano_core/quarantine.py)
                row = QuarantinedEnvelope(
                    compartment=int(q.compartment), seq=q.seq, author=q.author,
                    counter=q.counter, code=q.code, detail=q.detail, at=q.at,
                    envelope=op.envelope)
                await self.team.quarantine.put_envelope(
                    tx, row, keep_content=not self.team.erasures.orders())
                quarantined.append(row)
            elif isinstance(op, RemoveOutbox):
                removed.extend(op.items)
        if chains:
            await self.keys.save_chains(tx, chains)
        if removed:
            await tx.outbox_remove(removed)
