"""The directory of structures: search by name, category and city; create, edit (every
field: several categories, the public served) and delete (asked first, Ctrl+Z)."""

from __future__ import annotations

import re
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Input, Static

from mano_core.document.queries import fold
from mano_core.model.records import Structure
from tui.text import Visible, cell, plain
from tui.widgets.forms import Field, FieldError, FormScreen
from tui.widgets.paged_table import PagedTable
from tui.widgets.select import Select

from .base import SectionScreen


POSTCODE = re.compile(r"\d{5}")          # French postcodes (Corsica's too: 20000…)
PHONE_CHARS = re.compile(r"[0-9 +().\-]+")
PHONE_DIGITS = (3, 15)                   # 115 or 3919 up to an international number


def valid_phone(text: str) -> bool:
    """A phone number as people write one: digits, spaces, dots, dashes, brackets, a
    leading +; from 3 digits (115) to 15 (E.164)."""
    digits = sum(c.isdigit() for c in text)
    return (bool(PHONE_CHARS.fullmatch(text)) and "+" not in text[1:]
            and PHONE_DIGITS[0] <= digits <= PHONE_DIGITS[1])


class StructuresScreen(SectionScreen):
    section = "structures"
    BINDINGS = [
        Binding("ctrl+n", "new", "key.new_structure"),   # letters go to the search field
        Binding("ctrl+e", "edit", "key.edit"),
        Binding("delete", "delete", "key.delete"),   # on the list (in a field: a character)
        Binding("slash", "search", "key.search"),
        Binding("escape", "focus_table", "key.to_list", show=False),
    ]

    def compose(self) -> ComposeResult:
        return self.framed(self.compose_body())

    def compose_body(self) -> ComposeResult:
        t = self.t
        yield Static("", id="structures-title", classes="section-title")
        with Horizontal(classes="filters"):
            yield Input(compact=True, placeholder=t("structures.search"), id="search",
                        highlighter=Visible(), select_on_focus=False)
            yield Select(compact=True, options=[(cell(c), c) for c in sorted(
                self.session.team.settings.values("structureCategories"))],
                prompt=t("filter.all_categories"), id="category")
            yield Input(compact=True, placeholder=t("field.city"), id="city",
                        highlighter=Visible())
        yield PagedTable([t("col.name"), t("col.categories"), t("field.city"),
                          t("field.phone"), t("field.hours")],
                         lambda s: (s.name, ", ".join(s.categories), s.city, s.phone,
                                    s.opening_hours), lambda s: s.id,
                         pager_text=lambda a, b, n: t("pager", start=a, end=b, total=n),
                         search="#search")
        yield Static("", id="structure-detail", classes="detail")

    def reload(self) -> None:
        text = fold(self.query_one("#search", Input).value.strip())
        city = fold(self.query_one("#city", Input).value.strip())
        cat = self.query_one("#category", Select).value
        found = [s for s in self.session.team.structures.list()
                 if (not text or text in fold(s.name) or text in fold(s.description))
                 and (not city or city in fold(s.city) or city in s.postcode)
                 and (cat is Select.NULL or cat in s.categories)]
        self.query_one(PagedTable).set_items(sorted(found, key=lambda s: fold(s.name)),
                                             keep_page=True)
        self.query_one("#structures-title", Static).update(
            self.t("structures.title", count=len(found)))

    @on(Input.Changed)
    @on(Select.Changed)
    def _filters(self) -> None:
        self.reload()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value if event.row_key else None
        detail = self.query_one("#structure-detail", Static)
        if not key:
            detail.update("")
            return
        t = self.t
        s = self.session.team.structures.get(str(key))
        place = " ".join(x for x in (s.address, s.postcode, s.city) if x)
        rows = [(t("field.address"), place), (t("col.categories"), ", ".join(s.categories)),
                (t("field.public"), s.public)]
        shown = [t("file.field", label=label, value=value) for label, value in rows if value]
        detail.update(plain("\n".join([*shown, s.description] if s.description else shown)))

    def action_focus_table(self) -> None:
        self.query_one(PagedTable).focus_table()

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_new(self) -> None:
        self._form(None)

    def action_edit(self) -> None:
        key = self.query_one(PagedTable).current_key()
        if key:
            self._form(self.session.team.structures.get(key))

    def action_delete(self) -> None:
        table = self.query_one(PagedTable)
        key = table.current_key()
        if not key or self.focused is not table.table:
            return
        t = self.t
        name = self.session.team.structures.get(key).name
        self.confirm_delete(self.session.team.structures, key,
                            title=t("structures.delete_title", name=name),
                            body=t("structures.delete_body"),
                            deleted=t("structures.deleted", name=name))

    def _form(self, s: Structure | None) -> None:
        t = self.t
        team = self.session.team
        cats = sorted(team.settings.values("structureCategories"))
        fields = [
            Field("name", t("field.name"), value=s.name if s else "", wire=("name",)),
            Field("categories", t("col.categories"), kind="multi",   # (a category no longer
                  options=[(c, c) for c in cats],                      # listed stays: MultiCheck)
                  value=list(s.categories) if s else [], wire=("categories",)),
            Field("address", t("field.address"), value=s.address if s else "",
                  wire=("address",)),
            Field("postcode", t("field.postcode"), value=s.postcode if s else "",
                  wire=("postcode",)),
            Field("city", t("field.city"), value=s.city if s else "", wire=("city",)),
            Field("phone", t("field.phone"), value=s.phone if s else "", wire=("phone",)),
            Field("opening_hours", t("field.hours"), value=s.opening_hours if s else "",
                  wire=("openingHours",)),
            Field("public", t("field.public"), value=s.public if s else "", wire=("public",)),
            Field("description", t("field.description"), kind="area",
                  value=s.description if s else "", wire=("description",)),
        ]

        async def submit(v: dict[str, Any]) -> Structure:
            values = {k: (x.strip() if isinstance(x, str) else x) for k, x in v.items()}
            if not values["name"]:
                raise FieldError("name", t("error.required"))
            if values["phone"] and not valid_phone(values["phone"]):
                raise FieldError("phone", t("error.phone"))
            if values["postcode"] and not POSTCODE.fullmatch(values["postcode"]):
                raise FieldError("postcode", t("error.postcode"))
            if s is None:
                return await team.structures.create(**values)
            return await team.structures.update(s.id, **values)

        self.app.push_screen(FormScreen(
            t("structures.new") if s is None else t("structures.edit", name=s.name), fields,
            submit, save_label=t("form.save"), cancel_label=t("form.cancel"),
            field_error=lambda f, m: t("form.field_error", field=f, message=m)),
            lambda r: self.mano.say(t("saved", name=r.name)) if r is not None else None)
