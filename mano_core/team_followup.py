"""Whether a follow-up of teammates' updates may be left undone in the store (issue 24): the
one thing that lets an open skip the follow-up of merges and medical files
(``Team.merges.follow()`` over everything, with every medical file decoded first).

After a delivery is committed, ``team.merges.follow(events)`` writes what it calls for (a
person's medical files created on two devices folded into one, records re-pointed to a merged
person) in a commit of its own: a crash between the two leaves it undone, for the next open.
An open used to follow everything to find out. Now:

- a team that holds person merges follows everything at open, as before (a merge's follow-up
  can be called for by any record naming a merged person, local edits included);
- otherwise the only follow-up a crash can leave is a fold of medical files, and it is marked:
  a durable marker is written in the same transaction as the medical delivery that changed
  medical files, and deleted once its follow-up has committed, in the next store transaction
  of the team's deliveries or edits (never one of its own: the live path writes nothing more),
  and only when no other marked delivery's follow-up is still running (they are counted: a
  delivery of the general compartment followed up meanwhile does not drop the mark).
  The open follows (and decodes the medical files) only when it finds the marker.

The marker errs on the safe side: one left behind costs an open the follow-up it used to do
anyway; a follow-up that failed in a session keeps it until an open has followed everything."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mano_core.ids import Compartment

if TYPE_CHECKING:
    from mano_core.document.team_doc import DocumentCore
    from mano_core.team_info import DocumentStore

NAMESPACE = "follow-up"  # key: the team's id; present: a fold of medical files may be pending

__all__ = ["NAMESPACE", "FollowUps"]


class FollowUps:
    """One team's marker of a follow-up possibly left undone in the store."""

    def __init__(self, store: DocumentStore, team_id: str) -> None:
        self._store = store
        self._key = team_id
        self._stored = False  # the marker may be in the store (found at open, or written)
        # Marked deliveries whose follow-up has not committed yet, and whether the marker
        # found at open is still owed its follow-up: the marker goes only when neither is
        # (a delivery of another compartment, or an unmarked one, following up meanwhile
        # must not drop the mark of one whose follow-up is still running).
        self._outstanding = 0
        self._owed = False
        self._failed = False  # one failed this session: kept until an open followed all

    async def pending(self) -> bool:
        """Whether the store holds the marker (read at open)."""
        self._stored = self._owed = await self._store.get(NAMESPACE, self._key) is not None
        return self._stored

    @staticmethod
    def calls_for(core: DocumentCore) -> bool:
        """Whether the delivery just merged into ``core`` leaves a follow-up to mark (it
        changed medical files: two of one person are folded by the follow-up)."""
        return core.compartment is Compartment.MEDICAL and core.changed("medicalFiles")

    async def write(self, tx: Any, *, mark: bool = False) -> None:
        """In a store transaction of the team's: the marker, if ``mark`` (the transaction
        commits what calls for a follow-up), else its deletion if it is due. The decision
        is taken here, inside the transaction (serialised by the store): a transaction that
        marks stops the deletion of any that comes after it."""
        if mark:
            await tx.put(NAMESPACE, self._key, b"\x01")
            # (counted before the commit, on the safe side: a transaction that does not
            # commit leaves the count high, so the marker stays until the next open)
            self._stored = True
            self._outstanding += 1
        elif self._stored and not (self._outstanding or self._owed or self._failed):
            await tx.delete(NAMESPACE, self._key)
            self._stored = False  # (if it does not commit: one open follows, as before)

    def followed(self, marked: bool) -> None:
        """The follow-up of a delivery committed; ``marked``: that delivery's transaction
        wrote the marker (``write(mark=True)``)."""
        if marked and self._outstanding:
            self._outstanding -= 1

    def failed(self) -> None:
        """A follow-up failed (its writes not committed): the marker stays until an open
        has followed everything (the failed one's work is the next open's)."""
        self._failed = True

    def followed_all(self) -> None:
        """An open followed everything and committed it (before any delivery of the
        session: nothing marked is outstanding)."""
        self._failed = self._owed = False
