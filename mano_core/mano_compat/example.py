"""The persons example file ("Télécharger un exemple"), as MANO writes it for the team.

One sheet, ``personne``: the header holds every importable person field's label (MANO's base
fields, then the team's enabled person custom fields), the second row a placeholder per
column: the first option of a choice, ``2021-01-01`` for a date, ``Oui`` for yes/no, ``1``
for a number, the name
of the team's first sub-team for "Équipes en charge", ``test`` otherwise. A coordinator fills
it and imports it with ``mano import persons`` (or ``mano import mano``)."""

from __future__ import annotations

import io

from mano_core.model.records import GENDERS, CustomFieldDefinition
from mano_core.optional import require
from mano_core.reporting.view import TeamView

from .vocabulary import OUT_OF_ACTIVE_LIST_REASONS, PERSON_FIELDS

SHEET = "personne"
_BASE_TYPES = {
    "gender": "enum", "birthdate": "date", "alertness": "yes-no", "wandering_at": "date",
    "followed_since": "date", "out_of_active_list": "yes-no", "out_of_active_list_date": "date",
    "out_of_active_list_reasons": "multi-choice",
}


def example_rows(view: TeamView) -> list[list[str]]:
    """The header and the placeholder row."""
    teams = sorted(view.subteams.list(), key=lambda t: t.name)
    reasons = view.settings.values("outOfActiveListReasons") or list(OUT_OF_ACTIVE_LIST_REASONS)
    header: list[str] = []
    row: list[str] = []
    for _mano, field, label in PERSON_FIELDS:
        header.append(label)
        kind = _BASE_TYPES.get(field, "text")
        if field == "assigned_teams":
            row.append(teams[0].name if teams else "test")
        elif field == "gender":
            row.append(GENDERS[0])
        elif field == "out_of_active_list_reasons":
            row.append(reasons[0])
        else:
            row.append(_placeholder(kind, []))
    fields: list[CustomFieldDefinition] = [
        d for d in view.custom_fields.list() if d.scope == "person" and d.enabled]
    for d in fields:
        header.append(d.label_text)
        row.append(_placeholder(d.type, d.options))
    return [header, row]


def _placeholder(kind: str, options: list[str]) -> str:
    if options:
        return options[0]
    if kind in ("date", "date-with-time"):
        return "2021-01-01"
    if kind in ("yes-no", "boolean"):
        return "Oui"
    if kind == "number":
        return "1"  # MANO writes "test", which its own import then drops
    return "test"


def example_workbook(view: TeamView) -> bytes:
    """The example file as XLSX bytes (no data of the team: labels and placeholders only)."""
    openpyxl = require("openpyxl", "xlsx")  # only XLSX needs it (extra [xlsx])
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = SHEET
    for line in example_rows(view):
        sheet.append(line)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
