"""Persons followed by the team, their groups, places, encounters and passages."""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass

from mano_core.demo import vocabulary as v
from mano_core.demo._context import HISTORY_DAYS, Context
from mano_core.demo._dice import DAY, Dice, to_date, to_datetime
from mano_core.demo.organisation import field_values
from mano_core.demo.texts import Phrases
from mano_core.model.records import (
    GENDERS,
    Gender,
    OUT_OF_ACTIVE_LIST_REASONS,
    Encounter,
    Group,
    Passage,
    Person,
    PersonPlace,
    Place,
)

# Plausible distribution of genders in street outreach files; None: not filled in.
_GENDERS: tuple[Gender | None, ...] = (None, *GENDERS)  # type: ignore[arg-type]
_GENDER_CUM = list(itertools.accumulate((2, 2, 70, 22, 0.5, 2, 1, 0.5)))
_MALE = {"Homme", "Homme transgenre"}
_FEMALE = {"Femme", "Femme transgenre"}
_TEAM_CUM = list(itertools.accumulate((35, 25, 15, 25)))  # day, evening, night, fixed site


@dataclass(frozen=True)
class People:
    """Persons and what later generators need about each: activity span, sub-teams, weight."""

    persons: tuple[Person, ...]
    starts: tuple[int, ...]  # followed since (epoch seconds)
    ends: tuple[int, ...]  # out of the active list, or now
    cum_weights: tuple[float, ...]  # how much activity each person draws (heavy-tailed)

    def pick(self, dice: Dice, k: int) -> list[int]:
        """``k`` person indexes, busy persons more often."""
        return dice.weighted(range(len(self.persons)), self.cum_weights, k)


def _name(dice: Dice, gender: str | None) -> tuple[str, list[str]]:
    rnd = dice.random
    male = gender in _MALE or (gender not in _FEMALE and rnd() < 0.6)
    first = dice.choice(v.MALE_FIRST_NAMES if male else v.FEMALE_FIRST_NAMES)
    surname = dice.choice(v.SURNAMES)
    nicknames = v.MALE_NICKNAMES if male else v.FEMALE_NICKNAMES
    r = dice.random()
    if r < 0.55:
        name = f"{first} {surname}"
    elif r < 0.75:
        name = f"{first} {surname[0]}."
    elif r < 0.90:
        name = first
    elif r < 0.93:  # known by a nickname only
        name = dice.choice(nicknames)
    else:
        name = f"{surname.upper()} {first}"
    aliases: list[str] = []
    if rnd() < 0.3:
        epithets = v.MALE_EPITHETS if male else v.FEMALE_EPITHETS
        aliases.append(dice.choice(nicknames) if rnd() < 0.6
                       else f"{first} {dice.choice(epithets)}")
        if rnd() < 0.2:
            aliases.append(dice.choice(nicknames))
    return name, [a for a in dict.fromkeys(aliases) if a != name]


def _email(dice: Dice, name: str) -> str:
    """An address in the reserved example.org domain."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    local = ".".join(w for w in re.split(r"[^a-z]+", ascii_name.lower()) if w)
    return f"{local or 'contact'}.{dice.randrange(1000)}@example.org"


def make_persons(ctx: Context, dice: Dice, n: int) -> People:
    rnd = dice.random
    fill_custom = field_values(ctx, "person")
    genders = dice.weighted(_GENDERS, _GENDER_CUM, n)
    persons, starts, ends, weights = [], [], [], []
    teams_pool, now = ctx.subteams, ctx.now
    for gender in genders:
        name, aliases = _name(dice, gender)
        start = dice.moment(now - int(HISTORY_DAYS * dice.random() ** 1.4) * DAY, now)
        end, out_date, reasons = now, None, []
        if rnd() < 0.15:
            end = dice.between(min(start + 30 * DAY, now), now)
            out_date = to_date(end)
            reasons = dice.sample(OUT_OF_ACTIVE_LIST_REASONS, 1 + (dice.random() < 0.15))
        teams = dice.weighted(teams_pool, _TEAM_CUM, 2)
        teams = list(dict.fromkeys(teams[:1] if rnd() < 0.75 else teams))
        birth = None
        if rnd() < 0.85:
            age_days = int(dice.rng.triangular(18, 75, 38) * 365.25) + dice.randrange(365)
            birth = to_date(now - age_days * DAY)
        wandering = None
        if rnd() < 0.7:
            wandering = to_date(start - dice.randrange(15 * 365) * DAY)
        updated = start if rnd() < 0.4 else dice.between(start, end)
        persons.append(Person(
            id=dice.id(), created_at=to_datetime(start), updated_at=to_datetime(updated),
            created_by=dice.choice(ctx.member_ids), name=name, other_names=aliases,
            gender=gender, birthdate=birth,
            description=("" if rnd() < 0.5 else
                         ", ".join(dice.choice(part) for part in v.DESCRIPTION_PARTS) + "."),
            phone=(f"06 39 98 {dice.randrange(100):02d} {dice.randrange(100):02d}"
                   if rnd() < 0.3 else ""),
            email=_email(dice, name) if rnd() < 0.03 else "",
            alertness=rnd() < 0.1, wandering_at=wandering, followed_since=to_date(start),
            assigned_teams=teams, out_of_active_list=out_date is not None,
            out_of_active_list_date=out_date, out_of_active_list_reasons=reasons,
            custom_fields=fill_custom(dice, teams, start, end),
        ))
        starts.append(start)
        ends.append(end)
        # A person's activity is spread over the time they have been followed, so their share
        # of it grows with that time: drawn from the weight alone, the persons met in the last
        # days (many, as the start is skewed towards now) put their whole share on those few
        # days, and the reference day's agenda held hundreds of actions.
        followed = (end - start) / (365 * DAY)
        weights.append(min(dice.rng.paretovariate(1.3), 40.0) * (0.4 if out_date else 1.0)
                       * max(followed, 0.01))
    return People(tuple(persons), tuple(starts), tuple(ends),
                  tuple(itertools.accumulate(weights)))


def make_groups(
    ctx: Context, dice: Dice, people: People, n: int
) -> tuple[tuple[Group, ...], dict[int, list[int]]]:
    """Families and groups of 2–4 persons; also returns each member's group (indexes)."""
    rnd = dice.random
    pool = dice.sample(range(len(people.persons)), 4 * n)
    groups, members_of = [], {}
    for _ in range(n):
        size = 2 if rnd() < 0.7 else 3 + dice.randrange(2)
        if len(pool) < size:
            break
        idx = [pool.pop() for _ in range(size)]
        ids = [people.persons[i].id for i in idx]
        relations = [f"{ids[0]}|{other}|{dice.choice(v.GROUP_RELATIONS)}" for other in ids[1:]]
        created = dice.moment(max(people.starts[i] for i in idx), ctx.now)
        groups.append(Group(
            id=dice.id(), created_at=to_datetime(created), updated_at=to_datetime(created),
            created_by=dice.choice(ctx.member_ids), persons=ids, relations=relations,
        ))
        for i in idx:
            members_of[i] = idx
    return tuple(groups), members_of


