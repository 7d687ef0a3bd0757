"""Devices that edit offline converge through the relay, every edit exactly once."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from mano_core.ids import Compartment
from mano_core.team import doc_name

from .helpers import content, eventually, join

pytestmark = pytest.mark.timeout(240)
WHEN = dt.datetime(2026, 11, 20, 9, tzinfo=dt.timezone.utc)


async def test_three_devices_offline_edits_converge(relay, make_device):
    a, b, c = [await make_device(n) for n in "abc"]
    team_a = await a.create_team("Maraude Nord")
    async with await a.sync(team_a, relay.url) as sa:
        person = await team_a.persons.create(name="Personne X")
        team_b = await join(sa, b, relay.url)
        team_c = await join(sa, c, relay.url)
        async with await b.sync(team_b, relay.url) as sb, await c.sync(team_c, relay.url) as _sc:
            await eventually(lambda: len(team_b.persons.list()) == 1 == len(team_c.persons.list()),
                             what="the person on b and c")
            await sa.wait_synced()
    # a and b are offline (no sync running): they edit the same person.
    await team_a.persons.update(person.id, phone="0639980001", description="Bonnet vert")
    await team_b.persons.update(person.id, alertness=True, description="Bonnet rouge")
    await team_a.comments.create(text="Vu à la gare, va bien", person=person.id, date=WHEN)
    await team_b.comments.create(text="Demande un duvet", person=person.id, date=WHEN)
    async with await a.sync(team_a, relay.url) as sa, await b.sync(team_b, relay.url) as sb, \
            await c.sync(team_c, relay.url) as _sc:
        await sa.wait_synced()
        await sb.wait_synced()
        teams = (team_a, team_b, team_c)
        await eventually(lambda: all(len(t.comments.list()) == 2 for t in teams)
                         and content(team_a) == content(team_b) == content(team_c),
                         what="convergence")
    merged = team_c.persons.get(person.id)
    assert merged.phone == "0639980001" and merged.alertness is True
    assert merged.description in ("Bonnet vert", "Bonnet rouge")
    texts = sorted(cm.text for cm in team_c.comments.of_person(person.id))
    assert texts == ["Demande un duvet", "Vu à la gare, va bien"]  # each exactly once
    phone_changes = [h for h in team_c.history_of(person.id) if h.field == "phone"]
    assert len(phone_changes) == 1


async def test_restricted_device_never_gets_medical_data(relay, make_device, tmp_path):
    a, r = await make_device("admin"), await make_device("restricted")
    team_a = await a.create_team("Maraude Sud", health=True)
    async with await a.sync(team_a, relay.url) as sa:
        person = await team_a.persons.create(name="Personne W")
        await team_a.medical.treatments.create(person=person.id, name="Insuline Lantus 20 UI")
        team_r = await join(sa, r, relay.url, role="restricted", health=True)
        async with await r.sync(team_r, relay.url) as sr:
            await eventually(lambda: len(team_r.persons.list()) == 1, what="general data")
            await sa.wait_synced()
            await sr.wait_synced()
            await team_a.medical.treatments.create(person=person.id, name="Ventoline")
            await sa.wait_synced()
    assert team_r.medical is None
    keys = await r.vault.team(uuid.UUID(team_r.id).bytes)
    assert keys.keyring.epochs(Compartment.MEDICAL) == []
    # Decrypted with the device's own passphrase, its store holds nothing medical.
    medical = await r.store.load_document(doc_name(team_r.id, Compartment.MEDICAL))
    assert medical.snapshot is None and medical.updates == []
    for name in await r.store.list_documents():
        loaded = await r.store.load_document(name)
        blob = b"".join([loaded.snapshot or b"", *loaded.updates])
        assert b"Insuline" not in blob and b"Ventoline" not in blob
    # The admin's device, a health professional's, has both treatments.
    assert sorted(t.name for t in team_a.medical.treatments.list()) == [
        "Insuline Lantus 20 UI", "Ventoline"]
