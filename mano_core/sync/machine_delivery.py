"""The sync machine's deliveries and downloaded snapshots (see machine.py): each envelope of a
delivery opened and decoded on its own, a bad one quarantined alone; what they carry staged
as one Persist (updates, quarantine rows, cursor, chain states, fragments)."""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from typing import TypeVar

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
    Alert,
    Apply,
    DropFragments,
    Effect,
    Op,
    PutFragment,
    PutQuarantine,
    RemoveOutbox,
    SaveChain,
    SaveCursor,
)
from mano_core.sync.machine_core import MachineCore, _Stage
from mano_core.sync.state import Quarantined

T = TypeVar("T")


def to_end(steps: Generator[None, None, T]) -> T:
    """Run the generator ``steps`` to its end at once and return its value (what
    ``mano_core.loop_turns.finish`` does with the event loop let run between steps)."""
    while True:
        try:
            next(steps)
        except StopIteration as end:
            return end.value  # type: ignore[no-any-return]


class Delivering(MachineCore):
    """Deliveries (``received``) and snapshots (``snapshot``, ``snapshot_uploaded``)."""

    # --- deliveries ----------------------------------------------------------------------------

    def received(self, message: m.Message,
                 own: Mapping[bytes, int] | None = None) -> list[Effect]:
        """A message from the relay that answers no request: today a Deliver. ``own`` maps
        the exact bytes of envelopes this device pushed (committed in its sealed outbox) to
        their outbox item: one coming back is stored at the relay (it delivers only what it
        committed), so its row is removed with this delivery's commit, and its ack then has
        nothing left to do (one commit on this device instead of two)."""
        return to_end(self.receiving(message, own))

    def receiving(self, message: m.Message, own: Mapping[bytes, int] | None = None,
                  ) -> Generator[None, None, list[Effect]]:
        """``received`` in steps: the generator yields before each envelope of a delivery is
        opened and decoded, so that its driver may let its event loop run between two
        (``loop_turns.finish``; issue 24: 2,000 envelopes were one stretch of the loop); its
        value is ``received``'s effects. What it decided is staged at its end only, as one
        Persist; closed before its end, it stages nothing and takes back the echoes it had
        counted as answered (pushed again, as after a failed delivery)."""
        self._move("received")
        if isinstance(message, m.Deliver):
            return (yield from self._deliver(Compartment(message.c), message.items, own or {}))
        raise LocalProtocolError(f"sync machine: cannot handle {type(message).__name__}")

    def _deliver(self, c: Compartment, items: Sequence[tuple[int, bytes]],
                 own: Mapping[bytes, int]) -> Generator[None, None, list[Effect]]:
        # One generator for the whole delivery, its per-envelope step in one frame (issue 24:
        # a catch-up runs it 10,000 times; each nested generator, method call and attribute
        # look-up is paid per envelope): the same checks, in the same order, as the steps
        # were written before (the opening, the author's own, access, then the content).
        echoed: list[int] = []  # outbox items of this device's own envelopes coming back
        pos, chain, frags = self._base(c)
        stage = _Stage()
        ops: list[Op] = []
        effects: list[Effect] = []
        start = pos.seq
        opener, me, rebuilding, live_after = self._open, self.me, self.rebuilding, \
            self.live_after
        applies, add_op, decode, batch = stage.applies, ops.append, payload.decode, \
            payload.Batch
        try:
            for seq, raw in items:
                if seq <= pos.seq:
                    continue  # already applied (a resumed stream may overlap)
                yield  # (the loop may run: nothing of this delivery is staged yet)
                if seq != pos.seq + 1:
                    # The relay's sequences have no gap: this one withheld envelopes (this
                    # device's own failures never step over any: a failed Persist closes the
                    # session). The authors' chains tell what is missing; say it, and go on.
                    stage.alerts.append(Alert("skipped", f"the relay skipped {c.name} "
                                                         f"sequences {pos.seq + 1}..{seq - 1}"))
                try:
                    opened = opener(raw, c, chain)
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
                author = h.author
                if author == me and c not in rebuilding:
                    item = own.get(raw)
                    if item is not None and item not in self._answered:
                        self._in_flight.discard(item)  # answered by its echo, as an ack would
                        self._answered.add(item)
                        echoed.append(item)
                    continue  # our own edit, already in the document
                if seq > live_after.get(c, seq) and not self._has_access(author, c):
                    self._quarantine(stage, ops, c, seq, raw, UnauthorizedAuthorError(
                        "its author no longer has access to it"), opened)
                    continue
                try:  # the updates it carries (a batch, or a fragment group complete)
                    content = decode(opened.plaintext)
                    if isinstance(content, batch):
                        updates = tuple(content.u)
                    else:
                        updates = self._joined(content, frags, ops)
                    for update in updates:
                        read_deps(update)  # MalformedUpdateError before anything applies
                except Exception as exc:  # noqa: BLE001 - decoders may raise anything: isolate
                    self._quarantine(stage, ops, c, seq, raw, exc, opened)
                    continue
                if updates:
                    op = Apply(c, seq, author, h.counter, raw, updates)
                    applies[seq] = op
                    add_op(op)
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
        except BaseException:
            self._answered.difference_update(echoed)  # not staged: not answered
            raise

    def _joined(self, fragment: payload.Fragment, frags: dict[bytes, list[payload.Fragment]],
                ops: list[Op]) -> tuple[bytes, ...]:
        """The updates of the batch ``fragment`` completes, or () while its group is
        incomplete (or for a fragment seen already)."""
        group = frags.setdefault(fragment.g, [])
        if any(f.i == fragment.i for f in group):
            return ()  # a fragment seen already
        group.append(fragment)
        if len({f.i for f in group}) < fragment.n:
            ops.append(PutFragment(fragment))
            return ()
        del frags[fragment.g]
        ops.append(DropFragments(fragment.g, tuple(f.i for f in group if f is not fragment)))
        return tuple(payload.join_fragments(group).u)

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
