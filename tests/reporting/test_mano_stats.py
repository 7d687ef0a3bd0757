"""MANO's statistics, each figure against a count made here another way: every instant is
turned into its Paris day, shifted back by 12 hours for a night sub-team, and compared with
the period's days."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from statistics import fmean
from typing import Any

import pytest

from mano_core.demo import DemoTeam
from mano_core.document.compartments import GeneralDocument
from mano_core.reporting.mano_stats import ManoStatistics, PersonFilter, mano_statistics
from mano_core.reporting.view import PARIS, Period

from .conftest import NOW

PERIOD = Period(dt.date(2026, 9, 1), dt.date(2026, 10, 31))


def day_of(at: dt.datetime, night: bool) -> dt.date:
    local = at.astimezone(PARIS)
    return (local - dt.timedelta(hours=12)).date() if night else local.date()


class Expected:
    """The figures computed from the generated records, without the module's windows."""

    def __init__(self, doc: GeneralDocument, subteams: set[str], keep: Any = None) -> None:
        filtered = keep is not None
        keep = keep or (lambda p: True)
        night = {t.id for t in doc.subteams.list() if t.night_session}
        self.selected = subteams

        def hit(team: str | None, at: dt.datetime | None) -> bool:
            if at is None or (subteams and team not in subteams):
                return False
            return PERIOD.contains(day_of(at, team in night))

        persons = {p.id: p for p in doc.persons.list() if keep(p)}
        mine = {i: p for i, p in persons.items()
                if not subteams or set(p.assigned_teams) & subteams}

        def start(p: Any) -> dt.datetime:
            if p.followed_since:
                return dt.datetime.combine(p.followed_since, dt.time(0), tzinfo=PARIS)
            return p.created_at

        def person_hit(p: Any, at: dt.datetime) -> bool:
            return any(hit(t, at) for t in (p.assigned_teams or [None]))

        self.created = {i for i, p in mine.items() if person_hit(p, start(p))}
        self.actions = [a for a in doc.actions.list()
                        if any(hit(t, a.completed_at or a.due_at) for t in a.teams or [None])
                        and (not filtered or any(q in persons for q in a.persons))]
        self.passages = [x for x in doc.passages.list() if hit(x.team, x.date)
                         and (x.person in persons if x.person else not filtered)]
        self.encounters = [x for x in doc.encounters.list() if hit(x.team, x.date)
                           and x.person in persons]
        touched = {q for a in self.actions for q in a.persons}
        touched |= {x.person for x in self.passages if x.person}
        touched |= {x.person for x in self.encounters}
        touched |= {c.person for c in doc.comments.list() if c.person and hit(c.team, c.date)}
        touched |= {i for i, p in mine.items() if person_hit(p, p.updated_at)}
        self.followed = self.created | (touched & set(mine))
        self.persons = mine


@pytest.fixture(scope="module")
def night(doc: GeneralDocument) -> str:
    return next(t.id for t in doc.subteams.list() if t.night_session)


def stats(doc: GeneralDocument, subteams: tuple[str, ...] = (),
          filters: tuple[PersonFilter, ...] = ()) -> ManoStatistics:
    return mano_statistics(doc, PERIOD, subteams, filters, now=NOW)


@pytest.mark.parametrize("scope", ["team", "night", "two"])
def test_persons_created_and_followed(doc: GeneralDocument, night: str, scope: str) -> None:
    ids = {"team": (), "night": (night,),
           "two": tuple(sorted(t.id for t in doc.subteams.list())[:2])}[scope]
    got = stats(doc, ids)
    want = Expected(doc, set(ids))
    assert got.persons_created == len(want.created) and want.created
    assert got.persons_followed == len(want.followed)
    assert got.persons_followed > got.persons_created


def test_night_team_counts_its_noon_to_noon_shift(doc: GeneralDocument, night: str) -> None:
    got = stats(doc, (night,))
    want = Expected(doc, {night})
    assert got.actions == len(want.actions)
    assert got.passages == len(want.passages)
    assert got.encounters == len(want.encounters)


