"""generate_team(): a whole demo team, deterministic for a seed and a scale."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
from collections.abc import Iterator
from typing import Final

from mano_core.demo import vocabulary as v
from mano_core.demo._context import Context
from mano_core.demo._dice import Dice, day_start
from mano_core.demo.activity import (
    make_actions,
    make_comments,
    make_observations,
    make_reports,
)
from mano_core.demo.medical import make_consultations, make_medical_files, make_treatments
from mano_core.demo.organisation import (
    make_custom_fields,
    make_members,
    make_places,
    make_structures,
    make_subteams,
    make_territories,
)
from mano_core.demo.people import (
    make_encounters,
    make_groups,
    make_passages,
    make_person_places,
    make_persons,
)
from mano_core.demo.team import DemoSettings, DemoTeam
from mano_core.demo.texts import Phrases

DEFAULT_REFERENCE: Final = dt.date(2026, 11, 20)

# Record counts at MANO scale (scale=1.0): what one organisation held in 2021.
BASE_COUNTS: Final[dict[str, int]] = {
    "persons": 3_000, "actions": 8_000, "comments": 24_000, "structures": 150,
    "territories": 40, "observations": 1_500, "places": 300, "person_places": 2_000,
    "encounters": 6_000, "passages": 4_000, "groups": 150, "medical_files": 1_000,
    "consultations": 2_500, "treatments": 1_200,
}
REPORT_DAYS: Final = 175  # × 4 sub-teams ≈ 700 reports at scale 1

SETTINGS: Final = DemoSettings(
    action_categories=v.ACTION_CATEGORIES, structure_categories=v.STRUCTURE_CATEGORIES,
    services=v.SERVICES, territory_types=v.TERRITORY_TYPES, collaborations=v.COLLABORATIONS,
    features=dict(v.FEATURES),
)


def scaled(count: int, scale: float) -> int:
    """``count × scale``, rounded, at least 1."""
    return max(1, round(count * scale))


def generate_team(
    seed: int = 0, scale: float = 1.0, *, reference: dt.date = DEFAULT_REFERENCE
) -> DemoTeam:
    """Generate a realistic demo team.

    The same ``seed``, ``scale`` and ``reference`` always give the same records (no clock,
    no global random). ``scale`` multiplies every count of BASE_COUNTS and the number of
    report days (1.0: MANO scale, ~60,000 records; 10.0: ten times that; 0.01: a tiny team);
    sub-teams (4), custom-field definitions and members (6–12) do not scale. Nothing is
    created after ``reference`` at 18:00 UTC; only planned actions and consultations are due
    later. Raises ValueError if ``scale`` is not a positive finite number.
    """
    if not (0 < scale < float("inf")):
        raise ValueError(f"scale must be a positive finite number, got {scale!r}")
    with _gc_paused():
        return _generate(seed, scale, reference)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC: records form no cycles, and at ×10 scale its passes over
    hundreds of thousands of new objects cost about a tenth of the run."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _generate(seed: int, scale: float, reference: dt.date) -> DemoTeam:
    n = {name: scaled(count, scale) for name, count in BASE_COUNTS.items()}
    members = make_members(Dice(seed, "members"))
    team_dice = Dice(seed, "subteams")
    team_ids = tuple(team_dice.id() for _ in v.SUBTEAMS)
    subteam_kinds = tuple(zip(team_ids, v.SUBTEAMS, strict=True))
    ctx = Context(
        seed=seed, now=day_start(reference) + 18 * 3600, members=members,
        member_ids=tuple(m.id for m in members),
        health_members=tuple(m.id for m in members if m.health), subteams=team_ids,
        street_teams=tuple(i for i, (_, _, street) in subteam_kinds if street),
        night_team=next(i for i, (_, night, _) in subteam_kinds if night),
        fixed_site=next(i for i, (_, _, street) in subteam_kinds if not street),
    )
    structures = make_structures(ctx, ctx.dice("structures"), n["structures"])
    phrases = Phrases.compile(tuple(s.name for s in structures))
    territories = make_territories(ctx, ctx.dice("territories"), n["territories"])
    places = make_places(ctx, ctx.dice("places"), n["places"])
    people = make_persons(ctx, ctx.dice("persons"), n["persons"])
    groups, group_of = make_groups(ctx, ctx.dice("groups"), people, n["groups"])
    actions = make_actions(ctx, ctx.dice("actions"), people, group_of, structures,
                           n["actions"], phrases)
    medical_files, patients = make_medical_files(ctx, ctx.dice("medicalFiles"), people,
                                                 min(n["medical_files"], n["persons"]))
    return DemoTeam(
        seed=seed, scale=scale, reference=reference, settings=SETTINGS, members=members,
        subteams=make_subteams(ctx, team_ids),
        custom_fields=make_custom_fields(ctx, ctx.dice("customFields")),
        persons=people.persons,
        actions=actions.actions,
        comments=make_comments(ctx, ctx.dice("comments"), people, actions, n["comments"],
                               phrases),
        structures=structures,
        territories=territories,
        observations=make_observations(ctx, ctx.dice("observations"), territories,
                                       n["observations"], phrases),
        places=places,
        person_places=make_person_places(ctx, ctx.dice("personPlaces"), people, places,
                                         n["person_places"]),
        encounters=make_encounters(ctx, ctx.dice("encounters"), people, n["encounters"],
                                   phrases),
        passages=make_passages(ctx, ctx.dice("passages"), people, n["passages"],
                               phrases),
        reports=make_reports(ctx, ctx.dice("reports"), scaled(REPORT_DAYS, scale), phrases),
        groups=groups,
        medical_files=medical_files,
        consultations=make_consultations(ctx, ctx.dice("consultations"), people, patients,
                                         n["consultations"]),
        treatments=make_treatments(ctx, ctx.dice("treatments"), people, patients,
                                   n["treatments"]),
    )
