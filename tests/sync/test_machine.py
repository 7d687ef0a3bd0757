"""The SyncMachine without I/O: inputs in, effects out; nothing is true before committed."""

from __future__ import annotations

import subprocess
import sys

import msgspec
import pytest
from pycrdt import Doc, Map

from mano_core.crypto import ChainState, DeviceIdentity, Keyring, MembershipLog
from mano_core.crypto import ensure_epoch_keys
from mano_core.crypto.envelope import Sealer, open_envelope
from mano_core.errors import LocalProtocolError
from mano_core.ids import Compartment, new_team_id
from mano_core.protocol import messages as m
from mano_core.sync.machine import (
    PUSH_WINDOW,
    Alert,
    Apply,
    Close,
    Persist,
    Phase,
    Push,
    PutQuarantine,
    RemoveOutbox,
    SaveCursor,
    StartTimer,
    SyncMachine,
)
from mano_core.sync.machine_delivery import to_end

G = Compartment.GENERAL


def _update() -> bytes:
    doc = Doc()
    doc.get("persons", type=Map)["p"] = "x"
    return doc.get_update()


UPDATE = _update()


def test_the_machine_imports_no_io():
    code = ("import sys, mano_core.sync.machine; print([n for n in ('asyncio', 'websockets', "
            "'aiosqlite', 'sqlite3', 'mano_core.store') if n in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


class World:
    """A team of two: ``author`` seals envelopes; the machine is the other device's."""

    def __init__(self) -> None:
        self.author = DeviceIdentity.generate()
        self.log = MembershipLog.create(new_team_id(), self.author, member="m", health=False)
        self.keyring = Keyring(self.log.team_id)
        ensure_epoch_keys(self.author, self.log, self.keyring)
        self.sealer = Sealer(self.author, self.log.team_id)
        self.machine = SyncMachine(b"\x00" * 32, self.open,
                                   positions={}, chains={c: ChainState() for c in Compartment})

    def open(self, raw: bytes, compartment: Compartment, chain: ChainState):
        return open_envelope(raw, log=self.log, keyring=self.keyring, team_id=self.log.team_id,
                             compartment=compartment, chain_state=chain)

    def seal(self, plaintext: bytes | None = None) -> bytes:
        body = plaintext if plaintext is not None else msgspec.msgpack.encode({"u": [UPDATE]})
        return self.sealer.seal(body, compartment=G, log=self.log, keyring=self.keyring)

    def online(self) -> SyncMachine:
        self.machine.connecting()
        self.machine.connected()
        return self.machine


def test_a_delivery_is_true_only_once_committed():
    w = World()
    sm = w.online()
    (persist,) = sm.received(m.Deliver(c=int(G), items=[(1, w.seal()), (2, w.seal())]))
    assert isinstance(persist, Persist)
    assert [type(op).__name__ for op in persist.ops] == ["Apply", "Apply", "SaveCursor",
                                                        "SaveChain"]
    assert sm.cursor(G) == 0 and sm.chain(G).last(w.log.team_id, G, w.author.device_id) is None
    assert sm.committed(persist.token) == []
    assert sm.cursor(G) == 2
    assert sm.chain(G).last(w.log.team_id, G, w.author.device_id)[0] == 1


def test_a_failed_persist_changes_nothing_and_the_same_envelopes_open_again():
    w = World()
    sm = w.online()
    items = [(1, w.seal()), (2, w.seal())]
    (persist,) = sm.received(m.Deliver(c=int(G), items=items))
    (close,) = sm.failed(persist.token, "StoreFullError")
    assert isinstance(close, Close)
    assert sm.cursor(G) == 0
    sm.disconnected()
    sm.timer("reconnect")
    sm.connecting()
    sm.connected()
    (again,) = sm.received(m.Deliver(c=int(G), items=items))  # re-delivered: not replays
    assert [op.seq for op in again.ops if isinstance(op, Apply)] == [1, 2]


def test_one_bad_envelope_is_quarantined_and_the_others_applied():
    w = World()
    sm = w.online()
    good1, bad, good2 = w.seal(), w.seal(b"\x91" * 5000 + b"\xc0"), w.seal()
    tampered = bytearray(w.seal())
    tampered[120] ^= 1
    items = [(1, good1), (2, bad), (3, bytes(tampered)), (4, good2)]
    (persist,) = sm.received(m.Deliver(c=int(G), items=items))
    assert [op.seq for op in persist.ops if isinstance(op, Apply)] == [1, 4]
    kept = [op.entry for op in persist.ops if isinstance(op, PutQuarantine)]
    assert [(q.seq, q.author) for q in kept] == [(2, w.author.device_id),
                                                 (3, w.author.device_id)]
    assert kept[1].code == "BadSignatureError"
    assert next(op for op in persist.ops if isinstance(op, SaveCursor)).seq == 4
    effects = sm.committed(persist.token)  # alerted at the commit, not before
    said = [e.detail for e in effects if isinstance(e, Alert) and e.kind == "quarantined"]
    assert [d.split()[:2] for d in said] == [["envelope", "2"], ["envelope", "3"]]


def test_an_update_the_document_refuses_is_quarantined_at_commit():
    w = World()
    sm = w.online()
    (persist,) = sm.received(m.Deliver(c=int(G), items=[(1, w.seal())]))
    effects = sm.committed(persist.token, refused={1: "pycrdt said no"})
    (said,) = [e.detail for e in effects if isinstance(e, Alert) and e.kind == "quarantined"]
    assert said.startswith("envelope 1 ") and "MalformedUpdateError: pycrdt said no" in said


def test_each_outbox_item_leaves_the_window_once():
    w = World()
    sm = w.online()
    items = [(i, b"env%d" % i) for i in range(PUSH_WINDOW + 10)]
    pushed = [e.item for e in sm.outbox(items) if isinstance(e, Push)]
    assert pushed == list(range(PUSH_WINDOW))
    assert sm.outbox(items) == []  # window full
    (removal,) = sm.push_acked(0)
    assert isinstance(removal, Persist) and removal.ops == (RemoveOutbox((0,)),)
    # The row is still in the store until the removal commits: it is not pushed again.
    assert [e.item for e in sm.outbox(items) if isinstance(e, Push)] == [PUSH_WINDOW]
    sm.committed(removal.token)
    assert sm.outbox(items) == []  # a read from before the removal: still not again
    sm.push_acked(1)
    assert [e.item for e in sm.outbox(items[2:]) if isinstance(e, Push)] == [PUSH_WINDOW + 1]


def test_illegal_moves_raise_and_retry_now_restarts_the_backoff():
    w = World()
    sm = w.machine
    with pytest.raises(LocalProtocolError):
        sm.received(m.Deliver(c=int(G), items=[]))  # offline: nothing can arrive
    with pytest.raises(LocalProtocolError):
        sm.connected()  # not connecting
    sm.connecting()
    (timer,) = sm.disconnected()
    assert isinstance(timer, StartTimer) and timer.name == "reconnect"
    assert sm.retry_now() == [StartTimer("reconnect", 0.0)] and sm.backoff.attempt == 0
    sm.close()
    assert sm.phase is Phase.CLOSED
    with pytest.raises(LocalProtocolError):
        sm.connecting()


def test_an_edit_after_a_quiet_spell_is_sealed_at_once_a_burst_shares_the_next_flush():
    clock = [100.0]
    machine = SyncMachine(b"\x00" * 32, lambda *a: None, positions={},  # type: ignore[arg-type]
                          chains={c: ChainState() for c in Compartment}, flush_delay=0.05,
                          now=lambda: clock[0])
    assert machine.local_commit() == [StartTimer("flush", 0.0)]  # nobody waits for a timer
    assert machine.local_commit() == []  # one timer at a time: it takes this edit too
    machine.timer("flush")
    clock[0] += 0.01  # an edit 10 ms after that flush waits for the rest of the window
    (timer,) = machine.local_commit()
    assert timer.name == "flush" and timer.delay == pytest.approx(0.04)
    clock[0] += 0.04
    machine.timer("flush")
    clock[0] += 5.0  # seconds later: at once again
    assert machine.local_commit() == [StartTimer("flush", 0.0)]
    machine.timer("flush")
    clock[0] -= 60.0  # the wall clock set back: never more than the flush delay
    assert machine.local_commit() == [StartTimer("flush", 0.05)]


def test_a_forgotten_compartment_is_caught_up_again_from_the_start_own_envelopes_too():
    """Its document dropped (the health flag withdrawn) and held again: the position and chain
    states start over, and this device's own envelopes are applied, not skipped as already
    in the document (it no longer holds them)."""
    w = World()
    w.machine = SyncMachine(w.author.device_id, w.open, positions={},
                            chains={c: ChainState() for c in Compartment})
    sm = w.online()
    items = [(1, w.seal()), (2, w.seal())]
    (persist,) = sm.received(m.Deliver(c=int(G), items=items))
    assert not [op for op in persist.ops if isinstance(op, Apply)]  # ours: in the document
    sm.committed(persist.token)
    assert sm.cursor(G) == 2
    sm.forgot(G)
    assert sm.cursor(G) == 0 and sm.chain(G).last(w.log.team_id, G, w.author.device_id) is None
    (persist,) = sm.received(m.Deliver(c=int(G), items=items))  # not refused as replays
    assert [op.seq for op in persist.ops if isinstance(op, Apply)] == [1, 2]
    sm.committed(persist.token)
    assert sm.cursor(G) == 2


def test_a_delivery_in_steps_stages_nothing_before_its_end():
    # SyncMachine.receiving: the receiver lets its loop run between two envelopes (issue 24);
    # the machine decides each envelope then, and stages the delivery only at its end.
    w = World()
    sm = w.online()
    items = [(1, w.seal()), (2, w.seal()), (3, w.seal())]
    steps = sm.receiving(m.Deliver(c=int(G), items=items))
    next(steps)
    next(steps)  # the first envelope opened, the loop's turn before the second
    assert not sm.busy and sm.cursor(G) == 0
    steps.close()  # the session ended there (a cancellation): nothing staged
    assert not sm.busy and sm.cursor(G) == 0
    (persist,) = to_end(sm.receiving(m.Deliver(c=int(G), items=items)))  # (its value)
    assert [op.seq for op in persist.ops if isinstance(op, Apply)] == [1, 2, 3]
    sm.committed(persist.token)
    assert sm.cursor(G) == 3


def test_an_echo_counted_in_a_delivery_closed_half_way_is_pushed_again():
    w = World()
    sm = SyncMachine(w.author.device_id, w.open, positions={},
                     chains={c: ChainState() for c in Compartment})
    sm.connecting()
    sm.connected()
    mine = w.seal()
    assert [e.item for e in sm.outbox([(7, mine)]) if isinstance(e, Push)] == [7]
    steps = sm.receiving(m.Deliver(c=int(G), items=[(1, mine), (2, w.seal())]), own={mine: 7})
    next(steps)
    next(steps)  # its echo opened: answered, as an ack would
    assert sm.holds(7)
    steps.close()
    assert not sm.holds(7) and not sm.busy  # not removed from the outbox: pushed again
    assert [e.item for e in sm.outbox([(7, mine)]) if isinstance(e, Push)] == [7]
