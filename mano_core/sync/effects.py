"""What the sync machine (machine.py) asks its driver to do, as frozen values: effects (send,
push, persist, start a timer, close, alert) and the operations a Persist writes in one store
transaction; and the reconnection backoff it draws its delays from. No I/O here either."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Final, NamedTuple

from mano_core.ids import Compartment
from mano_core.protocol import messages as m
from mano_core.sync import payload
from mano_core.sync.state import Quarantined

BACKOFF_FIRST: Final = 0.2    # seconds before the first reconnection attempt (then doubled)
BACKOFF_CAP: Final = 30.0     # never wait longer than this between attempts


# --- effects ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Send:
    """Send this message to the relay."""

    message: m.Message


@dataclass(frozen=True, slots=True)
class Push:
    """Push the sealed outbox item ``item`` (its envelope bytes ``envelope``); report the
    answer with ``push_acked`` or ``push_refused``."""

    item: int
    envelope: bytes


@dataclass(frozen=True, slots=True)
class Persist:
    """Write ``ops`` in one store transaction, then call ``committed(token)``; if anything
    fails or is cancelled before the commit, call ``failed(token)``."""

    ops: tuple[Op, ...]
    token: int


@dataclass(frozen=True, slots=True)
class StartTimer:
    """Call ``timer(name)`` after ``delay`` seconds (a later StartTimer of the same name
    replaces it)."""

    name: str
    delay: float


@dataclass(frozen=True, slots=True)
class Close:
    """End the session now; the next one resubscribes from the committed cursor."""

    reason: str


@dataclass(frozen=True, slots=True)
class Alert:
    """Something the user or an admin should know (SyncState.alerts)."""

    kind: str
    detail: str


Effect = Send | Push | Persist | StartTimer | Close | Alert


# --- persistence operations (what a Persist writes) ---------------------------------------------


class Apply(NamedTuple):
    """Merge a teammate's envelope's updates into compartment ``c``'s document and store them,
    in the transaction. If the document refuses them, the driver quarantines that envelope in
    the same transaction instead (and reports it in ``committed(token, refused=…)``). (A named
    tuple: one per envelope of a delivery, and a frozen dataclass sets each field through
    ``object.__setattr__``; issue 24.)"""

    c: Compartment
    seq: int
    author: bytes
    counter: int
    envelope: bytes
    updates: tuple[bytes, ...]
    snapshot: bool = False  # a snapshot's state: refused, the whole Persist must fail


@dataclass(frozen=True, slots=True)
class SaveCursor:
    c: Compartment
    seq: int
    snapshot: int


@dataclass(frozen=True, slots=True)
class SaveChain:
    c: Compartment
    chain: bytes  # ChainState.to_bytes()


@dataclass(frozen=True, slots=True)
class PutFragment:
    fragment: payload.Fragment


@dataclass(frozen=True, slots=True)
class DropFragments:
    group: bytes
    indexes: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class PutQuarantine:
    entry: Quarantined
    envelope: bytes


@dataclass(frozen=True, slots=True)
class RemoveOutbox:
    items: tuple[int, ...]


Op = Apply | SaveCursor | SaveChain | PutFragment | DropFragments | PutQuarantine | RemoveOutbox


# --- reconnection ---------------------------------------------------------------------------


class Backoff:
    """Exponential backoff with full jitter: a random wait in [0, min(cap, first·2^n)]."""

    def __init__(self, first: float = BACKOFF_FIRST, cap: float = BACKOFF_CAP,
                 rng: random.Random | None = None) -> None:
        self.first, self.cap, self.attempt = first, cap, 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        ceiling = min(self.cap, self.first * 2 ** self.attempt)
        self.attempt += 1
        return self._rng.uniform(0.0, ceiling)

    def reset(self) -> None:
        self.attempt = 0
