"""The team's lists (admins): action categories, structure categories and services in groups
(as MANO shows them), collaborations, territory types, consultation types, reasons for
leaving the active list. Add, rename, move to a group, remove.

Renaming a value rewrites the records that hold it (an action's categories, a structure's,
a territory's types, a consultation's type, the day reports' collaborations), so nothing is
left under a name the list no longer has. Removing a value leaves the records as they are:
what was recorded stays readable; it is only no longer offered."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Label

from mano_core.mano_compat.groups import GROUPED_LISTS, group_of, set_group
from mano_core.team import Team
from tui import format as fmt
from tui.text import cell
from tui.widgets.forms import Field, FieldError
from tui.widgets.table import LiteralTable
from tui.widgets.select import Select

from .pane import SettingsPane, table

LISTS: Final = ("actionCategories", "structureCategories", "services", "collaborations",
                "territoryTypes", "consultationTypes", "outOfActiveListReasons")


def _replace(values: list[str], old: str, new: str) -> list[str]:
    out: list[str] = []
    for value in values:
        kept = new if value == old else value
        if kept not in out:
            out.append(kept)
    return out


def _holders(team: Team, kind: str) -> list[tuple[Any, str, Callable[[Any], list[str]]]]:
    """(collection, field, values of a record) of the records holding values of ``kind``."""
    if kind == "actionCategories":
        return [(team.actions, "categories", lambda r: r.categories)]
    if kind == "structureCategories":
        return [(team.structures, "categories", lambda r: r.categories)]
    if kind == "territoryTypes":
        return [(team.territories, "types", lambda r: r.types)]
    if kind == "collaborations":
        return [(team.reports, "collaborations", lambda r: r.collaborations)]
    if kind == "consultationTypes" and team.medical is not None:
        return [(team.medical.consultations, "type", lambda r: [r.type])]
    return []


def uses(team: Team, kind: str, value: str) -> int:
    """How many records hold ``value`` (persons for the reasons, reports for services)."""
    if kind == "outOfActiveListReasons":
        return len(team.persons.filter(lambda p: value in p.out_of_active_list_reasons))
    if kind == "services":
        return len(team.reports.filter(lambda r: bool(r.services.get(value))))
    return sum(len(coll.filter(lambda r, get=get: value in get(r)))
               for coll, _field, get in _holders(team, kind))


async def rename_value(team: Team, kind: str, old: str, new: str) -> int:
    """Rename a list value and rewrite the records holding it; returns how many were
    rewritten. The value keeps its group. Services keep their past counts under the old
    name (a day's counter is that day's record)."""
    group = team.settings.get(f"listGroup.{kind}.{old}")
    await team.settings.add(kind, new)
    if group and kind in GROUPED_LISTS:
        await set_group(team.settings, kind, new, str(group))
    count = 0
    for coll, field, get in _holders(team, kind):
        for record in coll.filter(lambda r, get=get: old in get(r)):
            value: Any = new if field == "type" else _replace(get(record), old, new)
            await coll.update(record.id, **{field: value})
            count += 1
    if kind == "outOfActiveListReasons":
        for p in team.persons.filter(lambda p: old in p.out_of_active_list_reasons):
            await team.persons.update(p.id, out_of_active_list_reasons=_replace(
                p.out_of_active_list_reasons, old, new))
            count += 1
    await team.settings.remove(kind, old)
    return count


class ListsPane(SettingsPane):
    BINDINGS = [
        Binding("n", "add_value", "key.add_value"),
        Binding("r", "rename_value", "key.rename"),
        Binding("g", "move_value", "key.move_group"),
        Binding("x", "remove_value", "key.remove"),
        Binding("l", "next_list", "key.next_list"),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kind = LISTS[0]

    def compose(self) -> ComposeResult:
        t = self.t
        with Horizontal(classes="filters"):
            yield Label(t("lists.which"))
            yield Select([(t(f"lists.kind.{k}"), k) for k in LISTS], value=self.kind,
                         allow_blank=False, compact=True, id="list-kind")
        yield table("list-values", t("col.group"), t("col.value"), t("col.uses"))

    @property
    def grouped(self) -> bool:
        return self.kind in GROUPED_LISTS

    def reload(self) -> None:
        t = self.t
        team = self.session.team
        rows = [(group_of(team.settings, self.kind, v) if self.grouped else "—", v)
                for v in team.settings.values(self.kind)]
        self.refill("list-values", [
            (value, (cell(group), cell(value), fmt.number(uses(team, self.kind, value), t.lang)))
            for group, value in sorted(rows, key=lambda r: (r[0].casefold(), r[1].casefold()))])
        self.query_one("#list-values", LiteralTable).border_title = \
            t(f"lists.kind.{self.kind}")

    @on(Select.Changed, "#list-kind")
    def _kind(self, event: Select.Changed) -> None:
        if event.value is not Select.NULL and event.value != self.kind:
            self.kind = str(event.value)
            self.reload()

    def action_next_list(self) -> None:
        self.query_one("#list-kind", Select).value = LISTS[(LISTS.index(self.kind) + 1)
                                                           % len(LISTS)]

    def _groups(self) -> list[str]:
        team = self.session.team
        return sorted({group_of(team.settings, self.kind, v)
                       for v in team.settings.values(self.kind)}, key=str.casefold)

    def _group_fields(self, current: str = "") -> list[Field]:
        t = self.t
        if not self.grouped:
            return []
        return [Field("group", t("field.group"), value=current,
                      placeholder=", ".join(self._groups()[:4]))]

    def _check_new(self, name: str) -> str:
        name = name.strip()
        if not name:
            raise FieldError("name", self.t("error.required"))
        if name in self.session.team.settings.values(self.kind):
            raise FieldError("name", self.t("lists.exists"))
        return name

    def action_add_value(self) -> None:
        t = self.t
        team = self.session.team
        kind = self.kind

        async def submit(v: dict[str, Any]) -> str:
            name = self._check_new(v["name"])
            await team.settings.add(kind, name)
            group = str(v.get("group") or "").strip()
            if group:
                await set_group(team.settings, kind, name, group)
            return name
        self.form(t("lists.add_title", list=t(f"lists.kind.{kind}")),
                  [Field("name", t("field.name")), *self._group_fields()], submit,
                  lambda name: self.mano.say(t("lists.added", name=name)) if name else None)

    def action_rename_value(self) -> None:
        old = self.current_key("list-values")
        if old is None:
            return
        t = self.t
        team = self.session.team
        kind = self.kind
        if kind == "consultationTypes" and team.medical is None:
            self.mano.say(t("lists.rename_needs_health"), error=True)
            return

        async def submit(v: dict[str, Any]) -> int:
            name = self._check_new(v["name"])
            return await rename_value(team, kind, old, name)
        self.form(t("lists.rename_title", name=old),
                  [Field("name", t("field.name"), value=old)], submit,
                  lambda n: self.mano.say(t("lists.renamed", count=n)) if n is not None
                  else None)

    def action_move_value(self) -> None:
        value = self.current_key("list-values")
        if value is None:
            return
        t = self.t
        if not self.grouped:
            self.mano.say(t("lists.not_grouped"), error=True)
            return
        team = self.session.team
        kind = self.kind

        async def submit(v: dict[str, Any]) -> str:
            group = str(v["group"]).strip()
            if not group:
                raise FieldError("group", t("error.required"))
            await set_group(team.settings, kind, value, group)
            return group
        self.form(t("lists.move_title", name=value),
                  self._group_fields(group_of(team.settings, kind, value)), submit)

    @work(group="write", exclusive=True)
    async def action_remove_value(self) -> None:
        value = self.current_key("list-values")
        if value is None:
            return
        t = self.t
        team = self.session.team
        if not await self.confirm(t("lists.remove_title", name=value),
                                  [t("lists.remove_effect",
                                     count=uses(team, self.kind, value))], t("key.remove")):
            return
        await self.attempt(team.settings.remove(self.kind, value),
                           t("lists.removed", name=value))
