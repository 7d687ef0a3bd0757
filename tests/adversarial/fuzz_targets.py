"""Fuzz targets shared by the hypothesis tests (test_fuzz.py) and the atheris driver
(atheris_fuzz.py): each takes arbitrary bytes and may raise only a ManoError subclass."""

from __future__ import annotations

from functools import cache

from mano_core.crypto.chain import ChainState
from mano_core.crypto.envelope import Envelope, open_envelope
from mano_core.crypto.keyring import Keyring
from mano_core.document.team_doc import DocumentCore
from mano_core.document.ydeps import read_deps
from mano_core.errors import ManoError
from mano_core.model.records import Person
from mano_core.ids import Compartment
from mano_core.protocol import codec
from mano_core.sync import payload
from mano_core.sync import presence as presence_mod
from mano_core.sync import snapshot as snapshot_mod
from mano_core.sync import snapshot_readers, snapshot_v2
from mano_core.sync.presence import open_presence
from mano_core.sync.snapshot import open_snapshot
from tests.relay.kit import TeamKit


@cache
def kit() -> tuple[TeamKit, bytes, bytes]:
    """A team with two members and two valid envelopes of bob's (counters 0 and 1)."""
    k = TeamKit("bob")
    first = k["bob"].seal(payload.encode_batches([b"\x00\x00"]).__next__())
    second = k["bob"].seal(b"\x81\xa1u\x90")
    return k, first, second


def parse(data: bytes) -> None:
    Envelope.parse(data)


def open_(data: bytes) -> None:
    k, first, _ = kit()
    admin = k["admin"]
    chain = ChainState()
    open_envelope(first, log=admin.log, keyring=admin.keyring, team_id=k.team_id,
                  compartment=Compartment.GENERAL, chain_state=chain)
    open_envelope(data, log=admin.log, keyring=admin.keyring, team_id=k.team_id,
                  compartment=Compartment.GENERAL, chain_state=chain)


def open_delivery(data: bytes) -> None:
    """A delivery of bob's first envelope and ``data``, batch-authenticated and opened as the
    sync driver opens it (the compiled opening first, ynative, falling back to open_envelope),
    and by the Python reference alone: the same plaintexts or errors and the same chain state,
    or AssertionError (not a ManoError: the fuzz test fails)."""
    from mano_core.crypto import batch
    from mano_core.document import ynative

    k, first, _ = kit()
    admin = k["admin"]
    delivery = [first, data]
    outcomes: list[list[object]] = []
    chains: list[ChainState] = []
    for compiled in (ynative.compiled, None):
        batch._LINKS.compiled = compiled
        try:
            known = batch.authenticated_by_chain(delivery, team_id=k.team_id,
                                                 compartment=Compartment.GENERAL)
        finally:
            batch._LINKS.compiled = ynative.compiled
        opener = (compiled.KnownOpener(known, k.team_id, admin.log, admin.keyring)
                  if compiled is not None else None)
        chain, got = ChainState(), []
        for raw in delivery:
            opened = opener(raw, Compartment.GENERAL, chain) if opener is not None else None
            if opened is None:
                try:
                    opened = open_envelope(raw, log=admin.log, keyring=admin.keyring,
                                           team_id=k.team_id, compartment=Compartment.GENERAL,
                                           chain_state=chain, authenticated=known)
                except ManoError as exc:
                    opened = (type(exc).__name__, str(exc))
            got.append(opened if isinstance(opened, tuple) else opened.plaintext)
        outcomes.append(got)
        chains.append(chain)
    assert outcomes[0] == outcomes[1], outcomes
    assert chains[0]._last == chains[1]._last and chains[0].reports == chains[1].reports


def decode_payload(data: bytes) -> None:
    content = payload.decode(data)
    if isinstance(content, payload.Fragment):
        payload.join_fragments([content])


def deps(data: bytes) -> None:
    read_deps(data)


def frame(data: bytes) -> None:
    codec.decode(data)


def _seal_general(k: TeamKit, body: bytes, ad: bytes) -> tuple[bytes, bytes]:
    nonce = b"\x00" * 12
    return nonce, k["bob"].keyring.aead(Compartment.GENERAL, 0).encrypt(nonce, body, ad)


