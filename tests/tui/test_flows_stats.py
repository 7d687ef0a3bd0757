"""Pilot tests of the statistics: any period (presets and typed dates), sub-teams, filters on
person fields (custom ones too), charts in a meaningful order, and the export of what is
shown. Each compares the screen with the engine's figures for the same choices."""

from __future__ import annotations

import csv
import datetime as dt
import os

import pytest
from textual.widgets import Input, Select, Static

from mano_core.reporting import Period, compute
from mano_core.reporting.filtered import filtered
from mano_core.reporting.mano_stats import PersonFilter
from tui.screens.agenda import AgendaScreen
from tui.screens.stats import StatsScreen
from tui.widgets.forms import FormScreen

from .conftest import NOW, app_on, wait_for
from .rendered import shows

pytestmark = pytest.mark.timeout(180)
TODAY = dt.date(2026, 11, 20)


async def open_stats(pilot) -> StatsScreen:
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, AgendaScreen), what="the agenda")
    await pilot.press("f7")
    await wait_for(pilot, lambda: isinstance(app.screen, StatsScreen), what="the statistics")
    screen = app.screen
    await wait_for(pilot, lambda: screen.shown is not None, what="the first figures")
    return screen


async def settled(pilot, screen: StatsScreen, period: Period, subteams=(), filters=()) -> None:
    def ready() -> bool:
        if screen.shown is None or not all(w.is_finished for w in pilot.app.workers):
            return False
        s = screen.shown[0]
        return s.period == period and s.subteams == tuple(subteams) and \
            list(screen.filters.values()) == list(filters)
    await wait_for(pilot, ready, what=f"the figures of {period}")
    await pilot.pause()


def figures(screen: StatsScreen) -> str:
    return str(screen.query_one("#stats-figures", Static).render())


