"""MANO's statistics tabs (services, observations, consultations, medical files) and the
follow-up time with re-entries, each against a count made here another way (Paris days,
shifted back 12 hours for a night sub-team, compared with the period's days)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from statistics import fmean

import pytest

from mano_core.demo import DemoTeam
from mano_core.document.compartments import GeneralDocument, MedicalDocument
from mano_core.model.records import Record
from mano_core.reporting.mano_stats import PersonFilter, follow_up_days, mano_statistics
from mano_core.reporting.mano_tabs import (
    NO_GROUP,
    consultations_tab,
    medical_files_tab,
    observations_tab,
    services_tab,
)
from mano_core.reporting.stats import custom_field_stats
from mano_core.reporting.view import PARIS, Period

from .conftest import NOW
from .test_mano_stats import PERIOD, Expected, day_of

NOVEMBER = Period(dt.date(2026, 11, 1), dt.date(2026, 11, 20))  # the generated reports
KEY = "custom-couverture-maladie"


@pytest.fixture(scope="module")
def medical(demo: DemoTeam, doc: GeneralDocument) -> MedicalDocument:
    medical = MedicalDocument(custom_fields=doc.custom_fields.list, author="m")
    batches: dict[str, list[Record]] = {}
    for record in demo.medical_records():
        batches.setdefault(record.collection, []).append(record)
    for name, batch in batches.items():
        medical.collections[name].insert_many(batch)
    return medical


def night_ids(doc: GeneralDocument) -> set[str]:
    return {t.id for t in doc.subteams.list() if t.night_session}


def test_services_per_service_and_group() -> None:
    doc = GeneralDocument(author="m")
    doc.settings.add("services", "Repas", "Douche", "Café")
    doc.settings.set("listGroup.services.Repas", "Alimentation")
    doc.settings.set("listGroup.services.Café", "Alimentation")
    jour = doc.subteams.create(name="Jour")
    nuit = doc.subteams.create(name="Nuit", night_session=True)
    for team, day, service, n in ((jour.id, 3, "Repas", 4), (jour.id, 3, "Café", 2),
                                  (nuit.id, 3, "Repas", 5), (jour.id, 30, "Repas", 7),
                                  (jour.id, 10, "Hors liste", 1)):
        report = doc.reports.create(team=team, date=dt.date(2026, 11, day))
        doc.reports.increment(report.id, "services", service, n)
    period = Period(dt.date(2026, 11, 1), dt.date(2026, 11, 20))
    got = services_tab(doc, period)
    assert got.by_service == {"Repas": 9, "Douche": 0, "Café": 2, "Hors liste": 1}
    assert got.by_group == {"Alimentation": 11, NO_GROUP: 1} and got.total == 12
    assert services_tab(doc, period, (nuit.id,)).by_service["Repas"] == 5


def test_services_of_the_generated_team(doc: GeneralDocument) -> None:
    want: Counter[str] = Counter()
    for report in doc.reports.list():
        if NOVEMBER.start <= report.date <= NOVEMBER.end:
            want.update(report.services)
    got = services_tab(doc, NOVEMBER)
    assert {k: v for k, v in got.by_service.items() if v} == dict(want) and want
    assert got.total == sum(want.values())


@pytest.mark.parametrize("scope", ["team", "night"])
def test_observations(doc: GeneralDocument, scope: str) -> None:
    night = night_ids(doc)
    ids = tuple(sorted(night)) if scope == "night" else ()
    kept = [o for o in doc.observations.list()
            if (not ids or o.team in ids)
            and PERIOD.contains(day_of(o.observed_at, o.team in night))]
    got = observations_tab(doc, PERIOD, ids)
    assert got.total == len(kept) and kept
    assert (got.men, got.women, got.minors) == (sum(o.men for o in kept),
                                                sum(o.women for o in kept),
                                                sum(o.minors for o in kept))
    assert got.police == sum(1 for o in kept if o.police)
    names = {t.id: t.name for t in doc.territories.list()}
    assert got.by_territory == dict(Counter(names[o.territory] for o in kept))
    one = kept[0].territory
    assert observations_tab(doc, PERIOD, ids, (one,)).total == sum(
        1 for o in kept if o.territory == one)


def test_consultations_by_type_status_and_fields(doc: GeneralDocument,
                                                 medical: MedicalDocument) -> None:
    keep = {p.id for p in doc.persons.list() if p.custom_fields.get(KEY) == "AME"}
    kept = [c for c in medical.consultations.list() if c.person in keep
            and PERIOD.contains(day_of(c.completed_at or c.due_at, False))]
    got = consultations_tab(doc, medical, PERIOD,
                            filters=(PersonFilter(f"customFields.{KEY}", "AME"),))
    assert got.total == len(kept) and kept
    assert got.persons == len({c.person for c in kept})
    assert {k: v for k, v in got.by_type.items() if v} == dict(Counter(c.type for c in kept))
    assert got.by_status == dict(Counter(c.status for c in kept))
    shown = [d for d in doc.custom_fields.list()
             if d.scope == "consultation" and d.show_in_stats]
    for kind, fields in got.fields_by_type.items():
        records = [c for c in kept if c.type == kind]
        assert fields == tuple(custom_field_stats(d, (c.custom_fields for c in records))
                               for d in shown)


def test_medical_files_of_the_persons_created(doc: GeneralDocument,
                                              medical: MedicalDocument) -> None:
    want = Expected(doc, set())
    files = {f.person: f for f in medical.medical_files.list()}
    got = medical_files_tab(doc, medical, PERIOD)
    assert got.persons == len(want.created)
    assert got.with_medical_file == len(want.created & set(files)) > 0
    followed = medical_files_tab(doc, medical, PERIOD, population="followed")
    assert followed.persons == len(want.followed)
    for stats in got.custom_fields:
        filled = sum(1 for p in want.created if p in files
                     and files[p].custom_fields.get(stats.key) not in (None, "", []))
        assert stats.filled == filled


def test_persons_in_families(doc: GeneralDocument) -> None:
    want = Expected(doc, set())
    in_groups = {p for g in doc.groups.list() for p in g.persons}
    got = mano_statistics(doc, PERIOD, now=NOW)
    assert got.persons_in_families == len(want.followed & in_groups) > 0


def test_follow_up_time_counts_each_stay_in_the_active_list() -> None:
    clock = [dt.datetime(2026, 1, 10, 9, tzinfo=dt.UTC)]
    doc = GeneralDocument(author="m", clock=lambda: clock[0])
    person = doc.persons.create(name="P", followed_since=dt.date(2026, 1, 1))
    steady = doc.persons.create(name="Q", followed_since=dt.date(2026, 3, 1))
    clock[0] = dt.datetime(2026, 2, 5, 9, tzinfo=dt.UTC)
    doc.persons.update(person.id, out_of_active_list=True,
                       out_of_active_list_date=dt.date(2026, 2, 1))  # 31 days followed
    clock[0] = dt.datetime(2026, 6, 1, 9, tzinfo=dt.UTC)
    doc.persons.update(person.id, out_of_active_list=False)  # back: 1 June → 20 Nov
    today = NOW.astimezone(PARIS).date()
    first = 31 + (today - dt.date(2026, 6, 1)).days
    history = doc.history.list()
    assert follow_up_days(doc.persons.get(person.id), history, today) == first
    assert follow_up_days(doc.persons.get(steady.id), history, today) == (
        today - dt.date(2026, 3, 1)).days
    year = Period(dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    got = mano_statistics(doc, year, now=NOW)
    assert got.follow_up_days_mean == round(fmean([first, (today - dt.date(2026, 3, 1)).days]),
                                            2)
    # out again, for good: the second stay ends at its exit date
    clock[0] = dt.datetime(2026, 8, 2, 9, tzinfo=dt.UTC)
    doc.persons.update(person.id, out_of_active_list=True,
                       out_of_active_list_date=dt.date(2026, 8, 1))
    assert follow_up_days(doc.persons.get(person.id), doc.history.list(), today) == 31 + 61
