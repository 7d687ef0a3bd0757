"""A form field that chooses a person (``tui.widgets.person_picker``), for every form that
names one: an action, a passage, a family link. Its lines tell homonyms apart."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Protocol

from mano_core.model.records import Person
from tui.people_index import ALL, PersonQuery, describe
from tui.records.values import EntryError, day_text
from tui.widgets.forms import Field


class Host(Protocol):
    """What a form's host gives (a screen of the unlocked app)."""

    @property
    def t(self) -> Any: ...
    @property
    def session(self) -> Any: ...
    @property
    def mano(self) -> Any: ...

def person_line(host: Host, p: Person) -> str:
    """The line that tells ``p`` from homonyms (name, aliases, born, teams, followed since)."""
    t = host.t
    session = host.session
    return describe(p, subteam_name=session.subteam_name,
                    born=lambda d: t("picker.born", date=d),
                    followed=lambda d: t("picker.followed", date=d),
                    out=t("picker.out"), day=lambda d: day_text(t, d))  # type: ignore[arg-type]


def person_field(host: Host, name: str, label: str, person: Person | None = None, *,
                 placeholder: str = "", exclude: Collection[str] = (),
                 required: bool = False) -> Field:
    """A person-picking field (value: the chosen person's id, None when nobody is)."""
    index = host.mano.persons_index

    def search(text: str) -> list[tuple[str, str]]:
        found = index.query(PersonQuery(text=text, status=ALL))
        return [(p.id, person_line(host, p)) for p in found if p.id not in exclude]

    return Field(name, label, kind="person", value=person.id if person else None,
                 value_label=person_line(host, person) if person else "",
                 placeholder=placeholder, wire=(name,), search=search, required=required,
                 parse=_required if required else None)


def _required(value: object) -> object:
    if value is None:
        raise EntryError("person_required")
    return value
