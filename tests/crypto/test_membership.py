"""The membership log: verification from genesis, admin-only signing, forks, rules, epochs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mano_core.crypto import (
    DeviceIdentity,
    MembershipEntry,
    MembershipLog,
    Op,
    Role,
    decode_entry,
    verify_signature,
)
from mano_core.crypto._wire import DOMAIN_MEMBERSHIP, encode
from mano_core.errors import ForkedLogError, KeyMaterialError, MembershipError, NotAdminError
from mano_core.ids import Compartment, new_id, new_team_id
from tests.harness.keys import KeyTeam

GENERAL = Compartment.GENERAL
MEDICAL = Compartment.MEDICAL


def test_identity_round_trip_and_signatures() -> None:
    me = DeviceIdentity.generate()
    again = DeviceIdentity.from_bytes(me.to_bytes())
    assert again.device_id == me.device_id and again.kx_public == me.kx_public
    sig = again.sign(b"challenge", domain="mano/v1/test")
    assert verify_signature(me.device_id, sig, b"challenge", domain="mano/v1/test")
    assert not verify_signature(me.device_id, sig, b"challenge")  # other domain
    assert not verify_signature(me.device_id, sig[:-1] + bytes([sig[-1] ^ 1]), b"challenge",
                                domain="mano/v1/test")
    assert not verify_signature(b"\x00" * 5, sig, b"challenge")
    assert me.device_id.hex() not in repr(me) and "seed" not in repr(me)
    with pytest.raises(KeyMaterialError):
        DeviceIdentity.from_bytes(me.to_bytes()[:-1])


def test_founder_is_first_admin_and_log_verifies_from_genesis(team: KeyTeam) -> None:
    bob = team.add(role=Role.ADMIN)
    carol = team.add(by=bob, health=True)
    log = MembershipLog.from_entries(team.team_id, team.founder.log.entries)
    assert log.head_hash == team.founder.log.head_hash and len(log) == 3
    founder = log.device(team.founder.id)
    assert founder is not None and founder.role is Role.ADMIN and founder.active
    state = log.device(carol.id)
    assert state is not None and state.member == carol.member and state.health
    assert [d.device_id for d in log.active_devices()] == [team.founder.id, bob.id, carol.id]
    body, _ = decode_entry(log.entries[0])
    assert body.op == Op.GENESIS and body.seq == 0 and body.prev_hash == bytes(32)


def test_entries_signed_by_non_admins_are_rejected(team: KeyTeam) -> None:
    bob = team.add(role=Role.NORMAL)
    stranger = DeviceIdentity.generate()
    # build the entry as an admin would, but sign as bob (a member, not an admin)
    entry = team.founder.log.add_device(team.founder.identity, stranger.public,
                                        member=new_id(), role=Role.ADMIN, health=True)
    body, _ = decode_entry(entry)
    forged = _sign_as(bob.identity, body, signer=bob.id)
    with pytest.raises(NotAdminError):
        team.founder.log.append(forged)
    with pytest.raises(NotAdminError):
        bob.log.add_device(bob.identity, stranger.public, member=new_id(), role=Role.ADMIN,
                           health=False)
    outsider = _sign_as(stranger, body, signer=stranger.device_id)
    with pytest.raises(NotAdminError):
        team.founder.log.append(outsider)
    assert len(team.founder.log) == 2


def test_an_entry_claiming_another_signer_is_rejected(team: KeyTeam) -> None:
    bob = team.add()
    entry = team.founder.log.remove_device(team.founder.identity, bob.id)
    body, _ = decode_entry(entry)
    with pytest.raises(MembershipError):  # founder named as signer, signed by bob
        team.founder.log.append(_sign_as(bob.identity, body, signer=team.founder.id))


def test_forked_chains_are_rejected(team: KeyTeam) -> None:
    bob = team.add(role=Role.ADMIN)
    c1, c2 = DeviceIdentity.generate(), DeviceIdentity.generate()
    # two admins append concurrently on the same head: the first to be accepted wins
    first = team.founder.log.add_device(team.founder.identity, c1.public, member=new_id(),
                                        role=Role.NORMAL, health=False)
    second = bob.log.add_device(bob.identity, c2.public, member=new_id(), role=Role.NORMAL,
                                health=False)
    team.publish(first)
    with pytest.raises(ForkedLogError):
        team.founder.log.append(second)
    # the loser rebuilds on the new head
    rebased = bob.log.add_device(bob.identity, c2.public, member=new_id(), role=Role.NORMAL,
                                 health=False)
    team.founder.log.append(rebased)
    # an entry replayed at another position, and a log with a hole, are forks too
    with pytest.raises(ForkedLogError):
        team.founder.log.append(first)
    entries = team.founder.log.entries
    with pytest.raises(ForkedLogError):
        MembershipLog.from_entries(team.team_id, entries[:1] + entries[2:])
    with pytest.raises(MembershipError):
        MembershipLog.from_entries(team.team_id, entries[1:])  # no genesis


def test_log_of_another_team_is_rejected(team: KeyTeam) -> None:
    with pytest.raises(MembershipError):
        MembershipLog.from_entries(new_team_id(), team.founder.log.entries)


def test_rules_keep_one_admin_and_forbid_self_removal(team: KeyTeam) -> None:
    log, me = team.founder.log, team.founder.identity
    with pytest.raises(MembershipError):
        log.change_role(me, me.device_id, Role.NORMAL, False)
    with pytest.raises(MembershipError):
        log.remove_device(me, me.device_id)
    with pytest.raises(MembershipError):
        log.remove_member(me, team.founder.member)
    with pytest.raises(MembershipError):
        log.add_device(me, me.public, member=new_id(), role=Role.NORMAL, health=False)
    with pytest.raises(MembershipError):
        log.remove_member(me, new_id())
    with pytest.raises(MembershipError):
        log.add_device(me, DeviceIdentity.generate().public, member="", role=Role.NORMAL,
                       health=False)


def test_removed_device_cannot_be_re_added(team: KeyTeam) -> None:
    bob = team.add()
    team.remove(bob)
    with pytest.raises(MembershipError):
        team.founder.log.add_device(team.founder.identity, bob.identity.public, member=bob.member,
                                    role=Role.NORMAL, health=False)


def test_epochs_advance_on_removal_and_on_losing_medical_access(health_team: KeyTeam) -> None:
    team = health_team
    nurse = team.add(health=True)
    phone = team.add(member=nurse.member, health=True)
    log = team.founder.log
    assert (log.epoch(GENERAL), log.epoch(MEDICAL)) == (0, 0)
    team.publish(log.change_role(team.founder.identity, nurse.id, Role.NORMAL, False))
    assert (log.epoch(GENERAL), log.epoch(MEDICAL)) == (0, 1)
    assert log.can_write(nurse.id, MEDICAL, 0) and not log.can_write(nurse.id, MEDICAL, 1)
    team.publish(log.change_role(team.founder.identity, nurse.id, Role.NORMAL, True))
    assert log.can_write(nurse.id, MEDICAL, 1) and log.epoch(MEDICAL) == 1
    team.publish(log.remove_member(team.founder.identity, nurse.member))
    assert (log.epoch(GENERAL), log.epoch(MEDICAL)) == (1, 2)
    assert not log.is_active(nurse.id) and not log.is_active(phone.id)
    assert log.can_write(phone.id, GENERAL, 0) and not log.can_write(phone.id, GENERAL, 1)
    assert not log.can_write(team.founder.id, GENERAL, 2)  # epochs that do not exist yet


def test_key_generator_is_deterministic(team: KeyTeam) -> None:
    log = team.founder.log
    assert log.key_generator(GENERAL, 0) == team.founder.id
    assert log.key_generator(MEDICAL, 0) is None  # nobody may read medical yet
    nurse = team.add(health=True)
    assert log.key_generator(MEDICAL, 0) == nurse.id
    team.remove(team.add())
    # the founder (no medical access) removed someone: the earliest medical device generates
    assert log.key_generator(GENERAL, 1) == team.founder.id
    assert log.key_generator(MEDICAL, 1) == nurse.id


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600), st.integers(0, 400), st.integers(0, 255))
def test_garbage_and_mutated_entries_raise_only_membership_errors(
    garbage: bytes, pos: int, value: int
) -> None:
    log = MembershipLog.from_entries(_TEAM.team_id, _ENTRIES[:1])
    for candidate in (garbage, _mutate(_ENTRIES[1], pos, value)):
        if candidate == _ENTRIES[1]:
            continue
        with pytest.raises(MembershipError):
            log.append(candidate)
    assert len(log) == 1


def _mutate(data: bytes, pos: int, value: int) -> bytes:
    out = bytearray(data)
    out[pos % len(out)] = value
    return bytes(out)


def _sign_as(identity: DeviceIdentity, body: MembershipEntry, *, signer: bytes) -> bytes:
    raw = encode(MembershipEntry(
        body.version, body.team_id, body.seq, body.prev_hash, signer, body.op, body.device_id,
        body.kx_public, body.member, body.role, body.health, body.invitation_id, body.kem_public,
    ))
    return raw + identity.sign(raw, domain=DOMAIN_MEMBERSHIP)


_TEAM = KeyTeam()
_TEAM.add()
_ENTRIES = _TEAM.founder.log.entries
