"""Envelopes: round trip, tamper detection byte by byte, replay, context binding, authorship."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mano_core.crypto import (
    HEADER_SIZE,
    ChainState,
    DeviceIdentity,
    Envelope,
    Role,
    envelope_hash,
    open_envelope,
    seal,
)
from mano_core.crypto._wire import DOMAIN_ENVELOPE, ZERO_HASH
from mano_core.errors import (
    BadSignatureError,
    DecryptionError,
    EnvelopeError,
    MalformedEnvelopeError,
    MissingKeyError,
    ReplayError,
    UnauthorizedAuthorError,
    WrongContextError,
)
from mano_core.ids import Compartment, new_team_id
from tests.harness.keys import KeyTeam

GENERAL = Compartment.GENERAL
MEDICAL = Compartment.MEDICAL


def test_round_trip_between_devices(team: KeyTeam) -> None:
    bob = team.add()
    raw = team.founder.seal(b"person 42: name changed")
    opened = bob.open(raw)
    assert opened.plaintext == b"person 42: name changed"
    h = opened.envelope.header
    assert (h.team_id, h.compartment, h.epoch, h.author, h.counter, h.prev_hash) == (
        team.team_id, GENERAL, 0, team.founder.id, 0, ZERO_HASH,
    )
    second = team.founder.seal(b"")
    opened2 = bob.open(second)
    assert opened2.plaintext == b""
    assert opened2.envelope.header.counter == 1
    assert opened2.envelope.header.prev_hash == envelope_hash(raw)


def test_relay_reads_header_without_keys(team: KeyTeam) -> None:
    raw = team.founder.seal(b"x" * 100)
    env = Envelope.parse(raw)
    assert env.header.team_id == team.team_id and env.header.author == team.founder.id
    assert len(raw) == HEADER_SIZE + 100 + 16 + 64
    assert env.raw[:HEADER_SIZE] == env.header.to_bytes()
    assert b"x" * 16 not in raw


def test_every_single_byte_flip_is_rejected(team: KeyTeam) -> None:
    bob = team.add()
    raw = team.founder.seal(b"small edit batch")
    before = bob.chain.to_bytes()
    seen: set[type[EnvelopeError]] = set()
    for i in range(len(raw)):
        for mask in (0x01, 0x80, 0xFF):
            tampered = bytearray(raw)
            tampered[i] ^= mask
            with pytest.raises(EnvelopeError) as err:
                bob.open(bytes(tampered))
            seen.add(type(err.value))
    assert bob.chain.to_bytes() == before, "a rejected envelope changed the chain state"
    assert bob.open(raw).plaintext == b"small edit batch"
    # each part is checked by its own rule
    assert {MalformedEnvelopeError, WrongContextError, UnauthorizedAuthorError,
            BadSignatureError} <= seen


def test_replay_is_rejected(team: KeyTeam) -> None:
    bob = team.add()
    first = team.founder.seal(b"a")
    second = team.founder.seal(b"b")
    bob.open(first)
    bob.open(second)
    with pytest.raises(ReplayError):
        bob.open(second)
    with pytest.raises(ReplayError):
        bob.open(first)


def test_gap_is_reported_not_fatal(team: KeyTeam) -> None:
    bob = team.add()
    envelopes = [team.founder.seal(bytes([i])) for i in range(5)]
    bob.open(envelopes[0])
    assert bob.open(envelopes[3]).plaintext == b"\x03"  # 1 and 2 pruned by the relay
    (report,) = bob.chain.take_reports()
    assert report.missing == range(1, 3) and not report.forked
    assert report.author == team.founder.id
    bob.open(envelopes[4])
    assert bob.chain.take_reports() == []
    with pytest.raises(ReplayError):  # a gap is not filled later
        bob.open(envelopes[1])


def test_first_seen_after_a_snapshot_reports_the_gap(team: KeyTeam) -> None:
    bob = team.add()
    envelopes = [team.founder.seal(bytes([i])) for i in range(3)]
    bob.open(envelopes[2])
    (report,) = bob.chain.take_reports()
    assert report.missing == range(0, 2)


def test_chain_state_survives_serialisation(team: KeyTeam) -> None:
    bob = team.add()
    raw = team.founder.seal(b"a")
    bob.open(raw)
    bob.chain = ChainState.from_bytes(bob.chain.to_bytes())
    with pytest.raises(ReplayError):
        bob.open(raw)
    assert bob.open(team.founder.seal(b"b")).plaintext == b"b"


def test_envelope_moved_to_another_team_or_compartment(health_team: KeyTeam) -> None:
    team = health_team
    nurse = team.add(health=True)
    raw = team.founder.seal(b"general")
    medical = team.founder.seal(b"medical", MEDICAL)
    with pytest.raises(WrongContextError):
        nurse.open(raw, MEDICAL)
    with pytest.raises(WrongContextError):
        nurse.open(medical, GENERAL)
    with pytest.raises(WrongContextError):
        open_envelope(raw, log=nurse.log, keyring=nurse.keyring, team_id=new_team_id(),
                      compartment=GENERAL, chain_state=nurse.chain)
    assert nurse.open(raw).plaintext == b"general"
    assert nurse.open(medical, MEDICAL).plaintext == b"medical"


def _resign(author: DeviceIdentity, raw: bytes, offset: int, value: bytes) -> bytes:
    """The author rewrites its own header and signs again: only the AEAD binding is left."""
    header = bytearray(raw[:HEADER_SIZE])
    header[offset : offset + len(value)] = value
    signed = bytes(header) + raw[HEADER_SIZE:-64]
    return signed + author.sign(signed, domain=DOMAIN_ENVELOPE)


def test_header_bound_by_aead_even_if_resigned(health_team: KeyTeam) -> None:
    team = health_team
    bob = team.add(health=True)
    team.remove(team.add())  # epoch 1 now exists for both compartments
    raw = seal(team.founder.identity, team.founder.keyring, team_id=team.team_id,
               compartment=GENERAL, epoch=0, counter=0, prev_hash=ZERO_HASH, plaintext=b"e0")
    to_epoch_1 = _resign(team.founder.identity, raw, 18, struct.pack(">I", 1))
    to_medical = _resign(team.founder.identity, raw, 17, b"\x01")
    with pytest.raises(DecryptionError):
        bob.open(to_epoch_1)
    with pytest.raises(DecryptionError):
        bob.open(to_medical, MEDICAL)
    assert bob.open(raw).plaintext == b"e0"


def test_device_not_in_log_cannot_write(team: KeyTeam) -> None:
    bob = team.add()
    outsider = DeviceIdentity.generate()
    # even holding a stolen content key, the outsider is not in the log
    raw = seal(outsider, team.founder.keyring, team_id=team.team_id, compartment=GENERAL,
               epoch=0, counter=0, prev_hash=ZERO_HASH, plaintext=b"forged")
    with pytest.raises(UnauthorizedAuthorError):
        bob.open(raw)
    # nor can it pass its envelope off as a member's: the signature is the member's
    forged = raw[:22] + team.founder.id + raw[54:]
    with pytest.raises(BadSignatureError):
        bob.open(forged)


def test_restricted_and_non_health_cannot_write_medical(health_team: KeyTeam) -> None:
    team = health_team
    nurse = team.add(health=True)
    restricted = team.add(role=Role.RESTRICTED, health=True)
    assert not restricted.log.can_write(restricted.id, MEDICAL, 0)
    assert not restricted.keyring.epochs(MEDICAL)
    # a medical envelope signed by a non-health author is refused before decryption
    raw = seal(restricted.identity, nurse.keyring, team_id=team.team_id, compartment=MEDICAL,
               epoch=0, counter=0, prev_hash=ZERO_HASH, plaintext=b"x")
    with pytest.raises(UnauthorizedAuthorError):
        nurse.open(raw, MEDICAL)


def test_sealer_refuses_compartments_it_may_not_write(team: KeyTeam) -> None:
    with pytest.raises(UnauthorizedAuthorError):
        team.founder.seal(b"medical", MEDICAL)  # the founder is not a health professional


def test_sealer_waits_for_the_new_epoch_key(health_team: KeyTeam) -> None:
    team = health_team
    nurse, leaver = team.add(health=True), team.add()
    team.publish(team.founder.log.remove_device(team.founder.identity, leaver.id))
    # the new keys have not reached the nurse yet: no fallback to the epoch the leaver can read
    with pytest.raises(MissingKeyError):
        nurse.seal(b"after removal")
    team.sync_keys()
    assert nurse.seal(b"after removal")[18:22] == b"\x00\x00\x00\x01"


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_random_mutations_only_raise_envelope_errors(data: st.DataObject) -> None:
    team = _SHARED_TEAM
    raw = _SHARED_RAW
    mutated = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(mutated) - 1))
        mutated[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.sampled_from([None, "truncate", "extend"]))
    if cut == "truncate":
        mutated = mutated[: data.draw(st.integers(0, len(mutated) - 1))]
    elif cut == "extend":
        mutated += data.draw(st.binary(min_size=1, max_size=8))
    if bytes(mutated) == raw:
        return
    chain = ChainState()
    with pytest.raises(EnvelopeError):
        open_envelope(bytes(mutated), log=team.founder.log, keyring=team.founder.keyring,
                      team_id=team.team_id, compartment=GENERAL, chain_state=chain)
    assert chain.to_bytes() == ChainState().to_bytes()


@given(st.binary(max_size=400))
def test_parse_of_arbitrary_bytes_raises_only_malformed(data: bytes) -> None:
    try:
        Envelope.parse(data)
    except MalformedEnvelopeError:
        pass


_SHARED_TEAM = KeyTeam()
_SHARED_RAW = _SHARED_TEAM.founder.seal(b"0123456789abcdef")


def test_seal_refuses_inconsistent_arguments(team: KeyTeam) -> None:
    me, ring = team.founder.identity, team.founder.keyring
    with pytest.raises(MalformedEnvelopeError):
        seal(me, ring, team_id=team.team_id, compartment=GENERAL, epoch=0, counter=0,
             prev_hash=b"\x01" * 32, plaintext=b"")
    with pytest.raises(MalformedEnvelopeError):
        seal(me, ring, team_id=team.team_id, compartment=GENERAL, epoch=0, counter=-1,
             prev_hash=ZERO_HASH, plaintext=b"")
    with pytest.raises(MissingKeyError):
        seal(me, ring, team_id=new_team_id(), compartment=GENERAL, epoch=0, counter=0,
             prev_hash=ZERO_HASH, plaintext=b"")
    with pytest.raises(MissingKeyError):
        seal(me, ring, team_id=team.team_id, compartment=GENERAL, epoch=3, counter=0,
             prev_hash=ZERO_HASH, plaintext=b"")
