"""No English in the French interface: the engine's errors are said from their codes, Textual's
own notice for Ctrl+C is ours, F12 on the unlock and first-run screens turns every text (not
only the footer) and keeps what was typed; the settings read at 80×24."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from mano_core.errors import MembershipError, NotAdminError, PermissionDeniedError, ValidationError
from tui.i18n import Translator, error_text, validation_text
from tui.screens.agenda import AgendaScreen
from tui.screens.settings import SettingsScreen
from tui.screens.start import FirstRunScreen, UnlockScreen

from .conftest import PASS, SIZE, app_on, wait_for
from .pilots import opened
from .rendered import notices, screen_text, shows

pytestmark = pytest.mark.timeout(180)


def test_engine_errors_are_said_from_codes_never_in_english():
    fr, en = Translator("fr"), Translator("en")
    from mano_core.codes import Code
    below = ValidationError("report", "services.Repas", Code.BELOW_ZERO)
    assert validation_text(fr, below) == "le compteur passerait sous zéro"
    assert validation_text(en, below) == "the counter would go below zero"
    assert error_text(fr, below) == "Non enregistré : le compteur passerait sous zéro"
    assert validation_text(fr, ValidationError("person", "name", Code.REQUIRED)) == "obligatoire"
    assert validation_text(fr, ValidationError("action", "categories", Code.NOT_IN_LIST,
                                               list="actionCategories", values=["X", "Y"])) == \
        "absent de la liste de l'équipe (à ajouter dans les réglages) : X, Y"
    assert validation_text(fr, ValidationError("person", "name", Code.TOO_LONG, max=200)) == \
        "plus de 200 caractères"
    # every code of the engine has its message in both languages
    assert all(fr.has(f"error.validation.{c.value}") for c in Code)
    assert error_text(fr, NotAdminError("the signer is not an admin")) == \
        "réservé aux administrateurs"
    assert "administrateur" in error_text(fr, MembershipError("the team must keep one admin"))
    assert "rôle" in error_text(fr, PermissionDeniedError("no"))
    assert error_text(fr, KeyboardInterrupt()) == "l'opération a échoué (code KeyboardInterrupt)"


async def test_ctrl_c_says_how_to_quit_in_french(demo_store):
    app = app_on(demo_store)
    async with app.run_test(size=(100, 32), notifications=True) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, AgendaScreen), what="agenda")
        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: "Pour quitter" in notices(app), what="our notice")
        assert "Press" not in notices(app) and "quit the app" not in notices(app)


async def test_f12_on_unlock_turns_every_text_and_keeps_the_typed_passphrase(demo_store):
    app = app_on(demo_store, passphrase=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, UnlockScreen), what="unlock")
        await wait_for(pilot, lambda: shows(app, "Déverrouiller"), what="French")
        app.screen.query_one("#passphrase", Input).value = PASS
        await pilot.press("f12")
        await wait_for(pilot, lambda: shows(app, "Passphrase"), what="English")
        text = screen_text(app)
        for french in ("Déverrouiller", "Phrase de passe", "Quitter"):
            assert french not in text, french
        assert app.screen.query_one("#passphrase", Input).value == PASS
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, AgendaScreen), what="unlocked")


async def test_f12_on_first_run_turns_every_text_and_keeps_what_was_typed(tmp_path):
    app = app_on(tmp_path / "new.mano", passphrase=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, FirstRunScreen), what="first run")
        await wait_for(pilot, lambda: shows(app, "Créer une équipe"), what="French")
        app.screen.query_one("#team-name", Input).value = "Maraude Est"
        await pilot.press("f12")
        await wait_for(pilot, lambda: shows(app, "Create a team"), what="English")
        text = screen_text(app)
        assert "(●) Create a team" in text and "( ) Join" in text      # not by colour alone
        for french in ("Créer une équipe", "Rejoindre", "Nom de l'équipe", "Commencer"):
            assert french not in text, french
        assert app.screen.query_one("#team-name", Input).value == "Maraude Est"


async def test_first_run_says_every_missing_field_at_once(tmp_path):
    """A new team's screen with its name and the user's missing and the passphrases not
    matching says all three at once, as the forms do; before, one at a time (the team's name,
    then on the next try the user's name, then the passphrase)."""
    from textual.widgets import Static

    app = app_on(tmp_path / "new.mano", passphrase=None)
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, FirstRunScreen), what="first run")
        screen = app.screen
        screen.query_one("#passphrase", Input).value = "une phrase de passe longue"
        screen.query_one("#passphrase2", Input).value = "une phrase de passe longu"
        screen.query_one("#go").press()
        said = screen.query_one("#first-error", Static)
        await wait_for(pilot, lambda: "Nom de l'équipe" in str(said.render()), what="said")
        text = str(said.render())
        assert "Nom de l'équipe : obligatoire" in text
        assert "Votre nom" in text and "Phrase de passe (encore)" in text, text
        assert isinstance(app.screen, FirstRunScreen)