def presence(data: bytes) -> None:
    """``data`` as the body of a presence message correctly sealed by bob."""
    k, _, _ = kit()
    bob = k["bob"].identity.device_id
    nonce, ct = _seal_general(k, data, presence_mod._AD + k.team_id + bob)
    open_presence(k["admin"].keyring, k.team_id, bob, b"\x00\x00\x00\x00" + nonce + ct)


def snapshot_body(data: bytes) -> None:
    """``data`` as the plaintext body of a snapshot correctly sealed and signed by bob."""
    k, _, _ = kit()
    bob = k["bob"].identity
    header = snapshot_mod._HEADER.pack(snapshot_mod.VERSION, k.team_id, 0, 0, bob.device_id,
                                       1, b"\x00" * 12)
    _, ct = _seal_general(k, data, header)
    raw = header + ct + bob.sign(header + ct, domain=snapshot_mod.DOMAIN)
    snap = open_snapshot(raw, log=k["admin"].log, keyring=k["admin"].keyring,
                         team_id=k.team_id, compartment=Compartment.GENERAL)
    read_deps(snap.state)


def snapshot_v2_blob(data: bytes) -> None:
    """``data[1:]`` as a version-2 snapshot downloaded in two parts, the first of
    ``4 * data[0]`` bytes, read by a device of bob's team (mutations of a valid one reach the
    pieces)."""
    k, _, _ = kit()
    reader = snapshot_v2.SnapshotReader(log=k["admin"].log, keyring=k["admin"].keyring,
                                        team_id=k.team_id, compartment=Compartment.GENERAL)
    cut, body = (data[0] * 4, data[1:]) if data else (0, b"")
    for update in reader.feed(body[:cut]) + reader.feed(body[cut:]):
        read_deps(update)
    reader.finish()


def snapshot_v2_piece(data: bytes) -> None:
    """``data`` as the one update of a version-2 snapshot correctly sealed and signed by bob,
    then read as a receiver reads each piece before it applies it."""
    k, _, _ = kit()
    bob = k["bob"]
    raw = snapshot_v2.seal_pieces(bob.identity, bob.keyring, team_id=k.team_id,
                                  compartment=Compartment.GENERAL, epoch=0, upto=1,
                                  updates=[data], chain=ChainState(), nonce=b"\x00" * 12)
    snap = snapshot_v2.open_snapshot_v2(raw, log=k["admin"].log, keyring=k["admin"].keyring,
                                        team_id=k.team_id, compartment=Compartment.GENERAL)
    for update in snap.updates:
        read_deps(update)


def snapshot_reader(data: bytes) -> None:
    """``data`` as bob's reader statement in the general document's ``snapshotReaders``
    (docs/protocol.md §15): never raises, and counts only bob's own statement, byte for byte
    (Ed25519 is deterministic)."""
    k, _, _ = kit()
    bob = k["bob"].identity
    read = snapshot_readers.reads(data, team_id=k.team_id, device_id=bob.device_id)
    if read != 1 and data != snapshot_readers.statement(bob, k.team_id, read):
        raise AssertionError("a statement that is not bob's counted")


def apply_update(data: bytes) -> None:
    """``data`` as a teammate's CRDT update, through the document as a delivery applies it."""
    core = DocumentCore(Compartment.GENERAL, [Person], author="fuzz")
    core.apply_update(data)
    core.collections["persons"].list()


def key_package(data: bytes) -> None:
    k, _, _ = kit()
    Keyring(k.team_id).accept_package(k["bob"].identity, data, k["admin"].log)


TARGETS = {"parse": parse, "open": open_, "open_delivery": open_delivery,
           "payload": decode_payload, "ydeps": deps, "frame": frame, "presence": presence,
           "snapshot": snapshot_body, "snapshot_v2": snapshot_v2_blob,
           "snapshot_v2_piece": snapshot_v2_piece, "snapshot_reader": snapshot_reader,
           "update": apply_update, "key_package": key_package}
