"""Field history signed by the writing device and verified against the membership log."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pycrdt import Map

from mano_core import audit
from mano_core.audit import AuditStatus, EntrySigner
from mano_core.crypto import DeviceIdentity
from mano_core.document.team_doc import DocumentCore
from mano_core.ids import Compartment
from mano_core.store import TEST_KDF, LocalStore
from mano_core.team import Team
from tests.harness.devices import PASS

pytestmark = pytest.mark.timeout(180)


def tamper(core: DocumentCore, entry_id: str, **wire: Any) -> None:
    """Rewrite a history entry in the CRDT, as a modified client or a tampered document
    would: ``wire`` holds camelCase fields to overwrite."""
    history = core.doc.get("history", type=Map)
    history[entry_id] = {**dict(history[entry_id]), **wire}


async def keyed_team(make_device) -> tuple[Any, Team]:
    device = await make_device("a")
    return device, await device.create_team("Maraude Nord", health=True)


async def test_every_change_of_a_synced_team_is_signed_and_verifies(make_device):
    device, team = await keyed_team(make_device)
    person = await team.persons.create(name="Personne T")
    await team.persons.update(person.id, phone="0639980011", other_names=["Rach"])
    mfile = await team.medical.medical_files.create(person=person.id)
    await team.medical.medical_files.delete(mfile.id)

    lines = audit.trail(team, person.id)
    assert [(line.field, line.old, line.new) for line in lines] == [
        ("created", None, None), ("otherNames", [], ["Rach"]), ("phone", "", "0639980011")]
    me = (await device.device_id).hex()
    for line in lines:
        assert line.status is AuditStatus.VERIFIED
        assert (line.member, line.author, line.device) == (team.info.member,) * 2 + (me,)
    medical = audit.trail(team, mfile.id)
    assert {line.compartment for line in medical} == {Compartment.MEDICAL}
    assert [line.status for line in medical] == [AuditStatus.VERIFIED] * 2


async def test_numbers_and_custom_fields_still_verify_after_reopening(make_device, tmp_path):
    # pycrdt hands numbers back as floats and reorders dict keys: the signed form must not care
    device, team = await keyed_team(make_device)
    for key in ("zeta", "alpha"):
        await team.custom_fields.create(key=key, label_text=key, type="number",
                                        scope="observation")
    territory = await team.territories.create(name="Gare du Nord")
    obs = await team.observations.create(territory=territory.id, observed_at=dt.datetime.now(
        dt.timezone.utc), men=2, custom_fields={"zeta": 1, "alpha": 2.5})
    audit.trail(team, obs.id)  # history read now: the entries below come from the live CRDT
    await team.observations.update(obs.id, men=3, custom_fields={"zeta": 4, "alpha": 2.5})
    fresh = audit.trail(team, obs.id)
    await device.close()
    from mano_core.device import Device
    async with await Device.open(tmp_path / "a.mano", PASS) as again:
        reopened = await again.open_team(team.id)
        lines = audit.trail(reopened, obs.id)
    assert sorted(line.field for line in lines) == ["created", "customFields", "men"]
    assert [line.status for line in fresh + lines] == [AuditStatus.VERIFIED] * 6


@pytest.mark.parametrize("wire", [
    {"new": "0600000000"}, {"old": "0611111111"}, {"field": "email"},
    {"at": "2020-01-01T00:00:00Z"}, {"recordId": "another-person"},
    {"recordCollection": "actions"}, {"sig": "00" * 64},
])
async def test_an_altered_entry_shows_forged(make_device, wire):
    _device, team = await keyed_team(make_device)
    person = await team.persons.create(name="Personne P")
    await team.persons.update(person.id, phone="0639980011")
    phone = audit.trail(team, person.id)[-1]
    assert phone.status is AuditStatus.VERIFIED  # verified once: the result is cached
    tamper(team.doc, phone.entry_id, **wire)
    record_id = wire.get("recordId", person.id)
    (altered,) = [line for line in audit.trail(team, record_id) if line.entry_id == phone.entry_id]
    assert altered.status is AuditStatus.FORGED
    if "new" in wire:
        assert altered.new == "0600000000"  # what the document says now, flagged
    untouched = [line for line in audit.trail(team, person.id) if line.entry_id != phone.entry_id]
    assert untouched and all(line.status is AuditStatus.VERIFIED for line in untouched)


async def test_an_entry_moved_to_another_team_or_compartment_does_not_verify(make_device):
    _device, team = await keyed_team(make_device)
    person = await team.persons.create(name="Personne P")
    (entry,) = team.history_of(person.id)
    keys = team.keys
    assert keys is not None
    good = audit.verify_entry(entry, Compartment.GENERAL, keys.team_id, keys.log)
    assert good.status is AuditStatus.VERIFIED
    other_team = bytes(16)
    assert audit.verify_entry(entry, Compartment.GENERAL, other_team,
                              keys.log).status is AuditStatus.FORGED
    assert audit.verify_entry(entry, Compartment.MEDICAL, keys.team_id,
                              keys.log).status is AuditStatus.FORGED


async def test_a_device_claiming_another_member_as_author_is_forged(make_device):
    # A modified client signs honestly with its own key but writes another member's id as
    # the author (and createdBy): the log says whose device it is.
    _device, team = await keyed_team(make_device)
    person = await team.persons.create(name="Personne Z")
    team.doc.author = "someone-else"
    await team.persons.update(person.id, phone="0639980011")
    lines = audit.trail(team, person.id)
    assert [line.status for line in lines] == [AuditStatus.VERIFIED, AuditStatus.FORGED]
    assert (lines[1].author, lines[1].member) == ("someone-else", team.info.member)


async def test_a_device_outside_the_log_is_unknown(make_device):
    _device, team = await keyed_team(make_device)
    keys = team.keys
    assert keys is not None
    stranger = DeviceIdentity.generate()
    team.doc.signer = EntrySigner(stranger, keys.team_id)
    person = await team.persons.create(name="Personne Z")
    (line,) = audit.trail(team, person.id)
    assert line.status is AuditStatus.UNKNOWN_DEVICE
    assert (line.device, line.member) == (stranger.device_id.hex(), None)


async def test_a_stripped_signature_never_passes_as_verified(make_device):
    _device, team = await keyed_team(make_device)
    person = await team.persons.create(name="Personne Z")
    (line,) = audit.trail(team, person.id)
    tamper(team.doc, line.entry_id, sig="")
    assert audit.trail(team, person.id)[0].status is AuditStatus.FORGED  # device left: forged
    tamper(team.doc, line.entry_id, device="")
    assert audit.trail(team, person.id)[0].status is AuditStatus.UNSIGNED


async def test_a_local_only_team_writes_unsigned_history(tmp_path):
    async with await LocalStore.create(tmp_path / "local.mano", PASS, kdf=TEST_KDF) as store:
        team = await Team.create(store, name="Maraude Est", member="member-a")
        person = await team.persons.create(name="Personne P")
        await team.persons.update(person.id, phone="0639980000")
        lines = audit.trail(team, person.id)
    assert [line.field for line in lines] == ["created", "phone"]
    for line in lines:
        assert (line.status, line.member, line.device, line.author) == (
            AuditStatus.UNSIGNED, None, "", "member-a")
    assert all(not h.sig for h in team.history_of(person.id))
