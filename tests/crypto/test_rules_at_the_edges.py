"""Envelope and membership-log rules at their boundaries, each condition on its own: written
for the mutants a mutation run (docs/reliability.md, "Mutation testing") found alive, where a
test passed whether one half of an ``or`` held or not, or a limit was off by one."""

from __future__ import annotations

import msgspec
import pytest

from mano_core import limits
from mano_core.crypto import ChainState, DeviceIdentity, MembershipLog, Role, Sealer, open_envelope
from mano_core.crypto._wire import ZERO_HASH
from mano_core.crypto.envelope import (
    MIN_ENVELOPE_SIZE,
    Envelope,
    EnvelopeOpener,
    envelope_hash,
    seal,
)
from mano_core.crypto.log_entry import decode_entry, sign_entry
from mano_core.errors import (
    ForkedLogError,
    LimitExceededError,
    MalformedEnvelopeError,
    MembershipError,
    MissingKeyError,
    ReplayError,
    WrongContextError,
)
from mano_core.ids import Compartment, new_id, new_team_id
from tests.harness.keys import KeyTeam

GENERAL, MEDICAL = Compartment.GENERAL, Compartment.MEDICAL


def _seal(team: KeyTeam, **kw: object) -> bytes:
    args: dict[str, object] = {"team_id": team.team_id, "compartment": GENERAL, "epoch": 0,
                               "counter": 0, "prev_hash": ZERO_HASH, "plaintext": b""}
    args.update(kw)
    return seal(team.founder.identity, team.founder.keyring, **args)  # type: ignore[arg-type]


# --- envelopes ---------------------------------------------------------------------------------


