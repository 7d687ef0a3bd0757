"""The generated team: its members, settings and one tuple of records per collection."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from mano_core.model.records import (
    Action,
    Comment,
    Consultation,
    CustomFieldDefinition,
    Encounter,
    Group,
    MedicalFile,
    Passage,
    Person,
    PersonPlace,
    Place,
    Record,
    Report,
    Structure,
    SubTeam,
    Territory,
    TerritoryObservation,
    Treatment,
)


class Member(NamedTuple):
    """A generated staff member. ``role`` is admin, normal or restricted."""

    id: str
    name: str
    role: str
    health: bool


@dataclass(frozen=True)
class DemoSettings:
    """Organisation settings the generated records refer to."""

    action_categories: tuple[str, ...]
    structure_categories: tuple[str, ...]
    services: tuple[str, ...]
    territory_types: tuple[str, ...]
    collaborations: tuple[str, ...]
    features: Mapping[str, bool]


@dataclass(frozen=True)
class DemoTeam:
    """A whole generated team. Collections are tuples of records, in generation order."""

    seed: int
    scale: float
    reference: dt.date
    settings: DemoSettings
    members: tuple[Member, ...]
    # general compartment
    subteams: tuple[SubTeam, ...]
    custom_fields: tuple[CustomFieldDefinition, ...]
    persons: tuple[Person, ...]
    actions: tuple[Action, ...]
    comments: tuple[Comment, ...]
    structures: tuple[Structure, ...]
    territories: tuple[Territory, ...]
    observations: tuple[TerritoryObservation, ...]
    places: tuple[Place, ...]
    person_places: tuple[PersonPlace, ...]
    encounters: tuple[Encounter, ...]
    passages: tuple[Passage, ...]
    reports: tuple[Report, ...]
    groups: tuple[Group, ...]
    # medical compartment
    medical_files: tuple[MedicalFile, ...]
    consultations: tuple[Consultation, ...]
    treatments: tuple[Treatment, ...]

    def general_records(self) -> Iterator[Record]:
        """Every record of the general compartment (settings-like records first)."""
        for name in GENERAL_COLLECTIONS:
            yield from getattr(self, name)

    def medical_records(self) -> Iterator[Record]:
        """Every record of the medical compartment."""
        for name in MEDICAL_COLLECTIONS:
            yield from getattr(self, name)

    def counts(self) -> dict[str, int]:
        """Number of records per collection, keyed by attribute name (``person_places``)."""
        names = GENERAL_COLLECTIONS + MEDICAL_COLLECTIONS
        return {name: len(getattr(self, name)) for name in names}


GENERAL_COLLECTIONS: tuple[str, ...] = (
    "subteams", "custom_fields", "structures", "territories", "places", "persons", "groups",
    "person_places", "actions", "comments", "encounters", "passages", "observations", "reports",
)
MEDICAL_COLLECTIONS: tuple[str, ...] = ("medical_files", "consultations", "treatments")

