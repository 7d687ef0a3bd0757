"""Two app instances on two devices, through a real relay subprocess, see each other's edits
and who has a person file open."""

from __future__ import annotations

import pytest

from mano_core.device import Device
from mano_core.store import TEST_KDF
from mano_core.sync.state import Status
from tests.harness.relay import RelayProcess
from tui.screens.agenda import AgendaScreen
from tui.screens.person_file import PersonFileScreen
from tui.session import MEMBER_NAMES_KEY

from .conftest import PASS, SIZE, app_on, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


async def test_two_apps_see_each_others_edits(tmp_path):
    relay = await RelayProcess(str(tmp_path / "relay.db"), "--synchronous", "NORMAL").start()
    try:
        async with await Device.create(tmp_path / "a.mano", PASS, kdf=TEST_KDF) as a:
            team = await a.create_team("Maraude Nord", health=True)
            await team.settings.set(MEMBER_NAMES_KEY + team.info.member, "Awa")
            person = await team.persons.create(name="Rachid Benhamou")
            async with await a.sync(team, relay.url) as sync:
                code = await sync.create_invitation(role="normal")
                async with await Device.create(tmp_path / "b.mano", PASS, kdf=TEST_KDF) as b:
                    joined = await b.join_team(relay.url, code, timeout=60)
                    await joined.settings.set(MEMBER_NAMES_KEY + joined.info.member, "Basile")
                    async with await b.sync(joined, relay.url) as sync_b:
                        await sync_b.wait_synced(60)
                await sync.wait_synced(60)

        app_a = app_on(tmp_path / "a.mano", relay=relay.url)
        app_b = app_on(tmp_path / "b.mano", relay=relay.url)
        async with app_a.run_test(size=SIZE) as pa, app_b.run_test(size=SIZE) as pb:
            for pilot in (pa, pb):
                await wait_for(pilot, lambda p=pilot: isinstance(p.app.screen, AgendaScreen))
                await wait_for(pilot, lambda p=pilot: p.app.session.sync.state.status
                               is Status.ONLINE, what="online")
            team_a, team_b = app_a.session.team, app_b.session.team
            await wait_for(pb, lambda: person.id in {p.id for p in team_b.persons.list()},
                           what="B has A's person")

            # B opens the file: A sees who has it open once A opens it too
            for pilot in (pb, pa):  # the persons list holds only him: F3, Enter opens his file
                await pilot.press("f3")
                await wait_for(pilot, lambda p=pilot: p.app.screen.query("PagedTable")
                               and p.app.screen.query_one("PagedTable").items)
                await pilot.press("enter")
                await wait_for(pilot, lambda p=pilot: isinstance(p.app.screen, PersonFileScreen)
                               and p.app.screen.person_id == person.id)
            await wait_for(pa, lambda: "Basile" in str(
                app_a.screen.query_one("#viewers").render()),
                what="A sees that Basile has the file open")

            # an edit on A appears in B's open file, and the other way round
            await team_a.persons.update(person.id, phone="06 39 98 00 11")
            await wait_for(pb, lambda: "06 39 98 00 11" in str(
                app_b.screen.query_one("#summary").render()),
                what="B's file shows A's edit")
            await team_b.comments.create(text="Vu gare du Nord", person=person.id,
                                         date=app_b.now())
            await wait_for(pa, lambda: team_a.comments.of_person(person.id),
                           what="A receives B's comment")
            await wait_for(pa, lambda: app_a.screen.query_one("#comments").row_count == 1,
                           what="A's open file lists it")
            assert "Awa" in str(app_b.screen.query_one("SyncBar").render()) or \
                app_b.session.sync.state.online_teammates()
    finally:
        await relay.stop()
