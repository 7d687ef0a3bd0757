"""A received version-2 snapshot adopted as a compartment's document (issue 24: a new device's
first sync; docs/protocol.md §15, "Snapshot blob, version 2").

``snapshot_receive.SnapshotReceiver`` applies the pieces into a private ``Doc`` while they
download. Here that ``Doc`` becomes the compartment's document, in this order:

1. in ONE store transaction, the pieces as the compartment's stored snapshot
   (``ReceivedSnapshot.stored``: ``document.pieces.pack``, what a compaction writes and an
   open applies piece by piece), sent to the file at once (``write_ahead``: SQLite writes
   them beside pycrdt's apply of the last pieces, ``SnapshotReceiver.finish_ahead``), then,
   once every piece is applied (``ReceivedSnapshot.applied``; a refusal rolls it back), what
   ``also`` writes (the sync cursor, the chain state) and the follow-up marker if the
   snapshot holds medical files, or holds records while the team holds person merges (what a
   version-1 merge of the same state marks);
2. once it committed, and not before: the empty ``DocumentCore`` is moved onto that ``Doc``
   (``DocumentCore.rebind``, synchronous: no await between the commit and the move), its records are
   listed as changed, as a whole state merged into an empty document lists them
   (``DocumentCore.apply_remote_groups``' quiet path), and the listeners are told as after any
   merge (``CompartmentHolder._merged``).

A failure or cancellation before the commit changes nothing in memory: the document stays
empty, the receiver's ``Doc`` is dropped, and the sync resumes from the same cursor. A
cancellation that lands inside the commit may leave the transaction committed and memory
empty: the session ends (the machine's Persist failed), and the next one, from the cursor
still in memory, adopts the same snapshot again over the same rows (``write_snapshot``
replaces the snapshot; nothing is stored twice).

Why the core is moved onto the new ``Doc`` rather than replaced by a new one: the team's
durable collections (``team.persons`` …), the medical document's settings, the store's
``on_close`` release, the audit signer and whatever the UI holds are all references to this
core and its collections; a new core would leave every one of them on the empty document.
What is bound to the pycrdt document is the document itself, its subscriptions, and one root
``Map`` per collection, the history and the settings: those are moved
(tests/sync/test_snapshot_adopt.py checks that no pycrdt object of the old document is left).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from pycrdt import Doc, Map

from mano_core.ids import Compartment
from mano_core.model.records import PersonMerge
from mano_core.sync.snapshot_receive import ReceivedSnapshot

if TYPE_CHECKING:
    from mano_core.team_compartment import CompartmentHolder

__all__ = ["adopt", "adoptable"]


def adoptable(holder: CompartmentHolder) -> bool:
    """Whether ``holder``'s document can be replaced by a received snapshot's: it holds
    nothing (no record, no local edit waiting to be stored, no teammate's update parked or
    merged and not stored)."""
    core = holder.core
    return (core.empty and not core.waiting_updates and not core._pending
            and not holder._unstored)


async def adopt(holder: CompartmentHolder, received: ReceivedSnapshot,
                also: Callable[[Any], Awaitable[None]]) -> bool:
    """Make ``received`` the compartment's document (see the module): stored with ``also``'s
    rows in one transaction, then shown. Its last pieces may still be being applied to its
    document (``SnapshotReceiver.finish_ahead``): the stored pieces are sent to the file
    first (``write_ahead``), beside that apply, and the transaction commits only once it
    is done (``received.applied()``, which raises what refused a piece: nothing is
    committed then). False, with nothing stored or changed, if the document is no longer
    ``adoptable`` (a local edit came first: the caller merges the state instead). Raises
    what the store raises (nothing changed in memory then)."""
    team, core = holder.team, holder.core
    if received.compartment is not core.compartment:
        raise ValueError("a snapshot of another compartment")
    screened = core.compartment is Compartment.GENERAL
    if screened:
        # No build of the empty document's role-screening index may land after the move.
        await team.guarded.ready(core.compartment)
    async with holder.merging:
        if not adoptable(holder):
            return False
        doc = received.doc
        try:
            async with team.store.transaction() as tx:
                await tx.write_snapshot(holder.name, received.stored, holder.last_seq)
                await tx.write_ahead()  # the 20 MB written while the last pieces are applied
                await received.applied()
                if not adoptable(holder):  # (a local edit during the apply)
                    raise _NotAdopted
                # Read while the file's thread still writes the pieces (not shown yet).
                listed = core.records_of(doc)
                mark = _calls_for_follow_up(holder, doc)
                await also(tx)
                await team.follow_ups.write(tx, mark=mark)
        except _NotAdopted:
            return False  # (rolled back)
        core.rebind(doc, listed)  # committed: shown now, with no await in between
        holder.stored_snapshot(len(received.stored))
        if screened:
            # Built off the loop from the stored pieces, checked against the state vector.
            team.guarded.adopt(core, received.stored, ())
    await holder._merged({}, mark)  # (the same answer as the marker's: counted once)
    return True


class _NotAdopted(Exception):
    """The document stopped being adoptable while the transaction was open (rolled back)."""


def _calls_for_follow_up(holder: CompartmentHolder, doc: Doc[Any]) -> bool:
    """What ``FollowUps.calls_for`` will say of the adopted document, asked of ``doc`` before
    the commit (the marker is written in it): it holds medical files, or it holds records
    while the team holds person merges (the general document's own ``personMerges`` when it
    is the one adopted), as the same state merged the version-1 way is marked."""
    if holder.core.compartment is not Compartment.MEDICAL:
        # (a merge is itself a record of the general document: holding one, it holds records)
        return len(doc.get(PersonMerge.collection, type=Map)) > 0
    if len(doc.get("medicalFiles", type=Map)) > 0:
        return True
    return holder.team.holds_merges() and any(
        len(doc.get(name, type=Map)) > 0 for name in holder.core.collections)

