"""Committing a team's local edits: the sealer a sync client offers to seal an edit into the
transaction that commits it (``EditSealer``, ``Team.seal_at_commit``) and ``commit_together``,
which persists the pending edits of every compartment in one store transaction. Split from
mano_core/team_compartment.py (which re-exports these names)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Protocol

from mano_core.document.change_types import Origin
from mano_core.ids import Compartment
from mano_core.team_followup import local_calls_for
from mano_core.team_info import local_outbox

if TYPE_CHECKING:
    from mano_core.team import Team
    from mano_core.team_compartment import CompartmentHolder


class EditSealer(Protocol):
    """Seals a local edit's updates of compartment ``c`` into the transaction that commits
    them (the sync client's, Team.seal_at_commit): True if it wrote the envelope and its
    counter into ``tx`` (nothing of it true before ``tx`` commits), False if the updates are
    to wait in the local outbox as usual (nothing written)."""

    async def __call__(self, tx: Any, c: Compartment, updates: Sequence[bytes]) -> bool: ...


class SealAtCommit(Protocol):
    """Team.seal_at_commit: a context held around the transaction of a local edit about to
    be committed, giving an EditSealer or None (sealed later by the flush, as usual).
    ``background``: an edit the device makes on its own (no one waits to make the next),
    which must not hold the user's next edit back as a burst's would
    (mano_core/sync/seal_at_commit.py)."""

    def __call__(self, *, background: bool = False,
                 ) -> AbstractAsyncContextManager[EditSealer | None]: ...


def sealing(team: Team, seal: bool, *,
            background: bool = False) -> AbstractAsyncContextManager[EditSealer | None]:
    offer = team.seal_at_commit if seal and team.syncing else None
    return offer(background=background) if offer is not None else contextlib.nullcontext()


async def commit_together(team: Team) -> None:
    """Persist the pending local edits of every compartment in one store transaction (a
    person's general fields and health values are saved together, or neither), then tell
    listeners and the sync client, and compact when due (in the background:
    ``CompartmentHolder.compact_when_due``)."""
    holders = team.held()
    drained = [(h, h.core.drain_updates()) for h in holders]
    drained = [(h, u) for h, u in drained if u]
    results: list[tuple[CompartmentHolder, list[int], list[bytes]]] = []
    sealed: set[Compartment] = set()  # sealed in the edit's transaction (see _persist_sealing)
    if drained:
        # (nothing follows a local edit up in the session: one naming a merged person is left
        # to the next open, marked in its transaction: mano_core/team_followup.py)
        until_open = local_calls_for(team, [h for h, _u in drained])
        try:
            async with sealing(team, True) as sealer, team.store.transaction() as tx:
                await team.follow_ups.write(tx, until_open=until_open)  # (or a done one goes)
                for holder, updates in drained:
                    c = holder.core.compartment
                    seqs = await tx.append_updates(holder.name, updates)
                    if sealer is not None and await sealer(tx, c, updates):
                        sealed.add(c)
                    elif team.syncing:
                        outbox = local_outbox(team.id, c)
                        for update in updates:
                            await tx.outbox_add(outbox, update)
                    results.append((holder, seqs, updates))
        except BaseException:
            for holder, updates in drained:
                holder.core._pending[:0] = updates
            raise
        for holder, seqs, updates in results:
            holder.last_seq = seqs[-1]
            holder.stored_rows(updates)
    for holder in holders:
        team._dispatch(holder.core.take_changes(Origin.LOCAL))
    for holder, _updates in drained:
        if team.on_local_commit is not None and holder.core.compartment not in sealed:
            team.on_local_commit(holder.core.compartment)
    for holder in holders:
        holder.compact_when_due()

