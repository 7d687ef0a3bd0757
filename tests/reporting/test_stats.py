"""Statistics on generated data equal counts computed here from the DemoTeam records directly.

The expected figures are computed another way than mano_core.reporting.stats: each instant is
turned into its Paris calendar day and compared with the period's days (stats compares UTC
instants with the period's bounds); ages are counted by birthdays passed."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from zoneinfo import ZoneInfo

import msgspec
import pytest

from mano_core.demo import DemoTeam
from mano_core.document.compartments import GeneralDocument
from mano_core.errors import ValidationError
from mano_core.reporting import Period, compute
from mano_core.reporting.tables import statistics_table

from .conftest import NOW

PARIS = ZoneInfo("Europe/Paris")
PERIOD = Period(dt.date(2026, 3, 1), dt.date(2026, 11, 20))


def paris_day(moment: dt.datetime | None) -> dt.date | None:
    return None if moment is None else moment.astimezone(PARIS).date()


def in_period(moment: dt.datetime | None, period: Period = PERIOD) -> bool:
    day = paris_day(moment)
    return day is not None and period.start <= day <= period.end


def age_on(birth: dt.date, day: dt.date) -> int:
    birthdays = 0
    while True:
        year = birth.year + birthdays + 1
        anniversary = dt.date(year, birth.month, 28 if (birth.month, birth.day) == (2, 29)
                              else birth.day)
        if anniversary > day:
            return birthdays
        birthdays += 1


def bracket(age: int) -> str:
    for limit, name in ((2, "0-2"), (17, "3-17"), (24, "18-24"), (44, "25-44"), (59, "45-59"),
                        (74, "60-74")):
        if age <= limit:
            return name
    return "75+"


def expected(demo: DemoTeam, teams: set[str] | None) -> dict[str, object]:
    """The figures, from the generated records."""
    def mine(team_ids: list[str] | str | None) -> bool:
        if teams is None:
            return True
        if isinstance(team_ids, list):
            return bool(teams & set(team_ids))
        return team_ids in teams

    persons = [p for p in demo.persons if mine(p.assigned_teams)]
    followed = [p for p in persons if p.followed_since <= PERIOD.end
                and not (p.out_of_active_list and p.out_of_active_list_date < PERIOD.start)]
    out = [p for p in persons if p.out_of_active_list
           and PERIOD.start <= p.out_of_active_list_date <= PERIOD.end]
    actions = [a for a in demo.actions if mine(a.teams)
               and (in_period(a.due_at) or in_period(a.completed_at))]
    period_end = dt.datetime.combine(PERIOD.end + dt.timedelta(days=1), dt.time(0), PARIS)
    done = [a for a in actions if a.status == "FAIT" and in_period(a.completed_at)]
    comments = [c for c in demo.comments if mine(c.team) and in_period(c.date)]
    encounters = [e for e in demo.encounters if mine(e.team) and in_period(e.date)]
    passages = [p for p in demo.passages if mine(p.team) and in_period(p.date)]
    observations = [o for o in demo.observations if mine(o.team) and in_period(o.observed_at)]
    territory = {t.id: t.name for t in demo.territories}
    services: Counter[str] = Counter()
    reports = [r for r in demo.reports if mine(r.team)
               and PERIOD.start <= r.date <= PERIOD.end]
    for r in reports:
        services.update(r.services)
    return {
        "followed": len(followed),
        "new": sum(PERIOD.start <= p.followed_since <= PERIOD.end for p in persons),
        "genders": Counter(p.gender or "Non renseigné" for p in followed),
        "ages": Counter(bracket(age_on(p.birthdate, PERIOD.end)) if p.birthdate
                        else "Non renseigné" for p in followed),
        "vulnerable": sum(p.alertness for p in followed),
        "out": len(out),
        "reasons": Counter(r for p in out for r in p.out_of_active_list_reasons),
        "animal": Counter("Oui" if p.custom_fields["custom-animal"] else "Non"
                          for p in followed if "custom-animal" in p.custom_fields),
        "children": sum(p.custom_fields.get("custom-enfants", 0) for p in followed),
        "actions": len(actions),
        "statuses": Counter(a.status for a in actions),
        "categories": Counter(c for a in actions for c in a.categories or ["Sans catégorie"]),
        "overdue": sum(a.status == "A FAIRE" and a.due_at < min(period_end, NOW)
                       for a in actions),
        "completed": len(done),
        "delay": statistics.median((a.completed_at - a.created_at) / dt.timedelta(days=1)
                                   for a in done),
        "comments": len(comments), "urgent": sum(c.urgent for c in comments),
        "encounters": len(encounters), "met": len({e.person for e in encounters}),
        "passages": len(passages), "anonymous": sum(p.person is None for p in passages),
        "observations": len(observations),
        "territories": Counter(territory[o.territory] for o in observations),
        "atmospheres": Counter(o.atmosphere for o in observations),
        "men": sum(o.men for o in observations),
        "reports": len(reports), "services": dict(services),
    }


def check(stats: object, want: dict[str, object]) -> None:
    s = msgspec.to_builtins(stats)
    p, a, o = s["persons"], s["actions"], s["observations"]
    animal = next(f for f in p["custom_fields"] if f["key"] == "custom-animal")
    children = next(f for f in p["custom_fields"] if f["key"] == "custom-enfants")
    got = {
        "followed": p["followed"], "new": p["new"], "genders": Counter(p["by_gender"]),
        "ages": Counter(p["by_age"]), "vulnerable": p["vulnerable"],
        "out": p["out_of_active_list"], "reasons": Counter(p["out_reasons"]),
        "animal": Counter(animal["counts"]), "children": children["total"],
        "actions": a["total"], "statuses": +Counter(a["by_status"]),
        "categories": Counter(a["by_category"]), "overdue": a["overdue"],
        "completed": a["completed"], "delay": a["completion_days_median"],
        "comments": s["comments"]["total"], "urgent": s["comments"]["urgent"],
        "encounters": s["encounters"]["total"], "met": s["encounters"]["persons"],
        "passages": s["passages"]["total"], "anonymous": s["passages"]["anonymous"],
        "observations": o["total"], "territories": Counter(o["by_territory"]),
        "atmospheres": Counter(o["by_atmosphere"]), "men": o["men"],
        "reports": s["reports"], "services": s["services"],
    }
    want = dict(want, delay=round(want["delay"], 2))  # type: ignore[arg-type]
    assert got == want


def test_whole_team_statistics_equal_independent_counts(demo: DemoTeam,
                                                        doc: GeneralDocument) -> None:
    want = expected(demo, None)
    assert want["followed"] > 50 and want["comments"] > 200 and want["overdue"] > 0
    check(compute(doc, PERIOD, now=NOW), want)


@pytest.mark.parametrize("picks", [(2,), (0, 3)], ids=["night team", "two sub-teams"])
def test_sub_team_statistics_equal_independent_counts(demo: DemoTeam, doc: GeneralDocument,
                                                      picks: tuple[int, ...]) -> None:
    ids = [demo.subteams[i].id for i in picks]
    want = expected(demo, set(ids))
    assert 0 < want["followed"] < expected(demo, None)["followed"]  # type: ignore[operator]
    check(compute(doc, PERIOD, ids, now=NOW), want)


def test_empty_period_and_reversed_period(doc: GeneralDocument) -> None:
    stats = compute(doc, Period(dt.date(2019, 1, 1), dt.date(2019, 1, 31)), now=NOW)
    assert (stats.persons.followed, stats.actions.total, stats.comments.total) == (0, 0, 0)
    assert stats.actions.completion_days_mean is None and stats.services == {}
    with pytest.raises(ValidationError):
        Period(dt.date(2026, 2, 1), dt.date(2026, 1, 1))


def test_statistics_flatten_to_rows_and_json(doc: GeneralDocument) -> None:
    stats = compute(doc, PERIOD, now=NOW)
    rows = {(r[0], r[1]): r[2] for r in statistics_table(stats).rows}
    assert rows[("persons", "followed")] == stats.persons.followed
    assert rows[("persons", "custom_fields.Animal de compagnie.counts.Oui")] > 0
    decoded = msgspec.json.decode(msgspec.json.encode(stats))
    assert decoded["comments"]["total"] == stats.comments.total
