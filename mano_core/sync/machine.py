"""The sans-I/O sync machine of one team: what to send, persist, apply, and when to reconnect.

No asyncio, no sockets, no store here (an import-hygiene test checks it). The driver
(``engine.TeamSync`` and ``client.SyncClient``) feeds inputs and carries out the effects:

    inputs                                   effects (frozen values)
    connecting() / connected()               Send(message)         a frame for the relay
    disconnected(reason)                     Persist(ops, token)   write ``ops`` in ONE store
    received(message)   (Deliver)                                  transaction, then call
    snapshot(c, snap)   (a verified snapshot)                      committed(token) (or
    committed(token) / failed(token)                               failed(token))
    outbox(items)       (sealed envelopes waiting)  Push(item, env)   push one envelope
    push_acked(item, ack) / push_refused(…)  StartTimer(name, s)   call timer(name) after s
    local_commit()                           Close(reason)         end the session; resubscribe
    timer(name) / retry_now() / close()      Alert(kind, detail)   tell the user

**Nothing becomes true before it is committed.** Every change of the cursor, of the chain
states (replay protection), of the pending fragments and of the outbox, and every quarantine
alert, is *staged* under a token; it becomes the machine's state only at ``committed(token)``. A
``failed(token)`` (a full disk, a cancellation, a crash is the same: the process restarts from
the store) drops every staged change and closes the session, so the relay delivers the same
envelopes again from the committed cursor: work is redone, never skipped.

**One bad envelope costs only itself.** Each envelope of a delivery is opened and decoded on
its own; one that fails (bad signature, unreadable plaintext, bad update, too deep, or any
unexpected exception of a decoder) is quarantined: kept with its author, compartment, sequence
and error code, named in an alert, and the cursor moves past it only with the commit of its
quarantine row. The machine keeps no list of them: the store's rows are the one list
(mano_core/quarantine.py; the driver reads them after each commit that adds one).

The connection phases are a transition table (``MOVES``); an illegal move raises
LocalProtocolError.
"""

from __future__ import annotations

import enum
import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

from mano_core.crypto import ChainState
from mano_core.crypto.envelope import Envelope, Opened
from mano_core.document.ydeps import read_deps
from mano_core.errors import (
    LocalProtocolError,
    ManoError,
    MissingKeyError,
    ReplayError,
    UnauthorizedAuthorError,
)
from mano_core.ids import Compartment
from mano_core.protocol import messages as m
from mano_core.sync import payload
from mano_core.sync.effects import (
    BACKOFF_CAP,
    BACKOFF_FIRST,
    Alert,
    Apply,
    Backoff,
    Close,
    DropFragments,
    Effect,
    Op,
    Persist,
    Push,
    PutFragment,
    PutQuarantine,
    RemoveOutbox,
    SaveChain,
    SaveCursor,
    Send,
    StartTimer,
)
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


# --- the machine ---------------------------------------------------------------------------------


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


