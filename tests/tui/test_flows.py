"""Pilot tests of the main flows, as a worker would go through them with the keyboard."""

from __future__ import annotations

import pytest
from textual import events
from textual.widgets import DataTable, Input

from tui.screens.agenda import AgendaScreen
from tui.screens.person_file import PersonFileScreen
from tui.screens.persons import PersonsScreen
from tui.widgets.forms import FormScreen
from tui.widgets.paged_table import PagedTable

from .conftest import SIZE, app_on, wait_for
from .pilots import opened
from .rendered import notices, shows

__all__ = ["opened", "type_text"]  # used by other test modules

pytestmark = pytest.mark.timeout(180)


async def type_text(pilot, text: str) -> None:
    """Type into the focused field (pasted at once: key-by-key typing only slows tests)."""
    from textual.widgets import TextArea
    # A form focuses its first field once mounted: under load the screen can be up a few frames
    # before that focus lands (typing then went into the form's scroll container).
    await wait_for(pilot, lambda: isinstance(pilot.app.focused, (Input, TextArea)),
                   what="a text field focused")
    focused = pilot.app.focused
    if isinstance(focused, Input):
        focused.insert_text_at_cursor(text)
    else:
        focused.insert(text)
    await pilot.pause()


@pytest.mark.slow
async def test_create_person_then_action_done_and_urgent_comment(demo_store):
    app = app_on(demo_store)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await opened(pilot)
        await pilot.press("f3", "ctrl+n")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen), what="the form")
        await type_text(pilot, "Personne Z")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PersonFileScreen),
                       what="the new person's file")
        team = app.session.team
        person = next(p for p in team.persons.list() if p.name == "Personne Z")
        assert app.screen.person_id == person.id

        # a new action linked to her, due today
        await pilot.press("a")
        from tui.widgets.action_form import ActionFormScreen
        await wait_for(pilot, lambda: isinstance(app.screen, ActionFormScreen))
        await type_text(pilot, "Accompagnement CAF")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: team.actions.of_person(person.id), what="the action")
        await wait_for(pilot, lambda: isinstance(app.screen, PersonFileScreen))
        action = team.actions.of_person(person.id)[0]
        assert action.status == "A FAIRE"
        await wait_for(pilot, lambda: app.screen.query_one("#actions", DataTable).row_count == 1)

        # mark it done: one key, nothing asked, and a notice says how to take it back
        await pilot.press("d")
        await wait_for(pilot, lambda: team.actions.get(action.id).status == "FAIT",
                       what="the action done")
        assert team.actions.get(action.id).completed_at is not None
        await wait_for(pilot, lambda: "Ctrl+Z : annuler" in notices(app),
                       what="the undo notice")

        # a comment, then urgent
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        await type_text(pilot, "Vue ce matin")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: team.comments.of_person(person.id), what="the comment")
        await wait_for(pilot, lambda: app.screen.query_one("#comments", DataTable).row_count)
        await pilot.press("u")
        await wait_for(pilot, lambda: team.comments.of_person(person.id)[0].urgent,
                       what="the comment urgent")
        # an edit, then its history: who, which field, old → new
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen))
        app.screen.query_one("#field-phone", Input).value = "06 11 22 33 44"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: team.persons.get(person.id).phone == "06 11 22 33 44")
        await wait_for(pilot, lambda: isinstance(app.screen, PersonFileScreen))
        await pilot.press("7")
        history = app.screen.query_one("#history", DataTable)
        await wait_for(pilot, lambda: any("06 11 22 33 44" in str(history.get_row_at(i)[3])
                                          for i in range(history.row_count)),
                       what="the phone change in the history tab")


