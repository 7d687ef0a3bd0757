"""The write path of a team: one compartment's document and its persistence (local edits
committed with their sync-outbox places, teammates' updates merged and stored with what the
sync engine writes alongside, compaction, parked updates); ``commit_together``, for edits that
span both compartments, is mano_core.team_sealing. Split from mano_core/team.py; ``Team``
owns one holder per compartment it holds."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from mano_core import limits
from mano_core.document import pieces
from mano_core.document.team_doc import ChangeEvent, DocumentCore, Origin
from mano_core.document.ydeps import encode_state_vector, read_deps
from mano_core.errors import MalformedUpdateError
from mano_core.loop_turns import let_loop_run
from mano_core.slices import refresh_all
from mano_core.sync import snapshot_adopt
from mano_core.sync.snapshot_receive import ReceivedSnapshot
from mano_core.team_followup import FollowUps, local_calls_for
from mano_core.team_info import doc_name, local_outbox

from mano_core.team_sealing import sealing

if TYPE_CHECKING:
    from mano_core.team import Team

__all__ = ["CompartmentHolder"]


async def _nothing() -> None:
    return None


class _NotWhole(Exception):  # (not an error: the state was not the whole document)
    """A state merged into an empty document is not all of it (refused, or parked)."""

    def __init__(self, refused: dict[int, str]) -> None:
        super().__init__("not the whole document")
        self.refused = refused



class CompartmentHolder:
    """One document of the team and its persistence bookkeeping."""

    def __init__(self, team: Team, core: DocumentCore) -> None:
        self.team = team
        self.core = core
        self.name = doc_name(team.id, core.compartment)
        self.last_seq = 0
        # What a compaction would fold: the update rows stored since the snapshot, their bytes,
        # and the snapshot's own bytes (compaction_due).
        self.since_snapshot = 0
        self.bytes_since_snapshot = 0
        self.snapshot_bytes = 0
        # Held while teammates' updates are merged in memory and stored, and while compacting:
        # a snapshot must not hold updates whose rows are written after it (an erasure's
        # re-snapshot would leave those rows, and what they carry, behind).
        self.merging = asyncio.Lock()
        # Set by the sync engine while a catch-up delivers more after the one being applied:
        # compaction then waits for COMPACT_AFTER_UPDATES_CATCHING_UP (see limits.py).
        self.catching_up = False
        self.compacting = False  # a compaction is under way (its state cut off the loop)
        # Teammates' updates merged into the document whose store transaction failed (a full
        # disk, a cancellation): stored with the next delivery's, or covered by the next
        # compaction's state. (A delivery is stored as what its merge integrated, and the
        # relay's re-delivery of the same envelopes finds them merged: it integrates nothing.)
        self._unstored: list[bytes] = []
        # The document drops its pycrdt subscriptions when the store closes: they are held
        # from Rust, so the collector never frees a document that keeps them (team_doc.release).
        on_close = getattr(team.store, "on_close", None)
        if on_close is not None:
            on_close(core.release)

    @property
    def compaction_due(self) -> bool:
        """Enough is stored since the snapshot to fold it into a new one: as many update rows
        as the bound (an open reads each row on its own), or rows weighing a sizeable
        fraction of the snapshot (limits.COMPACT_AFTER_FRACTION). Re-encoding the whole state
        to fold in a small tail (a snapshot-first catch-up's: one row per delivery) costs the
        state's encoding, for an open that would read a few rows less (issue 24)."""
        if self.catching_up:
            return self.since_snapshot >= limits.COMPACT_AFTER_UPDATES_CATCHING_UP
        return self.since_snapshot >= limits.COMPACT_AFTER_UPDATES or (
            self.bytes_since_snapshot >= max(limits.COMPACT_AFTER_BYTES,
                                             limits.COMPACT_AFTER_FRACTION * self.snapshot_bytes))

    def stored_rows(self, rows: Sequence[bytes]) -> None:
        """Count update rows just committed (compaction_due)."""
        self.since_snapshot += len(rows)
        self.bytes_since_snapshot += sum(len(row) for row in rows)

    def stored_snapshot(self, state_bytes: int, rows: Sequence[bytes] = ()) -> None:
        """A snapshot of ``state_bytes`` was committed, with ``rows`` after it."""
        self.snapshot_bytes = state_bytes
        self.since_snapshot = self.bytes_since_snapshot = 0
        self.stored_rows(rows)

    async def commit(self, *, background: bool = False) -> None:
        """Persist local edits, tell listeners and the sync client; compact when due (in the
        background: ``compact_when_due``). ``background``: an edit this device makes on its
        own, not the user's (a snapshot-readers statement): sealed at once when it can be,
        without holding the user's next edit back for the flush timer (``SealAtCommit``)."""
        updates, sealed = await self._persist_sealing(background=background)
        self.team._dispatch(self.core.take_changes(Origin.LOCAL))
        if updates and not sealed and self.team.on_local_commit is not None:
            self.team.on_local_commit(self.core.compartment)
        self.compact_when_due()

    async def _persist(self) -> list[bytes]:
        """Commit the pending local updates (with their sync-outbox places if the team syncs)."""
        return (await self._persist_sealing(seal=False))[0]

    async def _persist_sealing(self, *, seal: bool = True,
                               background: bool = False) -> tuple[list[bytes], bool]:
        """``_persist``; with ``seal``, an isolated edit of a syncing team is sealed into an
        envelope in its own transaction when the sync client offers it (``Team.seal_at_commit``,
        issue 24: one durable commit fewer between the edit and its push). Returns the updates
        committed and whether they were sealed so (else they wait in the local outbox)."""
        updates = self.core.drain_updates()
        if not updates:
            return updates, False
        sealed = False
        # (marked in the same transaction when they name a merged person: team_followup)
        until_open = local_calls_for(self.team, [self])
        try:
            if self.team.syncing:
                # The update and its place in the sync outbox commit together: an edit
                # reported saved is always sent, even after a crash.
                outbox = local_outbox(self.team.id, self.core.compartment)
                async with sealing(self.team, seal, background=background) as sealer:
                    async with self.team.store.transaction() as tx:
                        seqs = await tx.append_updates(self.name, updates)
                        sealed = sealer is not None and await sealer(tx, self.core.compartment,
                                                                     updates)
                        if not sealed:
                            for update in updates:
                                await tx.outbox_add(outbox, update)
                        if until_open:
                            await self.team.follow_ups.write(tx, until_open=True)
            elif until_open:
                async with self.team.store.transaction() as tx:
                    seqs = await tx.append_updates(self.name, updates)
                    await self.team.follow_ups.write(tx, until_open=True)
            else:
                seqs = await self.team.store.append_updates(self.name, updates)
        except BaseException:
            # Not saved: keep the edits in memory, they are committed with the next write.
            self.core._pending[:0] = updates
            raise
        self.last_seq = seqs[-1]
        self.stored_rows(updates)
        return updates, sealed

    async def apply_remote(self, updates: Iterable[bytes],
                           also: Callable[[Any], Awaitable[None]] | None = None) -> None:
        """Merge teammates' updates and persist them, with whatever ``also`` writes into the
        same store transaction (the sync cursor, chain states), then tell listeners.
        MalformedUpdateError: nothing applied."""
        batch = list(updates)
        for update in batch:
            read_deps(update)  # refuse the batch before applying any
        refused = await self.apply_remote_groups([batch], lambda tx, _refused: also(tx)
                                                 if also is not None else _nothing())
        if refused:
            raise MalformedUpdateError(refused[0])

    async def apply_remote_groups(
            self, groups: Sequence[Sequence[bytes]],
            also: Callable[[Any, dict[int, str]], Awaitable[None]], *,
            snapshot: bool = False) -> dict[int, str]:
        """Merge groups of teammates' updates (one group per envelope) and store them in one
        transaction with what ``also(tx, refused)`` writes. A group the document refuses is
        not stored: ``refused`` maps its index to the error (the caller quarantines it in the
        same transaction); it never costs another group. Listeners are told after the commit.
        A failure or cancellation before the commit stores nothing (merging the same updates
        again later is harmless: they are idempotent). ``snapshot``: the one group is a whole
        state (a downloaded snapshot)."""
        async with self.merging:  # a compaction never snapshots updates not stored yet
            if not snapshot:
                await self.loop_turn()
            empty = self.core.empty and not self.core.waiting_updates
            whole = marked = False
            if snapshot and empty and len(groups) == 1 and len(groups[0]) == 1:
                refused, whole, marked = await self._merge_state_ahead(groups, also)
            else:
                # One pycrdt transaction; teammates' envelopes are stored as what it
                # integrated, one row for the whole delivery (issue 24: a row sealed and
                # written per envelope was a tenth of a catch-up), with the updates it
                # parked after it.
                refused = self.core.apply_remote_groups(groups, capture=not snapshot)
            if not whole:
                marked = await self._store_merged(groups, refused, also, snapshot)
        return await self._merged(refused, marked)  # (marked: what the commit wrote)

    async def adopt_snapshot(self, received: ReceivedSnapshot,
                             also: Callable[[Any], Awaitable[None]]) -> bool:
        """A version-2 snapshot received whole into a document of its own becomes this empty
        compartment's document: stored with ``also``'s rows in one transaction, shown once it
        committed (mano_core/sync/snapshot_adopt.py). False, nothing done, if the document
        is no longer empty."""
        return await snapshot_adopt.adopt(self, received, also)

    def _calls_for_follow_up(self) -> bool:
        """Whether the delivery just merged leaves a follow-up to mark (team_followup)."""
        return FollowUps.calls_for(self.core, self.team.holds_merges())

    async def loop_turn(self) -> None:
        """The event loop's turn between a delivery's opening and its merge (issue 24): the
        opening (authentication, decryption, payload decoding, dependency reads) and the role
        screening ran on the loop just before, the merge and the rows' sealing follow; without
        this pause they were one stretch of the loop (~60 ms for 2,000 envelopes). Nothing is
        merged or stored yet: a cancellation here redoes the whole delivery (a seam for the
        fault tests)."""
        await let_loop_run()  # twice: the loop's timers and I/O run before the next stretch

    async def _store_merged(self, groups: Sequence[Sequence[bytes]], refused: dict[int, str],
                            also: Callable[[Any, dict[int, str]], Awaitable[None]],
                            snapshot: bool) -> bool:
        """Store what a merge integrated (or, for a snapshot's state, the groups not refused)
        as update rows, with ``also``'s, in one transaction. Returns whether it wrote the
        follow-up marker (``FollowUps.write(mark=)``), asked once, inside the transaction."""
        stored: list[bytes] = []
        if snapshot:
            for index, group in enumerate(groups):
                if index not in refused:
                    stored.extend(group)
        else:
            # (with what an earlier delivery merged but did not manage to store: a
            # re-delivery would find it merged and integrate nothing; _unstored)
            stored = self._unstored + self.core.take_integrated()
        try:
            async with self.team.store.transaction() as tx:
                seqs = await tx.append_updates(self.name, stored) if stored else []
                await also(tx, refused)
                marked = self._calls_for_follow_up()
                await self.team.follow_ups.write(tx, mark=marked)
        except BaseException:
            if not snapshot:  # (a cancelled commit may have landed: stored twice, idempotent)
                self._unstored = stored
            raise
        self._unstored = []
        if seqs:
            self.last_seq = seqs[-1]
            self.stored_rows(stored)  # rows, as an open reads them (not updates merged)
        return marked

    async def _merge_state_ahead(
            self, groups: Sequence[Sequence[bytes]],
            also: Callable[[Any, dict[int, str]], Awaitable[None]]
    ) -> tuple[dict[int, str], bool, bool]:
        """A snapshot's state merged into an empty document (a new device's first sync): it is
        the document, so it is stored as its snapshot, which a later open applies as it is,
        instead of an update row read again for its dependencies at every open (issue 24).
        Its chunks are sent to the file before pycrdt applies it (``write_ahead``: one SQLite
        step that runs beside the apply, which holds the GIL ~0.3 s at MANO scale), and
        committed with ``also``'s rows in the same transaction once the apply is done. Not
        whole when the document refuses it or anything waits for dependencies (parked rows
        hold what the state does not): nothing is stored then (rolled back), the caller
        stores what was merged. Returns (refused, whole, whether the follow-up marker was
        written)."""
        try:
            async with self.team.store.transaction() as tx:
                await tx.write_snapshot(self.name, groups[0][0], self.last_seq)
                await tx.write_ahead()
                refused = self.core.apply_remote_groups(groups, capture=False)
                if refused or self.core.waiting_updates:
                    raise _NotWhole(refused)
                await also(tx, refused)
                marked = self._calls_for_follow_up()
                await self.team.follow_ups.write(tx, mark=marked)
        except _NotWhole as not_whole:
            return not_whole.refused, False, False
        self.stored_snapshot(len(groups[0][0]))
        return refused, True, marked

    async def _merged(self, refused: dict[int, str], marked: bool) -> dict[int, str]:
        """After a merge's commit: the listeners, then what the changes call for (``marked``:
        the commit wrote the follow-up marker, mano_core/team_followup.py)."""
        events = self.core.take_changes(Origin.REMOTE)
        try:   # the records it changed read again in slices, not at the listeners' first read
            await refresh_all(self.core.collections[e.collection] for e in events
                              if e.collection in self.core.collections)
        finally:
            self.team._dispatch(events)
            self._report_damage(events)
        if any(e.collection == "customFields" for e in events):
            await self.team.move_health_values()  # a field may have become health-only
        if self.team.erasures.note_changes(events):
            await self.team.erasures.enforce()  # a new order, or data about an erased person
        try:  # edits made on a merged person meanwhile, medical files created at once
            await self.team.merges.follow(events)
        except BaseException:
            self.team.follow_ups.failed()  # (left to the next open: mano_core/team_followup)
            raise
        self.team.follow_ups.followed(marked)
        if any(e.collection in ("documents", "medicalDocuments") for e in events):
            await self.team.documents.sweep()  # a teammate deleted a document held here
        return refused

    def _report_damage(self, events: Iterable[ChangeEvent]) -> None:
        """Tell ``team.on_damage`` about the records teammates' updates just damaged (in the
        collections already read on this device; the others show it when first read)."""
        hook = self.team.on_damage
        if hook is None:
            return
        for event in events:
            collection = self.core.collections.get(event.collection)
            if collection is None or not collection.loaded:
                continue
            for damage in collection.damaged():
                if damage.record_id in event.ids:
                    hook(damage)

    async def scrub_outbox(self) -> int:
        """Rewrite the local updates not sent yet as one update re-encoded from the document,
        so that content deleted since (an erasure) is not sent at all: same structs, same
        clocks, deleted content garbage-collected. Returns how many items it replaced."""
        if not self.team.syncing:
            return 0
        outbox = local_outbox(self.team.id, self.core.compartment)
        async with self.team.outbox_lock:  # no flush seals them meanwhile
            items = await self.team.store.outbox_pending(outbox)
            starts: dict[int, int] = {}
            for item in items:
                for client, start in read_deps(item.payload).starts.items():
                    starts[client] = min(start, starts.get(client, start))
            if not items:
                return 0
            state = self.core.state_vector()
            since = {client: min(clock, starts.get(client, clock))
                     for client, clock in state.items()}
            replacement = self.core.doc.get_update(encode_state_vector(since))
            async with self.team.store.transaction() as tx:
                await tx.outbox_remove([item.id for item in items])
                await tx.outbox_add(outbox, replacement)
        return len(items)

    def compact_when_due(self) -> None:
        """After a commit: start the compaction if it is due, in the store's upkeep
        (mano_core/team_upkeep.py): nobody waits for it (issue 24: at the end of a catch-up it
        re-encodes the whole state), and it is crash-safe (one transaction)."""
        if self.compaction_due and not self.compacting:
            self.team.upkeep.soon(self, self._compact_if_due)

    async def _compact_if_due(self) -> None:
        if self.compaction_due:  # (not if an erasure's compaction came first)
            await self.compact()

    async def compact(self) -> None:
        """Fold the updates into one snapshot (re-encoded state, never merge_updates).

        Updates still parked (their dependencies have not arrived) are not in the state: they
        are stored again after the snapshot, in the same transaction, so none is lost.
        Nothing if the team no longer holds this compartment (the medical one, dropped while
        this waited: ``drop_medical`` holds ``merging`` while it deletes it)."""
        async with self.merging:
            if self not in self.team.held():
                return
            self.compacting = True  # commits made meanwhile do not start another one
            try:
                await self._compact()
            finally:
                self.compacting = False

    async def _compact(self, quarantine: Sequence[bytes] = ()) -> None:
        await self._persist()  # pending edits keep their sync-outbox places too
        gone = set(quarantine)
        parked = [u for u in self.core.parked_updates() if u not in gone]
        state = self.core.encode_state()
        upto = self.last_seq  # the state holds every update stored up to here
        if len(state) > pieces.PIECE_BYTES:
            # Cut into pieces that open applies one at a time (mano_core.document.pieces), in
            # a worker thread: local edits may be committed meanwhile (after ``upto``).
            state = await asyncio.to_thread(pieces.cut_and_pack, state,
                                            self.core.doc.get_state())
        async with self.team.store.transaction() as tx:
            await tx.write_snapshot(self.name, state, upto)
            seqs = await tx.append_updates(self.name, parked)
            for update in quarantine:
                await self.team.quarantine.put(
                    tx, self.core.compartment, update, "its dependencies never arrived",
                    keep_content=not self.team.erasures.orders())
        self.core.forget_parked(quarantine)  # only once the quarantine is committed
        self._unstored = []  # in the state (or parked, and stored again above)
        newer = self.last_seq - upto  # local updates committed while the state was cut
        if seqs:
            self.last_seq = max(self.last_seq, seqs[-1])
        self.stored_snapshot(len(state), parked)
        self.since_snapshot += newer

    async def quarantine_overdue(self, *, timeout: float = limits.MAX_PARKED_SECONDS,
                                 limit: int = limits.MAX_PARKED_UPDATES) -> list[bytes]:
        """Quarantine the parked updates past their bounds (waiting longer than ``timeout``
        seconds, or beyond ``limit`` of them): kept in the team's quarantine, no longer stored
        with the document nor waited for, so that snapshots (and erasures) proceed. Returns
        them (the caller alerts). A failure commits nothing and changes nothing in memory."""
        async with self.merging:
            overdue = self.core.overdue_parked(timeout=timeout, limit=limit)
            if overdue:
                await self._compact(overdue)
        return overdue
