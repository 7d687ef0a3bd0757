"""Hybrid post-quantum key packages (ML-KEM-768 + X25519, docs/security.md §4): new devices get
them, old X25519-only packages and identities still work, and a team made before ML-KEM
migrates with one set_kem_key entry per device."""

from __future__ import annotations

import msgspec
import pytest

from mano_core.crypto import (
    DeviceIdentity,
    Invitation,
    Keyring,
    MembershipLog,
    Role,
    accept_request,
    decode_entry,
    join_team,
    make_key_packages,
    redeem_request,
)
from mano_core.crypto import keyring as keyring_module
from mano_core.crypto.log_entry import sign_entry
from mano_core.errors import KeyPackageError, MembershipError
from mano_core.ids import Compartment, new_id, new_team_id


def legacy() -> DeviceIdentity:
    """An identity as made before ML-KEM (serialisation version 1: no ML-KEM key)."""
    return DeviceIdentity.from_bytes(b"\x01" + DeviceIdentity.generate().to_bytes()[1:65])


def team_of(founder: DeviceIdentity) -> tuple[MembershipLog, Keyring]:
    log = MembershipLog.create(new_team_id(), founder, member=new_id(), health=True)
    ring = Keyring(log.team_id)
    keyring_module.ensure_epoch_keys(founder, log, ring)
    return log, ring


def add(log: MembershipLog, admin: DeviceIdentity, device: DeviceIdentity) -> None:
    log.append(log.add_device(admin, device.public, member=new_id(), role=Role.NORMAL,
                              health=True))


def version_of(package: bytes) -> int:
    version: int = msgspec.msgpack.decode(package[:-64])[0]
    return version


def test_a_new_device_gets_a_hybrid_package_that_its_x25519_key_alone_cannot_open() -> None:
    admin, bob = DeviceIdentity.generate(), DeviceIdentity.generate()
    log, ring = team_of(admin)
    add(log, admin, bob)
    assert log.device(bob.device_id).kem_public == bob.kem_public  # type: ignore[union-attr]
    package = make_key_packages(admin, log, ring)[bob.device_id]
    assert version_of(package) == 2
    received = Keyring(log.team_id)
    assert received.accept_package(bob, package, log) == [(Compartment.GENERAL, 0),
                                                          (Compartment.MEDICAL, 0)]
    # Someone holding bob's X25519 key but not his ML-KEM key (a quantum attacker who broke
    # X25519 from the stored package) cannot open it.
    impostor = DeviceIdentity.from_bytes(
        b"\x02" + bob.to_bytes()[1:65] + DeviceIdentity.generate().to_bytes()[65:])
    assert impostor.device_id == bob.device_id and impostor.kx_public == bob.kx_public
    with pytest.raises(KeyPackageError):
        Keyring(log.team_id).accept_package(impostor, package, log)


def test_old_x25519_packages_still_open_for_old_and_migrated_identities() -> None:
    admin, old = DeviceIdentity.generate(), legacy()
    log, ring = team_of(admin)
    add(log, admin, old)
    package = make_key_packages(admin, log, ring)[old.device_id]
    assert version_of(package) == 1  # the log holds no ML-KEM key for it
    Keyring(log.team_id).accept_package(old, package, log)
    migrated = old.with_kem()
    assert (migrated.device_id, migrated.kx_public) == (old.device_id, old.kx_public)
    Keyring(log.team_id).accept_package(migrated, package, log)  # the old package opens
    restored = DeviceIdentity.from_bytes(migrated.to_bytes())
    assert restored.kem_public == migrated.kem_public and len(migrated.to_bytes()) == 129


def test_a_team_made_before_ml_kem_migrates_with_one_self_signed_entry_per_device() -> None:
    old_admin, old_member = legacy(), legacy()
    log, ring = team_of(old_admin)
    add(log, old_admin, old_member)
    assert [decode_entry(e)[0].version for e in log.entries] == [1, 1]
    for device in (old_admin, old_member):
        migrated = device.with_kem()
        assert log.needs_kem_key(migrated)
        entry = log.set_kem_key(migrated)  # signed by the device itself, no admin needed
        body, _ = decode_entry(entry)
        assert (body.version, body.op, body.signer) == (2, "set_kem_key", device.device_id)
        log.append(entry)
        assert not log.needs_kem_key(migrated)
    # Epochs and access did not move; packages to the migrated member are hybrid now.
    assert (log.epoch(Compartment.GENERAL), log.epoch(Compartment.MEDICAL)) == (0, 0)
    package = make_key_packages(old_admin.with_kem(), log, ring)[old_member.device_id]
    assert version_of(package) == 2
    # Every device re-verifies the whole log, old entries and new.
    assert MembershipLog.from_entries(log.team_id, log.entries).device(
        old_member.device_id).kem_public  # type: ignore[union-attr]


def test_set_kem_key_is_refused_from_anyone_but_the_device_itself_and_when_malformed() -> None:
    admin, bob = DeviceIdentity.generate(), legacy()
    log, _ring = team_of(admin)
    add(log, admin, bob)
    migrated = bob.with_kem()
    good = decode_entry(log.set_kem_key(migrated))[0]
    forged_by_admin = sign_entry(admin, msgspec.structs.replace(good, signer=admin.device_id))
    with pytest.raises(MembershipError):
        log.append(forged_by_admin)  # an admin cannot set another device's ML-KEM key
    with pytest.raises(MembershipError):
        log.append(sign_entry(migrated, msgspec.structs.replace(good, kem_public=b"\xff" * 1184)))
    with pytest.raises(MembershipError):  # a version-1 entry carries no ML-KEM key
        log.append(sign_entry(migrated, msgspec.structs.replace(good, version=1)))
    with pytest.raises(MembershipError):  # and a version-2 one always does
        log.append(sign_entry(migrated, msgspec.structs.replace(good, kem_public=b"")))
    stranger = DeviceIdentity.generate()
    with pytest.raises(MembershipError):  # not a device of the team
        log.append(log.set_kem_key(stranger))
    assert len(log) == 2


@pytest.mark.parametrize("make", [DeviceIdentity.generate, legacy], ids=["hybrid", "legacy"])
def test_an_invitation_carries_the_new_device_ml_kem_key_into_the_log_and_its_package(
        make: object) -> None:
    admin = DeviceIdentity.generate()
    newcomer: DeviceIdentity = make()  # type: ignore[operator]
    log, ring = team_of(admin)
    code, invitation = Invitation.create(admin, log, role=Role.NORMAL, health=False,
                                         expires_at=2_000, now=1_000)
    admission = accept_request(admin, log, ring, invitation, redeem_request(code, newcomer),
                               now=1_001)
    assert decode_entry(admission.entry)[0].kem_public == newcomer.kem_public
    assert admission.key_package is not None
    assert version_of(admission.key_package) == (2 if newcomer.kem_public else 1)
    joined, keys = join_team(code, newcomer, welcome=admission.welcome,
                             entries=[*log.entries, admission.entry],
                             key_package=admission.key_package)
    assert keys.epochs(Compartment.GENERAL) == [0]
    assert joined.device(newcomer.device_id).kem_public == newcomer.kem_public  # type: ignore[union-attr]
