"""The base of every record (``Record``) and the value sets its fields use (genders, action
statuses, atmospheres, custom field types). Split from ``records.py``, which re-exports them."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar, Literal

import msgspec

Gender = Literal[
    "Aucun", "Homme", "Femme", "Homme transgenre", "Femme transgenre", "Non binaire", "Autre"
]
GENDERS: tuple[str, ...] = Gender.__args__  # type: ignore[attr-defined]

ActionStatus = Literal["A FAIRE", "FAIT", "ANNULEE"]
TO_DO: ActionStatus = "A FAIRE"
DONE: ActionStatus = "FAIT"
CANCELLED: ActionStatus = "ANNULEE"
ACTION_STATUSES: tuple[str, ...] = ActionStatus.__args__  # type: ignore[attr-defined]

OUT_OF_ACTIVE_LIST_REASONS: tuple[str, ...] = (
    "Relogée", "Hébergée", "Décédée", "Perdue de vue", "Incarcérée", "Hospitalisée",
    "Départ vers autre région", "Sans nouvelles", "Autre",
)

Atmosphere = Literal["Violences", "Tensions", "RAS"]
ATMOSPHERES: tuple[str, ...] = Atmosphere.__args__  # type: ignore[attr-defined]

CustomFieldType = Literal[
    "text", "textarea", "number", "date", "date-with-time", "yes-no", "enum", "multi-choice",
    "boolean",
]
CUSTOM_FIELD_TYPES: tuple[str, ...] = CustomFieldType.__args__  # type: ignore[attr-defined]
CustomFieldScope = Literal["person", "observation", "medicalFile", "consultation"]

ConsultationStatus = Literal["A FAIRE", "FAIT", "ANNULEE"]


class Record(msgspec.Struct, kw_only=True, frozen=True, rename="camel"):
    """Fields every record has. Subclasses set ``collection`` and ``label``."""

    collection: ClassVar[str] = ""
    label: ClassVar[str] = ""

    id: str
    created_at: dt.datetime
    updated_at: dt.datetime
    created_by: str | None = None
    updated_by: str | None = None
    deleted_at: dt.datetime | None = None

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None
