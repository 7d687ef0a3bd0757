"""MANO's statistics tabs beyond the general figures (mano_stats): services, observations,
consultations and medical files, with MANO's definitions (dashboard/src/scenes/stats/).

Every function takes the period, the selected sub-teams (none: all) and, for the medical tabs,
the person filters of ``mano_stats`` (``PersonFilter``: any person field, a custom field as
``customFields.<key>``, ``outOfActiveList``). A night sub-team's window is shifted by 12 hours,
as in mano_stats.

============== ==================================================================================
services       "Services": per service, the sum of the counters of the reports of the selected
               sub-teams whose day is in the period; per group of services (MANO's
               ``groupedServices``, ``listGroup.services.<service>``); every listed service is
               shown, 0 when none was given
observations   "Observations": observations of the selected sub-teams whose ``observedAt`` is in
               the window of their sub-team, optionally of some territories; per territory and
               atmosphere, sums of men, women, minors, police presence; the observation custom
               fields shown in statistics
consultations  "Consultations" (health devices): consultations of persons kept by the filters,
               ``completedAt`` (else ``dueAt``) in the window of one of their sub-teams (of the
               default window without one); per type (every listed type shown), per status,
               distinct persons; per type, the statistics of that type's custom fields
medical files  "Dossiers médicaux" (health devices): the persons created (MANO's default) or
               followed in the period (mano_stats' definitions) kept by the filters: how many,
               how many have a medical file, the medical-file custom fields shown in statistics
============== ==================================================================================
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, Final, Literal, Protocol

import msgspec

from mano_core.model.records import (
    ACTION_STATUSES,
    ATMOSPHERES,
    Consultation,
    CustomFieldDefinition,
    MedicalFile,
)

from .mano_stats import PersonFilter, matches, person_sets, windows
from .stats import NOT_FILLED, CustomFieldStats, ObservationStats, custom_field_stats
from .view import Listing, Period, TeamView, aware, ranked

GROUP_KEY: Final = "listGroup."
NO_GROUP: Final = "Tous mes services"


class MedicalView(Protocol):
    """What the medical tabs read (``Team.medical`` provides it)."""

    @property
    def consultations(self) -> Listing[Consultation]: ...
    @property
    def medical_files(self) -> Listing[MedicalFile]: ...


class ServicesTab(msgspec.Struct, frozen=True, kw_only=True):
    total: int
    by_service: dict[str, int]
    by_group: dict[str, int]


# MANO's "Observations" tab holds the same figures as the general statistics' observations
# (only which observations and custom fields are counted differs: observations_tab).
ObservationsTab = ObservationStats


class ConsultationsTab(msgspec.Struct, frozen=True, kw_only=True):
    total: int
    persons: int
    by_type: dict[str, int]
    by_status: dict[str, int]
    fields_by_type: dict[str, tuple[CustomFieldStats, ...]]


class MedicalFilesTab(msgspec.Struct, frozen=True, kw_only=True):
    population: str
    persons: int
    with_medical_file: int
    custom_fields: tuple[CustomFieldStats, ...]


def _shown(view: TeamView, scope: str) -> list[CustomFieldDefinition]:
    return [d for d in view.custom_fields.list()
            if d.scope == scope and d.show_in_stats and d.enabled]


def services_tab(view: TeamView, period: Period, subteams: Sequence[str] = ()) -> ServicesTab:
    """MANO's "Services" tab (module docstring)."""
    selected = set(subteams)
    counts: Counter[str] = Counter()
    for report in view.reports.list():
        if (not selected or report.team in selected) and period.contains(report.date):
            counts.update(report.services)
    listed = view.settings.values("services")
    by_service = {s: counts.get(s, 0) for s in listed}
    by_service.update((s, n) for s, n in sorted(counts.items()) if s not in by_service)
    by_group: dict[str, int] = {}
    for service, n in by_service.items():
        group = view.settings.get(f"{GROUP_KEY}services.{service}") or NO_GROUP
        by_group[str(group)] = by_group.get(str(group), 0) + n
    return ServicesTab(total=sum(by_service.values()), by_service=by_service,
                       by_group=by_group)


