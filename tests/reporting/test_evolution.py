"""The evolution of a person field over time, rebuilt from the field-level history."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from mano_core.errors import ValidationError
from mano_core.reporting import Period, field_evolution
from mano_core.store import TEST_KDF, LocalStore
from mano_core.team import Team

from .conftest import PASS


class SetClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 1, 10, 10, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def to(self, month: int, day: int) -> None:
        self.now = dt.datetime(2026, month, day, 10, tzinfo=dt.UTC)


async def test_values_at_each_sampled_day_follow_the_history(tmp_path: Path) -> None:
    clock = SetClock()
    async with await LocalStore.create(tmp_path / "e.mano", PASS, kdf=TEST_KDF) as store:
        team = await Team.create(store, name="T", member="m", clock=clock)
        sub = await team.subteams.create(name="Maraude jour")
        await team.custom_fields.create(key="logement", label_text="Logement", type="enum",
                                        options=["Rue", "Squat", "Hôtel"])
        a = await team.persons.create(name="A", gender="Homme", assigned_teams=[sub.id],
                                      custom_fields={"logement": "Rue"})
        b = await team.persons.create(name="B")
        clock.to(2, 15)
        await team.persons.update(b.id, gender="Femme")
        await team.persons.update(a.id, custom_fields={"logement": "Squat"})
        clock.to(3, 20)
        await team.persons.create(name="C", gender="Femme", assigned_teams=[sub.id])
        await team.persons.update(a.id, gender="Homme transgenre",
                                  custom_fields={"logement": "Hôtel"})
        period = Period(dt.date(2026, 1, 31), dt.date(2026, 3, 31))

        gender = field_evolution(team, "gender", period, step_days=28)
        assert [(p.day, p.persons, p.counts) for p in gender.points] == [
            (dt.date(2026, 1, 31), 2, {"Homme": 1, "Non renseigné": 1}),
            (dt.date(2026, 2, 28), 2, {"Femme": 1, "Homme": 1}),
            (dt.date(2026, 3, 28), 3, {"Femme": 2, "Homme transgenre": 1}),
            (dt.date(2026, 3, 31), 3, {"Femme": 2, "Homme transgenre": 1}),
        ]
        housing = field_evolution(team, "customFields.logement", period, [sub.id],
                                  step_days=28)
        assert [p.counts for p in housing.points[:3]] == [
            {"Rue": 1}, {"Squat": 1}, {"Hôtel": 1, "Non renseigné": 1}]
        with pytest.raises(ValidationError):
            field_evolution(team, "shoeSize", period)
