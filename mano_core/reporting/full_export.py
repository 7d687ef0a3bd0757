"""The full export: every collection of a team as its own sheet, laid out as MANO's
"Exporter les données en .xlsx" (same sheet names, ``actions`` first), with French labels.

A MANO user finds the sheets they know; a coordinator reads names where MANO showed ids
("Créée par" is a member's name, "Personne suivie" a person's name) and the ids beside them;
and the file imports back losslessly with ``mano_compat.import_mano``: ids, authors, instants
to the microsecond (UTC text, as MANO writes them), custom fields (their definitions in the
sheet "champs personnalisés"), the team's lists ("listes"), histories (MANO's JSON layout).

The medical sheets (consultations, treatments, medical files, medical comments) and the
health-only person fields are written only by a device holding the medical compartment.

``period`` keeps, of persons, those followed during it (follow-up started by its end, not out
of the active list before its start); of actions, those due or completed during it; of
comments, passages, encounters, observations, reports and medical records, those dated in it.
Without a period every live record is written (the backup a migration needs)."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

from mano_core.mano_compat.columns import BY_COLLECTION, CUSTOM_SCOPES, Column
from mano_core.mano_compat.migrate import MEMBER_NAMES_KEY
from mano_core.mano_compat.vocabulary import LIST_LABELS
from mano_core.model import records as r

from .tables import Cell, Table
from .view import UTC, Period, TeamView, aware, local_day

# (sheet, collection, compartment): MANO's names and order, then ours.
SHEETS: Final[tuple[tuple[str, str, str], ...]] = (
    ("actions", "actions", "general"),
    ("personnes suivies", "persons", "general"),
    ("comments", "comments", "general"),
    ("territoires", "territories", "general"),
    ("observations de territoires", "observations", "general"),
    ("lieux fréquentés", "places", "general"),
    ("équipes", "subteams", "general"),
    ("utilisateurs", "users", "general"),
    ("comptes rendus", "reports", "general"),
    ("passages", "passages", "general"),
    ("services", "services", "general"),
    ("rencontres", "encounters", "general"),
    ("consultations", "consultations", "medical"),
    ("treatments", "treatments", "medical"),
    ("medical-files", "medicalFiles", "medical"),
    ("commentaires médicaux", "medicalComments", "medical"),
    ("relations personne-lieu", "personPlaces", "general"),
    ("familles", "groups", "general"),
    ("structures", "structures", "general"),
    ("champs personnalisés", "customFields", "general"),
    ("listes", "settings", "general"),
)
_LIST_SEPARATOR: Final = "; "
_ATTR: Final = {"personPlaces": "person_places", "customFields": "custom_fields",
                "medicalFiles": "medical_files", "medicalComments": "comments"}


def instant_text(moment: dt.datetime) -> str:
    """A UTC instant as MANO writes it (``2023-01-12T15:00:00.000Z``), to the microsecond
    when it has them (so it imports back exactly)."""
    moment = aware(moment).astimezone(UTC)
    spec = "milliseconds" if moment.microsecond % 1000 == 0 else "microseconds"
    return moment.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


class _Names:
    """Readable names of what the ids point to."""

    def __init__(self, view: TeamView, medical: Any) -> None:
        self.view = view
        self.persons = {p.id: p.name for p in view.persons.list(include_deleted=True)}
        self.actions = {a.id: a.name for a in view.actions.list(include_deleted=True)}
        self.subteams = {t.id: t.name for t in view.subteams.list(include_deleted=True)}
        self.territories = {t.id: t.name for t in view.territories.list(include_deleted=True)}
        self.places = {p.id: p.name for p in view.places.list(include_deleted=True)}

    def member(self, member: str | None) -> str:
        if not member:
            return ""
        name = self.view.settings.get(MEMBER_NAMES_KEY + member)
        return str(name) if name else member


def full_export_tables(view: TeamView, *, medical: Any = None, period: Period | None = None,
                       subteams: Sequence[str] = ()) -> list[Table]:
    """Every sheet of the full export. ``medical`` is the team's medical collections
    (``Team.medical``), None on a device without them: no medical sheet then."""
    names = _Names(view, medical)
    wanted = frozenset(subteams)
    history = _history_by_record(view, medical)
    definitions = list(view.custom_fields.list())
    tables: list[Table] = []
    for sheet, collection, compartment in SHEETS:
        if compartment == "medical" and medical is None:
            continue
        if collection == "users":
            tables.append(_users(view, sheet))
        elif collection == "services":
            tables.append(_services(view, sheet, names, period, wanted))
        elif collection == "settings":
            tables.append(Table(sheet, ("Liste", "Valeur"), [
                (label, value) for kind, label in LIST_LABELS.items()
                for value in view.settings.values(kind)]))
        else:
            source = medical if compartment == "medical" else view
            items = list(getattr(source, _ATTR.get(collection, collection)).list())
            items = [x for x in items if _kept(x, collection, period, wanted)]
            tables.append(_records_table(sheet, collection, items, names, definitions,
                                         history))
    return tables


def _kept(record: Any, collection: str, period: Period | None, wanted: frozenset[str]) -> bool:
    if wanted:
        teams: Iterable[str] | None = (
            record.assigned_teams if collection == "persons" else
            record.teams if collection == "actions" else
            [record.team] if collection in ("comments", "passages", "encounters",
                                            "observations", "reports") else None)
        if teams is not None and wanted.isdisjoint(t for t in teams if t):
            return False
    if period is None:
        return True
    start, end = period.start, period.end
    if collection == "persons":
        began = record.followed_since or local_day(record.created_at)
        left = record.out_of_active_list_date if record.out_of_active_list else None
        return began <= end and (left is None or left >= start)
    if collection == "actions":
        return period.contains(local_day(record.due_at)) or (
            record.completed_at is not None and period.contains(local_day(record.completed_at)))
    moment = {"comments": "date", "passages": "date", "encounters": "date",
              "observations": "observed_at", "consultations": "due_at",
              "medicalComments": "date"}.get(collection)
    if moment is not None:
        return period.contains(local_day(getattr(record, moment)))
    if collection == "reports":
        return period.contains(record.date)
    return True


def _history_by_record(view: TeamView, medical: Any) -> dict[str, list[r.HistoryEntry]]:
    out: dict[str, list[r.HistoryEntry]] = defaultdict(list)
    sources = [view.history.list()]
    if medical is not None:
        sources.append(medical.history.list())
    for entries in sources:
        for entry in entries:
            if entry.field != "created":  # an import writes its own
                out[entry.record_id].append(entry)
    return out


def _mano_history(entries: list[r.HistoryEntry]) -> str:
    """Entries in MANO's layout: one change per (instant, author), fields with old and new."""
    grouped: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in sorted(entries, key=lambda h: (h.at, h.id)):
        key = (instant_text(entry.at), entry.author or "")
        change = grouped.setdefault(key, {"date": key[0], "user": entry.author, "data": {}})
        change["data"][entry.field] = {"oldValue": entry.old, "newValue": entry.new}
    return json.dumps(list(grouped.values()), ensure_ascii=False, default=str)


