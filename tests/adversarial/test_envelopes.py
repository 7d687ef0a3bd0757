"""A member (or someone holding a member's key) pushing envelopes it should not: the relay or
the receivers refuse them, say so in SyncState.alerts, and the document stays intact."""

from __future__ import annotations

import os
import uuid

import pytest

from mano_core.crypto import _wire
from mano_core.crypto.envelope import HEADER_SIZE, Envelope, seal
from mano_core.errors import RelayRefusedError, WrongContextError
from mano_core.ids import Compartment
from mano_core.protocol.codes import ErrorCode
from mano_core.sync.transport import RelayClient
from tests.sync.helpers import content, eventually

pytestmark = pytest.mark.timeout(180)


def sealed_by(keys, counter: int, text: bytes = b"x", *, team_id: bytes | None = None,
              compartment: Compartment = Compartment.GENERAL, keyring=None) -> bytes:
    """An envelope signed by ``keys``' device; a random chain link unless counter is 0."""
    prev = _wire.ZERO_HASH if counter == 0 else os.urandom(32)
    return seal(keys.identity, keyring or keys.keyring, team_id=team_id or keys.team_id,
                compartment=compartment, epoch=keys.log.epoch(compartment), counter=counter,
                prev_hash=prev, plaintext=b"\x81\xa1u\x90")  # msgpack {"u": []}


async def member_client(url: str, keys) -> RelayClient:
    c = await RelayClient.connect(url)
    await c.authenticate(keys.identity, keys.team_id)
    return c


async def test_tampered_envelope_is_rejected_by_receivers_and_reported(pair, url):
    p = pair
    await p.team_a.persons.create(name="Intact")
    await p.sync_a.wait_synced()
    before = content(p.team_a)
    env = bytearray(sealed_by(p.keys_b, 500))
    env[HEADER_SIZE + 2] ^= 0x01  # one ciphertext bit: the signature no longer verifies
    async with await member_client(url, p.keys_b) as b:
        await b.push(bytes(env))  # the relay cannot tell: it never holds keys
    await eventually(lambda: any(a.kind == "quarantined" for a in p.sync_a.state.alerts), 10,
                     "a 'quarantined' alert")
    assert "signature" in p.sync_a.state.alerts[-1].detail
    (kept,) = p.sync_a.state.quarantine  # kept, named, never applied
    assert kept.author == p.keys_b.identity.device_id and kept.code == "BadSignatureError"
    assert content(p.team_a) == before
    # The receiver goes on: a legitimate edit after it still arrives.
    await p.team_a.persons.create(name="After")
    await p.sync_a.wait_synced()
    assert {r.name for r in p.team_a.persons.list()} == {"Intact", "After"}


async def test_replayed_envelope_is_deduplicated_and_applied_once(pair, url):
    p = pair
    async with await p.b.sync(p.team_b, url) as sb:
        await p.team_b.persons.create(name="Once")
        await sb.wait_synced()
    await eventually(lambda: len(p.team_a.persons.list()) == 1, 60, "b's edit on a")
    async with await member_client(url, p.keys_b) as b:
        await b.subscribe(0, 0)
        got = await b.recv(5)
        mine = [e for _, e in got.items if Envelope.parse(e).header.author ==
                p.keys_b.identity.device_id]
        assert mine
        ack = await b.push(mine[-1])  # the same bytes again
        assert ack.dup
    await p.sync_a.wait_synced()
    assert [r.name for r in p.team_a.persons.list()] == ["Once"]


async def test_envelope_of_another_team_is_refused_by_the_relay(pair, url):
    p = pair
    other = await p.b.create_team("Autre équipe")  # b is admin of a second team
    keys_other = await p.b.vault.team(uuid.UUID(other.id).bytes)
    spliced = sealed_by(keys_other, 0)
    async with await member_client(url, p.keys_b) as b:
        with pytest.raises(RelayRefusedError) as err:
            await b.push(spliced)
    assert err.value.code == ErrorCode.BAD_ENVELOPE


async def test_medical_envelope_from_a_device_without_medical_access_is_forbidden(pair, url):
    p = pair
    # b holds no medical key, so it forges the header with the general key: still refused.
    raw = bytearray(sealed_by(p.keys_b, 0))
    raw[17] = int(Compartment.MEDICAL)
    async with await member_client(url, p.keys_b) as b:
        with pytest.raises(RelayRefusedError) as err:
            await b.push(bytes(raw))
    assert err.value.code == ErrorCode.FORBIDDEN


async def test_member_forging_another_devices_author_id_is_refused(pair, url):
    p = pair
    raw = bytearray(sealed_by(p.keys_b, 0))
    raw[22:54] = p.sync_a.keys.identity.device_id  # claims to be the admin's device
    async with await member_client(url, p.keys_b) as b:
        with pytest.raises(RelayRefusedError) as err:
            await b.push(bytes(raw))
    assert err.value.code == ErrorCode.BAD_ENVELOPE
    assert "author" in str(err.value)


async def test_removed_device_can_neither_push_nor_read(pair, url):
    p = pair
    b = await member_client(url, p.keys_b)
    try:
        await b.subscribe(0, 0)
        await p.sync_a.remove_device(p.keys_b.identity.device_id)
        await eventually(lambda: b.closed_error is not None, 60, "b's session closed")
        assert b.closed_error.code == ErrorCode.REVOKED
    finally:
        await b.close()
    with pytest.raises(RelayRefusedError) as err:
        await member_client(url, p.keys_b)
    assert err.value.code == ErrorCode.AUTH_FAILED  # protocol.md §: "its later auth fails"
    # Its own sync client stops for good, and what the team writes next never reaches it.
    await p.team_a.persons.create(name="Après le départ")
    await p.sync_a.wait_synced()
    async with await p.b.sync(p.team_b, url) as sb:
        await eventually(lambda: sb.state.status.value == "refused", 60, "b refused")
    assert p.team_b.persons.list() == []


async def test_receiver_refuses_a_general_envelope_delivered_as_medical(pair):
    """Compartment splice seen from a receiver: WrongContextError, nothing applied."""
    env = sealed_by(pair.keys_b, 0)
    with pytest.raises(WrongContextError):
        pair.sync_a.keys.open(env, Compartment.MEDICAL)


async def test_envelope_with_undecodable_content_is_rejected_and_sync_goes_on(pair, url):
    """Found by fuzzing payload.decode: a member's envelope whose plaintext holds invalid
    UTF-8 made the receiver's session fail (UnicodeDecodeError) at every reconnection, so one
    member could stop everyone's sync. It is now rejected with an alert, once."""
    p = pair
    poison = seal(p.keys_b.identity, p.keys_b.keyring, team_id=p.keys_b.team_id,
                  compartment=Compartment.GENERAL, epoch=p.keys_b.log.epoch(Compartment.GENERAL),
                  counter=0, prev_hash=_wire.ZERO_HASH, plaintext=b"\xa3\x00\x00\x80")
    async with await member_client(url, p.keys_b) as b:
        await b.push(poison)
    await eventually(lambda: any(a.kind == "quarantined" for a in p.sync_a.state.alerts), 10,
                     "a 'quarantined' alert")
    assert [q.code for q in p.sync_a.state.quarantine] == ["MalformedUpdateError"]
    await p.team_a.persons.create(name="Toujours là")
    await p.sync_a.wait_synced(60)
    error = p.sync_a.state.last_error
    assert error is None or "UnicodeDecodeError" not in error