async def test_flow_stats_period(demo_store, tmp_path):
    app = app_on(demo_store)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = await open_stats(pilot)
        team = app.session.team

        # a preset: the last 30 days, dates filled in, figures the engine's
        screen.query_one("#preset", Select).value = "30"
        month = Period(TODAY - dt.timedelta(days=29), TODAY)
        await settled(pilot, screen, month)
        assert screen.query_one("#from", Input).value == "22/10/2026"
        want = compute(team, month, now=NOW)
        assert screen.shown[0].persons.followed == want.persons.followed
        assert f"Personnes suivies : {want.persons.followed} " in figures(screen)
        assert shows(app, "Statistiques du 22/10/2026 au 20/11/2026")

        # one date changed alone (a paste): the preset says "custom", the figures follow at once
        screen.query_one("#from", Input).value = "01/10/2026"
        await settled(pilot, screen, Period(dt.date(2026, 10, 1), TODAY))
        assert screen.query_one("#preset", Select).value == "custom"
        assert shows(app, "Statistiques du 01/10/2026 au 20/11/2026")

        # typed dates: the preset says so, the figures follow
        screen.query_one("#from", Input).value = "01/03/2026"
        screen.query_one("#to", Input).value = "15/06/2026"
        spring = Period(dt.date(2026, 3, 1), dt.date(2026, 6, 15))
        await settled(pilot, screen, spring)
        assert screen.query_one("#preset", Select).value == "custom"
        assert shows(app, "Statistiques du 01/03/2026 au 15/06/2026")
        assert screen.shown[0].comments.total == compute(team, spring, now=NOW).comments.total

        # a wrong date is said, and the figures shown stay those of the last good period
        screen.query_one("#to", Input).value = "31/02/2026"
        await wait_for(pilot, lambda: shows(app, "Date invalide"), what="the date error")
        assert screen.shown[0].period == spring
        screen.query_one("#to", Input).value = "15/06/2026"
        await wait_for(pilot, lambda: not shows(app, "Date invalide"))

        # one sub-team, then two of them (Ctrl+T: a box each), then all again
        subs = app.session.subteams()
        assert len(subs) >= 3

        async def choose(*ticked) -> None:
            await pilot.press("ctrl+t")
            await wait_for(pilot, lambda: isinstance(app.screen, FormScreen), what="the boxes")
            for i, s in enumerate(subs):
                app.screen.query_one(f"#field-subteams-{i}").value = s in ticked
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: app.screen is screen, what="the statistics")

        await choose(subs[0])
        await settled(pilot, screen, spring, [subs[0].id])
        want = compute(team, spring, [subs[0].id], now=NOW)
        assert screen.shown[0].actions.total == want.actions.total
        assert subs[0].name in figures(screen) and subs[1].name not in figures(screen)
        await choose(subs[2], subs[0])
        pair = [subs[0].id, subs[2].id]
        await settled(pilot, screen, spring, pair)
        want = compute(team, spring, pair, now=NOW)
        assert screen.shown[0].actions.total == want.actions.total
        assert want.actions.total > compute(team, spring, [subs[0].id], now=NOW).actions.total
        assert shows(app, f"{subs[0].name}, {subs[2].name}")
        assert subs[1].name not in figures(screen)

        # a person filter: women only (all sub-teams again)
        await choose()
        screen.query_one("#filter-field", Select).value = "gender"
        await pilot.pause()
        values = screen.query_one("#filter-value", Select)
        values.value = str(next(i for i, (v, _l) in enumerate(screen._field("gender").values)
                                if v == "Femme"))
        women = [PersonFilter("gender", "Femme")]
        await settled(pilot, screen, spring, [], women)
        got = screen.shown[0]
        assert set(got.persons.by_gender) <= {"Femme"}
        assert got.comments.total == compute(filtered(team, women), spring,
                                             now=NOW).comments.total
        assert got.comments.total < compute(team, spring, now=NOW).comments.total
        assert shows(app, "Filtres : Genre = Femme")

        # a custom field: its values are offered, the figures are those of its persons
        custom = next(f for f in screen._fields if f.wire.startswith("customFields."))
        screen.query_one("#filter-field", Select).value = custom.wire
        await pilot.pause()
        screen.query_one("#filter-value", Select).value = "0"
        both = [*women, PersonFilter(custom.wire, custom.values[0][0])]
        await settled(pilot, screen, spring, [], both)
        assert screen.shown[0].persons.followed == compute(
            filtered(team, both), spring, now=NOW).persons.followed
        assert shows(app, f"{custom.label} = {custom.values[0][1]}")

        # Ctrl+R: every person again
        await pilot.press("ctrl+r")
        await settled(pilot, screen, spring)
        assert shows(app, "Toutes les personnes")

        # the whole year: age bands read in age order, under an axis with its scale
        screen.query_one("#preset", Select).value = "365"
        year = Period(TODAY - dt.timedelta(days=364), TODAY)
        await settled(pilot, screen, year)
        charts = screen.charts_text().splitlines()
        start = charts.index(next(line for line in charts if line.startswith("Âge")))
        bands = []
        for line in charts[start + 1:]:
            if "│" not in line:
                break
            bands.append(line.split("│")[0].strip())
        order = ["0-2", "3-17", "18-24", "25-44", "45-59", "60-74", "75+", "Non renseigné"]
        assert bands == [b for b in order if b in bands] and len(bands) >= 3
        assert charts[start + 1 + len(bands)].lstrip().startswith("└")
        assert "Commentaires par semaine" in "\n".join(charts)

        # the export of what is shown: CSV with the selection on top, only its owner reads it
        await pilot.press("ctrl+e")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen), what="the form")
        target = tmp_path / "stats.csv"
        app.screen.query_one("#field-path", Input).value = str(target)
        app.screen.query_one("#field-format", Select).value = "csv"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: target.exists() and isinstance(app.screen, StatsScreen),
                       what="the file")
        assert os.stat(target).st_mode & 0o777 == 0o600
        rows = list(csv.reader(target.open(encoding="utf-8-sig"), delimiter=";"))
        assert rows[0] == ["Rubrique", "Indicateur", "Valeur"]
        assert ["Période", "Du", year.start.isoformat()] in rows
        followed = screen.shown[0].persons.followed
        assert ["Personnes suivies", "Personnes suivies", str(followed)] in rows
        assert any(r[0] == "Sélection" and "Toutes les équipes" in r[1] for r in rows)

        # XLSX: the figures and MANO's, as two sheets
        openpyxl = pytest.importorskip("openpyxl")
        await pilot.press("ctrl+e")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen), what="the form")
        book_path = tmp_path / "stats.xlsx"
        app.screen.query_one("#field-path", Input).value = str(book_path)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: book_path.exists() and isinstance(app.screen, StatsScreen),
                       what="the workbook")
        book = openpyxl.load_workbook(book_path, read_only=True)
        assert book.sheetnames == ["Statistiques", "Statistiques MANO"]


async def test_an_export_that_cannot_be_written_is_said_in_french(demo_store, tmp_path):
    # Before: the error under the path was Python's own, in English ("[Errno 21] Is a
    # directory: '…'").
    app = app_on(demo_store)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, AgendaScreen))
        await open_stats(pilot)
        await pilot.press("ctrl+e")
        await wait_for(pilot, lambda: isinstance(app.screen, FormScreen), what="the form")
        form = app.screen
        taken = tmp_path / "stats.csv"
        taken.mkdir()                                 # a folder of that name is there
        form.query_one("#field-path", Input).value = str(taken)
        form.query_one("#field-format", Select).value = "csv"
        await pilot.press("ctrl+s")
        error = form.query_one("#error-path", Static)
        await wait_for(pilot, lambda: "dossier" in str(error.render()), what="the error said")
        assert "Errno" not in str(error.render()) and "directory" not in str(error.render())
        assert app.screen is form                     # still open, with what was typed
