"""Members through the app, between real apps on real devices and a real relay subprocess:
an admin invites a nurse with the health flag (she joins from her own app's first run and sees
the medical tab), changes a role, revokes a lost device."""

from __future__ import annotations

import pytest
from textual.widgets import Input, Select

from mano_core.crypto.log_entry import Role
from mano_core.device import Device
from mano_core.store import TEST_KDF
from mano_core.sync.state import Status
from tests.harness.relay import RelayProcess
from tui.navigation import OpenPerson
from tui.screens.agenda import AgendaScreen
from tui.screens.person_file import PersonFileScreen
from tui.screens.settings import InvitationScreen, SettingsScreen, qr_text
from tui.screens.start import FirstRunScreen
from tui.session import MEMBER_NAMES_KEY
from tui.widgets.confirm import ConfirmScreen
from tui.widgets.forms import FormScreen

from .conftest import PASS, SIZE, app_on, wait_for
from .rendered import screen_text, shows

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


@pytest.fixture
async def relay(tmp_path):
    process = await RelayProcess(str(tmp_path / "relay.db"), "--synchronous", "NORMAL").start()
    yield process
    await process.stop()


async def admin_store(path, relay_url: str) -> str:
    """A team founded on ``path`` (this device its admin, health), known to the relay, with
    one person; returns the person's id."""
    async with await Device.create(path, PASS, kdf=TEST_KDF) as device:
        team = await device.create_team("Maraude Nord", health=True)
        await team.settings.set(MEMBER_NAMES_KEY + team.info.member, "Awa")
        person = await team.persons.create(name="Personne Suivie")
        async with await device.sync(team, relay_url) as sync:
            await sync.wait_synced(60)
    return person.id


async def settings_tab(pilot, tab: str) -> SettingsScreen:
    app = pilot.app
    await pilot.press("f9")
    await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen), what="settings")
    await pilot.press({"members": "3"}[tab])
    await wait_for(pilot, lambda: app.focused is not None and app.focused.id == tab,
                   what=f"the {tab} table focused")
    return app.screen


def online(app) -> bool:
    return app.session is not None and app.session.sync is not None \
        and app.session.sync.state.status is Status.ONLINE


async def test_flow_invite_health(tmp_path, relay):
    """The admin invites a nurse (normal role, health flag) from Settings › Members; the QR
    code is drawn; the nurse joins from her app's first run with the code, and her device
    holds the medical compartment: the person file shows the medical tab."""
    person_id = await admin_store(tmp_path / "a.mano", relay.url)
    app_a = app_on(tmp_path / "a.mano", relay=relay.url)
    app_b = app_on(tmp_path / "b.mano", relay=relay.url, passphrase=None)
    async with app_a.run_test(size=SIZE) as pa:
        await wait_for(pa, lambda: isinstance(app_a.screen, AgendaScreen) and online(app_a),
                       what="A online")
        await settings_tab(pa, "members")
        await pa.press("i")
        await wait_for(pa, lambda: isinstance(app_a.screen, FormScreen), what="the form")
        form = app_a.screen
        form.query_one("#field-role", Select).value = "normal"
        form.query_one("#field-health").value = True
        await pa.press("ctrl+s")
        await wait_for(pa, lambda: isinstance(app_a.screen, InvitationScreen),
                       what="the invitation")
        invitation = app_a.screen
        code = invitation.code
        qr = invitation.query_one("#invite-qr")
        await wait_for(pa, lambda: qr.size.height > 10 and qr.size.width > 20,
                       what="the QR code drawn with a real size")
        assert "professionnel de santé" in str(invitation.query_one("#invite-explain").render())
        assert qr_text(code).split("\n")[3] in screen_text(app_a)   # drawn, not only built

        async with app_b.run_test(size=SIZE) as pb:
            await wait_for(pb, lambda: isinstance(app_b.screen, FirstRunScreen),
                           what="B's first run")
            first = app_b.screen
            await pb.click("#choice-join")
            await wait_for(pb, lambda: first.query_one("#join-fields").display)
            first.query_one("#relay", Input).value = relay.url
            first.query_one("#code", Input).value = code
            first.query_one("#your-name", Input).value = "Infirmière Une"
            first.query_one("#passphrase", Input).value = PASS
            first.query_one("#passphrase2", Input).value = PASS
            first.query_one("#passphrase2", Input).focus()
            await pb.press("enter")
            await wait_for(pb, lambda: isinstance(app_b.screen, AgendaScreen), timeout=40,
                           what="B joined and opened the team")
            team_b = app_b.session.team
            assert team_b.medical is not None
            assert team_b.role is Role.NORMAL
            await wait_for(pb, lambda: person_id in {p.id for p in team_b.persons.list()},
                           what="B received the team's data")
            app_b.post_message(OpenPerson(person_id))
            await wait_for(pb, lambda: isinstance(app_b.screen, PersonFileScreen))
            assert app_b.screen.query("#tab-medical")
            assert shows(app_b, "Médical")

        # A's members tab lists her, with her role and the health flag
        await pa.press("escape")
        await wait_for(pa, lambda: isinstance(app_a.screen, SettingsScreen))
        log = app_a.session.sync.keys.log
        nurse = next(d for d in log.active_devices() if d.member == team_b.info.member)
        assert (nurse.role, nurse.health) == (Role.NORMAL, True)
        table = app_a.screen.query_one("#members")
        await wait_for(pa, lambda: table.row_count == 2, what="two members")
        row = [str(c) for c in table.get_row(nurse.device_id.hex())]
        assert row[:3] == ["Infirmière Une", "normal", "oui"]


