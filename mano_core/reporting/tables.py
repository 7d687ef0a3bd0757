"""Records as tables (header + rows of plain cells), for CSV and XLSX exports.

Headers are the French labels the teams use; imports accept the same labels (or the field
names), so an exported file can be imported again. Ids of sub-teams, persons and structures
are shown as names; lists are joined with ``LIST_SEPARATOR``; instants are Europe/Paris."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, Final

import msgspec

from mano_core.model.records import CustomFieldDefinition, Record
from mano_core.rules.table import Power

from .daily import merged_reports
from .stats import Statistics, view_features
from .view import PARIS, TeamView, aware

Cell = str | int | float | bool | dt.date | dt.datetime | None
LIST_SEPARATOR: Final = "; "

PERSON_COLUMNS: Final[tuple[tuple[str, str], ...]] = (
    ("id", "Identifiant"), ("name", "Nom"), ("other_names", "Autres pseudos"),
    ("gender", "Genre"), ("birthdate", "Date de naissance"), ("description", "Description"),
    ("phone", "Téléphone"), ("email", "Email"), ("alertness", "Personne très vulnérable"),
    ("wandering_at", "En rue depuis le"), ("followed_since", "Suivie depuis le"),
    ("assigned_teams", "Équipes en charge"), ("out_of_active_list", "Sortie de file active"),
    ("out_of_active_list_date", "Date de sortie de file active"),
    ("out_of_active_list_reasons", "Motifs de sortie de file active"),
    ("created_at", "Créée le"),
)
ACTION_COLUMNS: Final[tuple[tuple[str, str], ...]] = (
    ("id", "Identifiant"), ("name", "Nom de l'action"), ("description", "Description"),
    ("persons", "Personnes suivies"), ("teams", "Équipes"), ("due_at", "À faire le"),
    ("with_time", "Avec heure"), ("status", "Statut"), ("completed_at", "Faite ou annulée le"),
    ("categories", "Catégories"), ("urgent", "Urgent"), ("structure", "Structure"),
    ("group", "Action familiale"), ("created_at", "Créée le"),
)
COMMENT_COLUMNS: Final[tuple[tuple[str, str], ...]] = (
    ("id", "Identifiant"), ("date", "Date"), ("text", "Commentaire"),
    ("person", "Personne suivie"), ("action", "Action"), ("team", "Équipe"),
    ("urgent", "Urgent"), ("created_by", "Auteur"),
)


class Table(msgspec.Struct, frozen=True):
    """One sheet: a name, a header and rows of cells."""

    name: str
    header: tuple[str, ...]
    rows: list[tuple[Cell, ...]]


def cell(value: Any) -> Cell:
    """A record value as a cell: lists joined, instants in Paris time (naive, like Excel)."""
    if isinstance(value, list):
        return LIST_SEPARATOR.join(str(v) for v in value)
    if isinstance(value, dt.datetime):
        return aware(value).astimezone(PARIS).replace(tzinfo=None)
    if isinstance(value, dict):
        return msgspec.json.encode(value).decode()
    if value is None or isinstance(value, str | int | float | bool | dt.date):
        return value
    return str(value)


def _require_exports(view: TeamView) -> None:
    check = getattr(view, "require", None)
    if check is not None:  # a Team: only admins export (docs/security.md, "Who may do what")
        check(Power.EXPORTS)


def _names(view: TeamView) -> dict[str, str]:
    names = {t.id: t.name for t in view.subteams.list(include_deleted=True)}
    names.update((s.id, s.name) for s in view.structures.list(include_deleted=True))
    return names


def _table(name: str, records: Sequence[Record], columns: Sequence[tuple[str, str]],
           convert: dict[str, Callable[[Any], Any]],
           extra: Sequence[tuple[str, Callable[[Any], Any]]] = ()) -> Table:
    header = tuple(label for _f, label in columns) + tuple(label for label, _g in extra)
    rows = []
    for record in records:
        row = [cell(convert.get(f, _same)(getattr(record, f))) for f, _label in columns]
        row += [cell(get(record)) for _label, get in extra]
        rows.append(tuple(row))
    return Table(name, header, rows)


def _same(value: Any) -> Any:
    return value


def custom_columns(view: TeamView, scope: str, *,
                   include_health: bool = False) -> list[CustomFieldDefinition]:
    """Live custom-field definitions of a scope (their labels are column headers); health-only
    fields only if ``include_health`` (their values exist on health devices only)."""
    return [d for d in view.custom_fields.list()
            if d.scope == scope and (include_health or not d.health_only)]


def persons_table(view: TeamView, subteams: Sequence[str] = (), *,
                  include_health: bool = False) -> Table:
    """Persons (of these sub-teams, all if empty), one column per person custom field.
    Health-only fields are left out unless ``include_health`` (and the device holds them):
    a table of persons is often handed to partners or funders."""
    _require_exports(view)
    names = _names(view)
    wanted = frozenset(subteams)
    persons = sorted((p for p in view.persons.list()
                      if not wanted or not wanted.isdisjoint(p.assigned_teams)),
                     key=lambda p: (p.name.casefold(), p.id))
    extra = [(d.label_text, _custom_getter(d)) for d in custom_columns(
        view, "person", include_health=include_health)]
    def teams(ids: list[str]) -> list[str]:
        return [names.get(i, i) for i in ids]

    return _table("Personnes", persons, PERSON_COLUMNS, {"assigned_teams": teams}, extra)


def _custom_getter(definition: CustomFieldDefinition) -> Callable[[Any], Any]:
    key, yes_no = definition.key, definition.type == "yes-no"

    def get(record: Any) -> Any:
        value = record.custom_fields.get(key)
        if yes_no and isinstance(value, bool):
            return "Oui" if value else "Non"
        return value

    return get


def actions_table(view: TeamView, subteams: Sequence[str] = ()) -> Table:
    """Actions (of these sub-teams, all if empty), by due date."""
    _require_exports(view)
    names = _names(view)
    persons = {p.id: p.name for p in view.persons.list(include_deleted=True)}
    wanted = frozenset(subteams)
    actions = sorted((a for a in view.actions.list()
                      if not wanted or not wanted.isdisjoint(a.teams)),
                     key=lambda a: (aware(a.due_at), a.id))
    return _table("Actions", actions, ACTION_COLUMNS, {
        "persons": lambda ids: [persons.get(i, i) for i in ids],
        "teams": lambda ids: [names.get(i, i) for i in ids],
        "structure": lambda i: names.get(i, i) if i else None,
    })


def comments_table(view: TeamView, subteams: Sequence[str] = ()) -> Table:
    """Comments (of these sub-teams, all if empty), oldest first."""
    _require_exports(view)
    names = _names(view)
    persons = {p.id: p.name for p in view.persons.list(include_deleted=True)}
    actions = {a.id: a.name for a in view.actions.list(include_deleted=True)}
    wanted = frozenset(subteams)
    comments = sorted((c for c in view.comments.list() if not wanted or c.team in wanted),
                      key=lambda c: (aware(c.date), c.id))
    return _table("Commentaires", comments, COMMENT_COLUMNS, {
        "person": lambda i: persons.get(i, i) if i else None,
        "action": lambda i: actions.get(i, i) if i else None,
        "team": lambda i: names.get(i, i) if i else None,
    })


def reports_table(view: TeamView, subteams: Sequence[str] = (), *,
                  start: dt.date | None = None, end: dt.date | None = None) -> Table:
    """Merged daily reports, one column per service of the settings (and any other counted)."""
    _require_exports(view)
    names = _names(view)
    reports = merged_reports(view, subteams=subteams, start=start, end=end)
    services = list(view.settings.values("services"))
    services += sorted({s for r in reports for s in r.services} - set(services))
    if not view_features(view)["receptionCounters"]:
        services = []  # reception counters are off for this team
    header = ("Jour", "Équipe", "Description", "Collaborations", *services)
    rows: list[tuple[Cell, ...]] = [
        (r.day, names.get(r.subteam, r.subteam), r.description,
         LIST_SEPARATOR.join(r.collaborations), *(r.services.get(s, 0) for s in services))
        for r in reports]
    return Table("Comptes rendus", header, rows)


def statistics_table(stats: Statistics) -> Table:
    """Statistics flattened to (section, indicator, value) rows."""
    rows: list[tuple[Cell, ...]] = [
        ("période", "début", stats.period.start), ("période", "fin", stats.period.end)]

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(f"{prefix}.{key}", item)
        elif isinstance(value, list | tuple):
            for item in value:
                if isinstance(item, dict) and "label" in item:  # a custom field's figures
                    figures = {k: v for k, v in item.items()
                               if k not in ("key", "label", "type")}
                    walk(f"{prefix}.{item['label']}", figures)
                else:
                    walk(prefix, item)
        else:
            section, _, indicator = prefix.partition(".")
            rows.append((section, indicator, value))

    off = {"encounters": "encounters", "passages": "passages", "observations": "territories",
           "services": "receptionCounters"}
    for section in ("persons", "actions", "comments", "encounters", "passages", "observations",
                    "reports", "services"):
        if section in off and not stats.features.get(off[section], True):
            continue  # the feature is off for this team: no such section
        walk(section, msgspec.to_builtins(getattr(stats, section)))
    return Table("Statistiques", ("section", "indicateur", "valeur"), rows)


STAT_SECTIONS: Final[dict[str, str]] = {
    "persons": "Personnes suivies", "actions": "Actions", "comments": "Commentaires",
    "encounters": "Rencontres", "passages": "Passages",
    "observations": "Observations de territoires", "reports": "Comptes rendus",
    "services": "Services",
}
STAT_INDICATORS: Final[dict[str, str]] = {
    "followed": "Personnes suivies", "new": "Nouvelles personnes",
    "by_gender": "Par genre", "by_age": "Par tranche d'âge",
    "vulnerable": "Personnes très vulnérables", "out_of_active_list": "Sorties de file active",
    "out_reasons": "Motifs de sortie de file active", "total": "Total",
    "by_status": "Par statut", "by_category": "Par catégorie", "overdue": "En retard",
    "completed": "Faites", "completion_days_mean": "Délai moyen de réalisation (jours)",
    "completion_days_median": "Délai médian de réalisation (jours)", "urgent": "Urgents",
    "on_persons": "Sur des personnes", "on_actions": "Sur des actions",
    "persons": "Personnes distinctes", "anonymous": "Anonymes",
    "by_territory": "Par territoire", "by_atmosphere": "Par ambiance",
    "men": "Hommes", "women": "Femmes", "minors": "Mineurs", "police": "Présence policière",
    "filled": "Renseigné", "counts": "", "mean": "Moyenne", "custom_fields": "",
}
_STATUS_LABELS: Final = {"A FAIRE": "À faire", "FAIT": "Faite", "ANNULEE": "Annulée"}


def statistics_sheet(stats: Statistics) -> Table:
    """Statistics as a funder reads them: (section, indicator, value) rows in French
    ("Personnes suivies", "Par genre : Homme", 12), not field paths (``by_gender.Homme``)."""
    rows: list[tuple[Cell, ...]] = [("Période", "Du", stats.period.start),
                                    ("Période", "Au", stats.period.end)]
    for section, label, value in statistics_table(stats).rows[2:]:
        if value is None:  # a figure that does not apply (the mean of a choice field)
            continue
        name = STAT_SECTIONS.get(str(section), str(section))
        rows.append((name, _indicator(str(section), str(label)), value))
    return Table("Statistiques", ("Rubrique", "Indicateur", "Valeur"), rows)


def _indicator(section: str, path: str) -> str:
    if not path:  # a section that is one figure (reports) or a service counter's name
        return "Nombre" if section == "reports" else ""
    parts = path.split(".")
    if section == "services":
        return path
    words: list[str] = []
    for i, part in enumerate(parts):
        if part in STAT_INDICATORS and (i == 0 or parts[i - 1] not in ("by_gender", "by_age",
                                        "out_reasons", "by_category", "by_territory",
                                        "by_atmosphere", "counts", "by_status")):
            label = STAT_INDICATORS[part]
        elif i and parts[i - 1] == "by_status":
            label = _STATUS_LABELS.get(part, part)
        else:
            label = part  # a value (Homme, a category…) or a custom field's label
        if label:
            words.append(label)
    return " : ".join(words)
