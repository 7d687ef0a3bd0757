"""The sync machine's state and its commits (see machine.py): positions, chain states and
fragments as committed, and what is staged under a token until ``committed(token)``.

Nothing becomes true before it is committed: every input of the machine that changes one of
these stages it (``_stage``); ``committed`` makes it the state, ``failed`` drops it and every
stage built on it."""

from __future__ import annotations

import enum
import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

from mano_core.crypto import ChainState
from mano_core.crypto.envelope import Opened
from mano_core.errors import LocalProtocolError
from mano_core.ids import Compartment
from mano_core.sync import payload
from mano_core.sync.effects import Alert, Apply, Backoff, Close, Effect, Op, Persist
from mano_core.sync.state import Quarantined

PUSH_WINDOW: Final = 64       # envelopes pushed and not yet acknowledged, at most
SNAPSHOT_EVERY: Final = 300   # envelopes after the newest snapshot before uploading a new one
FLUSH_DELAY: Final = 0.05    # seconds: edits made within this window share one envelope
RECONNECT: Final = "reconnect"
FLUSH: Final = "flush"


class Phase(str, enum.Enum):
    """Where the machine's connection stands."""

    OFFLINE = "offline"        # no connection; a reconnect timer runs
    CONNECTING = "connecting"  # socket, authentication, log, keys, subscriptions
    ONLINE = "online"          # subscribed: deliveries and pushes flow
    CLOSED = "closed"          # closed by its owner; every input but committed/failed raises


# Connection inputs and where they lead; any other (phase, input) pair is an illegal move.
MOVES: Final[Mapping[Phase, Mapping[str, Phase]]] = {
    Phase.OFFLINE: {"connecting": Phase.CONNECTING, "timer": Phase.OFFLINE,
                    "retry_now": Phase.OFFLINE, "disconnected": Phase.OFFLINE,
                    "close": Phase.CLOSED},
    Phase.CONNECTING: {"connected": Phase.ONLINE, "disconnected": Phase.OFFLINE,
                       "received": Phase.CONNECTING, "snapshot": Phase.CONNECTING,
                       "retry_now": Phase.CONNECTING, "close": Phase.CLOSED},
    Phase.ONLINE: {"disconnected": Phase.OFFLINE, "received": Phase.ONLINE,
                   "snapshot": Phase.ONLINE, "retry_now": Phase.ONLINE, "close": Phase.CLOSED},
    Phase.CLOSED: {"close": Phase.CLOSED, "disconnected": Phase.CLOSED},
}



class Opener(Protocol):
    """Opens an envelope against a working chain state (``TeamKeys.open``); only that state
    changes. Raises EnvelopeError subclasses, MissingKeyError."""

    def __call__(self, raw: bytes, compartment: Compartment, chain: ChainState) -> Opened: ...


@dataclass(slots=True)
class Position:
    """A compartment's committed position: last relay seq applied, newest snapshot's upto."""

    seq: int = 0
    snapshot: int = 0


@dataclass(slots=True)
class _Stage:
    """Changes that become true at ``committed`` (see the module docstring)."""

    positions: dict[Compartment, Position] = field(default_factory=dict)
    chains: dict[Compartment, ChainState] = field(default_factory=dict)
    fragments: dict[bytes, list[payload.Fragment]] | None = None
    quarantine: list[Quarantined] = field(default_factory=list)
    removed: tuple[int, ...] = ()
    alerts: list[Alert] = field(default_factory=list)
    applies: dict[int, Apply] = field(default_factory=dict)  # seq -> op, for refusals


