"""Members, sub-teams, custom-field definitions and the shared directories of a demo team
(structures, territories, places)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mano_core.demo import vocabulary as v
from mano_core.demo._context import Context
from mano_core.demo._dice import DAY, Dice, iso_datetime, to_date, to_datetime
from mano_core.demo.team import Member
from mano_core.demo.texts import MEDICAL_HISTORY
from mano_core.model.records import (
    CustomFieldDefinition,
    CustomFieldScope,
    CustomFieldType,
    Place,
    Structure,
    SubTeam,
    Territory,
)


def make_members(dice: Dice) -> tuple[Member, ...]:
    """6–12 staff: one or two admins, two health professionals, one or two restricted."""
    count = dice.rng.randint(6, 12)
    names: set[str] = set()
    while len(names) < count:
        first = dice.choice(v.FEMALE_FIRST_NAMES if dice.chance(0.6) else v.MALE_FIRST_NAMES)
        names.add(f"{first} {dice.choice(v.SURNAMES)}")
    members = []
    restricted = 1 + dice.randrange(2)
    # A set's order depends on the process's string-hash salt: sort it first, then shuffle.
    for i, name in enumerate(sorted(sorted(names), key=lambda _: dice.random())):
        if i == 0 or (i == 1 and dice.chance(0.5)):
            role = "admin"
        elif i >= count - restricted:
            role = "restricted"
        else:
            role = "normal"
        members.append(Member(dice.id(), name, role, health=i in (1, 2)))
    return tuple(members)


def make_subteams(ctx: Context, ids: tuple[str, ...]) -> tuple[SubTeam, ...]:
    created = to_datetime(ctx.start - 30 * DAY)
    admin = ctx.members[0].id
    return tuple(
        SubTeam(id=id_, created_at=created, updated_at=created, created_by=admin,
                name=name, night_session=night)
        for id_, (name, night, _) in zip(ids, v.SUBTEAMS, strict=True)
    )


@dataclass(frozen=True)
class FieldSpec:
    """How to define and fill one custom field."""

    key: str
    label: str
    type: CustomFieldType
    scope: CustomFieldScope
    section: str
    options: tuple[str, ...] = ()
    samples: tuple[str, ...] = ()  # values of free-text fields
    numbers: tuple[int, int] = (0, 10)
    stats: bool = False
    health: bool = False
    teams: str = ""  # "", "street" or "night": which sub-teams enable it
    fill_rate: float = 0.5


FIELD_SPECS: tuple[FieldSpec, ...] = (
    FieldSpec("custom-nationalite", "Nationalité", "text", "person", "Informations",
              samples=v.LANGUAGES, fill_rate=0.6),
    FieldSpec("custom-enfants", "Nombre d'enfants", "number", "person", "Famille",
              numbers=(0, 4), stats=True, fill_rate=0.4),
    FieldSpec("custom-fin-titre-sejour", "Fin de validité du titre de séjour", "date",
              "person", "Droits", fill_rate=0.2),
    FieldSpec("custom-dernier-appel-115", "Dernier appel au 115", "date-with-time", "person",
              "Hébergement", teams="night", fill_rate=0.6),
    FieldSpec("custom-animal", "Animal de compagnie", "yes-no", "person", "Informations",
              stats=True, fill_rate=0.7),
    FieldSpec("custom-couverture-maladie", "Couverture maladie", "enum", "person", "Droits",
              options=("Aucune", "AME", "CSS", "PUMa", "PUMa + mutuelle"), stats=True,
              fill_rate=0.7),
    FieldSpec("custom-ressources", "Ressources", "multi-choice", "person", "Droits",
              options=("RSA", "AAH", "ARE", "Retraite", "Manche", "Travail non déclaré",
                       "Aucune"), stats=True, fill_rate=0.5),
    FieldSpec("custom-tentes", "Nombre de tentes", "number", "observation", "Observation",
              numbers=(0, 40), teams="street", stats=True, fill_rate=0.8),
    FieldSpec("custom-antecedents", "Antécédents", "textarea", "medicalFile",
              "Dossier médical", samples=MEDICAL_HISTORY, health=True, fill_rate=0.7),
    FieldSpec("custom-motif", "Motif de consultation", "enum", "consultation", "Consultation",
              options=("Plaie", "Douleur", "Suivi chronique", "Infection", "Santé mentale",
                       "Bilan"), health=True, stats=True, fill_rate=0.8),
    FieldSpec("custom-suivi-psy", "Suivi psychologique en cours", "boolean", "medicalFile",
              "Dossier médical", health=True, fill_rate=0.4),
)


def make_custom_fields(ctx: Context, dice: Dice) -> tuple[CustomFieldDefinition, ...]:
    created = to_datetime(ctx.start - 29 * DAY)
    admin = ctx.members[0].id
    teams = {"": [], "street": list(ctx.street_teams), "night": [ctx.night_team]}
    return tuple(
        CustomFieldDefinition(
            id=dice.id(), created_at=created, updated_at=created, created_by=admin,
            key=s.key, label_text=s.label, type=s.type, scope=s.scope, section=s.section,
            options=list(s.options), enabled_teams=teams[s.teams], show_in_stats=s.stats,
            health_only=s.health,
        )
        for s in FIELD_SPECS
    )


def field_values(ctx: Context, scope: str) -> Callable[[Dice, list[str], int, int], dict[str, Any]]:
    """A filler of custom-field values of ``scope``, consistent with the definitions.

    The filler takes the record's sub-teams (a field enabled for other sub-teams only stays
    empty) and the ``[lo, hi]`` span its dates fall in. Values are JSON-native (ISO text)."""
    specs = [s for s in FIELD_SPECS if s.scope == scope]
    enabled = {"": None, "street": set(ctx.street_teams), "night": {ctx.night_team}}

    def fill(dice: Dice, teams: list[str], lo: int, hi: int) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for s in specs:
            allowed = enabled[s.teams]
            if allowed is not None and allowed.isdisjoint(teams):
                continue
            if dice.random() >= s.fill_rate:
                continue
            t = s.type
            value: Any
            if t == "text":
                value = dice.choice(s.samples)
            elif t == "textarea":
                value = " ".join(dice.sample(s.samples, 1 + dice.randrange(2)))
            elif t == "number":
                value = dice.rng.randint(*s.numbers)
            elif t == "date":  # e.g. an expiry: up to two years either side of now
                value = to_date(dice.between(ctx.now - 730 * DAY, ctx.now + 730 * DAY))
                value = value.isoformat()
            elif t == "date-with-time":
                value = iso_datetime(dice.moment(lo, hi))
            elif t in ("yes-no", "boolean"):
                value = dice.chance(0.3)
            elif t == "enum":
                value = dice.choice(s.options)
            else:  # multi-choice
                value = dice.sample(s.options, 1 + dice.randrange(2))
            values[s.key] = value
        return values

    return fill


def _unique(name: str, seen: set[str], suffix: Callable[[int], str]) -> str:
    candidate, k = name, 2
    while candidate in seen:
        candidate, k = f"{name}{suffix(k)}", k + 1
    seen.add(candidate)
    return candidate


def street(dice: Dice) -> str:
    """A generic street name: "Rue des Lilas", "Quai du Port"…"""
    return f"{dice.choice(v.STREET_TYPES)} {dice.choice(v.STREET_NAMES)}"


def make_structures(ctx: Context, dice: Dice, n: int) -> tuple[Structure, ...]:
    seen: set[str] = set()
    paris = [(f"750{k:02d}", "Paris") for k in range(1, 21)]
    out = []
    for _ in range(n):
        kind, categories, public = dice.choice(v.STRUCTURE_KINDS)
        name = _unique(f"{kind} {dice.choice(v.STRUCTURE_QUALIFIERS)}", seen,
                       lambda k: f" (antenne {k})")
        postcode, city = dice.choice(paris) if dice.chance(0.65) else dice.choice(v.SUBURBS)
        created = dice.moment(ctx.start - 60 * DAY, ctx.now - DAY)
        updated = created if dice.chance(0.7) else dice.between(created, ctx.now)
        out.append(Structure(
            id=dice.id(), created_at=to_datetime(created), updated_at=to_datetime(updated),
            created_by=dice.choice(ctx.member_ids), name=name, categories=list(categories),
            address=f"{1 + dice.randrange(180)} {street(dice)}", postcode=postcode, city=city,
            phone=f"01 99 00 {dice.randrange(100):02d} {dice.randrange(100):02d}",
            opening_hours=dice.choice(v.OPENING_HOURS),
            description="" if dice.chance(0.5) else f"{kind} ({', '.join(categories).lower()}).",
            public=public,
        ))
    return tuple(out)


def make_territories(ctx: Context, dice: Dice, n: int) -> tuple[Territory, ...]:
    seen: set[str] = set()
    out = []
    for _ in range(n):
        kind = dice.choice(v.TERRITORY_TYPES)
        pattern = dice.choice(v.TERRITORY_PATTERNS[kind])
        name = _unique(pattern.format(street=street(dice)), seen, lambda k: f" (secteur {k})")
        types = [kind] if dice.chance(0.8) else [kind, dice.choice(v.TERRITORY_TYPES)]
        created = dice.moment(ctx.start, ctx.now - DAY)
        out.append(Territory(
            id=dice.id(), created_at=to_datetime(created), updated_at=to_datetime(created),
            created_by=dice.choice(ctx.member_ids), name=name, types=sorted(set(types)),
            perimeter=f"Entre {street(dice)} et {street(dice)}" if dice.chance(0.6) else "",
            description="" if dice.chance(0.6) else "Site suivi chaque semaine.",
        ))
    return tuple(out)


def make_places(ctx: Context, dice: Dice, n: int) -> tuple[Place, ...]:
    seen: set[str] = set()
    out = []
    for _ in range(n):
        name = dice.choice(v.LANDMARKS) if dice.chance(0.25) else street(dice)
        if name in seen:
            name = f"{name} (angle {street(dice)})"
        name = _unique(name, seen, lambda k: f", n° {k}")
        created = dice.moment(ctx.start, ctx.now - DAY)
        out.append(Place(
            id=dice.id(), created_at=to_datetime(created), updated_at=to_datetime(created),
            created_by=dice.choice(ctx.member_ids), name=name,
        ))
    return tuple(out)
