"""Territories and their observations: create and edit a territory (its types from the
team's list), a new observation in a few keys with the team's own observation fields, and an
observation corrected (Enter: every field, its date too) or deleted (Suppr, then Ctrl+Z); a
territory without observations deleted (Suppr on it: one that holds some keeps them, and is
kept, until they are deleted: the statistics count them)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from mano_core.errors import NotFoundError
from mano_core.model.records import ATMOSPHERES, Territory, TerritoryObservation
from tui import format as fmt
from tui.custom_inputs import custom_fields, read_custom
from tui.records.values import EntryError, parse_moment
from tui.text import LONG_CELL_LIMIT, cell, plain
from tui.widgets.fit import last_column_width
from tui.widgets.forms import Field, FieldError, FormScreen
from tui.widgets.table import LiteralTable
from tui.widgets.territory_form import TerritoryFormScreen

from .base import SectionScreen

OBSERVATIONS_SHOWN = 500   # the newest observations of a territory


class TerritoriesScreen(SectionScreen):
    section = "territories"
    BINDINGS = [Binding("ctrl+n", "new_observation", "key.new_observation"),
                Binding("ctrl+t", "new_territory", "key.new_territory"),
                Binding("e", "edit_territory", "key.edit"),
                Binding("delete", "delete", "key.delete")]

    def compose(self) -> ComposeResult:
        return self.framed(self.compose_body())

    def compose_body(self) -> ComposeResult:
        t = self.t
        with Vertical(classes="territories"):
            with Vertical(id="territories-pane"):
                yield Static("", id="territories-title", classes="table-title")
                territories: DataTable[Any] = LiteralTable(id="territories", cursor_type="row")
                territories.add_columns(t("col.name"), t("col.types"), t("col.count"))
                yield territories
            with Vertical(id="observations-pane"):
                yield Static("", id="observations-title", classes="table-title")
                observations: DataTable[Any] = LiteralTable(id="observations",
                                                         cursor_type="row", zebra_stripes=True)
                self._obs_headers = [t("col.date"), t("col.people"), t("col.atmosphere"),
                                     t("col.police"), t("col.text")]
                observations.add_columns(*self._obs_headers)
                yield observations

    def reload(self) -> None:
        t = self.t
        team = self.session.team
        table = self.query_one("#territories", DataTable)
        current = self._territory()
        counts: dict[str, int] = {}
        for o in team.observations.list():
            counts[o.territory] = counts.get(o.territory, 0) + 1
        table.clear()
        listed = sorted(team.territories.list(), key=lambda x: x.name.casefold())
        for terr in listed:
            table.add_row(cell(terr.name), cell(", ".join(terr.types)),
                          fmt.number(counts.get(terr.id, 0), self.t.lang), key=terr.id)
        if current and current in table.rows:
            table.move_cursor(row=table.get_row_index(current))
        self.query_one("#territories-title", Static).update(
            t("territory.list_title", count=len(listed)))
        self._observations()

    def on_resize(self) -> None:
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
        title = self.query_one("#observations-title", Static)
        table.clear()
        if not terr:
            title.update(t("territory.no_territory"))
            return
        team = self.session.team
        found = sorted(team.observations.filter(lambda o: o.territory == terr),
                       key=lambda o: o.observed_at, reverse=True)
        labels = {d.key: d.label_text for d in team.custom_fields.list()
                  if d.scope == "observation"}
        rows = []
        for o in found[:OBSERVATIONS_SHOWN]:
            extra = [f"{labels.get(k, k)} : {fmt.value(v)}" for k, v in o.custom_fields.items()]
            text = " — ".join(x for x in (o.comment, o.material, "; ".join(extra)) if x)
            rows.append((cell(fmt.moment(o.observed_at)),
                         cell(t("obs.people", men=o.men, women=o.women, minors=o.minors)),
                         cell(o.atmosphere or "—"), cell(t("yes") if o.police else t("no")),
                         text, o.id))
        # the observations take the screen's width (mano.tcss), known before layout
        pane = self.app.size.width
        width = min(LONG_CELL_LIMIT, last_column_width(pane, self._obs_headers, rows))
        for *first, text, key in rows:
            table.add_row(*first, cell(text, width), key=key)
        try:
            name = team.territories.get(terr).name
        except NotFoundError:
            name = ""
        title.update(plain(t("territory.observations_title", name=name, count=len(found))))

    # --- territories ----------------------------------------------------------------------

    def action_new_territory(self) -> None:
        self._territory_form(None)

    def action_edit_territory(self) -> None:
        terr = self._territory()
        if terr:
            try:
                self._territory_form(self.session.team.territories.get(terr))
            except NotFoundError:
                return

    def _territory_form(self, terr: Territory | None) -> None:
        t = self.t
        team = self.session.team
        values = ({"name": terr.name, "types": terr.types, "perimeter": terr.perimeter,
                   "description": terr.description} if terr else {})

        async def submit(v: dict[str, Any]) -> Territory:
            if not v["name"]:
                raise FieldError("name", t("error.required"))
            if terr is None:
                return await team.territories.create(**v)
            return await team.territories.update(terr.id, **v)

        def done(result: Territory | None) -> None:
            if result is None:
                return
            self.mano.say(t("saved", name=result.name))
            table = self.query_one("#territories", DataTable)
            self.reload()
            if result.id in table.rows:
                table.move_cursor(row=table.get_row_index(result.id))

        self.app.push_screen(TerritoryFormScreen(
            t("territory.new") if terr is None else t("territory.edit", name=terr.name),
            values, team.settings.values("territoryTypes"), submit, t), done)

    # --- observations ---------------------------------------------------------------------

    def _observation(self) -> TerritoryObservation | None:
        """The highlighted observation of the highlighted territory, if any."""
        table = self.query_one("#observations", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        try:
            return self.session.team.observations.get(str(key)) if key else None
        except NotFoundError:
            return None

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "observations":
            obs = self._observation()
            if obs is not None:
                self._observation_form(obs)  # corrected: every field, its date too

    def action_new_observation(self) -> None:
        self._observation_form(None)

    def action_delete(self) -> None:
        """Suppr: the observation under the cursor, or the territory when the focus is on
        the territories."""
        if self.focused is self.query_one("#territories", DataTable):
            self._delete_territory()
        elif self.focused is self.query_one("#observations", DataTable):
            self._delete_observation()

    def _delete_territory(self) -> None:
        t = self.t
        team = self.session.team
        terr = self._territory()
        if terr is None:
            return
        name = team.territories.get(terr).name
        held = len(team.observations.filter(lambda o: o.territory == terr))
        if held:
            self.mano.say(t("territory.has_observations", name=name, count=held), error=True)
            return
        self.confirm_delete(team.territories, terr,
                            title=t("territory.delete_title", name=name),
                            body=t("territory.delete_body"),
                            deleted=t("territory.deleted", name=name))

    def _delete_observation(self) -> None:
        t = self.t
        obs = self._observation()
        if obs is None:
            return
        when = fmt.moment(obs.observed_at)
        self.confirm_delete(self.session.team.observations, obs.id,
                            title=t("obs.delete_title", date=when), body=t("obs.delete_body"),
                            deleted=t("obs.deleted", date=when))

    def _observation_form(self, obs: TerritoryObservation | None) -> None:
        """A new observation of the highlighted territory (``obs`` None), or ``obs`` again
        with its values, to correct."""
        t = self.t
        terr = obs.territory if obs is not None else self._territory()
        if not terr:
            return
        team = self.session.team
        try:
            name = team.territories.get(terr).name
        except NotFoundError:
            name = ""
        sub = obs.team if obs is not None else self.session.subteam
        definitions = team.custom_fields_for("observation", [sub] if sub else [])

        def had(attr: str, default: Any) -> Any:
            return getattr(obs, attr) if obs is not None else default

        fields = [
            Field("observed_at", t("field.observed_at"),
                  value=fmt.moment(had("observed_at", self.mano.now())),
                  placeholder=t("rec.hint.moment"), wire=("observedAt",),
                  parse=parse_observed, required=True),
            Field("men", t("field.men"), value=str(had("men", 0)), wire=("men",)),
            Field("women", t("field.women"), value=str(had("women", 0)), wire=("women",)),
            Field("minors", t("field.minors"), value=str(had("minors", 0)), wire=("minors",)),
            Field("atmosphere", t("field.atmosphere"), kind="select",
                  value=had("atmosphere", None),
                  options=[(a, a) for a in ATMOSPHERES], wire=("atmosphere",)),
            Field("police", t("field.police"), kind="check", value=had("police", False),
                  wire=("police",)),
            Field("material", t("field.material"), value=had("material", ""),
                  wire=("material",)),
            Field("comment", t("field.comment"), kind="area", value=had("comment", ""),
                  wire=("comment",)),
            *custom_fields(t, definitions, had("custom_fields", {})),
        ]

        async def submit(v: dict[str, Any]) -> TerritoryObservation:
            numbers = {}
            for key in ("men", "women", "minors"):
                try:
                    numbers[key] = int(v[key] or 0)
                except ValueError:
                    raise FieldError(key, t("error.number")) from None
                if numbers[key] < 0:
                    raise FieldError(key, t("error.number"))
            values: dict[str, Any] = {
                "observed_at": v["observed_at"], "atmosphere": v["atmosphere"],
                "police": v["police"], "material": v["material"], "comment": v["comment"],
                **numbers}
            if obs is None:
                return await team.observations.create(
                    territory=terr, team=sub, custom_fields=read_custom(t, definitions, v),
                    **values)
            # the fields of the team's own the form did not show are kept as they are
            values["custom_fields"] = {**obs.custom_fields, **read_custom(t, definitions, v)}
            changes = {k: x for k, x in values.items() if getattr(obs, k) != x}
            return await team.observations.update(obs.id, **changes) if changes else obs

        self.app.push_screen(FormScreen(
            t("obs.new", name=name) if obs is None else t("obs.edit", name=name), fields,
            submit, save_label=t("form.save"), cancel_label=t("form.cancel"),
            field_error=lambda f, m: t("form.field_error", field=f, message=m)),
            lambda r: self.mano.say(t("obs.saved")) if r is not None else None)


def parse_observed(raw: Any) -> dt.datetime:
    """The observation's date as typed (``20/11/2026 14:30``, Paris time): required."""
    moment = parse_moment(str(raw or ""))
    if moment is None:
        raise EntryError("required")
    return moment
