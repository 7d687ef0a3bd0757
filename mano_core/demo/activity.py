"""The team's day-to-day activity: actions, comments, territory observations, reports."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass

from mano_core.demo import vocabulary as v
from mano_core.demo._context import Context
from mano_core.demo._dice import DAY, Dice, to_date, to_datetime
from mano_core.demo.organisation import field_values
from mano_core.demo.people import People
from mano_core.demo.texts import ACTIONS, Phrases
from mano_core.model.records import (
    ATMOSPHERES,
    CANCELLED,
    DONE,
    TO_DO,
    Action,
    ActionStatus,
    Comment,
    Report,
    Structure,
    Territory,
    TerritoryObservation,
)

@dataclass(frozen=True)
class Actions:
    """Actions and the span their comments fall in (creation → completion or now)."""

    actions: tuple[Action, ...]
    starts: tuple[int, ...]
    ends: tuple[int, ...]


def _structures_by_category(structures: tuple[Structure, ...]) -> dict[str, list[str]]:
    by_cat: dict[str, list[str]] = {}
    for s in structures:
        for cat in s.categories:
            by_cat.setdefault(cat, []).append(s.id)
    return by_cat


def _schedule(dice: Dice, start: int, end: int, now: int) -> tuple[ActionStatus, int, int, int]:
    """(status, created, due, completed or 0): ~12% upcoming, ~3% overdue, the rest past."""
    rnd = dice.random
    r = dice.random()
    if r < 0.12 and end >= now:  # upcoming: planned recently, due today or within 3 months
        created = dice.moment(max(start, now - 60 * DAY), now)
        return TO_DO, created, now + dice.between(0, 90 * DAY), 0
    if r < 0.15 and end >= now and now - start > 3 * DAY:  # overdue
        created = dice.moment(start, now - 3 * DAY)
        return TO_DO, created, dice.between(created + DAY, now - DAY), 0
    status = CANCELLED if rnd() < 0.12 else DONE
    created = min(dice.moment(start, max(start, end - 7200)), now - 120)
    due = created if rnd() < 0.5 else created + dice.randrange(30 * DAY)
    if due > now:
        # Done already: due some day since it was planned. Clamping every such one to now
        # piled hundreds of finished actions onto today's agenda, with no to-do among them.
        due = dice.between(created, now)
    completed = dice.between(min(created + 60, now), min(due + 7 * DAY, now))
    return status, created, due, completed


def make_actions(
    ctx: Context, dice: Dice, people: People, groups: Mapping[int, list[int]],
    structures: tuple[Structure, ...], n: int, phrases: Phrases,
) -> Actions:
    rnd = dice.random
    by_cat = _structures_by_category(structures)
    ids = [p.id for p in people.persons]
    out, starts, ends = [], [], []
    for pi in people.pick(dice, n):
        person = people.persons[pi]
        status, created, due, completed = _schedule(
            dice, people.starts[pi], people.ends[pi], ctx.now)
        name, categories, struct_cat = dice.choice(ACTIONS)
        candidates = by_cat.get(struct_cat or "", ())
        structure = dice.choice(candidates) if candidates and rnd() < 0.5 else None
        group = pi in groups and rnd() < 0.25
        with_time = rnd() < 0.4
        if not with_time:
            due -= due % DAY
        teams = person.assigned_teams if rnd() < 0.2 else [dice.choice(person.assigned_teams)]
        updated = completed or (created if rnd() < 0.7 else dice.between(created, ctx.now))
        out.append(Action(
            id=dice.id(), created_at=to_datetime(created), updated_at=to_datetime(updated),
            created_by=dice.choice(ctx.member_ids), name=name,
            description=phrases.action_descriptions.say(dice.random)
            if rnd() < 0.4 else "",
            persons=[ids[i] for i in groups[pi]] if group else [person.id], teams=list(teams),
            due_at=to_datetime(due), with_time=with_time, status=status,
            completed_at=to_datetime(completed) if completed else None,
            categories=list(categories), urgent=rnd() < 0.08, structure=structure,
            group=group,
        ))
        starts.append(created)
        ends.append(completed or ctx.now)
    return Actions(tuple(out), tuple(starts), tuple(ends))


def make_comments(
    ctx: Context, dice: Dice, people: People, actions: Actions, n: int, phrases: Phrases
) -> tuple[Comment, ...]:
    """About 70% on persons, 30% on actions; ~5% urgent."""
    # The hottest loop of the generator (24,000 comments at scale 1): draws are inlined.
    rnd, moment, new_id = dice.random, dice.moment, dice.id
    members = ctx.member_ids
    persons, p_starts, p_ends = people.persons, people.starts, people.ends
    acts, a_starts, a_ends = actions.actions, actions.starts, actions.ends
    n_actions = len(acts)
    out = []
    for pi in people.pick(dice, n):
        person_id: str | None
        action_id: str | None
        if n_actions and rnd() < 0.3:
            ai = int(rnd() * n_actions)
            action = acts[ai]
            person_id, action_id, teams = None, action.id, action.teams
            at = moment(a_starts[ai], a_ends[ai])
        else:
            person = persons[pi]
            person_id, action_id, teams = person.id, None, person.assigned_teams
            at = moment(p_starts[pi], p_ends[pi])
        urgent = rnd() < 0.05
        when = to_datetime(at)
        out.append(Comment(
            id=new_id(), created_at=when, updated_at=when,
            created_by=members[int(rnd() * len(members))],
            text=phrases.transmission(rnd, urgent), person=person_id, action=action_id,
            team=teams[int(rnd() * len(teams))], date=when, urgent=urgent,
        ))
    return tuple(out)


_ATMOSPHERE_CUM = list(itertools.accumulate((8, 22, 70)))  # Violences, Tensions, RAS


def make_observations(
    ctx: Context, dice: Dice, territories: tuple[Territory, ...], n: int, phrases: Phrases
) -> tuple[TerritoryObservation, ...]:
    rnd = dice.random
    fill_custom = field_values(ctx, "observation")
    cum = list(itertools.accumulate(dice.rng.paretovariate(1.5) for _ in territories))
    starts = [int(t.created_at.timestamp()) for t in territories]
    out = []
    for ti in dice.weighted(range(len(territories)), cum, n):
        at = dice.moment(starts[ti], ctx.now)
        team = dice.choice(ctx.street_teams)
        when = to_datetime(at)
        out.append(TerritoryObservation(
            id=dice.id(), created_at=when, updated_at=when, created_by=dice.choice(ctx.member_ids),
            territory=territories[ti].id, team=team, observed_at=when,
            men=int(dice.random() ** 2 * 25), women=int(dice.random() ** 2 * 8),
            minors=1 + dice.randrange(3) if rnd() < 0.1 else 0,
            atmosphere=dice.weighted(ATMOSPHERES, _ATMOSPHERE_CUM, 1)[0],  # type: ignore[arg-type]
            police=rnd() < 0.15,
            material=", ".join(dice.sample(v.OBSERVATION_MATERIAL, 1 + dice.randrange(3)))
            if rnd() < 0.5 else "",
            comment=phrases.observations.say(dice.random)
            if rnd() < 0.4 else "",
            custom_fields=fill_custom(dice, [team], ctx.start, ctx.now),
        ))
    return tuple(out)


# (service, typical maximum per day); a fixed site counts more than a street team
_SERVICE_MAX = {"Repas": 40, "Café": 60, "Kits d'hygiène": 15, "Douches": 20, "Vêtements": 12}


def make_reports(ctx: Context, dice: Dice, days: int, phrases: Phrases) -> tuple[Report, ...]:
    """One report per sub-team per day, for the ``days`` days before the reference day.

    A night team's day runs noon → noon, so its report is written the next morning."""
    rnd = dice.random
    reference = ctx.now - ctx.now % DAY
    out = []
    for k in range(days, 0, -1):
        day_ts = reference - k * DAY
        day = to_date(day_ts)
        for team in ctx.subteams:
            night = team == ctx.night_team
            factor = 2 if team == ctx.fixed_site else 1
            created = day_ts + (20 * 3600 if night else 9 * 3600) + dice.randrange(3600)
            updated = created + dice.randrange(14 * 3600)
            services = {
                s: 1 + dice.randrange(_SERVICE_MAX.get(s, 6) * factor)
                for s in v.SERVICES if dice.chance(0.7 if s in _SERVICE_MAX else 0.25)
            }
            out.append(Report(
                id=dice.id(), created_at=to_datetime(created), updated_at=to_datetime(updated),
                created_by=dice.choice(ctx.member_ids), team=team, date=day,
                description=phrases.reports.say(dice.random)
                if rnd() < 0.6 else "",
                collaborations=dice.sample(v.COLLABORATIONS, dice.randrange(3))
                if rnd() < 0.4 else [],
                services=services,
            ))
    return tuple(out)