@pytest.mark.slow
async def test_bad_input_names_the_field_and_keeps_what_was_typed(demo_store):
    from tui.widgets.action_form import ActionFormScreen
    app = app_on(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await pilot.press("f2", "ctrl+n")
        await wait_for(pilot, lambda: isinstance(app.screen, ActionFormScreen))
        await type_text(pilot, "Appel 115")
        form = app.screen
        due = form.query_one("#field-day", Input)
        due.value = "31/02/2026"
        await pilot.press("ctrl+s")
        await pilot.pause()
        error = str(form.query_one("#error-day").render())
        assert "Échéance" in error and "date" in error
        assert isinstance(app.screen, ActionFormScreen)  # still open
        assert form.query_one("#field-name", Input).value == "Appel 115"
        due.value = "20/11/2026"
        # nobody by that name: nobody offered, nobody added
        form.query_one("#field-person-search", Input).value = "personne inexistante xyz"
        await pilot.pause()
        assert not form.query_one("#person-matches").display
        # an empty name is refused by the engine: its message lands under "Action"
        form.query_one("#field-name", Input).value = ""
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "Action" in str(form.query_one("#error-name").render())


async def test_search_ignores_accents_and_case_and_finds_aliases(demo_store):
    app = app_on(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        team = app.session.team
        target = await team.persons.create(name="Élodie Öztürk", other_names=["La Frisée"])
        await pilot.press("f3", "slash")
        await type_text(pilot, "ELODIE OZ")
        table = app.screen.query_one(PagedTable)
        await wait_for(pilot, lambda: [p.id for p in table.items] == [target.id],
                       what="the search result")
        search = app.screen.query_one("#search", Input)
        search.value = "frisee"
        await wait_for(pilot, lambda: [p.id for p in table.items] == [target.id],
                       what="the alias result")
        search.value = ""
        await wait_for(pilot, lambda: len(table.items) == len(team.persons.active()))
        await pilot.press("escape")
        app.screen.action_toggle_vulnerable()   # vulnerable only (Ctrl+P, or its checkbox)
        await wait_for(pilot, lambda: all(p.alertness for p in table.items) and table.items,
                       what="vulnerable only")


@pytest.mark.slow
async def test_switch_language(demo_store):
    app = app_on(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        assert "Agenda du" in str(app.screen.query_one("#agenda-title").render())
        await pilot.press("f12")
        await wait_for(pilot, lambda: app.t.lang == "en" and isinstance(app.screen,
                                                                         AgendaScreen))
        await pilot.pause()
        assert "Agenda of" in str(app.screen.query_one("#agenda-title").render())
        await pilot.press("f3")
        await wait_for(pilot, lambda: isinstance(app.screen, PersonsScreen))
        assert app.screen.query_one("#search", Input).placeholder.startswith("Search")
    # remembered on this device
    again = app_on(demo_store, lang=None)
    async with again.run_test(size=SIZE) as pilot:
        await opened(pilot)
        assert again.t.lang == "en"


async def test_wrong_passphrase_says_so_under_the_field(demo_store):
    app = app_on(demo_store, passphrase=None)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await type_text(pilot, "pas la bonne")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "incorrecte" in str(
            app.screen.query_one("#unlock-error").render()), what="the error")
        assert "Phrase de passe" in str(app.screen.query_one("#unlock-error").render())
        assert app.session is None


async def test_first_run_creates_a_team(tmp_path):
    app = app_on(tmp_path / "new.mano", passphrase=None)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        screen.query_one("#team-name", Input).value = "Maraude Sud"
        screen.query_one("#your-name", Input).value = "Awa"
        screen.query_one("#passphrase", Input).value = "une longue phrase"
        screen.query_one("#passphrase2", Input).value = "une autre phrase"
        screen.query_one("#passphrase2", Input).focus()
        await pilot.press("enter")
        await pilot.pause()
        assert "diffèrent" in str(screen.query_one("#first-error").render())
        screen.query_one("#passphrase2", Input).value = "une longue phrase"
        await pilot.press("enter")
        # a new team is guided: MANO's defaults were proposed (ticked) and applied, and the
        # guide says what is ready and what to set up next
        from tui.screens.start import SetupGuideScreen
        await wait_for(pilot, lambda: isinstance(app.screen, SetupGuideScreen), what="guide")
        team = app.session.team
        assert team.info.name == "Maraude Sud"
        assert app.session.member_name(app.session.member, app.t) == "Awa"
        assert {"Informations sociales", "Informations de santé"} <= {
            d.section for d in team.custom_fields.list()}
        assert "Hébergement" in team.settings.values("actionCategories")
        fields = len(team.custom_fields.list())
        await wait_for(pilot, lambda: shows(app, f"{fields} champs personnalisés"),
                       what="the guide drawn")
        assert shows(app, "Inviter les membres")
        await pilot.press("escape")
        await opened(pilot)


async def test_first_run_without_mano_defaults(tmp_path):
    app = app_on(tmp_path / "new.mano", passphrase=None)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: shows(app, "Commencer avec les réglages par défaut de MANO"),
                       what="the defaults proposed")
        screen = app.screen
        screen.query_one("#defaults").value = False
        screen.query_one("#team-name", Input).value = "Accueil de jour"
        screen.query_one("#your-name", Input).value = "Awa"
        screen.query_one("#passphrase", Input).value = "une longue phrase"
        screen.query_one("#passphrase2", Input).value = "une longue phrase"
        screen.query_one("#passphrase2", Input).focus()
        await pilot.press("enter")
        from tui.screens.start import SetupGuideScreen
        await wait_for(pilot, lambda: isinstance(app.screen, SetupGuideScreen), what="guide")
        assert app.session.team.custom_fields.list() == []
        await wait_for(pilot, lambda: shows(app, "0 champ personnalisé"), what="the guide")
        await pilot.press("enter")   # Enter opens the settings
        from tui.screens.settings import SettingsScreen
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen), what="settings")


@pytest.mark.slow
async def test_help_lists_the_screen_bindings(demo_store):
    app = app_on(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await pilot.press("f1")
        await pilot.pause()
        table = app.screen.query_one("#help-keys", DataTable)
        rows = [table.get_row_at(i) for i in range(table.row_count)]
        described = {str(what) for _k, what in rows}
        assert {"Nouvelle action", "Fait", "Aide", "Personnes"} <= described
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, AgendaScreen)