def make_person_places(
    ctx: Context, dice: Dice, people: People, places: tuple[Place, ...], n: int
) -> tuple[PersonPlace, ...]:
    """``n`` distinct person↔place links (fewer if there are not that many pairs)."""
    place_cum = list(itertools.accumulate(dice.rng.paretovariate(1.5) for _ in places))
    place_ts = [int(p.created_at.timestamp()) for p in places]
    seen: set[tuple[int, int]] = set()
    out: list[PersonPlace] = []
    for _ in range(3 * n):
        if len(out) == n:
            break
        pi = people.pick(dice, 1)[0]
        li = dice.weighted(range(len(places)), place_cum, 1)[0]
        if (pi, li) in seen:
            continue
        seen.add((pi, li))
        lo = max(people.starts[pi], place_ts[li])  # the link needs both to exist
        created = dice.moment(lo, max(lo, people.ends[pi]))
        out.append(PersonPlace(
            id=dice.id(), created_at=to_datetime(created), updated_at=to_datetime(created),
            created_by=dice.choice(ctx.member_ids), person=people.persons[pi].id,
            place=places[li].id,
        ))
    return tuple(out)


def _street_team(dice: Dice, ctx: Context, teams: list[str]) -> str:
    street = [t for t in teams if t in ctx.street_teams]
    return dice.choice(street or ctx.street_teams)


def make_encounters(
    ctx: Context, dice: Dice, people: People, n: int, phrases: Phrases
) -> tuple[Encounter, ...]:
    rnd = dice.random
    out = []
    persons = people.persons
    for pi in people.pick(dice, n):
        at = dice.moment(people.starts[pi], people.ends[pi])
        person = persons[pi]
        out.append(Encounter(
            id=dice.id(), created_at=to_datetime(at), updated_at=to_datetime(at),
            created_by=dice.choice(ctx.member_ids), person=person.id,
            team=_street_team(dice, ctx, person.assigned_teams), date=to_datetime(at),
            comment=phrases.encounters.say(dice.random) if rnd() < 0.3 else "",
        ))
    return tuple(out)


def make_passages(
    ctx: Context, dice: Dice, people: People, n: int, phrases: Phrases
) -> tuple[Passage, ...]:
    """Visits at the fixed site; a quarter are anonymous."""
    rnd = dice.random
    out = []
    for pi in people.pick(dice, n):
        if rnd() < 0.25:
            person, at = None, dice.moment(ctx.start, ctx.now)
        else:
            person, at = people.persons[pi].id, dice.moment(people.starts[pi], people.ends[pi])
        out.append(Passage(
            id=dice.id(), created_at=to_datetime(at), updated_at=to_datetime(at),
            created_by=dice.choice(ctx.member_ids), person=person,
            team=ctx.fixed_site if rnd() < 0.85 else dice.choice(ctx.subteams),
            date=to_datetime(at),
            comment=phrases.passages.say(dice.random) if rnd() < 0.2 else "",
        ))
    return tuple(out)
