"""The places where the person is seen: ``n`` links one (an existing place, or a new one
typed), Suppr unlinks the one under the cursor (the place stays for the others)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.app import ComposeResult
from textual.widgets import DataTable

from mano_core.errors import NotFoundError
from mano_core.model.records import Person, PersonPlace
from tui.records.values import day_text
from tui.text import cells
from tui.widgets.forms import Field, FieldError
from tui.widgets.table import LiteralTable

from .tab import PersonTab, cursor_key, register, restore


class PlacesTab(PersonTab):
    name = "places"

    def compose(self) -> ComposeResult:
        yield LiteralTable(id="places", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        t = self.t
        self.query_one("#places", DataTable).add_columns(
            t("rec.place.name"), t("place.linked_on"), t("col.author"))

    def links(self, person_id: str) -> list[tuple[PersonPlace, str]]:
        team = self.session.team
        out = []
        for link in team.person_places.filter(lambda x: x.person == person_id):
            try:
                out.append((link, team.places.get(link.place).name))
            except NotFoundError:
                continue
        return sorted(out, key=lambda x: x[1].casefold())

    def reload(self, person: Person) -> None:
        t = self.t
        table = self.query_one("#places", DataTable)
        keep = cursor_key(table)
        table.clear()
        for link, name in self.links(person.id):
            table.add_row(*cells(name, day_text(t, link.created_at),
                                 self.session.member_name(link.created_by, t)), key=link.id)
        restore(table, keep)

    def commands(self) -> dict[str, Callable[[], Any]]:
        return {"new": self.link, "delete": self.unlink}

    def link(self) -> None:
        t = self.t
        team = self.session.team
        linked = {link.place for link, _name in self.links(self.person_id)}
        places = sorted((p for p in team.places.list() if p.id not in linked),
                        key=lambda p: p.name.casefold())
        fields = [Field("place", t("place.existing"), kind="select",
                        options=[(p.name, p.id) for p in places]),
                  Field("new_place", t("place.new_name"), placeholder=t("place.new_hint"))]

        async def submit(v: dict[str, Any]) -> PersonPlace:
            name = v["new_place"].strip()
            place_id = v["place"]
            if name:
                same = [p for p in team.places.list() if p.name.casefold() == name.casefold()]
                place_id = same[0].id if same else (await team.places.create(name=name)).id
            if not place_id:
                raise FieldError("place", t("entry.place_required"))
            return await team.person_places.create(person=self.person_id, place=place_id)

        self.form(t("place.link_title"), fields, submit, t("place.linked"))

    def unlink(self) -> None:
        key = cursor_key(self.query_one("#places", DataTable))
        if key is not None:
            self.run_worker(self._unlink(key), group="write")

    async def _unlink(self, key: str) -> None:
        t = self.t
        name = next((n for link, n in self.links(self.person_id) if link.id == key), "")
        if await self.confirm(t("place.unlink_title"), [name], t("place.unlink_confirm")):
            await self.write(self.session.team.person_places.delete(key), t("place.unlinked"))


register(PlacesTab)
