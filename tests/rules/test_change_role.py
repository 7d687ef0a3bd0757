"""An admin changes a device's role and health flag after it joined, through a real relay."""

from __future__ import annotations

import datetime as dt

import pytest

from mano_core.errors import NotAdminError, PermissionDeniedError
from mano_core.ids import Compartment
from mano_core.team import doc_name
from tests.sync.helpers import eventually, join

pytestmark = pytest.mark.timeout(150)

WHEN = dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)


async def test_granting_then_withdrawing_health(relay, make_device):
    admin, member = await make_device("admin"), await make_device("member")
    t_admin = await admin.create_team("Maraude", health=True)
    await t_admin.settings.add("consultationTypes", "Avant", "Pendant", "Après")
    async with await admin.sync(t_admin, relay.url) as s_admin:
        t_member = await join(s_admin, member, relay.url, role="normal")
        member_id = await member.device_id
        person = await t_admin.persons.create(name="Suivie")
        await t_admin.medical.consultations.create(person=person.id, type="Avant",
                                                   due_at=WHEN)
        async with await member.sync(t_member, relay.url) as s_member:
            await eventually(lambda: len(t_member.persons.list()) == 1, what="the person")
            assert t_member.medical is None
            with pytest.raises(NotAdminError):
                await s_member.change_role(await admin.device_id, role="normal", health=False)
            # granting health: the medical compartment opens with every epoch's keys
            await s_admin.change_role(member_id, role="normal", health=True)
            await eventually(lambda: t_member.medical is not None
                             and [c.type for c in t_member.medical.consultations.list()]
                             == ["Avant"], timeout=60, what="the old consultation at the member")
            await t_member.medical.consultations.create(person=person.id, type="Pendant",
                                                        due_at=WHEN)
            await eventually(lambda: len(t_admin.medical.consultations.list()) == 2,
                             what="the member's medical write at the admin")
            epoch = s_admin.keys.log.epoch(Compartment.MEDICAL)
            # withdrawing it: a new medical epoch, the member holds nothing medical any more
            await s_admin.change_role(member_id, role="normal", health=False)
            await eventually(lambda: t_member.medical is None, what="the member's medical gone")
            assert s_admin.keys.log.epoch(Compartment.MEDICAL) == epoch + 1
            await t_admin.medical.consultations.create(person=person.id, type="Après",
                                                       due_at=WHEN)
            await s_admin.wait_synced()
            assert any(a.kind == "health" for a in s_member.state.alerts)
            loaded = await member.store.load_document(doc_name(t_member.id,
                                                               Compartment.MEDICAL))
            assert not loaded.snapshot and not loaded.updates
            keys = await member.vault.team((await member.vault.team_ids())[0])
            assert keys.keyring.epochs(Compartment.MEDICAL) == []
            # and a role change is enforced at once by its own engine
            await s_admin.change_role(member_id, role="restricted", health=False)
            await eventually(lambda: t_member.role.value == "restricted", what="restricted")
            with pytest.raises(PermissionDeniedError):
                from mano_core.reporting import stats
                from mano_core.reporting.view import Period
                stats.compute(t_member, Period(WHEN.date(), WHEN.date()))
    assert len(t_admin.medical.consultations.list()) == 3
