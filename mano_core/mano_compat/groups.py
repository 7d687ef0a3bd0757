"""Grouped lists: action categories, services and structure categories in named groups, as
MANO shows them (``actionsGroupedCategories``, ``groupedServices``,
``structuresGroupedCategories``).

The values stay the team's flat settings lists (a CRDT set: two admins adding values at once
both keep theirs); a value's group is the free setting ``listGroup.<list>.<value>``, one
register per value, so moving a value to another group merges last writer wins and never
loses the value. A value without a group is shown in MANO's catch-all group ("Toutes mes
catégories", "Tous mes services")."""

from __future__ import annotations

from typing import Any, Final, Protocol

import msgspec

from mano_core.errors import ValidationError
from mano_core.codes import Code

from .vocabulary import ALL_CATEGORIES_GROUP, ALL_SERVICES_GROUP

GROUPED_LISTS: Final = ("actionCategories", "services", "structureCategories")
GROUP_KEY: Final = "listGroup."


class _Settings(Protocol):
    def values(self, kind: str) -> list[str]: ...
    def get(self, key: str) -> Any: ...


class _Durable(_Settings, Protocol):
    async def add(self, kind: str, *values: str) -> None: ...
    async def set(self, key: str, value: str | int | float | bool | None) -> None: ...


class Group(msgspec.Struct, frozen=True):
    title: str
    values: tuple[str, ...]


def catch_all(kind: str) -> str:
    return ALL_SERVICES_GROUP if kind == "services" else ALL_CATEGORIES_GROUP


def group_of(settings: _Settings, kind: str, value: str) -> str:
    title = settings.get(f"{GROUP_KEY}{kind}.{value}")
    return str(title) if title else catch_all(kind)


def grouped(settings: _Settings, kind: str) -> list[Group]:
    """The list's values by group, groups in order of their first value."""
    _check(kind)
    out: dict[str, list[str]] = {}
    for value in settings.values(kind):
        out.setdefault(group_of(settings, kind, value), []).append(value)
    return [Group(title, tuple(values)) for title, values in out.items()]


async def add_grouped(settings: _Durable, kind: str, title: str, *values: str) -> None:
    """Add values to a list, in the group ``title`` (durable on return)."""
    _check(kind)
    title = title.strip()
    if not title:
        raise ValidationError("settings", kind, Code.REQUIRED)
    await settings.add(kind, *values)
    for value in values:
        await set_group(settings, kind, value.strip(), title)


async def set_group(settings: _Durable, kind: str, value: str, title: str) -> None:
    """Move one value to the group ``title``. ValidationError if the list lacks it."""
    _check(kind)
    if value not in settings.values(kind):
        raise ValidationError("settings", kind, Code.NOT_IN_LIST, list=kind, values=[value])
    current = settings.get(f"{GROUP_KEY}{kind}.{value}")
    if current != title:
        await settings.set(f"{GROUP_KEY}{kind}.{value}", title)


def _check(kind: str) -> None:
    if kind not in GROUPED_LISTS:
        raise ValidationError("settings", kind, Code.NOT_GROUPED, grouped=list(GROUPED_LISTS))