class SyncMachine:
    """One team's sync, without I/O. ``me`` is this device's id (its own envelopes are
    already in the document); ``opener`` opens envelopes; ``now`` is the wall clock."""

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

    # --- connection ----------------------------------------------------------------------------

    def _move(self, event: str) -> None:
        target = MOVES[self.phase].get(event)
        if target is None:
            raise LocalProtocolError(f"sync machine: {event!r} in phase {self.phase.value}")
        self.phase = target

    def connecting(self) -> list[Effect]:
        self._move("connecting")
        return []

    def connected(self, *, stable: bool = True) -> list[Effect]:
        """Authenticated and subscribed to every compartment."""
        self._move("connected")
        self.backoff.reset()
        return []

    def disconnected(self, reason: str = "", *, reset_backoff: bool = False) -> list[Effect]:
        """The session ended. Pushes in flight are forgotten (re-sent next session; the relay
        deduplicates); a reconnection timer starts."""
        was_closed = self.phase is Phase.CLOSED
        self._move("disconnected")
        self._in_flight.clear()
        pending_removals = {i for stage in self._staged.values() for i in stage.removed}
        self._answered &= pending_removals
        if was_closed:
            return []
        if reset_backoff:
            self.backoff.reset()
        return [StartTimer(RECONNECT, self.backoff.next_delay())]

    def timer(self, name: str) -> list[Effect]:
        """A timer the machine started has fired: the reconnect timer (OFFLINE only: the
        driver connects next) or the flush timer (the driver seals local edits now)."""
        if name == FLUSH:
            self._flush_scheduled = False
            self._last_flush = self._now()
            return []
        self._move("timer")
        return []

    def retry_now(self) -> list[Effect]:
        """The embedding client learned that the network is back: reconnect at once, and
        start the backoff again from its first step."""
        self._move("retry_now")
        self.backoff.reset()
        return [StartTimer(RECONNECT, 0.0)] if self.phase is Phase.OFFLINE else []

    def close(self) -> list[Effect]:
        self._move("close")
        return [Close("closed by its owner")]

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

    # --- deliveries ----------------------------------------------------------------------------

    def received(self, message: m.Message,
                 own: Mapping[bytes, int] | None = None) -> list[Effect]:
        """A message from the relay that answers no request: today a Deliver. ``own`` maps
        the exact bytes of envelopes this device pushed (committed in its sealed outbox) to
        their outbox item: one coming back is stored at the relay (it delivers only what it
        committed), so its row is removed with this delivery's commit, and its ack then has
        nothing left to do (one commit on this device instead of two)."""
        self._move("received")
        if isinstance(message, m.Deliver):
            return self._deliver(Compartment(message.c), message.items, own or {})
        raise LocalProtocolError(f"sync machine: cannot handle {type(message).__name__}")

    def _deliver(self, c: Compartment, items: Sequence[tuple[int, bytes]],
                 own: Mapping[bytes, int]) -> list[Effect]:
        pos, chain, frags = self._base(c)
        stage = _Stage()
        ops: list[Op] = []
        echoed: list[int] = []  # outbox items of this device's own envelopes coming back
        effects: list[Effect] = []
        start = pos.seq
        for seq, raw in items:
            if seq <= pos.seq:
                continue  # already applied (a resumed stream may overlap)
            if seq != pos.seq + 1:
                # The relay's sequences have no gap: this one withheld envelopes (this device's
                # own failures never step over any: a failed Persist closes the session). The
                # authors' chains tell what is missing; say it, and go on.
                stage.alerts.append(Alert("skipped", f"the relay skipped {c.name} sequences "
                                                     f"{pos.seq + 1}..{seq - 1}"))
            try:
                opened = self._open(raw, c, chain)
            except MissingKeyError:
                self.need_keys = True  # the cursor stays before it: fetch keys, resubscribe
                break
            except ReplayError:
                pos.seq = seq  # already applied (e.g. through a snapshot)
                continue
            except Exception as exc:  # noqa: BLE001 - one bad envelope costs only itself
                self._quarantine(stage, ops, c, seq, raw, exc, None)
                pos.seq = seq
                continue
            pos.seq = seq
            h = opened.envelope.header
            if h.author == self.me and c not in self.rebuilding:
                item = own.get(raw)
                if item is not None and item not in self._answered:
                    self._in_flight.discard(item)  # answered by its echo, as an ack would
                    self._answered.add(item)
                    echoed.append(item)
                continue  # our own edit, already in the document
            if seq > self.live_after.get(c, seq) and not self._has_access(h.author, c):
                self._quarantine(stage, ops, c, seq, raw, UnauthorizedAuthorError(
                    "its author no longer has access to it"), opened)
                continue
            try:
                updates = self._content(opened.plaintext, frags, ops)
            except Exception as exc:  # noqa: BLE001 - decoders may raise anything: isolate
                self._quarantine(stage, ops, c, seq, raw, exc, opened)
                continue
            if updates:
                op = Apply(c, seq, h.author, h.counter, raw, tuple(updates))
                stage.applies[seq] = op
                ops.append(op)
        for report in chain.take_reports():
            kind = "fork" if report.forked else "gap"
            stage.alerts.append(Alert(kind, f"author {report.author.hex()[:12]}…: expected "
                                            f"counter {report.expected_counter}, got "
                                            f"{report.received_counter}"))
        if pos.seq == start and not ops:
            return effects
        stage.positions[c] = pos
        stage.chains[c] = chain
        stage.fragments = frags
        if echoed:
            stage.removed = tuple(echoed)
            ops.append(RemoveOutbox(tuple(echoed)))
        ops.append(SaveCursor(c, pos.seq, pos.snapshot))
        ops.append(SaveChain(c, chain.to_bytes()))
        return [self._stage(stage, ops), *effects]

    def _content(self, plaintext: bytes, frags: dict[bytes, list[payload.Fragment]],
                 ops: list[Op]) -> list[bytes]:
        """The updates an envelope carries (all checked), or [] for an incomplete fragment."""
        content = payload.decode(plaintext)
        if isinstance(content, payload.Batch):
            updates = list(content.u)
        else:
            group = frags.setdefault(content.g, [])
            if any(f.i == content.i for f in group):
                return []  # a fragment seen already
            group.append(content)
            if len({f.i for f in group}) < content.n:
                ops.append(PutFragment(content))
                return []
            del frags[content.g]
            ops.append(DropFragments(content.g, tuple(f.i for f in group if f is not content)))
            updates = list(payload.join_fragments(group).u)
        for update in updates:
            read_deps(update)  # MalformedUpdateError before anything is applied
        return updates

    def _quarantine(self, stage: _Stage, ops: list[Op], c: Compartment, seq: int, raw: bytes,
                    exc: BaseException, opened: Opened | None) -> None:
        author, counter = b"", -1
        if opened is not None:
            author, counter = opened.envelope.header.author, opened.envelope.header.counter
        else:
            try:
                header = Envelope.parse(raw).header
                author, counter = header.author, header.counter
            except ManoError:
                pass
        code = type(exc).__name__
        detail = str(exc)[:300] or code
        if not isinstance(exc, ManoError):
            detail = f"unexpected {code} from a decoder: {detail}"
        entry = Quarantined(c, seq, author, counter, code, detail, self._now())
        stage.quarantine.append(entry)
        ops.append(PutQuarantine(entry, raw))

    # --- snapshots -----------------------------------------------------------------------------

    def snapshot(self, c: Compartment, upto: int, state: bytes,
                 chain: ChainState) -> list[Effect]:
        """A downloaded, verified snapshot of ``c`` covering relay seq <= ``upto``."""
        self._move("snapshot")
        pos, mine, _frags = self._base(c)
        mine.merge(chain)
        pos.seq, pos.snapshot = max(pos.seq, upto), max(pos.snapshot, upto)
        stage = _Stage(positions={c: pos}, chains={c: mine})
        op = Apply(c, upto, b"", -1, b"", (state,), snapshot=True)
        return [self._stage(stage, [op, SaveCursor(c, pos.seq, pos.snapshot),
                                    SaveChain(c, mine.to_bytes())])]

    def snapshot_uploaded(self, c: Compartment, upto: int) -> list[Effect]:
        """The relay stored this device's snapshot of ``c`` covering ``upto``."""
        pos, _chain, _frags = self._base(c)
        pos.snapshot = max(pos.snapshot, upto)
        return [self._stage(_Stage(positions={c: pos}), [SaveCursor(c, pos.seq, pos.snapshot)])]

    # --- the outbox ----------------------------------------------------------------------------

    def outbox(self, items: Sequence[tuple[int, bytes]]) -> list[Effect]:
        """Sealed envelopes waiting in the store, oldest first: push those not pushed yet in
        this session and not answered, at most PUSH_WINDOW in flight. Each item leaves the
        window exactly once: an acknowledged item is not pushed again while its removal from
        the store is being committed."""
        effects: list[Effect] = []
        if self.phase is not Phase.ONLINE:
            return effects
        for item, envelope in items:
            if len(self._in_flight) >= PUSH_WINDOW:
                break
            if item in self._in_flight or item in self._answered:
                continue
            self._in_flight.add(item)
            effects.append(Push(item, envelope))
        return effects

    def holds(self, item: int) -> bool:
        """Whether outbox ``item`` is in flight or answered in this session (not to push)."""
        return item in self._in_flight or item in self._answered

    def push_acked(self, item: int) -> list[Effect]:
        """The relay stored the envelope: remove its outbox row."""
        return self._answer(item)

    def push_refused(self, item: int, *, retry: bool, detail: str = "") -> list[Effect]:
        """The relay refused the push. ``retry``: the connection is gone or the refusal is
        temporary (pushed again next session); otherwise the envelope can never be accepted
        and its row is removed (with an alert), so the sender never loops on it."""
        if retry:
            self._in_flight.discard(item)
            return []
        return [Alert("refused", f"the relay refused an envelope: {detail}"), *self._answer(item)]

    def _answer(self, item: int) -> list[Effect]:
        if item in self._answered:
            return []  # its removal is on its way already
        self._in_flight.discard(item)
        self._answered.add(item)
        return [self._stage(_Stage(removed=(item,)), [RemoveOutbox((item,))])]

    def removal_items(self, token: int) -> tuple[int, ...]:
        """The outbox items a pending RemoveOutbox persist removes."""
        stage = self._staged.get(token)
        return stage.removed if stage is not None else ()

    def removal_failed(self, token: int) -> None:
        """A RemoveOutbox persist failed (a full disk): the rows stay in the store and may be
        pushed again (the relay answers a duplicate with the same seq, and the removal is
        tried again)."""
        stage = self._staged.pop(token, None)
        if stage is not None:
            self._answered.difference_update(stage.removed)

    def local_commit(self) -> list[Effect]:
        """A local edit was committed: seal it soon; one flush timer at a time. An edit made
        ``flush_delay`` or more after the last flush is sealed at once (a teammate waits for
        it); one made sooner waits until ``flush_delay`` after it, with every edit made
        meanwhile (a burst shares one envelope)."""
        if self._flush_scheduled or self.phase is Phase.CLOSED:
            return []
        self._flush_scheduled = True
        wait = self._last_flush + self.flush_delay - self._now()
        return [StartTimer(FLUSH, min(self.flush_delay, max(0.0, wait)))]


__all__ = [
    "BACKOFF_CAP", "BACKOFF_FIRST", "FLUSH", "FLUSH_DELAY", "MOVES", "PUSH_WINDOW", "RECONNECT",
    "SNAPSHOT_EVERY", "Alert", "Apply", "Backoff", "Close", "DropFragments", "Effect", "Op",
    "Opener", "Persist", "Phase", "Position", "Push", "PutFragment", "PutQuarantine",
    "RemoveOutbox", "SaveChain", "SaveCursor", "Send", "StartTimer", "SyncMachine",
]
