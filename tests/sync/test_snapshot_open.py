"""Opening a downloaded snapshot from its parts (issue 24: the first sync's pipeline): the
signature's check and the decryption run at once in worker threads, but each failure is the
one ``open_snapshot`` names, in the same order, and nothing of a refused snapshot is returned.
Every tampering below changes the bytes deterministically (an XOR with 1 always changes).
Each test runs twice: the parts given as a list, and added to a SnapshotFrame one by one as a
download adds them (the first sync's path)."""

from __future__ import annotations

import sys

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mano_core.crypto import Keyring
from mano_core.errors import (
    BadSignatureError,
    DecryptionError,
    MalformedEnvelopeError,
    MalformedUpdateError,
    MissingKeyError,
    UnauthorizedAuthorError,
)
from mano_core.ids import Compartment
from mano_core.sync.snapshot import (
    HEADER_SIZE,
    SIG_SIZE,
    SnapshotFrame,
    open_snapshot,
    open_snapshot_parts,
    seal_snapshot,
    snapshot_author,
)

GENERAL = Compartment.GENERAL
FRAMED = False  # (set by _framing)


@pytest.fixture(autouse=True, params=["as a list", "framed as they arrive"])
def _framing(request, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "FRAMED", request.param != "as a list")


class _OtherKey:
    """A keyring holding another key for the epoch (a snapshot sealed by a device that
    signs as itself but encrypts with a key this team's devices do not have)."""

    def aead(self, _c: Compartment, _epoch: int) -> AESGCM:
        return AESGCM(bytes(range(32)))


async def _keys(make_device):
    a = await make_device("a")
    team = await a.create_team("Maraude")
    await team.persons.create(name="Personne 1")
    keys = await a.vault.team((await a.vault.team_ids())[0])
    state = team.compartment(GENERAL).core.encode_state()
    return keys, state


def _seal(keys, state, keyring=None) -> bytes:
    return seal_snapshot(keys.identity, keyring or keys.keyring, team_id=keys.team_id,
                         compartment=GENERAL, epoch=0, upto=7, state=state,
                         chain=keys.chain(GENERAL))


def _split(raw: bytes) -> list[bytes]:
    """Parts as a relay may cut them: the header itself over three parts."""
    return [raw[:5], raw[5:40], raw[40:HEADER_SIZE + 100], raw[HEADER_SIZE + 100:]]


async def _open(keys, parts, keyring=None):
    if FRAMED:
        frame = SnapshotFrame()
        for part in parts:
            frame.add(part)
        assert frame.size == sum(map(len, parts)) and frame.parts == len(parts)
        parts = frame
    return await open_snapshot_parts(parts, log=keys.log, keyring=keyring or keys.keyring,
                                     team_id=keys.team_id, compartment=GENERAL)


async def test_the_parts_open_as_the_whole(make_device):
    keys, state = await _keys(make_device)
    raw = _seal(keys, state)
    whole = open_snapshot(raw, log=keys.log, keyring=keys.keyring, team_id=keys.team_id,
                          compartment=GENERAL)
    parted = await _open(keys, _split(raw))
    assert (parted.compartment, parted.epoch, parted.author, parted.upto, parted.state) == (
        whole.compartment, whole.epoch, whole.author, whole.upto, whole.state)
    assert parted.chain.to_bytes() == whole.chain.to_bytes() == keys.chain(GENERAL).to_bytes()
    assert parted.state == state and parted.upto == 7
    assert parted.author == keys.identity.device_id
    assert snapshot_author(_split(raw)) == keys.identity.device_id == snapshot_author(raw)
    assert snapshot_author([raw[:10]]) == b""  # too short to name anyone
    frame = SnapshotFrame()
    for part in _split(raw):
        frame.add(part)
        # what the first sync asks once the download is over, whatever arrived
        assert snapshot_author(frame.header()) in (b"", keys.identity.device_id)
    assert snapshot_author(frame.header()) == keys.identity.device_id