async def test_ctrl_p_opens_the_command_palette_and_the_footer_says_so(demo_store):
    from textual.command import CommandInput, CommandPalette

    app = app_on(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await wait_for(pilot, lambda: shows(app, "^p Commandes"), what="the footer's palette key")
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette),
                       what="the command palette")
        await wait_for(pilot, lambda: shows(app, "Chercher une commande"),
                       what="the palette's search field in French")
        await wait_for(pilot, lambda: isinstance(app.focused, CommandInput),
                       what="the palette's search field focused")
        await type_text(pilot, "Personnes (F3)")
        await wait_for(pilot, lambda: shows(app, "Ouvrir cette section"),
                       what="the section command offered")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PersonsScreen),
                       what="the persons section, opened from the palette")
        await pilot.press("f12")
        await wait_for(pilot, lambda: shows(app, "^p Commands"), what="the footer in English")
        await wait_for(pilot, lambda: app.modes_settled, what="the sections rebuilt in English")


async def test_letters_typed_on_the_persons_list_go_to_its_search(demo_store):
    app = app_on(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await pilot.press("f3")
        await wait_for(pilot, lambda: isinstance(app.screen, PersonsScreen))
        table = app.screen.query_one(PagedTable)
        await wait_for(pilot, lambda: table.items, what="the list")
        table.focus_table()
        await pilot.press("n", "a", "d", "i", "v")   # once "new", "active", "vulnerable"
        search = app.screen.query_one("#search", Input)
        await wait_for(pilot, lambda: search.value == "nadiv", what="the letters searched")

        assert isinstance(app.screen, PersonsScreen) and search.has_focus
        assert not app.screen.query_one("#vulnerable").value
        await pilot.press("escape")                   # back to the list, "/" to the search
        await pilot.press("slash")
        assert search.has_focus and search.value == "nadiv"


async def test_a_name_typed_fast_on_the_list_is_searched_whole(demo_store):
    """A terminal delivers a fast typist's letters (or a paste) in one burst, before the search
    field has taken the focus: each letter used to start a new search, leaving only the last."""
    app = app_on(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await pilot.press("f3")
        await wait_for(pilot, lambda: isinstance(app.screen, PersonsScreen))
        table = app.screen.query_one(PagedTable)
        await wait_for(pilot, lambda: table.items, what="the list")
        table.focus_table()
        await pilot.pause()
        for letter in "papy":                         # one burst, no wait between letters
            app.post_message(events.Key(letter, letter))
        search = app.screen.query_one("#search", Input)
        await wait_for(pilot, lambda: search.has_focus and len(search.value) == 4,
                       what="the whole name in the search field")
        assert search.value == "papy"
        await pilot.press("escape")                   # back on the list: a new search
        table.focus_table()
        await pilot.pause()
        await pilot.press("b")
        await wait_for(pilot, lambda: search.value == "b", what="a new search")


async def test_a_search_answered_as_the_list_is_taken_down_is_dropped(demo_store):
    """Quitting during a search: the search's worker hands its result back while the screen's
    parts are being removed (seen under load as the app shut down: the list's pager was gone,
    the worker failed on it and the app closed on a crash report instead of quitting)."""
    app = app_on(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await pilot.press("f3")
        await wait_for(pilot, lambda: isinstance(app.screen, PersonsScreen))
        screen = app.screen
        table = screen.query_one(PagedTable)
        await wait_for(pilot, lambda: table.items, what="the list")
        await table.query_one(".pager").remove()      # the screen's parts going, one by one
        found = list(table.items)
        screen._show(found[:1], 0, False, screen._queries)   # as the worker hands it back
        await pilot.pause()
    assert app.return_code in (None, 0)


async def test_a_status_key_pressed_by_mistake_is_undone_with_ctrl_z(demo_store):
    app = app_on(demo_store)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await opened(pilot)
        await pilot.press("3")                        # overdue: every one is still to do
        table = app.screen.query_one(PagedTable)
        await wait_for(pilot, lambda: table.items, what="overdue actions")
        key = table.current_key()
        team = app.session.team
        await pilot.press("d")
        await wait_for(pilot, lambda: team.actions.get(key).status == "FAIT", what="done")
        await wait_for(pilot, lambda: key not in {a.id for a in table.items},
                       what="the action gone from the overdue view")
        await wait_for(pilot, lambda: "Ctrl+Z : annuler" in notices(app),
                       what="the undo notice")
        await pilot.press("ctrl+z")
        await wait_for(pilot, lambda: team.actions.get(key).status == "A FAIRE",
                       what="the action to do again")
        assert team.actions.get(key).completed_at is None
        await wait_for(pilot, lambda: key in {a.id for a in table.items},
                       what="back in the overdue view")
        await pilot.press("ctrl+z")                   # only the last change, once
        await wait_for(pilot, lambda: "Rien à annuler" in notices(app), what="nothing to undo")
        assert team.actions.get(key).status == "A FAIRE"
