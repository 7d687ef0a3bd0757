"""A teammate's update whose dependency never arrives is bounded: quarantined with an alert
after its time, then snapshots upload and an erasure completes (it used to wait forever)."""

from __future__ import annotations

import pytest
from pycrdt import Doc, Map

from mano_core.ids import Compartment
from mano_core.sync import payload
from mano_core.sync.client import SyncClient
from mano_core.team import sealed_outbox
from tests.sync.helpers import eventually, join

pytestmark = pytest.mark.timeout(150)


def orphan_update() -> bytes:
    """An edit of a person whose creation (the update it depends on) is never sent."""
    doc = Doc(client_id=424242)
    persons = doc.get("persons", type=Map)
    with doc.transaction():
        persons["orphan"] = Map({"_": {"id": "orphan", "name": "Sans-Dependance",
                                       "createdAt": "2026-11-20T09:00:00Z",
                                       "updatedAt": "2026-11-20T09:00:00Z"}})
    before = doc.get_state()
    with doc.transaction():
        persons["orphan"]["phone"] = "0600000000"
    return doc.get_update(before)


async def test_missing_dependency_is_quarantined_then_the_erasure_completes(relay, make_device):
    a, b, c = [await make_device(n) for n in "abc"]
    team_a = await a.create_team("Maraude")
    options = {"parked_timeout": 1.0}
    async with await a.sync(team_a, relay.url, **options) as sa:
        p = await team_a.persons.create(name="Zorglub-Erased")
        await team_a.persons.create(name="Kept-Quentin")
        team_b = await join(sa, b, relay.url)
        team_c = await join(sa, c, relay.url)
        async with await b.sync(team_b, relay.url, **options) as sb:
            # c sends an update whose dependency it never sends, then is removed.
            keys_c = await c.vault.team((await c.vault.team_ids())[0])
            await keys_c.seal(next(payload.encode_batches([orphan_update()])),
                              compartment=Compartment.GENERAL,
                              doc=sealed_outbox(team_c.id, Compartment.GENERAL))
            async with await c.sync(team_c, relay.url) as sc:
                await sc.wait_synced()
            await eventually(lambda: sa.state.waiting_updates == 1
                             and sb.state.waiting_updates == 1, 60, "a and b park it")
            await sa.remove_device(await c.device_id)
            order = await team_a.erasures.erase([p.id])
            await eventually(lambda: all(t.erasures.status(order.id).complete
                                         for t in (team_a, team_b)), 60,
                             "the erasure completes on a and b")
            status = team_a.erasures.status(order.id)
            assert "general" in status.purged  # a snapshot covering it was uploaded
            # A device sets the update aside when it next prepares a snapshot; only the one
            # that uploads must (the other may never need to: it is not asked to purge).
            def set_aside(s: SyncClient) -> bool:
                return s.state.waiting_updates == 0 and any(
                    al.kind == "quarantine" for al in s.state.alerts)
            await eventually(lambda: set_aside(sa) or set_aside(sb), 60,
                             "the parked update set aside, with an alert, by a or b")
            for s, team in ((sa, team_a), (sb, team_b)):
                if set_aside(s):
                    (row,) = await team.quarantine.list()
                    assert row.compartment == int(Compartment.GENERAL) and row.size > 0
                    assert row.update == b""  # no content kept once the team has erasures
                assert [x.name for x in team.persons.list()] == ["Kept-Quentin"]



async def test_quarantined_content_is_dropped_by_an_erasure(make_device):
    """An edit parked for lack of its dependency names the record it changes by a CRDT id,
    not by the person's id: the erasure cannot tell whether it is about the erased person, so
    it drops every quarantined update's content (their records stay)."""
    a = await make_device("a")
    team = await a.create_team("Maraude")
    p = await team.persons.create(name="Zorglub-Erased")
    orphan = orphan_update()
    await team.apply_remote(Compartment.GENERAL, [orphan])
    await team.compartment(Compartment.GENERAL).quarantine_overdue(timeout=0)
    (row,) = await team.quarantine.list()
    assert row.update == orphan  # kept while the team has no erasure
    await team.erasures.erase([p.id])
    (row,) = await team.quarantine.list()
    assert row.update == b"" and row.size == len(orphan)
