"""What the statistics screen offers to choose: period presets and the person fields one can
filter on (with their values), in the interface's language. Pure functions: no widget."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mano_core.model.records import GENDERS, CustomFieldDefinition, Person
from mano_core.reporting import Period
from tui import format as fmt
from tui.i18n import Translator

PRESETS = ("7", "30", "90", "365", "this_month", "last_month", "this_year", "last_year",
           "custom")
CHOICE_TYPES = ("enum", "multi-choice", "yes-no", "boolean")


def preset_period(name: str, today: dt.date) -> Period:
    """The period a preset names, ending ``today`` for the "last N days" ones."""
    if name.isdigit():
        return Period(today - dt.timedelta(days=int(name) - 1), today)
    if name == "this_month":
        return Period(today.replace(day=1), today)
    if name == "last_month":
        end = today.replace(day=1) - dt.timedelta(days=1)
        return Period(end.replace(day=1), end)
    if name == "this_year":
        return Period(today.replace(month=1, day=1), today)
    if name == "last_year":
        return Period(dt.date(today.year - 1, 1, 1), dt.date(today.year - 1, 12, 31))
    raise ValueError(name)


def preset_label(t: Translator, name: str) -> str:
    return t("stats.last_days", n=int(name)) if name.isdigit() else t(f"stats.preset.{name}")


@dataclass(frozen=True)
class FilterField:
    """A person field one can filter on: its wire name (``gender``,
    ``customFields.<key>``), its label and the values offered (value, label)."""

    wire: str
    label: str
    values: tuple[tuple[Any, str], ...]


def filter_fields(t: Translator, persons: Iterable[Person], reasons: list[str],
                  definitions: Iterable[CustomFieldDefinition]) -> list[FilterField]:
    """The fields offered: gender, very vulnerable, out of the active list and its reasons,
    and every choice-like person custom field (their options, or the values found)."""
    people = list(persons)
    yes_no = ((True, t("yes")), (False, t("no")))
    out = [FilterField("gender", t("stats.filter.gender"), tuple((g, g) for g in GENDERS)),
           FilterField("alertness", t("stats.filter.alertness"), yes_no),
           FilterField("outOfActiveList", t("stats.filter.out"), yes_no)]
    if reasons:
        out.append(FilterField("outOfActiveListReasons", t("stats.filter.out_reasons"),
                               tuple((r, r) for r in reasons)))
    for d in definitions:
        if d.scope != "person" or d.type not in CHOICE_TYPES:
            continue
        if d.options:
            values = tuple((o, o) for o in d.options)
        else:
            seen = {v for p in people
                    if (v := p.custom_fields.get(d.key)) is not None and not isinstance(v, list)}
            values = tuple((v, fmt.value(v)) for v in sorted(seen, key=str))
        if values:
            out.append(FilterField(f"customFields.{d.key}", d.label_text, values))
    return out
