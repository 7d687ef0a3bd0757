"""Through a real relay: a teammate's edit verifies as theirs; their tampering shows."""

from __future__ import annotations

import pytest

from mano_core import audit
from mano_core.audit import AuditStatus
from mano_core.ids import Compartment
from tests.sync.helpers import eventually

from .test_trail import tamper

pytestmark = pytest.mark.timeout(240)


async def test_a_teammates_edit_verifies_as_theirs_and_their_tampering_shows(relay,
                                                                             make_device):
    a = await make_device("a")
    b = await make_device("b")
    team_a = await a.create_team("Maraude Nord", health=True)
    async with await a.sync(team_a, relay.url) as sync_a:
        code = await sync_a.create_invitation(role="normal", health=False)
        person = await team_a.persons.create(name="Personne T")
        team_b = await b.join_team(relay.url, code, timeout=60)
        async with await b.sync(team_b, relay.url) as sync_b:
            await eventually(lambda: bool(team_b.persons.list()), what="the person on B")
            await team_b.persons.update(person.id, phone="0639980011")
            await sync_b.wait_synced(60)
            await eventually(lambda: team_a.persons.get(person.id).phone == "0639980011",
                             what="B's edit on A")

            created, phone = audit.trail(team_a, person.id)
            assert team_b.info.member != team_a.info.member
            assert (created.status, created.member) == (AuditStatus.VERIFIED, team_a.info.member)
            assert (phone.status, phone.member, phone.device) == (
                AuditStatus.VERIFIED, team_b.info.member, (await b.device_id).hex())
            assert (phone.old, phone.new) == ("", "0639980011")

            # B, as a malicious member, rewrites A's entry in the shared document
            tamper(team_b.doc, created.entry_id, field="name", new="Quelqu'un d'autre")
            await team_b.compartment(Compartment.GENERAL).commit()
            await sync_b.wait_synced(60)
            await eventually(lambda: audit.trail(team_a, person.id)[0].field == "name",
                             what="the tampered entry on A")
            forged = audit.trail(team_a, person.id)[0]
            assert (forged.status, forged.new) == (AuditStatus.FORGED, "Quelqu'un d'autre")
            assert audit.trail(team_a, person.id)[1].status is AuditStatus.VERIFIED