def test_a_night_passage_counts_in_the_day_its_shift_began() -> None:
    doc = GeneralDocument(author="m")
    night = doc.subteams.create(name="Nuit", night_session=True)
    day = doc.subteams.create(name="Jour")

    def at(d: int, m: int, h: int) -> dt.datetime:
        return dt.datetime(2026, m, d, h, tzinfo=PARIS)

    for team in (night.id, day.id):
        for when in (at(31, 10, 23), at(1, 11, 6), at(1, 9, 6), at(1, 9, 13)):
            doc.passages.create(team=team, date=when)
    night_stats = mano_statistics(doc, PERIOD, (night.id,), now=NOW)
    day_stats = mano_statistics(doc, PERIOD, (day.id,), now=NOW)
    # night of 31 Oct runs to 1 Nov noon (in); 1 Sep 06:00 is the night of 31 Aug (out)
    assert night_stats.passages == 3
    assert day_stats.passages == 3  # 31 Oct 23:00, 1 Sep 06:00 and 13:00; not 1 Nov


def test_follow_up_wandering_and_families(doc: GeneralDocument) -> None:
    got = stats(doc)
    want = Expected(doc, set())
    today = NOW.astimezone(PARIS).date()
    followed = [want.persons[i] for i in want.followed]
    days = [((p.out_of_active_list_date if p.out_of_active_list and p.out_of_active_list_date
              else today) - (p.followed_since or p.created_at.astimezone(PARIS).date())).days
            for p in followed]
    assert got.follow_up_days_mean == round(fmean(days), 2)
    wandering = [(today - p.wandering_at).days for p in followed if p.wandering_at]
    assert got.wandering_days_mean == round(fmean(wandering), 2)
    families = [g for g in doc.groups.list() if set(g.persons) & want.followed]
    assert got.families == len(families) and families
    assert got.family_size_mean == round(fmean(len(g.persons) for g in families), 2)


def test_passages_encounters_new_persons_and_collaborations(doc: GeneralDocument) -> None:
    got = stats(doc)
    want = Expected(doc, set())
    persons = {x.person for x in want.passages if x.person}
    assert (got.passages, got.passages_persons) == (len(want.passages), len(persons))
    assert got.passages_anonymous == sum(1 for x in want.passages if x.person is None)
    assert got.passages_new_persons == len(persons & want.created)
    met = {x.person for x in want.encounters}
    assert (got.encounters_persons, got.encounters_new_persons) == (
        len(met), len(met & want.created))
    november = Period(dt.date(2026, 11, 1), dt.date(2026, 11, 20))  # the generated reports
    partners: Counter[str] = Counter()
    for r in doc.reports.list():
        if november.contains(r.date):
            partners.update(r.collaborations)
    assert mano_statistics(doc, november, now=NOW).collaborations == dict(partners)
    assert partners and got.collaborations == {}
    categories: Counter[str] = Counter()
    for a in want.actions:
        categories.update(a.categories or ["Sans catégorie"])
    assert got.actions_by_category == dict(categories)


def test_filters_on_a_custom_field_and_out_of_active_list(doc: GeneralDocument,
                                                           demo: DemoTeam) -> None:
    key = "custom-couverture-maladie"
    got = stats(doc, filters=(PersonFilter(f"customFields.{key}", "AME"),))
    want = Expected(doc, set(), keep=lambda p: p.custom_fields.get(key) == "AME")
    assert got.persons_followed == len(want.followed) and want.followed
    assert got.passages == len(want.passages)
    assert got.passages_anonymous == 0  # an anonymous passage has no person to filter on
    out = stats(doc, filters=(PersonFilter("outOfActiveList", True),))
    want_out = Expected(doc, set(), keep=lambda p: p.out_of_active_list)
    assert out.persons_followed == len(want_out.followed)
    resources = stats(doc, filters=(PersonFilter("customFields.custom-ressources", "RSA"),))
    want_rsa = Expected(doc, set(), keep=lambda p: "RSA" in p.custom_fields.get(
        "custom-ressources", []))
    assert resources.persons_created == len(want_rsa.created)