def observations_tab(view: TeamView, period: Period, subteams: Sequence[str] = (),
                     territories: Sequence[str] = ()) -> ObservationsTab:
    """MANO's "Observations" tab (module docstring); ``territories``: ids (none: all)."""
    shifted, default = windows(view, period)
    selected, places = set(subteams), set(territories)
    kept = []
    for o in view.observations.list():
        if (selected and o.team not in selected) or (places and o.territory not in places):
            continue
        lo, hi = shifted.get(o.team, default) if o.team else default
        if lo <= aware(o.observed_at) < hi:
            kept.append(o)
    names = {t.id: t.name for t in view.territories.list(include_deleted=True)}
    by_territory = Counter(names.get(o.territory, o.territory) for o in kept)
    atmospheres = Counter(o.atmosphere or NOT_FILLED for o in kept)
    return ObservationsTab(
        total=len(kept), by_territory=ranked(by_territory),
        by_atmosphere={a: atmospheres[a] for a in (*ATMOSPHERES, NOT_FILLED) if atmospheres[a]},
        men=sum(o.men for o in kept), women=sum(o.women for o in kept),
        minors=sum(o.minors for o in kept), police=sum(1 for o in kept if o.police),
        custom_fields=tuple(custom_field_stats(d, (o.custom_fields for o in kept))
                            for d in _shown(view, "observation")))


def consultations_tab(view: TeamView, medical: MedicalView, period: Period,
                      subteams: Sequence[str] = (),
                      filters: Sequence[PersonFilter] = ()) -> ConsultationsTab:
    """MANO's "Consultations" tab (module docstring)."""
    shifted, default = windows(view, period)
    selected = set(subteams)
    persons = {p.id for p in view.persons.list() if matches(p, filters)}

    def counted(c: Consultation) -> bool:
        if c.person not in persons:
            return False
        at = aware(c.completed_at or c.due_at)
        teams: list[str | None] = [*c.teams] or [None]
        for team in teams:
            if selected and team not in selected:
                continue
            lo, hi = shifted.get(team, default) if team else default
            if lo <= at < hi:
                return True
        return False

    kept = [c for c in medical.consultations.list() if counted(c)]
    types = list(view.settings.values("consultationTypes"))
    by_type_records: dict[str, list[Consultation]] = {t: [] for t in types}
    for c in kept:
        by_type_records.setdefault(c.type, []).append(c)
    statuses: Counter[str] = Counter(c.status for c in kept)
    definitions = _shown(view, "consultation")
    fields_by_type = {
        t: tuple(custom_field_stats(d, (c.custom_fields for c in records))
                 for d in definitions if not d.consultation_types or t in d.consultation_types)
        for t, records in by_type_records.items()}
    return ConsultationsTab(
        total=len(kept), persons=len({c.person for c in kept}),
        by_type={t: len(r) for t, r in by_type_records.items()},
        by_status={s: statuses[s] for s in ACTION_STATUSES if statuses[s]},
        fields_by_type=fields_by_type)


def medical_files_tab(view: TeamView, medical: MedicalView, period: Period,
                      subteams: Sequence[str] = (), filters: Sequence[PersonFilter] = (), *,
                      population: Literal["created", "followed"] = "created"
                      ) -> MedicalFilesTab:
    """MANO's "Dossiers médicaux" tab (module docstring)."""
    created, followed = person_sets(view, period, subteams, filters)
    wanted = created if population == "created" else followed
    files: dict[str, MedicalFile] = {}
    for f in sorted(medical.medical_files.list(), key=lambda f: (f.created_at, f.id)):
        files.setdefault(f.person, f)  # the first one, as medical_files.medical_file_of
    values: list[dict[str, Any]] = [files[p].custom_fields if p in files else {}
                                    for p in sorted(wanted)]
    return MedicalFilesTab(
        population=population, persons=len(wanted),
        with_medical_file=sum(1 for p in wanted if p in files),
        custom_fields=tuple(custom_field_stats(d, values)
                            for d in _shown(view, "medicalFile")))
