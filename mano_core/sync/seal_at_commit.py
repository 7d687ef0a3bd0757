"""An isolated local edit sealed in the transaction that commits it (issue 24).

An edit made after a quiet spell is one a teammate waits for. It used to take two durable
commits before its push: the edit with its local-outbox row, then, in the flush task, the
envelope with the advanced author counter (consuming that row). Here both are one: the edit's
transaction (team_compartment.py, ``Team.seal_at_commit``) also holds the sealed envelope
and the counter, and no local-outbox row.

What stays true:

* Nothing is true before that commit. The counter is read inside the transaction (the store
  runs one at a time, and an earlier one's counter is adopted before the next can start) and
  adopted only once it committed (``TeamKeys.seal_into``, ``StoreTransaction.after_commit``),
  even if the editing task was cancelled while the commit ran. If it does not commit, nothing
  of the edit, the envelope or the counter exists: the edit stays in memory and is committed
  with the next write (as before), the counter is free, nothing was handed to the sender. A
  power cut leaves all three or none.
* Only an isolated edit, in queue order: the machine would seal it at once
  (``SyncMachine.seals_at_once``: no flush scheduled, the last one ``flush_delay`` ago), the
  compartment's local outbox is empty (nothing older waits to be sealed before it), and the
  outbox lock (the flush's, shared with the erasure's scrub) is free: it is taken for the
  edit's transaction. Otherwise, or when the sealer refuses (no write access, the epoch's key
  not here yet) or the envelope would not fit one row, the edit commits with its local-outbox
  row as before and the flush seals it (and reports the refusal). Bursts still share
  envelopes: an edit within ``flush_delay`` of this one waits for the flush timer.
* The envelope is pushed only once committed ("durable before sent"): it is handed to the
  sender, and the sender woken, by the commit itself.
* An edit the device makes on its own (``background``: a snapshot-readers statement,
  mano_core/sync/snapshot_policy.py) is sealed so whenever no flush is scheduled, and opens
  no burst: the user's next edit is sealed at once as it would have been without it (issue
  24: the statement's flush made the next edit of the benchmark wait ~31 ms for the timer).
  Refused (the lock taken, older edits in the local outbox), it goes the flush's way.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from mano_core import limits
from mano_core.errors import ManoError
from mano_core.ids import Compartment
from mano_core.keys_at_rest import Sealed
from mano_core.sync import payload
from mano_core.team import local_outbox, sealed_outbox

if TYPE_CHECKING:
    from mano_core.sync.engine import TeamSync


class _EditSeal:
    """Seals one edit's updates into its transaction (an EditSealer, team_compartment.py)."""

    def __init__(self, sync: TeamSync, *, background: bool = False) -> None:
        self.sync = sync
        self.background = background
        self.committed = False

    async def __call__(self, tx: Any, c: Compartment, updates: Sequence[bytes]) -> bool:
        sync = self.sync
        if (c not in sync.compartments
                or await sync.store.outbox_size(local_outbox(sync.team.id, c))):
            return False  # not synced here, or older edits to seal before it: the flush's
        plaintexts = list(payload.encode_batches(updates))
        if len(plaintexts) != 1:
            return False
        try:
            prepared = sync.keys.prepare_seal(plaintexts[0], compartment=c)
        except ManoError:  # refused by the sealer: the flush tries (and reports) it
            return False
        if len(prepared.envelope) > limits.MAX_STORE_VALUE_BYTES:
            return False
        await sync.keys.seal_into(tx, prepared, doc=sealed_outbox(sync.team.id, c),
                                  committed=lambda sealed: self._committed(c, sealed))
        return True

    def _committed(self, c: Compartment, sealed: Sealed) -> None:
        """The edit's transaction committed (on the loop, before any other transaction)."""
        self.committed = True
        sync = self.sync
        if sync.machine is not None:
            sync.machine.sealed_at_commit(background=self.background)
        sync._hand_over(c, sealed.outbox_id, sealed.envelope)
        if sync._wake_sender is not None:
            sync._wake_sender.set()


@contextlib.asynccontextmanager
async def seal_at_commit(sync: TeamSync, *,
                         background: bool = False) -> AsyncIterator[_EditSeal | None]:
    """``Team.seal_at_commit`` for this driver: an EditSealer for an isolated edit, with the
    outbox lock held until its transaction ended; else None (see the module). ``background``:
    an edit of the device's own (see the module)."""
    lock = sync.flush_lock
    machine = sync.machine
    if (machine is None or not machine.seals_at_once(background=background) or lock.locked()
            or sync.team.store is not sync.keys.vault.store):
        yield None
        return
    async with lock:  # free: taken at once
        sealer = _EditSeal(sync, background=background)
        yield sealer
    if sealer.committed:
        await sync.refresh_counts()
