"""Every screen is usable at 80×24: its title, its key texts and every column of its tables are
on screen (no table needs sideways scrolling), the sync bar is there. One app goes through
them all (agenda, persons, the person file's tabs, structures, territories, report,
statistics, exports and imports, urgent, settings and members, the lock)."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable

from tui.screens.agenda import AgendaScreen
from tui.screens.exchange import ExchangeScreen
from tui.screens.person_file import PersonFileScreen
from tui.screens.start import LockScreen
from tui.screens.stats import StatsScreen

from .conftest import app_on, wait_for
from .rendered import screen_text, shows

pytestmark = pytest.mark.timeout(120)
SMALL = (80, 24)


def check(app, where: str, *texts: str, sync_bar: bool = True) -> None:
    """``texts`` are on screen, and every table shown fits its width (no column hidden
    behind a sideways scrollbar)."""
    text = screen_text(app)
    lines = text.splitlines()
    assert len(lines) <= SMALL[1] and all(len(line) <= SMALL[0] for line in lines), where
    for wanted in texts:
        assert wanted in text, f"{where}: {wanted!r} not on screen\n{text}"
    if sync_bar:
        assert "Local seulement" in text, f"{where}: no sync bar\n{text}"
    for table in app.screen.query(DataTable):
        if table.region.width == 0 or not table.display:
            continue   # in a tab not shown
        assert table.max_scroll_x == 0, f"{where}: #{table.id} scrolls sideways\n{text}"
        for column in table.columns.values():
            label = column.label.plain
            assert label[:6] in text, f"{where}: column {label!r} not on screen\n{text}"


@pytest.mark.slow
async def test_every_screen_at_80_by_24(demo_store):
    app = app_on(demo_store)
    async with app.run_test(size=SMALL) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, AgendaScreen), what="agenda")

        async def visit(key: str, where: str, *texts: str) -> None:
            await pilot.press(key)
            await wait_for(pilot, lambda: all(shows(app, x) for x in texts), what=where)
            await pilot.pause()
            check(app, where, *texts)

        await visit("f2", "agenda", "F2 [Agenda]", "Agenda du", "Signalement")
        await visit("f3", "persons", "F3 [Pers.]", "Équipes", "File active")
        await visit("f4", "structures", "F4 [Struct.]", "Téléphone", "Horaires")
        await visit("f5", "territories", "F5 [Terr.]", "Territoires", "Observations")
        await visit("f6", "report", "F6 [C.R.]", "Compte rendu du", "suivant)", "Services",
                    "Texte partagé", "Éléments du jour")
        await visit("f7", "statistics", "F7 [Stats]", "Toutes les équipes", "Statistiques du",
                    "Personnes suivies")
        assert isinstance(app.screen, StatsScreen)
        await visit("ctrl+x", "exports and imports", "Exporter")
        assert isinstance(app.screen, ExchangeScreen)
        await pilot.press("escape")
        await visit("f8", "urgent", "F8 [Urg.]", "Urgences", "Texte")
        await visit("f9", "settings", "F9 [Régl.]", "1 Cet appareil", "6 Conservation")
        for key, texts in (("1", ("Langue", "Verrouillage automatique")),
                           ("2", ("Nuit", "Personnes")), ("3", ("Rôle", "Santé", "Présence")),
                           ("4", ("Groupe", "Utilisé par")), ("5", ("Libellé", "Rubrique")),
                           ("6", ("Conservation", "Effacements en cours"))):
            await visit(key, f"settings tab {key}", *texts)

        # the person file, each tab by its number
        await pilot.press("f3")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PersonFileScreen),
                       what="the person file")
        tabs = ("Résumé", "Actions", "Comm.", "Lieux", "Passages", "Famille", "Hist.",
                "Médical", "Docs")
        for i, tab in enumerate(tabs):
            await visit(str(i + 1), f"person file tab {tab}", *tabs, "Échap Retour")
        await pilot.press("escape")

        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: isinstance(app.screen, LockScreen), what="the lock")
        await wait_for(pilot, lambda: shows(app, "Déverrouiller"), what="the lock drawn")
        check(app, "lock", "Verrouillé", "Phrase de passe", "Déverrouiller", sync_bar=False)


def test_the_widest_columns_are_cut_to_one_width():
    from tui.widgets.table import fit_level
    assert fit_level([10, 20, 5], 40) is None              # they fit
    assert fit_level([10, 30, 30], 40) == 15                 # 10 + 15 + 15
    assert fit_level([40, 40], 10) == 8                      # never below FIT_MIN: scrolls
