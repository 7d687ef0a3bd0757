"""Content keys: epochs, removal, history, the medical compartment, key packages."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from mano_core.crypto import (
    DeviceIdentity,
    Keyring,
    Role,
    make_key_packages,
)
from mano_core.crypto import keyring as keyring_module
from mano_core.crypto._wire import DOMAIN_KEY_PACKAGE, encode
from mano_core.errors import (
    EnvelopeError,
    KeyMaterialError,
    KeyPackageError,
    MissingKeyError,
)
from mano_core.ids import Compartment
from tests.harness.keys import KeyDevice, KeyTeam

GENERAL = Compartment.GENERAL
MEDICAL = Compartment.MEDICAL


def test_removed_device_reads_nothing_sealed_after_removal(health_team: KeyTeam) -> None:
    team = health_team
    nurse = team.add(health=True)
    leaver = team.add(health=True)
    before = [team.founder.seal(b"g0"), nurse.seal(b"m0", MEDICAL)]
    assert leaver.open(before[0]).plaintext == b"g0"
    assert leaver.open(before[1], MEDICAL).plaintext == b"m0"
    team.remove(leaver)
    after = [team.founder.seal(b"g1"), nurse.seal(b"m1", MEDICAL)]
    assert {after[0][18:22], after[1][18:22]} == {b"\x00\x00\x00\x01"}
    # the leaver holds only epoch 0 keys, and the log no longer lets it in
    assert leaver.keyring.epochs(GENERAL) == [0] and leaver.keyring.epochs(MEDICAL) == [0]
    with pytest.raises(MissingKeyError):
        leaver.open(after[0])
    with pytest.raises(MissingKeyError):
        leaver.open(after[1], MEDICAL)
    with pytest.raises(MissingKeyError):  # even with the current log in hand
        leaver.keyring.aead(GENERAL, 1)
    # current members read everything, old epochs included
    for reader in (nurse, team.founder):
        assert reader.open(before[0]).plaintext == b"g0"
        assert reader.open(after[0]).plaintext == b"g1"
    assert team.founder.open(before[1], MEDICAL).plaintext == b"m0"
    assert team.founder.open(after[1], MEDICAL).plaintext == b"m1"


def test_member_joining_later_reads_old_epochs(team: KeyTeam) -> None:
    old = team.founder.seal(b"epoch 0")
    team.remove(team.add())
    team.remove(team.add())
    newcomer = team.add()
    assert newcomer.keyring.epochs(GENERAL) == [0, 1, 2]
    assert newcomer.open(old).plaintext == b"epoch 0"
    assert newcomer.open(team.founder.seal(b"epoch 2")).plaintext == b"epoch 2"


def test_removing_one_lost_device_keeps_the_members_other_devices(team: KeyTeam) -> None:
    laptop = team.add()
    phone = team.add(member=laptop.member)
    team.remove(phone)
    assert team.founder.log.is_active(laptop.id) and not team.founder.log.is_active(phone.id)
    raw = team.founder.seal(b"after the phone was lost")
    assert laptop.open(raw).plaintext == b"after the phone was lost"
    with pytest.raises(MissingKeyError):
        phone.open(raw)


def test_non_health_device_never_holds_medical_keys(health_team: KeyTeam) -> None:
    team = health_team
    worker = team.add(health=False)
    restricted = team.add(role=Role.RESTRICTED, health=True)
    medical = team.founder.seal(b"treatment", MEDICAL)
    for device in (worker, restricted):
        assert device.keyring.epochs(MEDICAL) == []
        with pytest.raises(MissingKeyError):
            device.open(medical, MEDICAL)
    packages = make_key_packages(team.founder.identity, team.founder.log, team.founder.keyring)
    ring = Keyring(team.team_id)
    assert ring.accept_package(worker.identity, packages[worker.id], worker.log) == [(GENERAL, 0)]


def test_package_carrying_medical_keys_to_non_health_is_refused(health_team: KeyTeam) -> None:
    team = health_team
    worker = team.add(health=False)
    # an admin turns worker into a health professional, issues a package, then reverts
    log = team.founder.log.copy()
    log.append(log.change_role(team.founder.identity, worker.id, Role.NORMAL, True))
    package = make_key_packages(team.founder.identity, log, team.founder.keyring,
                                recipients=[worker.id])[worker.id]
    with pytest.raises(KeyPackageError):  # the worker's own log says: no medical access
        worker.keyring.accept_package(worker.identity, package, worker.log)
    assert worker.keyring.epochs(MEDICAL) == []


def test_losing_the_health_flag_rotates_medical_and_prunes(health_team: KeyTeam) -> None:
    team = health_team
    nurse = team.add(health=True)
    team.publish(team.founder.log.change_role(team.founder.identity, nurse.id, Role.NORMAL, False))
    team.sync_keys()
    assert nurse.keyring.prune(nurse.identity, nurse.log) == [(MEDICAL, 0)]
    raw = team.founder.seal(b"after", MEDICAL)
    assert raw[18:22] == b"\x00\x00\x00\x01"
    with pytest.raises(MissingKeyError):
        nurse.open(raw, MEDICAL)


def test_medical_keys_come_from_health_devices_when_admins_are_not(team: KeyTeam) -> None:
    nurse = team.add(health=True)  # the founder admin is not a health professional
    doctor = team.add(health=True)
    assert team.founder.keyring.epochs(MEDICAL) == []
    raw = nurse.seal(b"consultation", MEDICAL)
    assert doctor.open(raw, MEDICAL).plaintext == b"consultation"
    team.remove(team.add())
    assert doctor.keyring.epochs(MEDICAL) == [0, 1] and team.founder.keyring.epochs(MEDICAL) == []


def test_package_rules(team: KeyTeam) -> None:
    bob = team.add()
    carol = team.add()
    packages = make_key_packages(team.founder.identity, team.founder.log, team.founder.keyring)
    with pytest.raises(KeyPackageError):  # addressed to bob, not carol
        carol.keyring.accept_package(carol.identity, packages[bob.id], carol.log)
    # a normal member may not hand out general keys (could plant a key of its own)
    fake = Keyring(team.team_id)
    fake._keys[(GENERAL, 0)] = bytes(32)
    assert make_key_packages(bob.identity, bob.log, fake) == {}  # an honest client won't
    with pytest.raises(KeyPackageError):  # and a forged one is refused
        new = Keyring(team.team_id)
        new.accept_package(carol.identity, _forge(bob, carol, [(0, 0, bytes(32))]), carol.log)
    # a conflicting key for an epoch already held is refused, the keyring unchanged
    rogue = team.add(role=Role.ADMIN)
    fake = Keyring(team.team_id)
    fake._keys[(GENERAL, 0)] = bytes(32)
    bad = make_key_packages(rogue.identity, rogue.log, fake, recipients=[carol.id])[carol.id]
    with pytest.raises(KeyPackageError):
        carol.keyring.accept_package(carol.identity, bad, carol.log)
    assert carol.keyring.key(GENERAL, 0) == team.founder.keyring.key(GENERAL, 0)
    # a package from a device that has since been removed is refused
    team.remove(rogue)
    late = Keyring(team.team_id)
    with pytest.raises(KeyPackageError):
        late.accept_package(carol.identity, bad, carol.log)


def _forge(issuer: KeyDevice, recipient: KeyDevice, triples: list[tuple[int, int, bytes]]) -> bytes:
    """A well-formed, correctly signed package with whatever keys the issuer wants to plant."""
    team_id = issuer.log.team_id
    info = keyring_module._hpke_info(team_id, issuer.id, recipient.id)
    sealed = keyring_module._SUITES[keyring_module.PACKAGE_X25519].encrypt(
        encode(triples), X25519PublicKey.from_public_bytes(recipient.identity.kx_public), info
    )
    body = encode(keyring_module._PackageBody(1, team_id, issuer.id, recipient.id,
                                              issuer.log.head_hash, sealed))
    return body + issuer.identity.sign(body, domain=DOMAIN_KEY_PACKAGE)


def test_forged_packages_for_epochs_that_do_not_exist_are_refused(team: KeyTeam) -> None:
    bob = team.add()
    with pytest.raises(KeyPackageError):
        Keyring(team.team_id).accept_package(
            bob.identity, _forge(team.founder, bob, [(0, 7, bytes(32))]), bob.log
        )
    with pytest.raises(KeyPackageError):
        Keyring(team.team_id).accept_package(
            bob.identity, _forge(team.founder, bob, [(5, 0, bytes(32))]), bob.log
        )


def test_keyring_round_trip(health_team: KeyTeam) -> None:
    ring = health_team.founder.keyring
    again = Keyring.from_bytes(ring.to_bytes())
    assert again.team_id == ring.team_id
    assert again.key(GENERAL, 0) == ring.key(GENERAL, 0)
    assert again.key(MEDICAL, 0) == ring.key(MEDICAL, 0)
    with pytest.raises(KeyMaterialError):
        Keyring.from_bytes(b"\x93\x02")


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10_000), st.integers(0, 255), st.binary(max_size=200))
def test_tampered_or_garbage_packages_raise_only_key_package_errors(
    pos: int, value: int, garbage: bytes
) -> None:
    package = _PACKAGES[_BOB.id]
    mutated = bytearray(package)
    mutated[pos % len(mutated)] ^= value or 1
    for candidate in (bytes(mutated), garbage):
        ring = Keyring(_TEAM.team_id)
        with pytest.raises(KeyPackageError):
            ring.accept_package(_BOB.identity, candidate, _BOB.log)
        assert ring.epochs(GENERAL) == []


def test_errors_are_distinct_families() -> None:
    assert not issubclass(KeyPackageError, EnvelopeError)
    assert DeviceIdentity.generate().device_id != DeviceIdentity.generate().device_id


_TEAM = KeyTeam(founder_health=True)
_BOB = _TEAM.add(health=True)
_PACKAGES = make_key_packages(_TEAM.founder.identity, _TEAM.founder.log, _TEAM.founder.keyring)
