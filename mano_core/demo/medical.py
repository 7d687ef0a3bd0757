"""The medical compartment: medical files, consultations and treatments.

Only health professionals write them, so every ``created_by`` is a health member."""

from __future__ import annotations

from mano_core.demo._context import Context
from mano_core.demo._dice import DAY, Dice, to_date, to_datetime
from mano_core.demo.organisation import field_values
from mano_core.demo.people import People
from mano_core.demo.texts import CONSULTATION_TYPES, CONSULTATIONS, TREATMENTS
from mano_core.model.records import (
    CANCELLED,
    DONE,
    TO_DO,
    Consultation,
    ConsultationStatus,
    MedicalFile,
    Treatment,
)


def make_medical_files(
    ctx: Context, dice: Dice, people: People, n: int
) -> tuple[tuple[MedicalFile, ...], list[int]]:
    """At most one file per person; also returns the indexes of persons who have one."""
    fill_custom = field_values(ctx, "medicalFile")
    chosen = sorted(dice.sample(range(len(people.persons)), n))
    out = []
    for pi in chosen:
        at = dice.moment(people.starts[pi], people.ends[pi])
        updated = at if dice.chance(0.5) else dice.between(at, people.ends[pi])
        out.append(MedicalFile(
            id=dice.id(), created_at=to_datetime(at), updated_at=to_datetime(updated),
            created_by=dice.choice(ctx.health_members), person=people.persons[pi].id,
            custom_fields=fill_custom(dice, people.persons[pi].assigned_teams, at, ctx.now),
        ))
    return tuple(out), chosen


def make_consultations(
    ctx: Context, dice: Dice, people: People, patients: list[int], n: int
) -> tuple[Consultation, ...]:
    fill_custom = field_values(ctx, "consultation")
    now = ctx.now
    out = []
    for _ in range(n if patients else 0):
        pi = dice.choice(patients)
        start, end = people.starts[pi], people.ends[pi]
        status: ConsultationStatus
        if end >= now and dice.chance(0.12):
            status, created = TO_DO, dice.moment(max(start, now - 30 * DAY), now)
            due, completed = now + dice.between(3600, 45 * DAY), 0
        else:
            status = CANCELLED if dice.chance(0.08) else DONE
            created = min(dice.moment(start, end), now - 120)
            due = created + (0 if dice.chance(0.6) else dice.randrange(14 * DAY))
            due = min(due, now)
            completed = dice.between(created + 60, min(due + DAY, now))
        author = dice.choice(ctx.health_members)
        kind = dice.choice(CONSULTATION_TYPES)
        out.append(Consultation(
            id=dice.id(), created_at=to_datetime(created),
            updated_at=to_datetime(completed or created), created_by=author,
            person=people.persons[pi].id, name=dice.choice(CONSULTATIONS[kind]), type=kind,
            status=status, due_at=to_datetime(due),
            completed_at=to_datetime(completed) if completed else None,
            custom_fields=fill_custom(dice, people.persons[pi].assigned_teams, created, now),
            only_visible_by=[author] if dice.chance(0.1) else [],
        ))
    return tuple(out)


def make_treatments(
    ctx: Context, dice: Dice, people: People, patients: list[int], n: int
) -> tuple[Treatment, ...]:
    out = []
    for _ in range(n if patients else 0):
        pi = dice.choice(patients)
        at = dice.moment(people.starts[pi], people.ends[pi])
        name, dosage, frequency = dice.choice(TREATMENTS)
        start = to_date(at)
        end = None if dice.chance(0.4) else to_date(at + (7 + dice.randrange(180)) * DAY)
        out.append(Treatment(
            id=dice.id(), created_at=to_datetime(at), updated_at=to_datetime(at),
            created_by=dice.choice(ctx.health_members), person=people.persons[pi].id,
            name=name, dosage=dosage, frequency=frequency, start_date=start, end_date=end,
        ))
    return tuple(out)
