"""Daily reports: the day's window, the day's activity, and concurrent counters adding up."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mano_core.demo import DemoTeam
from mano_core.document.compartments import GeneralDocument
from mano_core.errors import NotFoundError, ValidationError
from mano_core.ids import Compartment
from mano_core.reporting import daily
from mano_core.store import TEST_KDF, LocalStore
from mano_core.team import Team
from tests.document.helpers import exchange, replica

from .conftest import PASS

PARIS = ZoneInfo("Europe/Paris")
DAY = dt.date(2026, 11, 17)


def paris(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), PARIS).astimezone(dt.UTC)


async def test_night_day_runs_noon_to_noon_and_day_team_midnight_to_midnight(
        empty_team: Team) -> None:
    team = empty_team
    night = await team.subteams.create(name="Équipe de nuit", night_session=True)
    day_team = await team.subteams.create(name="Maraude jour")
    person = await team.persons.create(name="Dédé", assigned_teams=[night.id, day_team.id])
    moments = {"before noon": paris(DAY, 11, 59), "noon": paris(DAY, 12),
               "midnight": paris(DAY + dt.timedelta(days=1), 0),
               "next morning": paris(DAY + dt.timedelta(days=1), 11, 59),
               "next noon": paris(DAY + dt.timedelta(days=1), 12)}
    for label, at in moments.items():
        for sub in (night, day_team):
            await team.comments.create(text=label, person=person.id, team=sub.id, date=at)
    night_texts = {c.text for c in daily.activity(team, night.id, DAY).comments}
    day_texts = {c.text for c in daily.activity(team, day_team.id, DAY).comments}
    assert night_texts == {"noon", "midnight", "next morning"}
    assert day_texts == {"before noon", "noon"}


def test_activity_of_a_generated_day_equals_independent_counts(demo: DemoTeam,
                                                               doc: GeneralDocument) -> None:
    night = next(t for t in demo.subteams if t.night_session)
    start, end = paris(DAY, 12), paris(DAY + dt.timedelta(days=1), 12)

    def within(moment: dt.datetime | None) -> bool:
        return moment is not None and start <= moment < end

    got = daily.activity(doc, night.id, DAY)
    assert got.counts() == {
        "actions_created": sum(night.id in a.teams and within(a.created_at)
                               for a in demo.actions),
        "actions_done": sum(night.id in a.teams and a.status == "FAIT"
                            and within(a.completed_at) for a in demo.actions),
        "comments": sum(c.team == night.id and within(c.date) for c in demo.comments),
        "encounters": sum(e.team == night.id and within(e.date) for e in demo.encounters),
        "passages": sum(p.team == night.id and within(p.date) for p in demo.passages),
        "observations": sum(o.team == night.id and within(o.observed_at)
                            for o in demo.observations),
        "new_persons": sum(night.id in p.assigned_teams and within(p.created_at)
                           for p in demo.persons),
    }
    assert sum(got.counts().values()) > 0
    with pytest.raises(NotFoundError):
        daily.activity(doc, "no-such-team", DAY)


async def test_report_of_a_day_is_created_once_and_edited(team: Team, demo: DemoTeam) -> None:
    sub = demo.subteams[0].id
    day = dt.date(2026, 11, 21)  # after the generated reports
    assert daily.get(team, sub, day) is None
    first = await daily.get_or_create(team, sub, day)
    again = await daily.get_or_create(team, sub, day)
    assert first.record_ids == again.record_ids and len(first.record_ids) == 1
    await daily.increment(team, sub, day, "Repas", 3)
    await daily.increment(team, sub, day, "Repas", -1)
    await daily.set_description(team, sub, day, "Nuit calme, 3 nouvelles rencontres.")
    report = await daily.add_collaboration(team, sub, day, "Samu social")
    assert (report.services, report.description, report.collaborations) == (
        {"Repas": 2}, "Nuit calme, 3 nouvelles rencontres.", ("Samu social",))
    with pytest.raises(ValidationError):
        await daily.increment(team, sub, day, "Repas", -5)  # below zero
    with pytest.raises(ValidationError):
        await daily.increment(team, sub, day, "Champagne")  # not a service of the settings
    generated = next(r for r in demo.reports if r.team == sub)
    merged = daily.get(team, sub, generated.date)
    assert merged is not None and merged.services == generated.services


def test_three_replicas_incrementing_at_once_add_up() -> None:
    a, b, c = replica("a", 1), replica("b", 2), replica("c", 3)
    report = a.reports.create(team="t", date=DAY)
    exchange(a, b, c)
    a.reports.increment(report.id, "services", "Repas", 3)
    b.reports.increment(report.id, "services", "Repas", 5)
    b.reports.increment(report.id, "services", "Douches", 1)
    c.reports.increment(report.id, "services", "Repas", 7)
    exchange(a, b, c)
    for doc in (a, b, c):
        assert doc.reports.get(report.id).services == {"Repas": 15, "Douches": 1}


def test_why_not_one_deterministic_id_concurrent_creations_lose_counters() -> None:
    """pycrdt keeps one of two concurrent values of the same map key: two devices creating a
    report with the same id lose one device's counters. This is why each device creates its
    own record and reads merge them (if this starts failing, pycrdt changed: revisit)."""
    a, b = replica("a", 1), replica("b", 2)
    for doc in (a, b):
        doc.reports.create(id="same-id", team="t", date=DAY)
    a.reports.increment("same-id", "services", "Repas", 3)
    b.reports.increment("same-id", "services", "Repas", 5)
    exchange(a, b)
    assert a.reports.get("same-id").services["Repas"] in (3, 5)  # not 8


async def test_three_devices_creating_the_same_day_offline_keep_every_count(
        tmp_path: Path) -> None:
    stores = [await LocalStore.create(tmp_path / f"{n}.mano", PASS, kdf=TEST_KDF)
              for n in "abc"]
    try:
        teams = [await Team.create(s, name="T", member=f"m-{i}", team_id="team-1")
                 for i, s in enumerate(stores)]
        outbox: dict[int, list[bytes]] = {i: [] for i in range(3)}
        for i, team in enumerate(teams):
            team.compartment(Compartment.GENERAL).core.doc.observe(
                lambda event, i=i: outbox[i].append(event.update))

        async def sync() -> None:
            batches = {i: list(u) for i, u in outbox.items()}
            for u in outbox.values():
                u.clear()
            for i, updates in batches.items():
                for j, team in enumerate(teams):
                    if i != j and updates:
                        await team.apply_remote(Compartment.GENERAL, updates)

        night = await teams[0].subteams.create(name="Nuit", night_session=True)
        await teams[0].settings.add("services", "Repas", "Douches")
        await sync()
        for team, (meals, text) in zip(teams, [(3, "Froid."), (5, ""), (7, "Calme.")]):
            await daily.increment(team, night.id, DAY, "Repas", meals)  # offline, each creates
            if text:
                await daily.set_description(team, night.id, DAY, text)
        await sync()
        reports = [daily.get(team, night.id, DAY) for team in teams]
        assert reports[0] == reports[1] == reports[2]
        merged = reports[0]
        assert merged is not None and len(merged.record_ids) == 3
        assert merged.services == {"Repas": 15}
        assert set(merged.description.split("\n\n")) == {"Froid.", "Calme."}
        await daily.set_description(teams[1], night.id, DAY, "Froid et calme.")
        await daily.increment(teams[2], night.id, DAY, "Douches", 2)
        await sync()
        for team in teams:
            final = daily.get(team, night.id, DAY)
            assert final is not None
            assert final.description == "Froid et calme."
            assert final.services == {"Repas": 15, "Douches": 2}
    finally:
        for store in stores:
            await store.close()
