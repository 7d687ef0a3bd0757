"""One team's sync, over whatever connection the client holds: seal, push, apply, catch up.

The durable pieces, all in the encrypted store:
  * ``team/<id>/<c>/local``  outbox of local updates not sealed yet (written with each edit);
  * ``team/<id>/<c>/sealed`` outbox of envelopes waiting for the relay's ack (sealed at flush,
    with the author counter, in one transaction that also consumes the local items);
  * ``sync/<team>``: the relay cursor per compartment (last sequence applied), the newest
    snapshot known, fragments of a large batch not complete yet;
  * ``quarantine/<team>``: quarantined envelopes and updates (mano_core/quarantine.py).
What to write is decided by the sans-I/O ``SyncMachine`` (machine.py); this module carries
out its effects. A delivery's updates, quarantine rows, cursor and chain states commit in one
transaction and become the machine's state only after that commit, so a crash, a cancellation
or a full disk anywhere re-applies at most what was not committed (idempotent), never skips.

The driver is one class, TeamSync, made of one module per job: driver.py (its state, loaded
from the store; counts, quarantine, alerts), persist.py (effects, Persist transactions),
snapshot_policy.py (when and how to upload a snapshot), sender.py (flush, push, acks) and
receiver.py (deliveries, snapshot downloads).
"""

from __future__ import annotations

from mano_core.sync.driver import MAX_ALERTS
from mano_core.sync.persist import SessionClosed
from mano_core.sync.receiver import Receiving
from mano_core.sync.sender import Sending
from mano_core.sync.snapshot_policy import SNAPSHOT_MIN_TAIL, SNAPSHOT_TAIL_FRACTION

__all__ = ["MAX_ALERTS", "SNAPSHOT_MIN_TAIL", "SNAPSHOT_TAIL_FRACTION", "SessionClosed",
           "TeamSync"]


class TeamSync(Sending, Receiving):
    """The driver of one team's SyncMachine on this device: carries out its Persist effects
    in store transactions and tells it what committed. Owned by the SyncClient."""
