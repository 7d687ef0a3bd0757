"""The action form (new, edit, duplicate): a name, several persons, a due day with or
without a time, several categories and sub-teams, a structure, the urgent and family flags,
a description. Errors are said under their field; everything typed stays until saved.

Persons are chosen by typing a few letters: each match says what tells homonyms apart
(other names, birth date, followed since, the start of its id); Enter or a click adds the
highlighted one; a chosen person is removed by unticking it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from mano_core.model.records import Person
from tui import format as fmt
from tui.text import Visible, cell, plain
from tui.widgets.forms import LiteralTextArea
from tui.widgets.modal_form import FieldErrors, ModalForm
from tui.widgets.toggle import Check
from tui.widgets.select import Select

MAX_MATCHES = 6


class Ticks(VerticalScroll):
    """Several choices, one ``[✓]`` box each (never colour alone); ``selected``: the values
    ticked, in the order shown."""

    def __init__(self, options: Sequence[tuple[str, str, bool]], id: str) -> None:
        super().__init__(id=id, classes="ticks")
        self._options = [(label, value) for label, value, _on in options]
        self._initial = {value for _label, value, on in options if on}

    def compose(self) -> ComposeResult:
        for i, (label, value) in enumerate(self._options):
            yield Check(cell(label), value in self._initial, compact=True,
                        id=f"{self.id}-{i}")

    @property
    def selected(self) -> list[str]:
        boxes = list(self.query(Check))
        return [value for (_label, value), box in zip(self._options, boxes, strict=True)
                if box.value]

    async def add(self, label: str, value: str) -> None:
        """A new choice, ticked."""
        self._options.append((label, value))
        await self.mount(Check(cell(label), True, compact=True,
                               id=f"{self.id}-{len(self._options) - 1}"))


@dataclass(frozen=True)
class ActionDraft:
    """What the form starts with (an action's values, or a new one's defaults)."""

    name: str = ""
    persons: tuple[str, ...] = ()
    day: dt.date | None = None
    time: dt.time | None = None
    categories: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    structure: str | None = None
    urgent: bool = False
    group: bool = False
    description: str = ""


@dataclass(frozen=True)
class ActionChoices:
    """What the team offers: categories, sub-teams (id, name), structures (id, name), and
    how to find persons and say who they are."""

    categories: Sequence[str]
    subteams: Sequence[tuple[str, str]]
    structures: Sequence[tuple[str, str]]
    find: Callable[[str], Sequence[Person]]
    person: Callable[[str], Person | None]
    texts: Callable[..., str] = field(repr=False, default=lambda key, **v: key)


def describe(p: Person, t: Callable[..., str]) -> str:
    """One line that tells a person from a homonym."""
    parts = [p.name]
    if p.other_names:
        parts.append(f"({', '.join(p.other_names)})")
    if p.birthdate:
        parts.append(t("action_form.born", day=fmt.day(p.birthdate)))
    if p.followed_since:
        parts.append(t("action_form.followed", day=fmt.day(p.followed_since)))
    parts.append(f"#{p.id[:6]}")
    return " ".join(parts)


Values = dict[str, Any]


class ActionFormScreen(ModalForm):
    """Dismissed with what ``submit(values)`` returned once it succeeded, None on Escape.
    ``values``: name, persons (ids), day (date), time (time or None), categories, teams,
    structure, urgent, group, description."""

    def __init__(self, title: str, draft: ActionDraft, choices: ActionChoices,
                 submit: Callable[[Values], Awaitable[Any]]) -> None:
        super().__init__(title, submit, self.read)
        self.draft = draft
        self.choices = choices
        self._matches: list[Person] = []

    def t(self, key: str, **values: object) -> str:
        return self.choices.texts(key, **values)

    def compose(self) -> ComposeResult:
        t, d, c = self.t, self.draft, self.choices
        with VerticalScroll(classes="form action-form"):
            yield Static(plain(self.form_title), classes="form-title")
            yield Label(t("field.action_name"), classes="form-label")
            yield Input(d.name, id="field-name", compact=True, highlighter=Visible())
            yield Static("", id="error-name", classes="form-error")
            yield Label(t("action_form.persons"), classes="form-label")
            yield Input("", id="field-person-search", compact=True, highlighter=Visible(),
                        placeholder=t("action_form.person_search"))
            yield OptionList(id="person-matches")
            shown = []
            for pid in d.persons:
                person = c.person(pid)
                shown.append((describe(person, t) if person else f"#{pid[:6]}", pid, True))
            yield Ticks(shown, id="field-persons")
            yield Static("", id="error-persons", classes="form-error")
            with Horizontal(classes="form-row"):
                with VerticalScroll(classes="form-cell"):
                    yield Label(t("field.due_day"), classes="form-label")
                    yield Input(fmt.day(d.day) if d.day else "", id="field-day", compact=True,
                                placeholder=t("field.date_hint"), highlighter=Visible())
                with VerticalScroll(classes="form-cell"):
                    yield Label(t("action_form.time"), classes="form-label")
                    yield Input(f"{d.time:%H:%M}" if d.time else "", id="field-time",
                                compact=True, placeholder="14:30", highlighter=Visible())
            yield Static("", id="error-day", classes="form-error")
            yield Static("", id="error-time", classes="form-error")
            with Horizontal(classes="form-row"):
                with VerticalScroll(classes="form-cell"):
                    yield Label(t("action_form.categories"), classes="form-label")
                    yield Ticks([(name, name, name in d.categories)
                                 for name in sorted({*c.categories, *d.categories})],
                                id="field-categories")
                with VerticalScroll(classes="form-cell"):
                    yield Label(t("action_form.subteams"), classes="form-label")
                    yield Ticks([(name, sid, sid in d.teams) for sid, name in c.subteams],
                                id="field-teams")
            yield Static("", id="error-categories", classes="form-error")
            yield Static("", id="error-teams", classes="form-error")
            yield Label(t("action_form.structure"), classes="form-label")
            yield Select([(cell(name), sid) for sid, name in c.structures], compact=True,
                         value=d.structure if d.structure in {s for s, _n in c.structures}
                         else Select.NULL, id="field-structure", prompt="—")
            yield Static("", id="error-structure", classes="form-error")
            with Horizontal(classes="form-row checks"):
                yield Check(t("field.urgent"), d.urgent, id="field-urgent", compact=True)
                yield Check(t("action_form.family"), d.group, id="field-group", compact=True)
            yield Static("", id="error-group", classes="form-error")
            yield Label(t("field.description"), classes="form-label")
            yield LiteralTextArea(d.description, id="field-description", classes="form-area")
            yield from self.buttons(t("form.save"), t("form.cancel"))

    def on_mount(self) -> None:
        self.query_one("#person-matches").display = False
        self.query_one("#field-name", Input).focus()

    # --- persons ----------------------------------------------------------------------------

    @on(Input.Changed, "#field-person-search")
    def _search(self, event: Input.Changed) -> None:
        matches = self.query_one("#person-matches", OptionList)
        text = event.value.strip()
        chosen = set(self.query_one("#field-persons", Ticks).selected)
        self._matches = [p for p in self.choices.find(text) if p.id not in chosen
                         ][:MAX_MATCHES] if text else []
        matches.clear_options()
        matches.add_options([Option(cell(describe(p, self.t)), id=p.id)
                             for p in self._matches])
        matches.display = bool(self._matches)
        if self._matches:
            matches.highlighted = 0

    @on(Input.Submitted, "#field-person-search")
    async def _pick_first(self, event: Input.Submitted) -> None:
        event.stop()
        matches = self.query_one("#person-matches", OptionList)
        if self._matches:
            index = matches.highlighted or 0
            await self._add_person(self._matches[index])

    @on(OptionList.OptionSelected, "#person-matches")
    async def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        found = next((p for p in self._matches if p.id == event.option.id), None)
        if found is not None:
            await self._add_person(found)

    async def _add_person(self, person: Person) -> None:
        chosen = self.query_one("#field-persons", Ticks)
        if person.id not in chosen.selected:
            await chosen.add(describe(person, self.t), person.id)
        search = self.query_one("#field-person-search", Input)
        search.value = ""
        search.focus()

    async def add_person(self, person_id: str) -> None:
        """Add a person by id (as picking them among the matches does)."""
        person = self.choices.person(person_id)
        if person is not None:
            await self._add_person(person)

    # --- values -----------------------------------------------------------------------------

    def read(self) -> Values:
        t = self.t
        errors: dict[str, str] = {}
        try:
            day = fmt.parse_day(self.query_one("#field-day", Input).value)
        except ValueError:
            errors["day"] = t("error.date")
            day = None
        try:
            at = fmt.parse_time(self.query_one("#field-time", Input).value)
        except ValueError:
            errors["time"] = t("error.time")
            at = None
        if errors:
            raise FieldErrors(errors)
        structure = self.query_one("#field-structure", Select).value
        return {
            "name": self.query_one("#field-name", Input).value.strip(),
            "persons": self.query_one("#field-persons", Ticks).selected,
            "day": day, "time": at,
            "categories": self.query_one("#field-categories", Ticks).selected,
            "teams": self.query_one("#field-teams", Ticks).selected,
            "structure": None if structure is Select.NULL else str(structure),
            "urgent": self.query_one("#field-urgent", Check).value,
            "group": self.query_one("#field-group", Check).value,
            "description": self.query_one("#field-description", LiteralTextArea).text,
        }

    def show_error(self, name: str, message: str) -> None:
        wire = {"dueAt": "day", "due_at": "day", "withTime": "time", "with_time": "time"}
        target = wire.get(name, name)
        t = self.t
        labels = {"name": t("field.action_name"), "persons": t("action_form.persons"),
                  "day": t("field.due_day"), "time": t("action_form.time"),
                  "categories": t("action_form.categories"),
                  "teams": t("action_form.subteams"), "structure": t("action_form.structure"),
                  "group": t("action_form.family")}
        if target in labels:
            message = t("form.field_error", field=labels[target], message=message)
        super().show_error(target, message)

    def enter_saves(self, field: Input) -> bool:
        return field.id != "field-person-search"   # there, Enter adds the person