def _records_table(sheet: str, collection: str, items: list[Any], names: _Names,
                   definitions: list[r.CustomFieldDefinition],
                   history: dict[str, list[r.HistoryEntry]]) -> Table:
    columns = [c for c in BY_COLLECTION[collection]
               if c.field not in ("documents", "comments") and (
                   c.field != "history" or collection in ("persons", "actions", "consultations",
                                                          "treatments", "medicalFiles"))]
    scope = CUSTOM_SCOPES.get(collection)
    custom = [d for d in definitions if d.scope == scope] if scope else []
    header = tuple(c.label for c in columns) + tuple(d.label_text for d in custom)
    getters = [_getter(c, names, history) for c in columns]
    rows: list[tuple[Cell, ...]] = []
    for item in items:
        row = [get(item) for get in getters]
        values = getattr(item, "custom_fields", {})
        row += [_custom_cell(d, values.get(d.key)) for d in custom]
        rows.append(tuple(row))
    return Table(sheet, header, rows)


def _getter(col: Column, names: _Names, history: dict[str, list[r.HistoryEntry]]
            ) -> Callable[[Any], Cell]:
    field = _snake(col.field)
    if col.kind == "display":
        return _display(col.field, names)
    if col.field == "history":
        return lambda item: _mano_history(history[item.id]) if history.get(item.id) else None
    kind = col.kind

    def get(item: Any) -> Cell:
        value = getattr(item, field, None)
        if value is None or value == [] or value == "":
            return None
        if kind == "instant":
            return instant_text(value)
        if kind == "day":
            return str(value.isoformat())
        if kind == "bool":
            return "Oui" if value else "Non"
        if kind == "json":
            return json.dumps(value, ensure_ascii=False)
        if kind in ("refs", "members"):
            return ", ".join(value)
        if kind in ("values", "aliases"):
            return _LIST_SEPARATOR.join(value)
        if isinstance(value, list):
            return _LIST_SEPARATOR.join(str(v) for v in value)
        return value if isinstance(value, str | int | float) else str(value)

    return get