async def joined_pair(tmp_path, relay_url: str) -> tuple[str, bytes]:
    """A (admin) and B (normal, no health) in one team through the relay; B's member id and
    device id."""
    await admin_store(tmp_path / "a.mano", relay_url)
    async with await Device.open(tmp_path / "a.mano", PASS) as a:
        team = await a.open_team((await a.teams())[0].id)
        async with await a.sync(team, relay_url) as sync:
            code = await sync.create_invitation(role="normal", health=False)
            async with await Device.create(tmp_path / "b.mano", PASS, kdf=TEST_KDF) as b:
                joined = await b.join_team(relay_url, code, timeout=60)
                await joined.settings.set(MEMBER_NAMES_KEY + joined.info.member, "Basile")
                async with await b.sync(joined, relay_url) as sync_b:
                    await sync_b.wait_synced(60)
                device_b = await b.device_id
            await sync.wait_synced(60)
    return joined.info.member, device_b


async def test_flow_change_role(tmp_path, relay):
    """The admin makes Basile an admin with the health flag: the signed log says so on A,
    Basile's own device learns it (it may now administer, and gets the medical keys), and
    the members table shows it."""
    _member_b, device_b = await joined_pair(tmp_path, relay.url)
    app_a = app_on(tmp_path / "a.mano", relay=relay.url)
    app_b = app_on(tmp_path / "b.mano", relay=relay.url)
    async with app_a.run_test(size=SIZE) as pa, app_b.run_test(size=SIZE) as pb:
        for pilot in (pa, pb):
            await wait_for(pilot, lambda p=pilot: online(p.app), what="online")
        assert app_b.session.team.role is Role.NORMAL and app_b.session.team.medical is None
        screen = await settings_tab(pa, "members")
        table = screen.query_one("#members")
        await wait_for(pa, lambda: table.row_count == 2, what="two devices")
        table.move_cursor(row=table.get_row_index(device_b.hex()))
        await pa.press("e")
        await wait_for(pa, lambda: isinstance(app_a.screen, FormScreen))
        app_a.screen.query_one("#field-role", Select).value = "admin"
        app_a.screen.query_one("#field-health").value = True
        await pa.press("ctrl+s")
        await wait_for(pa, lambda: isinstance(app_a.screen, SettingsScreen))
        state = app_a.session.sync.keys.log.device(device_b)
        assert (state.role, state.health) == (Role.ADMIN, True)
        await wait_for(pa, lambda: [str(c) for c in table.get_row(device_b.hex())][1:3]
                       == ["administrateur", "oui"], what="the table shows it")
        await wait_for(pb, lambda: app_b.session.team.role is Role.ADMIN
                       and app_b.session.team.medical is not None,
                       what="B's device applies the change and gets the medical keys")

        # back to restricted: B's device drops its medical data
        table.move_cursor(row=table.get_row_index(device_b.hex()))
        await pa.press("e")
        await wait_for(pa, lambda: isinstance(app_a.screen, FormScreen))
        app_a.screen.query_one("#field-role", Select).value = "restricted"
        app_a.screen.query_one("#field-health").value = False
        await pa.press("ctrl+s")
        await wait_for(pa, lambda: isinstance(app_a.screen, SettingsScreen))
        assert app_a.session.sync.keys.log.device(device_b).role is Role.RESTRICTED
        await wait_for(pb, lambda: app_b.session.team.medical is None,
                       what="B's device without the medical compartment")

        # the last admin cannot step down: said under the field, nothing written
        own = app_a.session.sync.keys.identity.device_id
        table.move_cursor(row=table.get_row_index(own.hex()))
        await pa.press("e")
        await wait_for(pa, lambda: isinstance(app_a.screen, FormScreen))
        form = app_a.screen
        form.query_one("#field-role", Select).value = "normal"
        await pa.press("ctrl+s")
        await wait_for(pa, lambda: shows(app_a, "garder au moins un administrateur"),
                       what="the refusal under the field")
        assert isinstance(app_a.screen, FormScreen)
        assert app_a.session.sync.keys.log.device(own).role is Role.ADMIN


async def test_flow_revoke_device(tmp_path, relay):
    """A lost device is revoked from Settings › Members after a confirmation naming its
    owner: the log removes it, the relay closes its session for good (its app says
    'révoqué'), and the members table no longer lists it."""
    _member_b, device_b = await joined_pair(tmp_path, relay.url)
    app_a = app_on(tmp_path / "a.mano", relay=relay.url)
    app_b = app_on(tmp_path / "b.mano", relay=relay.url)
    async with app_a.run_test(size=SIZE) as pa, app_b.run_test(size=SIZE) as pb:
        for pilot in (pa, pb):
            await wait_for(pilot, lambda p=pilot: online(p.app), what="online")
        screen = await settings_tab(pa, "members")
        table = screen.query_one("#members")
        await wait_for(pa, lambda: table.row_count == 2, what="two devices")
        # an admin never revokes its own device
        own = app_a.session.sync.keys.identity.device_id
        table.move_cursor(row=table.get_row_index(own.hex()))
        await pa.press("d")
        await pa.pause(0.2)
        assert not isinstance(app_a.screen, ConfirmScreen)
        table.move_cursor(row=table.get_row_index(device_b.hex()))
        await pa.press("d")
        await wait_for(pa, lambda: isinstance(app_a.screen, ConfirmScreen))
        assert "Basile" in app_a.screen.body
        await pa.click("#confirm")
        await wait_for(pa, lambda: not app_a.session.sync.keys.log.is_active(device_b),
                       what="the device removed from the log")
        await wait_for(pa, lambda: table.row_count == 1, what="the table without it")
        await wait_for(pb, lambda: app_b.session.sync.state.status is Status.REVOKED,
                       what="B's sync stopped for good")
        await wait_for(pb, lambda: "retiré de l'équipe" in str(
            app_b.screen.query_one("SyncBar").render()), what="B's sync bar says so")
