"""The app locks itself after this device's idle time (a shared laptop in a day centre):
nothing of the team shows or can be reached until the passphrase is typed again, and what was
on screen is there again after, with everything typed and not saved (a report's text, a form's
field), kept on the device while locked."""

from __future__ import annotations

import pytest
from textual.widgets import Button, Input, Select, TextArea

from mano_core.reporting import daily
from tui.screens.agenda import AgendaScreen
from tui.screens.report import DRAFT_KEY, ReportScreen
from tui.screens.settings import SettingsScreen
from tui.screens.start import LockScreen
from tui.session import IDLE_LOCK_KEY, PREFS, load_pref
from tui.widgets.choice import UnsavedScreen
from tui.widgets.forms import FormScreen

from .conftest import PASS, SIZE, app_on, wait_for
from .rendered import screen_text, shows

pytestmark = pytest.mark.timeout(180)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_flow_idle_lock(demo_store):
    clock = FakeClock()
    app = app_on(demo_store, idle_clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, AgendaScreen), what="agenda")
        assert app.idle_minutes == 15                       # the default
        await pilot.press("f9")
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen))
        settings = app.screen
        await wait_for(pilot, lambda: settings.query("#idle-lock"), what="the settings drawn")
        settings.query_one("#idle-lock", Select).value = 5
        await wait_for(pilot, lambda: app.idle_minutes == 5, what="the new delay")
        assert await load_pref(app.session.device, IDLE_LOCK_KEY) == "5"

        # a key pressed in time starts the count again
        clock.now += 4 * 60
        await pilot.press("2")
        clock.now += 4 * 60
        await pilot.pause(1.5)
        assert app.screen is settings and not app.locked

        await pilot.press("3")  # the members tab, with a member's name on screen
        member = app.session.member_name(app.session.member, app.t)
        await wait_for(pilot, lambda: shows(app, member), what="the member's name shown")
        clock.now += 5 * 60 + 1
        await wait_for(pilot, lambda: isinstance(app.screen, LockScreen), what="the lock")
        await wait_for(pilot, lambda: shows(app, "Verrouillé"), what="the lock drawn")
        assert member not in screen_text(app)

        # nothing reachable behind it: sections, the palette, the help
        for key in ("f3", "ctrl+p", "f1", "f9"):
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, LockScreen), key
        # a wrong passphrase keeps it locked and says so
        field = app.screen.query_one("#lock-passphrase", Input)
        field.value = "pas la bonne"
        await pilot.press("enter")
        await wait_for(pilot, lambda: "incorrecte" in str(
            app.screen.query_one("#unlock-error").render()), what="the refusal")
        assert app.locked
        field.value = PASS
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is settings and not app.locked,
                       what="back where it was")
        await wait_for(pilot, lambda: shows(app, member), what="the tab shown again")

        # a report's text and a form's field typed, not saved: the idle lock keeps both
        await pilot.press("f6")
        await wait_for(pilot, lambda: isinstance(app.screen, ReportScreen), what="the report")
        report = app.screen
        area = report.query_one("#description", TextArea)
        area.focus()
        await pilot.press(*"Rien a signaler")
        await wait_for(pilot, lambda: shows(app, "Modifications non enregistrées"),
                       what="the unsaved mark")
        await pilot.press("ctrl+o")                   # a collaboration, its name being typed
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen), what="the form")
        form = app.screen
        form.query_one("#field-other", Input).focus()
        await pilot.press(*"Samu social")
        clock.now += 5 * 60 + 1
        await wait_for(pilot, lambda: isinstance(app.screen, LockScreen), what="the lock")
        assert not shows(app, "Rien a signaler") and not shows(app, "Samu social")
        draft = await app.session.device.store.get(PREFS, DRAFT_KEY)
        assert draft is not None and b"Rien a signaler" in draft    # on the device, encrypted
        app.screen.query_one("#lock-passphrase", Input).value = PASS
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is form and not app.locked, what="the form")
        assert form.query_one("#field-other", Input).value == "Samu social"
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is report, what="the report")
        assert area.text == "Rien a signaler" and shows(app, "Modifications non enregistrées")


async def test_lock_now_and_language_while_locked(demo_store):
    app = app_on(demo_store, idle_clock=FakeClock())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, AgendaScreen), what="agenda")
        agenda = app.screen
        await pilot.press("f6")                  # a report text typed, not saved
        await wait_for(pilot, lambda: isinstance(app.screen, ReportScreen), what="the report")
        report = app.screen
        # typed once the day's report is shown (shown after the screen: it would replace it)
        await wait_for(pilot, lambda: report._shown is not None
                       and bool(report.query("#description")), what="the report's text")
        report.query_one("#description", TextArea).insert("Texte en cours")
        await pilot.press("f2")
        await wait_for(pilot, lambda: app.screen is agenda, what="the agenda")
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: isinstance(app.screen, LockScreen), what="the lock")
        await pilot.press("f12")                 # the lock screen itself turns English
        await wait_for(pilot, lambda: shows(app, "Locked") and shows(app, "Passphrase"),
                       what="the lock screen in English")
        # nothing is asked behind the lock (the question would show the report)
        assert isinstance(app.screen, LockScreen) and not shows(app, "Verrouillé")
        assert not shows(app, "Texte en cours")
        app.screen.query_one("#lock-passphrase", Input).value = PASS
        await pilot.press("enter")
        # once unlocked, the sections are rebuilt in English: the unsaved text is asked about
        await wait_for(pilot, lambda: isinstance(app.screen, UnsavedScreen), what="the question")
        assert not app.locked and shows(app, "Unsaved text")
        app.screen.query_one("#save", Button).press()
        # the sections rebuilt (a new report screen, every worker done: the unlock's too)
        await wait_for(pilot, lambda: not app.locked and isinstance(app.screen, ReportScreen)
                       and app.screen is not report
                       and all(w.is_finished for w in app.workers), what="rebuilt")
        await wait_for(pilot, lambda: shows(app, "Persons"), what="English sections")
        sub = app.session.subteam
        rep = daily.get(app.session.team, sub, app.screen.day)
        assert rep is not None and rep.description == "Texte en cours"