def test_an_envelope_of_exactly_the_size_limit_seals_and_parses(
        team: KeyTeam, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_SEALED_SIZE", MIN_ENVELOPE_SIZE + 100)
    raw = _seal(team, plaintext=b"x" * 100)
    assert len(raw) == limits.MAX_SEALED_SIZE
    assert Envelope.parse(raw).raw == raw
    with pytest.raises(LimitExceededError) as over:
        _seal(team, plaintext=b"x" * 101)
    assert (over.value.limit, over.value.value, over.value.maximum) == (
        "MAX_SEALED_SIZE", MIN_ENVELOPE_SIZE + 101, MIN_ENVELOPE_SIZE + 100)
    with pytest.raises(MalformedEnvelopeError):
        Envelope.parse(raw + b"\x00")


def test_counter_and_epoch_ranges_are_checked_each_on_its_own(team: KeyTeam) -> None:
    with pytest.raises(MalformedEnvelopeError):
        _seal(team, counter=2**64, prev_hash=b"\x01" * 32)   # epoch 0 is fine
    with pytest.raises(MalformedEnvelopeError):
        _seal(team, epoch=limits.MAX_KEY_EPOCH + 1)          # counter 0 is fine
    last = _seal(team, counter=2**64 - 1, prev_hash=b"\x01" * 32)  # the largest u64 counter
    assert Envelope.parse(last).header.counter == 2**64 - 1
    with pytest.raises(MissingKeyError):  # in range: refused for the key it lacks, not the form
        _seal(team, epoch=limits.MAX_KEY_EPOCH)


def test_a_short_prev_hash_is_refused_not_padded(team: KeyTeam) -> None:
    with pytest.raises(MalformedEnvelopeError):
        _seal(team, counter=1, prev_hash=b"\x01" * 31)


def test_a_given_nonce_is_used_and_must_be_twelve_bytes(team: KeyTeam) -> None:
    raw = _seal(team, nonce=b"N" * 12)
    assert Envelope.parse(raw).header.nonce == b"N" * 12
    for size in (11, 13):
        with pytest.raises(MalformedEnvelopeError):
            _seal(team, nonce=b"N" * size)


def test_opening_with_the_log_of_another_team_is_refused(team: KeyTeam) -> None:
    other = KeyTeam()
    raw = team.founder.seal(b"hello")
    with pytest.raises(WrongContextError):
        open_envelope(raw, log=other.founder.log, keyring=team.founder.keyring,
                      team_id=team.team_id, compartment=GENERAL, chain_state=ChainState())


def test_a_sealer_given_its_saved_state_continues_the_chain(team: KeyTeam) -> None:
    me = team.founder
    first = Sealer(me.identity, team.team_id)
    raw1 = first.seal(b"one", compartment=GENERAL, log=me.log, keyring=me.keyring)
    again = Sealer(me.identity, team.team_id, ChainState.from_bytes(first.state.to_bytes()))
    raw2 = again.seal(b"two", compartment=GENERAL, log=me.log, keyring=me.keyring)
    h2 = Envelope.parse(raw2).header
    assert (h2.counter, h2.prev_hash) == (1, envelope_hash(raw1))
    reader = ChainState()
    for raw in (raw1, raw2):
        open_envelope(raw, log=me.log, keyring=me.keyring, team_id=team.team_id,
                      compartment=GENERAL, chain_state=reader)
    assert reader.reports == []  # no gap, no fork


# --- membership log ----------------------------------------------------------------------------


def _resigned(signer: DeviceIdentity, entry: bytes, **changes: object) -> bytes:
    body, _ = decode_entry(entry)
    return sign_entry(signer, msgspec.structs.replace(body, **changes))


def test_change_role_changes_the_role(team: KeyTeam) -> None:
    bob = team.add(role=Role.NORMAL)
    log = team.founder.log
    team.publish(log.change_role(team.founder.identity, bob.id, Role.ADMIN, health=True))
    state = log.device(bob.id)
    assert state is not None and state.role is Role.ADMIN and state.health
    assert log.is_admin(bob.id) and log.has_access(bob.id, MEDICAL)
    team.publish(log.change_role(bob.identity, bob.id, Role.RESTRICTED, health=False))
    state = log.device(bob.id)
    assert state is not None and state.role is Role.RESTRICTED and not log.is_admin(bob.id)


def test_an_entry_at_the_right_seq_on_another_head_is_a_fork(team: KeyTeam) -> None:
    log = team.founder.log
    entry = log.add_device(team.founder.identity, DeviceIdentity.generate().public,
                           member=new_id(), role=Role.NORMAL, health=False)
    with pytest.raises(ForkedLogError):
        log.append(_resigned(team.founder.identity, entry, prev_hash=b"\x01" * 32))
    with pytest.raises(ForkedLogError):
        log.append(_resigned(team.founder.identity, entry, seq=len(log) + 1))
    log.append(entry)


def test_a_genesis_adds_its_own_signer_as_admin_and_nothing_else() -> None:
    founder, other = DeviceIdentity.generate(), DeviceIdentity.generate()
    team_id = new_team_id()
    good = MembershipLog.create(team_id, founder, member=new_id()).entries[0]
    with pytest.raises(MembershipError):
        MembershipLog(team_id).append(_resigned(founder, good, role=Role.NORMAL.value))
    with pytest.raises(MembershipError):
        MembershipLog(team_id).append(_resigned(
            founder, good, device_id=other.device_id, kx_public=other.kx_public))
    MembershipLog(team_id).append(good)


def test_a_founder_has_no_health_access_unless_asked() -> None:
    founder = DeviceIdentity.generate()
    log = MembershipLog.create(new_team_id(), founder, member=new_id())
    assert not log.has_access(founder.device_id, MEDICAL)
    assert log.has_access(founder.device_id, GENERAL)


def test_an_added_device_needs_valid_keys_even_with_a_role(team: KeyTeam) -> None:
    log = team.founder.log
    entry = log.add_device(team.founder.identity, DeviceIdentity.generate().public,
                           member=new_id(), role=Role.NORMAL, health=False)
    with pytest.raises(MembershipError):
        log.append(_resigned(team.founder.identity, entry, kx_public=b"\x01" * 31))
    with pytest.raises(MembershipError):
        log.append(_resigned(team.founder.identity, entry, role=""))


@pytest.mark.parametrize("length", [1, limits.MAX_MEMBER_ID_LENGTH])
def test_member_ids_of_the_limit_lengths_are_accepted(team: KeyTeam, length: int) -> None:
    device = team.add(member="m" * length)
    assert team.founder.log.device(device.id).member == "m" * length  # type: ignore[union-attr]


@pytest.mark.parametrize("length", [0, limits.MAX_MEMBER_ID_LENGTH + 1])
def test_member_ids_outside_the_limits_are_refused(team: KeyTeam, length: int) -> None:
    with pytest.raises(MembershipError):
        team.founder.log.add_device(team.founder.identity, DeviceIdentity.generate().public,
                                    member="m" * length, role=Role.NORMAL, health=False)


def test_a_removal_carries_no_keys_no_invitation_and_no_role(team: KeyTeam) -> None:
    bob = team.add()
    log, admin = team.founder.log, team.founder.identity
    entry = log.remove_device(admin, bob.id)
    for changes in ({"kx_public": bob.identity.kx_public}, {"invitation_id": b"I" * 16},
                    {"role": Role.NORMAL.value}, {"health": True}):
        with pytest.raises(MembershipError):
            log.append(_resigned(admin, entry, **changes))
    log.append(entry)
    assert not log.is_active(bob.id)


def test_the_signer_of_a_removal_generates_the_new_keys_when_it_may(
        health_team: KeyTeam) -> None:
    bob = health_team.add(role=Role.ADMIN)            # general access only
    carol = health_team.add(health=True)
    dave = health_team.add()
    health_team.remove(dave, by=bob)
    log = health_team.founder.log
    assert log.key_generator(GENERAL, 1) == bob.id   # not the founder, the first device
    assert log.key_generator(MEDICAL, 1) == health_team.founder.id  # bob has no medical access
    health_team.remove(health_team.founder, by=bob)
    assert log.key_generator(MEDICAL, 2) == carol.id  # the first device left with access


def test_the_log_takes_entries_up_to_its_limit(team: KeyTeam,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_MEMBERSHIP_ENTRIES", 3)
    team.add()
    team.add()
    assert len(team.founder.log) == 3
    with pytest.raises(MembershipError):
        team.add()


def test_the_bound_opener_opens_in_the_compartment_asked_and_advances_its_chain(
        health_team: KeyTeam) -> None:
    me = health_team.founder
    opener = EnvelopeOpener(me.log, me.keyring, health_team.team_id, ChainState())
    general, medical = me.seal(b"g"), me.seal(b"m", MEDICAL)
    assert opener.open(general, GENERAL).plaintext == b"g"
    assert opener.open(medical, MEDICAL).plaintext == b"m"
    with pytest.raises(ReplayError):
        opener.open(general, GENERAL)
    with pytest.raises(WrongContextError):
        opener.open(me.seal(b"g2"), MEDICAL)


def test_a_removed_device_may_write_only_the_epochs_it_was_in(health_team: KeyTeam) -> None:
    """The relay and every device judge an envelope by ``can_write`` (access spans), not by
    whether the author is still active: a removed device's span must close."""
    bob = health_team.add()                       # general only
    nurse = health_team.add(health=True)
    log = health_team.founder.log
    health_team.remove(bob)
    assert log.can_write(bob.id, GENERAL, 0) and not log.can_write(bob.id, GENERAL, 1)
    health_team.publish(log.change_role(health_team.founder.identity, nurse.id, Role.NORMAL,
                                        health=False))
    medical_now = log.epoch(MEDICAL)
    assert log.can_write(nurse.id, MEDICAL, medical_now - 1)
    assert not log.can_write(nurse.id, MEDICAL, medical_now)
    assert log.can_write(nurse.id, GENERAL, log.epoch(GENERAL))  # still a member


def test_key_epochs_end_at_their_limit(team: KeyTeam, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_KEY_EPOCH", 2)
    for _ in range(2):
        team.remove(team.add())
    assert team.founder.log.epoch(GENERAL) == 2
    with pytest.raises(MembershipError):
        team.remove(team.add())
