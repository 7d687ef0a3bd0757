"""Every receiving device enforces the role table on what it applies.

A restricted device that bypasses its own engine (a modified client writing into its document)
adds an action category, a custom field, a sub-team and turns a feature off: the admin's and a
normal member's devices refuse those updates (alert naming the author, kept in quarantine) and
still apply the same author's ordinary edits, before and after."""

from __future__ import annotations

import pytest
from pycrdt import Map

from mano_core.crypto.log_entry import Role
from mano_core.document.ydeps import neutralised, read_structs
from mano_core.ids import Compartment
from mano_core.rules.remote import check_remote_update
from mano_core.rules.table import Power
from mano_core.rules.touch import GuardedIndex, Touch
from mano_core.team import Team
from tests.document.helpers import replica
from tests.sync.helpers import eventually, join

pytestmark = pytest.mark.timeout(300)


async def raw_write(team: Team, write) -> None:
    """What a modified client does: write into the document and let it sync like any edit."""
    holder = team.compartment(Compartment.GENERAL)
    with holder.core.doc.transaction():
        write(holder.core.doc)
    await holder.commit()


async def test_a_restricted_devices_settings_writes_are_refused_everywhere(relay, make_device):
    admin, normal, restricted = [await make_device(n) for n in ("admin", "normal", "restr")]
    t_admin = await admin.create_team("Maraude")
    async with await admin.sync(t_admin, relay.url) as s_admin:
        t_normal = await join(s_admin, normal, relay.url, role="normal")
        t_restricted = await join(s_admin, restricted, relay.url, role="restricted")
        async with await normal.sync(t_normal, relay.url) as s_normal, \
                await restricted.sync(t_restricted, relay.url) as s_restricted:
            await t_admin.settings.add("actionCategories", "Soins")
            await eventually(lambda: t_restricted.settings.values("actionCategories")
                             == ["Soins"], what="the admin's category at the restricted device")
            await t_restricted.persons.create(name="Avant")
            template = t_admin.custom_fields.list()  # none yet
            assert template == []

            def hostile(doc) -> None:
                settings = doc.get("settings", type=Map)
                settings["actionCategories[Piratée]"] = 1.0
                settings["features.passages"] = False
                doc.get("customFields", type=Map)["cf-1"] = Map({"_": {
                    "id": "cf-1", "key": "k", "labelText": "K", "type": "text",
                    "createdAt": "2026-11-20T09:00:00Z", "updatedAt": "2026-11-20T09:00:00Z"}})
                doc.get("subteams", type=Map)["st-1"] = Map({"_": {
                    "id": "st-1", "name": "Équipe pirate",
                    "createdAt": "2026-11-20T09:00:00Z", "updatedAt": "2026-11-20T09:00:00Z"}})

            await raw_write(t_restricted, hostile)
            # an overwrite of its own refused key, and removing the admin's category
            await raw_write(t_restricted, lambda doc: doc.get("settings", type=Map).update(
                {"actionCategories[Piratée]": 2.0, "actionCategories[Soins]": None}))
            await t_restricted.persons.create(name="Après")
            await t_restricted.settings.set("memberName." + t_restricted.info.member, "R")
            for team in (t_admin, t_normal):
                await eventually(lambda team=team: sorted(p.name for p in team.persons.list())
                                 == ["Après", "Avant"], what="the ordinary edits")
                await eventually(lambda team=team: team.settings.get(
                    "memberName." + t_restricted.info.member) == "R", what="its own name")
                assert team.settings.values("actionCategories") == ["Soins"]
                assert team.settings.feature("passages") is True
                assert team.custom_fields.list() == [] and team.subteams.list() == []
                refused = await team.quarantine.list()
                assert len(refused) == 2 and all("restricted" in q.reason for q in refused)
            for s in (s_admin, s_normal):
                alerts = [a for a in s.state.alerts if a.kind == "refused"]
                assert len(alerts) == 2
                assert (await restricted.device_id).hex()[:12] in alerts[0].detail
            # the restricted device sees its own writes; nobody else ever will
            assert "Piratée" in t_restricted.settings.values("actionCategories")
            # the admin's later writes still reach everyone
            await t_admin.settings.add("actionCategories", "Hygiène")
            await eventually(lambda: t_normal.settings.values("actionCategories")
                             == ["Soins", "Hygiène"], what="the admin's next category")
            await s_restricted.wait_synced()


def test_guarded_index_resolves_overwrites_nested_items_and_deletions():
    doc = replica("admin", 1)
    updates: list[bytes] = []
    definition = doc.custom_fields.create(key="k", label_text="K", type="text")
    doc.settings.add("actionCategories", "A")
    person = doc.persons.create(name="P")
    updates = doc.drain_updates()
    index = GuardedIndex()
    for update in updates:
        index.observe(update)
    doc.custom_fields.update(definition.id, label_text="K2")  # an entry inside the record
    doc.settings.add("services", "Repas")
    doc.settings.remove("actionCategories", "A")  # a deletion
    doc.persons.update(person.id, phone="06")
    touched = [index.touches(u) for u in doc.drain_updates()]
    assert touched[0].roots == {"customFields"}
    assert touched[1] == Touch(frozenset({"settings"}), frozenset({"services[Repas]"}))
    assert touched[2].settings_keys == {"actionCategories[A]"}
    assert touched[3] == Touch()
    # the pure rule
    assert check_remote_update(Role.NORMAL, "m", Compartment.GENERAL, touched[0]).power \
        is Power.CUSTOM_FIELDS
    assert check_remote_update(Role.ADMIN, "m", Compartment.GENERAL, touched[0]) is None
    assert check_remote_update(Role.RESTRICTED, "m", Compartment.GENERAL, Touch(
        frozenset({"settings"}), frozenset({"value.memberName.m"}))) is None
    assert check_remote_update(Role.RESTRICTED, "m", Compartment.GENERAL, Touch(
        frozenset({"settings"}), frozenset({"value.memberName.other"}))) is not None
    # a neutralised update keeps the clock ranges and carries nothing
    structs, deletes = read_structs(neutralised(updates[0]))
    assert deletes == [] and all(s.kind == 0 for s in structs)