async def test_settings_read_at_80_by_24(demo_store):
    app = app_on(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, AgendaScreen), what="agenda")
        await pilot.press("f9")
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen), what="settings")
        await pilot.press("3")
        await wait_for(pilot, lambda: shows(app, "Révoquer l'appareil"), what="members keys")
        text = screen_text(app)
        for tab in ("1 Cet appareil", "2 Équipes", "3 Membres", "4 Listes", "5 Champs",
                    "6 Conservation"):
            assert tab in text, tab
        member = app.session.member_name(app.session.member, app.t)
        assert member in text


async def test_each_setting_reads_beside_its_label(demo_store):
    """Settings › 1 and 4: each label on the line of its choice. Its top padding put it a line
    below, over the next choice: 'Langue' read above the sub-team, 'Mon équipe' above the lock
    delay."""
    app = app_on(demo_store)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await pilot.press("f9")
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen), what="settings")
        await pilot.press("1")
        subteam = next(s.name for s in app.session.subteams() if s.id == app.session.subteam)
        await wait_for(pilot, lambda: shows(app, "Verrouillage automatique"), what="tab 1")

        def line_of(label: str) -> str:
            return next(line for line in screen_text(app).splitlines() if label in line)

        assert "Français" in line_of("Langue")
        assert subteam in line_of("Mon équipe")
        assert "après 15 minutes" in line_of("Verrouillage automatique")
        await pilot.press("4")
        await wait_for(pilot, lambda: shows(app, "Utilisé par"), what="tab 4")
        assert "Catégories d'act" in line_of("Liste ")


async def test_the_palette_says_no_match_in_french(demo_store):
    from textual.command import CommandInput

    app = app_on(demo_store)
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, AgendaScreen), what="agenda")
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: app.screen.query(CommandInput), what="the palette")
        app.screen.query_one(CommandInput).value = "personn"
        await wait_for(pilot, lambda: shows(app, "Personnes (F3)"), what="a match")
        app.screen.query_one(CommandInput).value = "zzqqx"
        await wait_for(pilot, lambda: shows(app, "Aucune commande ne correspond à « zzqqx »"),
                       what="no match, in French")
        await pilot.pause(1.2)   # Textual would add its own line after a delay
        assert "No matches" not in screen_text(app)


def test_import_problems_are_said_from_their_code_in_both_languages():
    from mano_core.codes import Code
    from mano_core.reporting.imports import RowProblem
    from mano_core.reporting.problems import (
        DATE_FORMATS,
        ImportCode,
        invalid_fields,
        problem_fields,
    )
    from tui.imports_text import problem_text

    def problem(code: ImportCode, **values: object) -> RowProblem:
        return RowProblem(row=2, column="x", **problem_fields(code, **values))  # type: ignore[arg-type]

    fr, en = Translator("fr"), Translator("en")
    number = problem(ImportCode.NOT_A_NUMBER, value="douze")
    assert problem_text(fr, number) == "nombre attendu, lu : « douze »"
    assert problem_text(en, number) == "a number expected, read: “douze”"
    date = problem(ImportCode.NOT_A_DATE, value="31/02", expected=DATE_FORMATS)
    assert problem_text(fr, date) == "date attendue (2026-11-20 ou 20/11/2026), lu : « 31/02 »"
    assert problem_text(en, date) == "a date expected (2026-11-20 or 20/11/2026), read: “31/02”"
    gender = problem(ImportCode.UNKNOWN_VALUE, value="H", expected=("Homme", "Femme"),
                     what="gender")
    assert problem_text(fr, gender) == "valeur inconnue : « H » (connues : Homme, Femme)"
    team = problem(ImportCode.UNKNOWN_REFERENCE, value="Nord", what="subteam")
    assert problem_text(fr, team).startswith("équipe inconnue : « Nord » (créez-la")
    required = RowProblem(row=3, column="Nom", **invalid_fields(Code.REQUIRED, {}))
    assert problem_text(fr, required) == "obligatoire"
    assert problem_text(en, required) == "required"
    # every code is said in both languages, none by the engine's English reason
    for code in ImportCode:
        p = problem(code, value="v", expected=("a",), what="person")
        for t in (fr, en):
            assert t.has(f"import.code.{code.value}"), (t.lang, code)
            assert not problem_text(t, p).startswith("import."), (t.lang, code)
        assert problem_text(fr, p) != p.reason, code


