"""The medical compartment's records (health devices only): medical files, consultations,
treatments, health values and medical comments. Split from ``records.py``, which re-exports them."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from mano_core.model.record_base import ConsultationStatus, Record




class MedicalFile(Record, frozen=True, kw_only=True):
    collection: ClassVar[str] = "medicalFiles"
    label: ClassVar[str] = "medical file"

    person: str
    custom_fields: dict[str, Any] = {}


class Consultation(Record, frozen=True, kw_only=True):
    collection: ClassVar[str] = "consultations"
    label: ClassVar[str] = "consultation"

    person: str
    name: str = ""
    type: str
    status: ConsultationStatus = "A FAIRE"
    due_at: dt.datetime
    completed_at: dt.datetime | None = None
    custom_fields: dict[str, Any] = {}
    only_visible_by: list[str] = []
    teams: list[str] = []


class Treatment(Record, frozen=True, kw_only=True):
    collection: ClassVar[str] = "treatments"
    label: ClassVar[str] = "treatment"

    person: str
    name: str
    dosage: str = ""
    frequency: str = ""
    indication: str = ""
    start_date: dt.date | None = None
    end_date: dt.date | None = None


class HealthValue(Record, frozen=True, kw_only=True):
    """The value of one health-only person custom field (``CustomFieldDefinition.health_only``)
    for one person. It lives in the medical compartment, so a device without medical keys never
    holds it; ``Team.persons`` shows it in ``Person.custom_fields`` on health devices only. The
    id is derived from (person, field) (``mano_core.document.health.health_value_id``) so two
    devices writing the same field of the same person write the same record."""

    collection: ClassVar[str] = "personHealthValues"
    label: ClassVar[str] = "health value"

    person: str
    field: str
    value: Any = None


class MedicalComment(Record, frozen=True, kw_only=True):
    """A comment by health staff on a person's medical file, or on one of their consultations
    or treatments (medical compartment). Each comment is its own record: two written at once
    are both kept."""

    collection: ClassVar[str] = "medicalComments"
    label: ClassVar[str] = "medical comment"

    person: str
    text: str
    date: dt.datetime
    consultation: str | None = None
    treatment: str | None = None
    team: str | None = None
    urgent: bool = False