@pytest.mark.parametrize("where", ["signature", "ciphertext", "header"])
async def test_a_tampered_snapshot_is_refused_by_its_signature(make_device, where):
    keys, state = await _keys(make_device)
    raw = bytearray(_seal(keys, state))
    at = {"signature": len(raw) - SIG_SIZE + 3, "ciphertext": HEADER_SIZE + 50,
          "header": HEADER_SIZE - 5}[where]  # (the header's byte: in the nonce)
    raw[at] ^= 1
    with pytest.raises(BadSignatureError):
        await _open(keys, _split(bytes(raw)))


async def test_a_signed_snapshot_under_another_key_fails_its_decryption(make_device):
    # Signed by a member who may write, so only the AEAD refuses it: the decryption's result
    # is judged, not only the signature's.
    keys, state = await _keys(make_device)
    raw = _seal(keys, state, keyring=_OtherKey())
    with pytest.raises(DecryptionError):
        await _open(keys, _split(raw))


async def test_a_missing_key_comes_after_the_signature(make_device):
    keys, state = await _keys(make_device)
    raw = _seal(keys, state)
    empty = Keyring(keys.team_id)
    with pytest.raises(MissingKeyError):
        await _open(keys, _split(raw), keyring=empty)
    forged = bytearray(raw)
    forged[-1] ^= 1
    with pytest.raises(BadSignatureError):  # a forgery is a forgery, key or not
        await _open(keys, _split(bytes(forged)), keyring=empty)


async def test_truncated_or_foreign_snapshots_are_refused_before_any_thread(make_device):
    keys, state = await _keys(make_device)
    raw = _seal(keys, state)
    with pytest.raises(MalformedEnvelopeError):
        await _open(keys, [raw[:HEADER_SIZE + 16 + SIG_SIZE - 1]])
    with pytest.raises(MalformedEnvelopeError):
        await _open(keys, [])
    truncated = _split(raw)[:-1] + [raw[HEADER_SIZE + 100:-1]]  # the last byte lost
    with pytest.raises(BadSignatureError):
        await _open(keys, truncated)
    stranger = bytearray(raw)
    stranger[1 + 16 + 1 + 4] ^= 1  # the author's id: someone the log does not know
    with pytest.raises(UnauthorizedAuthorError):
        await _open(keys, _split(bytes(stranger)))


async def test_parts_swapped_or_repeated_are_refused(make_device):
    keys, state = await _keys(make_device)
    raw = _seal(keys, state)
    n = (len(raw) - HEADER_SIZE) // 3
    parts = [raw[:HEADER_SIZE], raw[HEADER_SIZE:HEADER_SIZE + n],
             raw[HEADER_SIZE + n:HEADER_SIZE + 2 * n], raw[HEADER_SIZE + 2 * n:]]
    assert parts[1] != parts[2]
    with pytest.raises(BadSignatureError):  # same bytes, same length, another order
        await _open(keys, [parts[0], parts[2], parts[1], parts[3]])
    with pytest.raises(BadSignatureError):  # a part given twice (a relay's replay of it)
        await _open(keys, [parts[0], parts[1], parts[1], parts[2], parts[3]])
    assert (await _open(keys, parts)).state == state


async def test_a_state_read_ahead_does_not_open_a_forged_snapshot(make_device):
    # Issue 24: the state is read (not applied) while the signature is checked; the
    # signature still decides. The ciphertext is intact, so the AEAD passes and the read runs.
    keys, state = await _keys(make_device)
    forged = bytearray(_seal(keys, state))
    forged[-1] ^= 1
    read: list[bytes] = []
    with pytest.raises(BadSignatureError):
        await open_snapshot_parts(_split(bytes(forged)), log=keys.log, keyring=keys.keyring,
                                  team_id=keys.team_id, compartment=GENERAL,
                                  read_ahead=read.append)
    assert read == [state]


async def test_a_state_the_read_ahead_refuses_is_left_to_the_merge(make_device):
    keys, state = await _keys(make_device)

    def refuse(_state: bytes) -> None:
        raise MalformedUpdateError("nested too deep")

    opened = await open_snapshot_parts(_split(_seal(keys, state)), log=keys.log,
                                       keyring=keys.keyring, team_id=keys.team_id,
                                       compartment=GENERAL, read_ahead=refuse)
    assert opened.state == state  # the merge reads it again and judges it there
