"""The team's two documents: the general document every member reads, and the medical
compartment's separate document (a DocumentCore each, with its compartment's typed collections)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from mano_core.ids import Compartment
from mano_core.model import records as r
from mano_core.model.records import CustomFieldDefinition, HistoryEntry, Record

from .collection import Collection
from .health import HealthValues
from .queries import Actions, Comments, History, Persons
from .settings import Settings
from .team_doc import DocumentCore

R = TypeVar("R", bound=Record)

GENERAL_KINDS = r.GENERAL_RECORDS
MEDICAL_KINDS = tuple(k for k in r.MEDICAL_RECORDS if k is not HistoryEntry) + (HistoryEntry,)


class GeneralDocument(DocumentCore):
    """The team document every member reads: persons, actions, comments and the rest."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(Compartment.GENERAL, GENERAL_KINDS,
                         custom_fields=lambda: self.custom_fields.list(),  # noqa: PLW0108
                         **kwargs)  # (self.custom_fields exists only after this call)
        self.settings = Settings(self)

    def collection(self, kind: type[R]) -> Collection[R]:
        return self.collections[kind.collection]

    @property
    def persons(self) -> Persons:
        return self.collections["persons"]  # type: ignore[return-value]

    @property
    def actions(self) -> Actions:
        return self.collections["actions"]  # type: ignore[return-value]

    @property
    def comments(self) -> Comments:
        return self.collections["comments"]  # type: ignore[return-value]

    @property
    def history(self) -> History:
        return self.collections["history"]  # type: ignore[return-value]

    @property
    def structures(self) -> Collection[r.Structure]:
        return self.collection(r.Structure)

    @property
    def territories(self) -> Collection[r.Territory]:
        return self.collection(r.Territory)

    @property
    def observations(self) -> Collection[r.TerritoryObservation]:
        return self.collection(r.TerritoryObservation)

    @property
    def places(self) -> Collection[r.Place]:
        return self.collection(r.Place)

    @property
    def person_places(self) -> Collection[r.PersonPlace]:
        return self.collection(r.PersonPlace)

    @property
    def encounters(self) -> Collection[r.Encounter]:
        return self.collection(r.Encounter)

    @property
    def passages(self) -> Collection[r.Passage]:
        return self.collection(r.Passage)

    @property
    def reports(self) -> Collection[r.Report]:
        return self.collection(r.Report)

    @property
    def groups(self) -> Collection[r.Group]:
        return self.collection(r.Group)

    @property
    def subteams(self) -> Collection[r.SubTeam]:
        return self.collection(r.SubTeam)

    @property
    def custom_fields(self) -> Collection[r.CustomFieldDefinition]:
        return self.collection(r.CustomFieldDefinition)


class MedicalDocument(DocumentCore):
    """The medical compartment: a separate document whose keys only health staff receive."""

    def __init__(self, custom_fields: Callable[[], list[CustomFieldDefinition]] | None = None,
                 settings: Settings | None = None, **kwargs: Any) -> None:
        """``custom_fields`` and ``settings``: the general document's (definitions and the
        team's lists, which the medical records' fields are checked against)."""
        super().__init__(Compartment.MEDICAL, MEDICAL_KINDS, custom_fields=custom_fields,
                         **kwargs)
        self.settings = settings

    def collection(self, kind: type[R]) -> Collection[R]:
        return self.collections[kind.collection]

    @property
    def history(self) -> History:
        return self.collections["history"]  # type: ignore[return-value]

    @property
    def medical_files(self) -> Collection[r.MedicalFile]:
        return self.collection(r.MedicalFile)

    @property
    def consultations(self) -> Collection[r.Consultation]:
        return self.collection(r.Consultation)

    @property
    def treatments(self) -> Collection[r.Treatment]:
        return self.collection(r.Treatment)

    @property
    def health_values(self) -> HealthValues:
        """Values of health-only person custom fields (mano_core.document.health)."""
        return self.collections["personHealthValues"]  # type: ignore[return-value]

    @property
    def comments(self) -> Collection[r.MedicalComment]:
        """Comments on medical files, consultations and treatments."""
        return self.collection(r.MedicalComment)