class MachineCore:
    """The machine's state and commits (SyncMachine is the whole machine). ``me`` is this
    device's id (its own envelopes are already in the document); ``opener`` opens envelopes;
    ``now`` is the wall clock."""

    def __init__(self, me: bytes, opener: Opener, *,
                 positions: Mapping[Compartment, Position],
                 chains: Mapping[Compartment, ChainState],
                 fragments: Sequence[payload.Fragment] = (),
                 backoff: Backoff | None = None,
                 flush_delay: float = FLUSH_DELAY,
                 has_access: Callable[[bytes, Compartment], bool] = lambda _a, _c: True,
                 rebuilding: Iterable[Compartment] = (),
                 now: Callable[[], float] = lambda: 0.0) -> None:
        self.me = me
        self._open = opener
        self._now = now
        self.phase = Phase.OFFLINE
        self._positions = {c: Position(p.seq, p.snapshot) for c, p in positions.items()}
        self._chains = {c: chains[c].copy() for c in Compartment}
        self._fragments: dict[bytes, list[payload.Fragment]] = {}
        for frag in fragments:
            self._fragments.setdefault(frag.g, []).append(frag)
        self.backoff = backoff or Backoff()
        self.need_keys = False
        self._has_access = has_access
        # Compartments whose document this device rebuilds from the relay (dropped, then held
        # again): its own envelopes are not all in it, so they are applied too (idempotent).
        self.rebuilding: set[Compartment] = set(rebuilding)
        # Per compartment, the seq this session caught up to (set by the driver): above it,
        # deliveries are live, and an author who no longer has access is refused.
        self.live_after: dict[Compartment, int] = {}
        self.flush_delay = flush_delay
        self._flush_scheduled = False
        self._last_flush = -math.inf  # when the flush timer last fired (``now``)
        self._staged: dict[int, _Stage] = {}
        self._tokens = itertools.count(1)
        self._in_flight: set[int] = set()   # outbox items pushed, no answer yet
        self._answered: set[int] = set()    # acked or refused for good; row not removed yet

    # --- what the driver reads ---------------------------------------------------------------

    def cursor(self, c: Compartment) -> int:
        """The last relay sequence of ``c`` applied AND committed."""
        return self._positions.setdefault(c, Position()).seq

    def forgot(self, c: Compartment) -> None:
        """The driver committed forgetting ``c`` (its document dropped from this device): from
        now on ``c`` is caught up from the start, this device's own envelopes included."""
        self._positions[c] = Position()
        self._chains[c] = ChainState()
        self.live_after.pop(c, None)
        self.rebuilding.add(c)

    def position(self, c: Compartment) -> Position:
        p = self._positions.setdefault(c, Position())
        return Position(p.seq, p.snapshot)

    def chain(self, c: Compartment) -> ChainState:
        """A copy of the committed chain state of ``c``."""
        return self._chains[c].copy()

    def snapshot_due(self, c: Compartment) -> bool:
        p = self._positions.setdefault(c, Position())
        return p.seq - p.snapshot >= SNAPSHOT_EVERY

    @property
    def busy(self) -> bool:
        """A Persist has been handed out and neither committed nor failed yet."""
        return bool(self._staged)

    @property
    def in_flight(self) -> int:
        """Pushes without an answer yet."""
        return len(self._in_flight)

    @property
    def held(self) -> int:
        """Outbox items the machine will not push now: in flight, or answered and their
        removal not committed yet (read this many more rows than the window)."""
        return len(self._in_flight) + sum(len(stage.removed) for stage in self._staged.values())

    # --- connection phases ---------------------------------------------------------------------

    def _move(self, event: str) -> None:
        target = MOVES[self.phase].get(event)
        if target is None:
            raise LocalProtocolError(f"sync machine: {event!r} in phase {self.phase.value}")
        self.phase = target

    # --- commits -------------------------------------------------------------------------------

    def _stage(self, stage: _Stage, ops: list[Op]) -> Persist:
        token = next(self._tokens)
        self._staged[token] = stage
        return Persist(tuple(ops), token)

    def committed(self, token: int, refused: Mapping[int, str] | None = None) -> list[Effect]:
        """The Persist ``token`` is durable. ``refused`` maps the seq of every Apply the
        document refused (and that the driver quarantined instead) to the error."""
        stage = self._staged.pop(token, None)
        if stage is None:
            raise LocalProtocolError(f"sync machine: no persist {token} is pending")
        for c, pos in stage.positions.items():
            self._positions[c] = pos
        for c, chain in stage.chains.items():
            self._chains[c] = chain
        if stage.fragments is not None:
            self._fragments = stage.fragments
        effects: list[Effect] = list(stage.alerts)
        quarantined = list(stage.quarantine)
        for seq, error in (refused or {}).items():
            op = stage.applies[seq]
            quarantined.append(Quarantined(op.c, seq, op.author, op.counter,
                                           "MalformedUpdateError", error, self._now()))
        for q in quarantined:  # the list itself is the store's (mano_core/quarantine.py)
            effects.append(Alert("quarantined", q.describe()))
        # Removed items stay in ``_answered`` until the session ends: an outbox read that
        # started before this commit may still list them.
        return effects

    def failed(self, token: int, reason: str) -> list[Effect]:
        """The Persist ``token`` did not commit (or may not have): drop it and everything
        staged after it, and end the session so the relay re-delivers from the cursor."""
        failed = self._staged.pop(token, None)
        if failed is None:
            raise LocalProtocolError(f"sync machine: no persist {token} is pending")
        self._answered.difference_update(failed.removed)  # rows not removed: push them again
        for later, stage in list(self._staged.items()):
            if later > token and (stage.positions or stage.chains or stage.fragments):
                del self._staged[later]  # built on the failed one: redone after resubscribing
                self._answered.difference_update(stage.removed)
        if self.phase is Phase.CLOSED:
            return []
        return [Close(f"not saved ({reason}): resuming from the last committed envelope")]

    def _base(self, c: Compartment) -> tuple[Position, ChainState,
                                             dict[bytes, list[payload.Fragment]]]:
        """The newest state to build on: the last staged one, else the committed one."""
        pos, chain, frags = self._positions.setdefault(c, Position()), self._chains[c], \
            self._fragments
        for stage in self._staged.values():
            pos = stage.positions.get(c, pos)
            chain = stage.chains.get(c, chain)
            frags = stage.fragments if stage.fragments is not None else frags
        return (Position(pos.seq, pos.snapshot), chain.copy(),
                {g: list(parts) for g, parts in frags.items()})