async def test_leaving_while_f12_rebuilds_the_sections_closes_cleanly(demo_store, monkeypatch):
    """Textual's shutdown walks every mode's screens; the language switch rebuilds the
    sections (modes) in a worker. A quit in the middle of that rebuild let it remove and
    create modes inside the walk ("dictionary changed size during iteration": the palette
    test's end failed so, once, under load). Here the rebuild is held with the shown
    section removed and not yet shown again, and let go on from inside the shutdown's walk:
    the app settles it before the walk starts, and closes without error."""
    import asyncio

    from textual.app import App

    from tui.app import ManoApp

    app = app_on(demo_store)
    halfway, removed, go_on = asyncio.Event(), asyncio.Event(), asyncio.Event()
    walking = False
    install, close_all, prune = ManoApp._install_sections, App._close_all, App._prune

    async def held(self, skip=None, only=None):
        if only is not None:          # the section shown: removed, added, then shown again
            halfway.set()
        await install(self, skip=skip, only=only)
        if only is not None:
            removed.set()
            await go_on.wait()        # showing it again creates its mode's stack

    async def closing(self):
        nonlocal walking
        walking = True
        await close_all(self)

    async def pruning(self, *args, **kwargs):
        if walking:
            go_on.set()               # the rebuild goes on while the walk awaits this
        return await prune(self, *args, **kwargs)

    monkeypatch.setattr(ManoApp, "_install_sections", held)
    monkeypatch.setattr(ManoApp, "_close_all", closing)
    monkeypatch.setattr(ManoApp, "_prune", pruning)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await pilot.press("f12")
        await wait_for(pilot, removed.is_set, what="the section shown removed, in English")
    assert halfway.is_set() and app.crash_report is None


async def test_the_keys_are_named_in_the_interface_language(person_file):
    # Before: Textual's English names, "esc Retour", "del Supprimer", "f1 Aide", in the
    # French footer and help (the forms' own buttons said "Annuler (Échap)").
    async with person_file(size=(160, 40)) as (app, pilot, _person):
        await pilot.press("3")                                 # comments: Suppr deletes one
        await wait_for(pilot, lambda: shows(app, "Suppr Supprimer"), what="Suppr")
        footer = screen_text(app).splitlines()[-1]
        assert "Échap Retour" in footer and "F1 Aide" in footer
        assert "esc " not in footer and "del " not in footer and "f1 " not in footer
        await pilot.press("f1")
        await wait_for(pilot, lambda: shows(app, "Aide : touches de cet écran"), what="help")
        assert shows(app, "Échap") and shows(app, "Suppr")
        await pilot.press("escape")
        await pilot.press("f12")                               # English: English names
        await wait_for(pilot, lambda: shows(app, "F1 Help"), what="the English footer")
        await pilot.press("f1")
        await wait_for(pilot, lambda: shows(app, "Help: keys of this screen"), what="help")
        assert shows(app, "Del ") and not shows(app, "del ") and not shows(app, "Suppr")


async def test_the_help_lists_the_keys_of_the_tab_shown(person_file):
    # Before: every tab's keys, hidden ones too: on the Medical tab the help listed the
    # Documents keys ("j Joindre un fichier", "n Renommer" beside "n Nouveau").
    async with person_file(size=(160, 40)) as (app, pilot, _person):
        await pilot.press("8")
        await pilot.pause()
        await pilot.press("f1")
        await wait_for(pilot, lambda: shows(app, "Aide : touches de cet écran"), what="help")
        assert shows(app, "Nouveau") and not shows(app, "Joindre un fichier")
        assert not shows(app, "Renommer")
        await pilot.press("escape")
        await pilot.press("9")
        await pilot.pause()
        await pilot.press("f1")
        await wait_for(pilot, lambda: shows(app, "Aide : touches de cet écran"), what="help")
        assert shows(app, "Joindre un fichier") and shows(app, "Renommer")
