"""The "Statistiques MANO" sheet of an export: every tab of MANO's statistics, as
(rubrique, indicateur, valeur) rows with French labels.

The general tab, actions by category and the reports' collaborations (mano_stats), then the
services, observations and, on a health device only (``medical`` given), consultations and
medical files (mano_tabs), each with the custom fields shown in statistics. The same period,
sub-teams and person filters as the figures shown; a night sub-team's window is shifted by
12 hours as MANO does."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from .mano_stats import PersonFilter, mano_statistics, mano_statistics_rows
from .mano_tabs import (
    NO_GROUP,
    MedicalView,
    consultations_tab,
    medical_files_tab,
    observations_tab,
    services_tab,
)
from .stats import CustomFieldStats
from .tables import Table
from .view import Period, TeamView

SHEET: Final = "Statistiques MANO"
HEADER: Final = ("Rubrique", "Indicateur", "Valeur")
_STATUSES: Final = {"A FAIRE": "À faire", "FAIT": "Faite", "ANNULEE": "Annulée"}
Row = tuple[str, str, Any]


def mano_statistics_sheet(view: TeamView, period: Period, subteams: Sequence[str] = (),
                          filters: Sequence[PersonFilter] = (), *,
                          medical: MedicalView | None = None) -> Table:
    """The sheet (module docstring); ``medical``: the team's medical compartment, None on a
    device without it (no medical rows at all)."""
    rows: list[Row] = list(mano_statistics_rows(
        mano_statistics(view, period, subteams, filters)))
    rows += services_rows(view, period, subteams)
    rows += observations_rows(view, period, subteams)
    if medical is not None:
        rows += medical_rows(view, medical, period, subteams, filters)
    return Table(SHEET, HEADER, [tuple(r) for r in rows])


def services_rows(view: TeamView, period: Period, subteams: Sequence[str] = ()) -> list[Row]:
    """MANO's "Services" tab: the total, each service, each group of services."""
    tab = services_tab(view, period, subteams)
    rows: list[Row] = [("Services", "Total des services", tab.total)]
    rows += [("Services", service, n) for service, n in tab.by_service.items()]
    if set(tab.by_group) != {NO_GROUP}:
        rows += [("Services", f"Groupe : {group}", n) for group, n in tab.by_group.items()]
    return rows


def observations_rows(view: TeamView, period: Period,
                      subteams: Sequence[str] = ()) -> list[Row]:
    """MANO's "Observations" tab: counts per territory and atmosphere, people seen, police,
    the observation fields shown in statistics."""
    tab = observations_tab(view, period, subteams)
    section = "Observations"
    rows: list[Row] = [(section, "Nombre d'observations", tab.total)]
    rows += [(section, f"Par territoire : {t}", n) for t, n in tab.by_territory.items()]
    rows += [(section, f"Ambiance : {a}", n) for a, n in tab.by_atmosphere.items()]
    rows += [(section, "Hommes", tab.men), (section, "Femmes", tab.women),
             (section, "Mineurs", tab.minors), (section, "Présence policière", tab.police)]
    for stats in tab.custom_fields:
        rows += _field_rows(section, "", stats)
    return rows


def medical_rows(view: TeamView, medical: MedicalView, period: Period,
                 subteams: Sequence[str] = (),
                 filters: Sequence[PersonFilter] = ()) -> list[Row]:
    """MANO's "Consultations" and "Dossiers médicaux" tabs (health devices only)."""
    tab = consultations_tab(view, medical, period, subteams, filters)
    section = "Consultations"
    rows: list[Row] = [(section, "Nombre de consultations", tab.total),
                       (section, "Personnes concernées", tab.persons)]
    rows += [(section, f"Par type : {t}", n) for t, n in tab.by_type.items()]
    rows += [(section, f"Par statut : {_STATUSES.get(s, s)}", n)
             for s, n in tab.by_status.items()]
    for kind, fields in tab.fields_by_type.items():
        for stats in fields:
            rows += _field_rows(section, f"{kind} : ", stats)
    files = medical_files_tab(view, medical, period, subteams, filters)
    section = "Dossiers médicaux"
    rows += [(section, "Personnes créées dans la période", files.persons),
             (section, "Avec un dossier médical", files.with_medical_file)]
    for stats in files.custom_fields:
        rows += _field_rows(section, "", stats)
    return rows


def _field_rows(section: str, prefix: str, stats: CustomFieldStats) -> list[Row]:
    """A custom field's figures: how many records fill it, its values' counts, and for a
    number its total and mean."""
    label = f"{prefix}{stats.label}"
    rows: list[Row] = [(section, f"{label} : renseigné", stats.filled)]
    rows += [(section, f"{label} : {value}", n) for value, n in stats.counts.items()]
    if stats.total is not None:
        rows.append((section, f"{label} : total", stats.total))
    if stats.mean is not None:
        rows.append((section, f"{label} : moyenne", stats.mean))
    return rows
