"""Territories and their observations; a new observation in a few keys."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable

from mano_core.model.records import ATMOSPHERES, TerritoryObservation
from tui import format as fmt
from tui.text import LONG_CELL_LIMIT, cells
from tui.widgets.forms import Field, FieldError, FormScreen
from tui.widgets.table import LiteralTable

from .base import SectionScreen


class TerritoriesScreen(SectionScreen):
    section = "territories"
    BINDINGS = [Binding("ctrl+n", "new_observation", "key.new_observation")]

    def compose_body(self) -> ComposeResult:
        t = self.t
        with Horizontal(classes="split"):
            territories: DataTable[Any] = LiteralTable(id="territories", cursor_type="row")
            territories.add_columns(t("col.name"), t("col.types"), t("col.count"))
            yield territories
            observations: DataTable[Any] = LiteralTable(id="observations", cursor_type="row",
                                                     zebra_stripes=True)
            observations.add_columns(t("col.date"), t("col.people"), t("col.atmosphere"),
                                     t("col.police"), t("col.text"))
            yield observations

    def reload(self) -> None:
        team = self.session.team
        table = self.query_one("#territories", DataTable)
        current = self._territory()
        counts: dict[str, int] = {}
        for o in team.observations.list():
            counts[o.territory] = counts.get(o.territory, 0) + 1
        table.clear()
        for terr in sorted(team.territories.list(), key=lambda x: x.name):
            table.add_row(terr.name, ", ".join(terr.types), str(counts.get(terr.id, 0)),
                          key=terr.id)
        if current and current in table.rows:
            table.move_cursor(row=table.get_row_index(current))
        self._observations()

    def _territory(self) -> str | None:
        table = self.query_one("#territories", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return str(key) if key else None

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "territories":
            self._observations()

    def _observations(self) -> None:
        t = self.t
        terr = self._territory()
        table = self.query_one("#observations", DataTable)
        table.clear()
        if not terr:
            return
        for o in sorted(self.session.team.observations.filter(lambda o: o.territory == terr),
                        key=lambda o: o.observed_at, reverse=True)[:500]:
            table.add_row(*cells(fmt.moment(o.observed_at),
                                 t("obs.people", men=o.men, women=o.women, minors=o.minors),
                                 o.atmosphere or "—", t("yes") if o.police else t("no"),
                                 o.comment, last_limit=LONG_CELL_LIMIT), key=o.id)

    def action_new_observation(self) -> None:
        t = self.t
        terr = self._territory()
        if not terr:
            return
        team = self.session.team
        name = team.territories.get(terr).name
        fields = [
            Field("men", t("field.men"), value="0", wire=("men",)),
            Field("women", t("field.women"), value="0", wire=("women",)),
            Field("minors", t("field.minors"), value="0", wire=("minors",)),
            Field("atmosphere", t("field.atmosphere"), kind="select",
                  options=[(a, a) for a in ATMOSPHERES], wire=("atmosphere",)),
            Field("police", t("field.police"), kind="check", wire=("police",)),
            Field("material", t("field.material"), wire=("material",)),
            Field("comment", t("field.comment"), kind="area", wire=("comment",)),
        ]

        async def submit(v: dict[str, Any]) -> TerritoryObservation:
            numbers = {}
            for key in ("men", "women", "minors"):
                try:
                    numbers[key] = int(v[key] or 0)
                except ValueError:
                    raise FieldError(key, t("error.number")) from None
            return await team.observations.create(
                territory=terr, team=self.session.subteam, observed_at=self.mano.now(),
                atmosphere=v["atmosphere"], police=v["police"], material=v["material"],
                comment=v["comment"], **numbers)

        self.app.push_screen(FormScreen(
            t("obs.new", name=name), fields, submit, save_label=t("form.save"),
            cancel_label=t("form.cancel"),
            field_error=lambda f, m: t("form.field_error", field=f, message=m)),
            lambda r: self.mano.say(t("obs.saved")) if r is not None else None)
