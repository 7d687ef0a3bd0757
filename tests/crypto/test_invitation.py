"""Invitations: single use, expiry, nothing the relay could use, no key substitution."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mano_core.crypto import (
    DeviceIdentity,
    Invitation,
    MembershipLog,
    Role,
    accept_request,
    invitation_id_of,
    join_team,
    parse_code,
    redeem_request,
)
from mano_core.errors import (
    ForkedLogError,
    InvitationExpiredError,
    InvitationInvalidError,
    InvitationUsedError,
    LimitExceededError,
    MembershipError,
    NotAdminError,
)
from mano_core.ids import Compartment, new_id
from tests.harness.keys import KeyTeam

NOW = 1_750_000_000
HOUR = 3600


def _invite(
    team: KeyTeam, *, health: bool = False, role: Role = Role.NORMAL
) -> tuple[str, Invitation]:
    return Invitation.create(team.founder.identity, team.founder.log, role=role, health=health,
                             expires_at=NOW + HOUR, now=NOW)


def test_invitation_works_once_end_to_end(health_team: KeyTeam) -> None:
    team = health_team
    code, record = _invite(team, health=True)
    assert len(code) == 59 and code.count("-") == 11  # 48 characters in groups of 4
    newcomer = DeviceIdentity.generate()
    request = redeem_request(code.lower().replace("-", " "), newcomer)  # forgiving typing
    admission = accept_request(team.founder.identity, team.founder.log, team.founder.keyring,
                               record, request, now=NOW + 60)
    team.publish(admission.entry)
    log, keyring = join_team(code, newcomer, welcome=admission.welcome,
                             entries=team.founder.log.entries, key_package=admission.key_package)
    state = log.device(newcomer.device_id)
    assert state is not None and state.role is Role.NORMAL and state.health
    assert state.member == record.member
    assert keyring.epochs(Compartment.GENERAL) == [0] and keyring.epochs(Compartment.MEDICAL) == [0]
    # used: neither the same request nor another device's gets in
    with pytest.raises(InvitationUsedError):
        accept_request(team.founder.identity, team.founder.log, team.founder.keyring, record,
                       request, now=NOW + 61)
    with pytest.raises(InvitationUsedError):
        accept_request(team.founder.identity, team.founder.log, team.founder.keyring, record,
                       redeem_request(code, DeviceIdentity.generate()), now=NOW + 61)


def test_two_admissions_racing_for_one_invitation_only_one_enters(team: KeyTeam) -> None:
    code, record = _invite(team)
    first = accept_request(team.founder.identity, team.founder.log, team.founder.keyring, record,
                           redeem_request(code, DeviceIdentity.generate()), now=NOW)
    second = accept_request(team.founder.identity, team.founder.log, team.founder.keyring, record,
                            redeem_request(code, DeviceIdentity.generate()), now=NOW)
    team.publish(first.entry)
    with pytest.raises(ForkedLogError):
        team.founder.log.append(second.entry)
    # rebuilt on the new head, the log itself refuses a second ADD for that invitation
    with pytest.raises(MembershipError):
        team.founder.log.add_device(team.founder.identity, DeviceIdentity.generate().public,
                                    member=record.member, role=Role.NORMAL, health=False,
                                    invitation_id=record.invitation_id)


def test_expired_invitation_is_refused(team: KeyTeam) -> None:
    code, record = _invite(team)
    request = redeem_request(code, DeviceIdentity.generate())
    with pytest.raises(InvitationExpiredError):
        accept_request(team.founder.identity, team.founder.log, team.founder.keyring, record,
                       request, now=NOW + HOUR)
    assert len(team.founder.log) == 1


def test_creation_limits(team: KeyTeam) -> None:
    bob = team.add()
    with pytest.raises(NotAdminError):
        Invitation.create(bob.identity, bob.log, role=Role.NORMAL, health=False,
                          expires_at=NOW + HOUR, now=NOW)
    with pytest.raises(InvitationExpiredError):
        Invitation.create(team.founder.identity, team.founder.log, role=Role.NORMAL,
                          health=False, expires_at=NOW, now=NOW)
    with pytest.raises(LimitExceededError):
        Invitation.create(team.founder.identity, team.founder.log, role=Role.NORMAL,
                          health=False, expires_at=NOW + 30 * 24 * HOUR, now=NOW)


def test_relay_cannot_substitute_its_own_device(team: KeyTeam) -> None:
    code, record = _invite(team)
    request = redeem_request(code, DeviceIdentity.generate())
    # the relay sees the request but not the secret: it can only re-encrypt under a guess
    relay_device = DeviceIdentity.generate()
    wrong_code = _other_code_same_team(code)
    forged = request[:17] + redeem_request(wrong_code, relay_device)[17:]
    with pytest.raises(InvitationInvalidError):
        accept_request(team.founder.identity, team.founder.log, team.founder.keyring, record,
                       forged, now=NOW)
    for i in range(17, len(request)):
        tampered = bytearray(request)
        tampered[i] ^= 1
        with pytest.raises(InvitationInvalidError):
            accept_request(team.founder.identity, team.founder.log, team.founder.keyring,
                           record, bytes(tampered), now=NOW)
    # what the relay sees is an id that reveals nothing of the secret, and ciphertext
    assert invitation_id_of(request) == record.invitation_id
    team_id, secret = parse_code(code)
    assert secret not in request and record.key not in request and team_id not in request


def test_relay_cannot_serve_a_fake_log_to_the_newcomer(team: KeyTeam) -> None:
    code, record = _invite(team)
    newcomer = DeviceIdentity.generate()
    admission = accept_request(team.founder.identity, team.founder.log, team.founder.keyring,
                               record, redeem_request(code, newcomer), now=NOW)
    team.publish(admission.entry)
    # a relay-made log with the same team id, where the relay is admin and adds the newcomer
    relay = DeviceIdentity.generate()
    log = MembershipLog.create(team.team_id, relay, member=new_id())
    log.append(log.add_device(relay, newcomer.public, member=new_id(), role=Role.NORMAL,
                              health=False))
    with pytest.raises(InvitationInvalidError):
        join_team(code, newcomer, welcome=admission.welcome, entries=log.entries,
                  key_package=None)
    with pytest.raises(InvitationInvalidError):  # a welcome for someone else
        join_team(code, DeviceIdentity.generate(), welcome=admission.welcome,
                  entries=team.founder.log.entries, key_package=None)


def test_record_round_trip_and_repr_hides_the_key(team: KeyTeam) -> None:
    _, record = _invite(team)
    assert Invitation.from_bytes(record.to_bytes()) == record
    assert record.key.hex() not in repr(record)


def test_mistyped_code_is_caught_locally(team: KeyTeam) -> None:
    code, _ = _invite(team)
    i = 5 if code[5] != "Z" else 6
    typo = code[:i] + ("Z" if code[i] != "Z" else "Y") + code[i + 1 :]
    with pytest.raises(InvitationInvalidError):
        parse_code(typo)
    with pytest.raises(InvitationInvalidError):
        parse_code(code[:-1])


@given(st.text(max_size=80))
def test_arbitrary_codes_raise_only_invitation_errors(text: str) -> None:
    try:
        parse_code(text)
    except InvitationInvalidError:
        pass


def _other_code_same_team(code: str) -> str:
    from mano_core.crypto.invitation import _encode_code

    team_id, secret = parse_code(code)
    return _encode_code(team_id, bytes(len(secret)))
