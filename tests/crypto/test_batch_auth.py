"""Batch authentication of a delivery (crypto/batch.py): one signature per author run, the
chain links authenticate the rest; a tampered or forged envelope is left out alone and then
refused on its own; every other check still applies to each envelope."""

from __future__ import annotations

import pytest

from mano_core.crypto import _wire, batch
from mano_core.crypto.batch import authenticated_by_chain
from mano_core.crypto import DeviceIdentity, envelope_hash, seal
from mano_core.crypto.envelope import Authenticated, open_envelope
from mano_core.errors import BadSignatureError, ReplayError, UnauthorizedAuthorError
from mano_core.ids import Compartment
from tests.harness.keys import KeyDevice, KeyTeam

GENERAL = Compartment.GENERAL


def _auth(team: KeyTeam, raws: list[bytes]) -> dict[bytes, Authenticated]:
    return authenticated_by_chain(raws, team_id=team.team_id, compartment=GENERAL)


def _open(device: KeyDevice, raw: bytes, authenticated: dict[bytes, Authenticated]) -> bytes:
    return open_envelope(raw, log=device.log, keyring=device.keyring, team_id=device.log.team_id,
                         compartment=GENERAL, chain_state=device.chain,
                         authenticated=authenticated).plaintext


def test_one_signature_per_author_authenticates_a_whole_delivery(
        team: KeyTeam, monkeypatch: pytest.MonkeyPatch) -> None:
    alice, bob = team.add(), team.add()
    raws = []
    for i in range(6):
        raws.append(team.founder.seal(b"f%d" % i))
        if i % 2:
            raws.append(alice.seal(b"a%d" % i))
    checked: list[bytes] = []
    real = _wire.verify

    def counting(device_id: bytes, *args: object) -> bool:
        checked.append(device_id)
        return real(device_id, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(batch._wire, "verify", counting)
    authenticated = _auth(team, raws)
    assert authenticated.keys() == set(raws)
    assert sorted(checked) == sorted([team.founder.id, alice.id])  # the newest of each
    monkeypatch.setattr(batch._wire, "verify", real)
    assert [_open(bob, raw, authenticated) for raw in raws][:3] == [b"f0", b"f1", b"a1"]


@pytest.mark.parametrize("where", ["first", "middle", "newest"])
def test_every_byte_flip_leaves_out_only_the_tampered_envelope(team: KeyTeam, where: str) -> None:
    raws = [team.founder.seal(b"edit %d" % i) for i in range(4)]
    k = {"first": 0, "middle": 2, "newest": 3}[where]
    for i in range(len(raws[k])):
        tampered = bytearray(raws[k])
        tampered[i] ^= 0x01
        delivery = [*raws[:k], bytes(tampered), *raws[k + 1:]]
        assert _auth(team, delivery).keys() == set(raws) - {raws[k]}, f"byte {i}"


def test_a_forged_envelope_is_then_refused_on_its_own(team: KeyTeam) -> None:
    """The relay (or anyone) appends an envelope claiming the founder's next counter, linked
    to the founder's newest by its hash, signed with another key: the genuine ones open, the
    forged one is refused by its own signature check."""
    bob, mallory = team.add(), team.add()
    raws = [team.founder.seal(b"edit %d" % i) for i in range(3)]
    forged_counter, prev = team.founder.sealer.state.next_link(team.team_id, GENERAL,
                                                               team.founder.id)
    own = mallory.seal(b"not the founder's")
    # the same envelope with the founder as author and its chain link: header rewritten,
    # signed by mallory's key (all a forger can do without the founder's key)
    header = bytearray(own[:106])
    header[22:54] = team.founder.id
    header[54:62] = forged_counter.to_bytes(8, "big")
    header[62:94] = prev
    signed = bytes(header) + own[106:-64]
    forged = signed + mallory.identity.sign(signed, domain=_wire.DOMAIN_ENVELOPE)
    delivery = [*raws, forged]
    authenticated = _auth(team, delivery)
    assert authenticated.keys() == set(raws)
    assert [_open(bob, raw, authenticated) for raw in raws] == [b"edit 0", b"edit 1", b"edit 2"]
    with pytest.raises(BadSignatureError):
        _open(bob, forged, authenticated)


def test_authenticated_envelopes_still_pass_every_other_check(team: KeyTeam) -> None:
    bob = team.add()
    stranger = DeviceIdentity.generate()  # not in the log: signs validly, may write nothing
    raws = [team.founder.seal(b"edit")]
    prev = _wire.ZERO_HASH
    for counter in range(2):
        raws.append(seal(stranger, team.founder.keyring, team_id=team.team_id,
                         compartment=GENERAL, epoch=0, counter=counter, prev_hash=prev,
                         plaintext=b"stranger"))
        prev = envelope_hash(raws[-1])
    authenticated = _auth(team, raws)
    assert authenticated.keys() == set(raws)  # the signatures are valid...
    for raw in raws[1:]:
        with pytest.raises(UnauthorizedAuthorError):  # ...the author may not write
            _open(bob, raw, authenticated)
    assert _open(bob, raws[0], authenticated) == b"edit"
    with pytest.raises(ReplayError):  # the chain state still refuses a replay
        _open(bob, raws[0], authenticated)
    # an envelope of another team or compartment is never taken as authenticated
    assert authenticated_by_chain(raws, team_id=bytes(16), compartment=GENERAL) == {}
    assert authenticated_by_chain(raws, team_id=team.team_id,
                                  compartment=Compartment.MEDICAL) == {}


def test_an_authenticated_envelope_is_opened_from_its_own_bytes_only(team: KeyTeam) -> None:
    """``open_envelope`` takes the parse and hash of the delivery's authentication only for
    the very bytes authenticated: other bytes (a tampered copy) are parsed, verified and
    refused on their own, and the chain link recorded is the hash of the bytes opened."""
    bob = team.add()
    raws = [team.founder.seal(b"edit %d" % i) for i in range(3)]
    authenticated = _auth(team, raws)
    tampered = bytearray(raws[0])
    tampered[-1] ^= 0x01  # in the signature
    with pytest.raises(BadSignatureError):
        _open(bob, bytes(tampered), authenticated)
    assert [_open(bob, raw, authenticated) for raw in raws] == [b"edit 0", b"edit 1", b"edit 2"]
    link = bob.chain.next_link(team.team_id, GENERAL, team.founder.id)
    assert link == (3, envelope_hash(raws[2]))


def test_own_echo_is_established_by_its_exact_bytes_and_a_forged_copy_is_still_verified(
        team: KeyTeam, monkeypatch: pytest.MonkeyPatch) -> None:
    """This device's own envelope coming back (issue 24: its pushes echoed by the relay) is
    not verified again when its bytes are those it sealed and committed; any other envelope
    naming it as author, e.g. the same header with another signature or ciphertext, is."""
    me = team.founder
    genuine = me.seal(b"mine")
    checked: list[bytes] = []
    real = _wire.verify

    def counting(device_id: bytes, *args: object) -> bool:
        checked.append(device_id)
        return real(device_id, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(batch._wire, "verify", counting)
    trusted = authenticated_by_chain([genuine], team_id=team.team_id, compartment=GENERAL,
                                     own={genuine})
    assert trusted.keys() == {genuine} and checked == []
    assert trusted[genuine].digest == envelope_hash(genuine)
    for i in (len(genuine) - 1, len(genuine) // 2):  # the signature, the ciphertext
        forged = bytearray(genuine)
        forged[i] ^= 0x01
        result = authenticated_by_chain([bytes(forged)], team_id=team.team_id,
                                        compartment=GENERAL, own={genuine})
        assert result == {}
        with pytest.raises(BadSignatureError):
            _open(me, bytes(forged), result)
    assert _open(me, genuine, trusted) == b"mine"  # every other check still applies
