"""The sync state a client shows its user: connected or not, what waits, who is online."""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field

from mano_core.ids import Compartment


class Status(str, enum.Enum):
    """Where the connection to the relay stands."""

    OFFLINE = "offline"            # no connection; edits are kept and sent later
    CONNECTING = "connecting"
    AUTHENTICATING = "authenticating"
    JOINING = "joining"            # waiting for an admin to answer an invitation request
    ONLINE = "online"              # authenticated and subscribed: edits flow both ways
    REVOKED = "revoked"            # this device was removed from the team: sync stopped
    REFUSED = "refused"            # the relay refused for good (auth failed, unknown team…)
    CLOSED = "closed"              # the client was closed


@dataclass(frozen=True, slots=True)
class Teammate:
    """A teammate's device seen online recently (presence)."""

    device: bytes
    member: str
    viewing: str | None  # the record (e.g. a person file) open on that device
    expires: float       # time.monotonic() after which the entry is stale


@dataclass(frozen=True, slots=True)
class Alert:
    """Something the user or an admin should know: a chain gap, a rejected envelope…"""

    kind: str
    detail: str
    at: float = field(default_factory=time.time)


@dataclass(frozen=True, slots=True)
class Quarantined:
    """A teammate's envelope this device could not apply, kept in the store (with its bytes)
    instead of being dropped: its author (b"" if the envelope cannot even be parsed), its
    compartment, its relay sequence, the author's counter (-1 if unknown) and the error."""

    compartment: Compartment
    seq: int
    author: bytes
    counter: int
    code: str       # the error's class name, e.g. "BadSignatureError", "MalformedUpdateError"
    detail: str
    at: float = 0.0

    def describe(self) -> str:
        """One line for an alert: author, compartment, sequence, error."""
        author = self.author.hex()[:12] + "…" if self.author else "unknown author"
        return (f"envelope {self.seq} of {self.compartment.name} by {author} quarantined: "
                f"{self.code}: {self.detail}")


@dataclass(slots=True)
class Progress:
    """What this client has received from the relay and committed: bytes (envelopes and
    snapshots, as delivered) and envelopes applied. With ``SyncState.behind`` it tells how far
    a catch-up (a new device's first sync, a return after days offline) has come."""

    bytes: int = 0
    envelopes: int = 0


@dataclass(slots=True)
class CatchUp:
    """A catch-up under way in this session (a new device's first sync, a return after days
    offline), from what the relay said it holds (``catchup_plan``, docs/protocol.md §4a):
    ``bytes_total`` to receive (the snapshot if the device starts from one, plus the
    envelopes after it), ``bytes_done`` received so far (a snapshot's parts as they arrive,
    envelopes once committed); ``records_total`` envelopes to apply, ``records_done``
    applied and committed; ``snapshot`` whether it started from a snapshot. Only the
    figures move before a commit; the cursor and the document never do."""

    bytes_total: int = 0
    bytes_done: int = 0
    records_total: int = 0
    records_done: int = 0
    snapshot: bool = False

    @property
    def fraction(self) -> float:
        """0.0 … 1.0, by bytes (what the wait is made of)."""
        if self.bytes_total <= 0:
            return 1.0
        return min(1.0, self.bytes_done / self.bytes_total)


@dataclass(slots=True)
class SyncState:
    """Mutable, owned by the sync client; read it, or subscribe to its changes."""

    status: Status = Status.OFFLINE
    pending_local: int = 0          # local updates not sealed into an envelope yet
    pending_envelopes: int = 0      # sealed envelopes waiting for the relay's ack
    last_acked: dict[Compartment, int] = field(default_factory=dict)
    cursor: dict[Compartment, int] = field(default_factory=dict)  # last relay seq applied
    last_sync: float | None = None  # time.time() of the last ack or delivery
    teammates: dict[bytes, Teammate] = field(default_factory=dict)
    waiting_updates: int = 0        # remote updates waiting for their dependencies
    alerts: list[Alert] = field(default_factory=list)
    last_error: str | None = None
    dropped_presence: int = 0       # teammates' presence messages that failed to open
    # Compartments that cannot catch up this session: the relay sent this device to a
    # snapshot it refused (reason as value). Retried at the next session; edits still go out.
    stalled: dict[Compartment, str] = field(default_factory=dict)
    quarantine: list[Quarantined] = field(default_factory=list)  # kept, never applied
    head: dict[Compartment, int] = field(default_factory=dict)  # relay head at last subscribe
    received: Progress = field(default_factory=Progress)
    # The catch-up of the current session while it runs (None before the relay's plan is
    # known, after it is over, and with a relay that does not serve ``catchup_plan``).
    catchup: CatchUp | None = None

    @property
    def behind(self) -> int:
        """Envelopes the relay held at the last subscribe that are not applied yet (0 once
        caught up): with ``received``, the progress of a catch-up."""
        return sum(max(0, head - self.cursor.get(c, 0)) for c, head in self.head.items())

    @property
    def pending(self) -> int:
        """Edits not yet acknowledged by the relay (local updates + sealed envelopes)."""
        return self.pending_local + self.pending_envelopes

    def online_teammates(self, now: float | None = None) -> list[Teammate]:
        """Teammates whose presence has not expired; none while this device is not online
        (it cannot hear them: what it heard last is no sign they are still there)."""
        if self.status is not Status.ONLINE:
            return []
        now = time.monotonic() if now is None else now
        return [t for t in self.teammates.values() if t.expires > now]

    def viewing(self, record_id: str, now: float | None = None) -> list[Teammate]:
        """Teammates who have that record (a person file) open right now."""
        return [t for t in self.online_teammates(now) if t.viewing == record_id]