def _display(field: str, names: _Names) -> Callable[[Any], Cell]:
    if field == "createdByName":
        return lambda item: names.member(item.created_by) or None
    if field == "personNames":
        return lambda item: ", ".join(names.persons.get(i, i) for i in item.persons) or None
    if field == "personName":
        return lambda item: names.persons.get(item.person, item.person) if item.person else None
    if field == "actionName":
        return lambda item: names.actions.get(item.action, item.action) if item.action else None
    if field == "territoryName":
        return lambda item: names.territories.get(item.territory, item.territory)
    if field == "placeName":
        return lambda item: names.places.get(item.place, item.place)
    if field == "teamName":
        return lambda item: names.subteams.get(item.team, item.team)
    raise AssertionError(f"no display for {field}")


def _snake(wire: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in wire)


def _custom_cell(definition: r.CustomFieldDefinition, value: Any) -> Cell:
    if value is None or value == [] or value == "":
        return None
    if isinstance(value, bool):
        return "Oui" if value else "Non"
    if isinstance(value, list):
        return _LIST_SEPARATOR.join(str(v) for v in value)
    if isinstance(value, int | float | str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _users(view: TeamView, sheet: str) -> Table:
    """The members this team names (``memberName.<id>`` settings) and every author met."""
    authors: set[str] = set()
    collections: list[Any] = [
        view.persons, view.actions, view.comments, view.passages, view.encounters,
        view.observations, view.territories, view.places, view.person_places, view.groups,
        view.structures, view.reports, view.subteams, view.custom_fields]
    for collection in collections:
        for x in collection.list():
            authors |= {m for m in (x.created_by, x.updated_by) if m}
    rows: list[tuple[Cell, ...]] = []
    for member in sorted(authors):
        name = view.settings.get(MEMBER_NAMES_KEY + member)
        rows.append((member, str(name) if name else None, None))
    return Table(sheet, ("Identifiant", "Nom", "Email"), rows)


def _services(view: TeamView, sheet: str, names: _Names, period: Period | None,
              wanted: frozenset[str]) -> Table:
    """Service counters one row per (team, day, service), as MANO's ``services`` sheet."""
    totals: dict[tuple[str, dt.date, str], int] = defaultdict(int)
    for report in view.reports.list():
        if (wanted and report.team not in wanted) or (
                period is not None and not period.contains(report.date)):
            continue
        for service, count in report.services.items():
            totals[(report.team, report.date, service)] += count
    rows: list[tuple[Cell, ...]] = [
        (None, team, names.subteams.get(team, team), day.isoformat(), service, count)
        for (team, day, service), count in sorted(totals.items())]
    return Table(sheet, ("Identifiant", "Équipe (identifiant)", "Équipe", "Jour", "Service",
                         "Nombre"), rows)
