"""Whether a follow-up of teammates' updates may be left undone in the store (issue 24): the
one thing that lets an open skip the follow-up of merges and medical files
(``Team.merges.follow()`` over everything, with every medical file decoded first).

After a delivery is committed, ``team.merges.follow(events)`` writes what it calls for (a
person's medical files created on two devices folded into one, records re-pointed to a merged
person, edits made on a merged file carried onto the kept one) in a commit of its own: a crash
between the two leaves it undone, for the next open. An open used to follow everything to find
out. Now the open follows (and decodes the medical files) only when it finds a durable marker,
written in the same transaction as what may leave a follow-up undone:

- a delivery that changed medical files (a fold), or any delivery that changed something in a
  team holding person merges (its follow-up re-points and carries): marked in the delivery's
  transaction, and the marker is deleted once its follow-up has committed, in the next store
  transaction of the team's deliveries or edits (never one of its own: the live path writes
  nothing more), and only when no other marked delivery's follow-up is still running (they
  are counted: a delivery followed up meanwhile does not drop the mark);
- a local commit that names a merged person (a record naming one, or the merged file itself,
  written from a screen that had not seen the merge yet; ``names_merged``): nothing follows a
  local commit up in the session, so its marker stays until an open has followed everything;
- a store a version before this one wrote for a team holding merges (it marked no merge's
  follow-up): followed once at open, then ``MERGES_MARKED`` says the markers are kept.

The marker errs on the safe side: one left behind costs an open the follow-up it used to do
anyway; a follow-up that failed in a session keeps it until an open has followed everything."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from mano_core.document.person_merge_base import redirects
from mano_core.ids import Compartment

if TYPE_CHECKING:
    from mano_core.document.team_doc import DocumentCore
    from mano_core.team import Team
    from mano_core.team_compartment import CompartmentHolder
    from mano_core.team_info import DocumentStore

NAMESPACE = "follow-up"  # key: the team's id; present: a follow-up may be pending
# Key suffix (the team's id, then this): present once an open of this version followed the
# team's merges, after which every merge's follow-up is marked (above).
MERGES_MARKED = "/merges-marked"

__all__ = ["MERGES_MARKED", "NAMESPACE", "FollowUps", "local_calls_for", "names_merged"]


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

    async def merges_marked(self) -> bool:
        """Whether an open of this version followed the team's merges already (read at open:
        a store written before it holds merges whose follow-ups were not marked)."""
        return await self._store.get(NAMESPACE, self._key + MERGES_MARKED) is not None

    async def followed_at_open(self, merges: bool) -> None:
        """An open followed everything and committed it (before any delivery of the session:
        nothing marked is outstanding): the marker goes, and ``merges`` (the team holds
        merges) notes that their follow-ups are marked from now on (``merges_marked``)."""
        self.followed_all()
        drop = self._stored and not self._outstanding
        if not (drop or merges):
            return
        async with self._store.transaction() as tx:
            if drop:
                await tx.delete(NAMESPACE, self._key)
            if merges:
                await tx.put(NAMESPACE, self._key + MERGES_MARKED, b"\x01")
        if drop:
            self._stored = False

    @staticmethod
    def calls_for(core: DocumentCore, merges: bool) -> bool:
        """Whether the delivery just merged into ``core`` leaves a follow-up to mark: it
        changed medical files (two of one person are folded by the follow-up), or anything
        while the team holds person merges (``merges``, ``Team.holds_merges()``: the
        follow-up re-points records naming a merged person and carries edits of a merged
        file)."""
        if core.compartment is Compartment.MEDICAL and core.changed("medicalFiles"):
            return True
        return merges and core.has_changes

    async def write(self, tx: Any, *, mark: bool = False, until_open: bool = False) -> None:
        """In a store transaction of the team's: the marker, if ``mark`` (the transaction
        commits what calls for a follow-up) or ``until_open`` (it calls for one nothing in
        the session does: the marker stays until an open has followed everything), else its
        deletion if it is due. The decision is taken here, inside the transaction
        (serialised by the store): a transaction that marks stops the deletion of any that
        comes after it."""
        if mark or until_open:
            await tx.put(NAMESPACE, self._key, b"\x01")
            # (counted before the commit, on the safe side: a transaction that does not
            # commit leaves the count high, so the marker stays until the next open)
            self._stored = True
            if mark:
                self._outstanding += 1
            if until_open:
                self._owed = True
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


def local_calls_for(team: Team, holders: Iterable[CompartmentHolder]) -> bool:
    """Whether the local changes of ``holders`` about to be committed name a merged person
    (``names_merged``; nothing to look at in a team without merges)."""
    if not team.holds_merges():
        return False
    return names_merged(redirects(team.doc), (
        (name, ids, h.core.collections[name]._records())
        for h in holders for name, ids in h.core.pending_changes().items()
        if name in h.core.collections))


def names_merged(merged: Mapping[str, str], changes: Iterable[tuple[str, Iterable[str],
                                                                  Mapping[str, Any]]]) -> bool:
    """Whether local changes call for a merge's follow-up: ``merged`` maps each merged
    person's id to where its file is now (``person_merge_base.redirects``); ``changes`` gives
    (collection, the ids changed, those records by id). True for a change of a merge, of a
    merged file, or of a record any of whose values (nested ones too) is a merged person's id:
    a superset of what ``follow_merges`` re-points or carries, on the safe side."""
    if not merged:
        return False
    for collection, ids, records in changes:
        if collection == "personMerges":
            return True
        for record_id in ids:
            if record_id in merged:
                return True
            record = records.get(record_id)
            if record is not None and _mentions(msgspec.to_builtins(record), merged):
                return True
    return False


def _mentions(value: Any, ids: Mapping[str, str]) -> bool:
    if isinstance(value, str):
        return value in ids
    if isinstance(value, dict):
        return any(_mentions(v, ids) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_mentions(v, ids) for v in value)
    return False
