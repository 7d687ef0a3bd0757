"""Typed records of a team's data (DOMAIN.md). Frozen msgspec Structs, camelCase on the wire.

Every record has ``id``, ``createdAt``, ``updatedAt``, ``createdBy``, ``updatedBy`` and
``deletedAt`` (a tombstone that syncs like any edit). Dates are ISO 8601 (``date`` for days,
``datetime`` in UTC for instants). Field kinds that matter for merging are declared in
``mano_core.model.schema``: plain fields merge field by field (last writer wins per field),
*set* fields keep concurrent additions, counters add up.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar, Literal

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


# --- general compartment ----------------------------------------------------------------------


class Person(Record, frozen=True, kw_only=True):
    collection: ClassVar[str] = "persons"
    label: ClassVar[str] = "person"

    name: str
    other_names: list[str] = []
    gender: Gender | None = None
    birthdate: dt.date | None = None
    description: str = ""
    phone: str = ""
    email: str = ""
    alertness: bool = False
    wandering_at: dt.date | None = None
    followed_since: dt.date | None = None
    assigned_teams: list[str] = []
    out_of_active_list: bool = False
    out_of_active_list_date: dt.date | None = None
    out_of_active_list_reasons: list[str] = []
    custom_fields: dict[str, Any] = {}


class Action(Record, frozen=True, kw_only=True):
    collection: ClassVar[str] = "actions"
    label: ClassVar[str] = "action"

    name: str
    description: str = ""
    persons: list[str] = []
    teams: list[str] = []
    due_at: dt.datetime
    with_time: bool = False
    status: ActionStatus = "A FAIRE"
    completed_at: dt.datetime | None = None
    categories: list[str] = []
    urgent: bool = False
    structure: str | None = None
    group: bool = False


class Comment(Record, frozen=True, kw_only=True):
    collection: ClassVar[str] = "comments"
    label: ClassVar[str] = "comment"

    text: str
    person: str | None = None
    action: str | None = None
    team: str | None = None
    date: dt.datetime
    urgent: bool = False
    group: bool = False  # a family comment, shown on every member of the person's family


class Structure(Record, frozen=True, kw_only=True):
    collection: ClassVar[str] = "structures"
    label: ClassVar[str] = "structure"

    name: str
    categories: list[str] = []
    address: str = ""
    postcode: str = ""
    city: str = ""
    phone: str = ""
    opening_hours: str = ""
    description: str = ""
    public: str = ""


class Territory(Record, frozen=True, kw_only=True):
    collection: ClassVar[str] = "territories"
    label: ClassVar[str] = "territory"

    name: str
    types: list[str] = []
    perimeter: str = ""
    description: str = ""


class TerritoryObservation(Record, frozen=True, kw_only=True):
    collection: ClassVar[str] = "observations"
    label: ClassVar[str] = "observation"

    territory: str
    team: str | None = None
    observed_at: dt.datetime
    men: int = 0
    women: int = 0
    minors: int = 0
    atmosphere: Atmosphere | None = None
    police: bool = False
    material: str = ""
    comment: str = ""
    custom_fields: dict[str, Any] = {}


class Place(Record, frozen=True, kw_only=True):
    collection: ClassVar[str] = "places"
    label: ClassVar[str] = "place"

    name: str


class PersonPlace(Record, frozen=True, kw_only=True):
    collection: ClassVar[str] = "personPlaces"
    label: ClassVar[str] = "person-place link"

    person: str
    place: str


class Encounter(Record, frozen=True, kw_only=True):
    collection: ClassVar[str] = "encounters"
    label: ClassVar[str] = "encounter"

    person: str
    team: str | None = None
    date: dt.datetime
    comment: str = ""


class Passage(Record, frozen=True, kw_only=True):
    collection: ClassVar[str] = "passages"
    label: ClassVar[str] = "passage"

    person: str | None = None  # passages at a fixed site may be anonymous
    team: str | None = None
    date: dt.datetime
    comment: str = ""


class Report(Record, frozen=True, kw_only=True):
    """One per sub-team and day. ``services`` is the sum of every device's counters."""

    collection: ClassVar[str] = "reports"
    label: ClassVar[str] = "report"

    team: str
    date: dt.date
    description: str = ""
    collaborations: list[str] = []
    services: dict[str, int] = {}


class Group(Record, frozen=True, kw_only=True):
    """A family or group: persons linked together with described relations."""

    collection: ClassVar[str] = "groups"
    label: ClassVar[str] = "group"

    persons: list[str] = []
    relations: list[str] = []  # "personA|personB|description", kept as a set


class SubTeam(Record, frozen=True, kw_only=True):
    """A sub-team or shift of the team ("équipe de nuit" has ``night_session``)."""

    collection: ClassVar[str] = "subteams"
    label: ClassVar[str] = "sub-team"

    name: str
    night_session: bool = False


class CustomFieldDefinition(Record, frozen=True, kw_only=True):
    collection: ClassVar[str] = "customFields"
    label: ClassVar[str] = "custom field"

    key: str
    label_text: str
    type: CustomFieldType
    scope: CustomFieldScope = "person"
    section: str = "Informations"
    options: list[str] = []
    enabled_teams: list[str] = []  # empty: every sub-team
    show_in_stats: bool = False
    health_only: bool = False
    required: bool = False
    allow_create_option: bool = False  # a user may add an option while filling the field
    enabled: bool = True  # a disabled field keeps its values but is not offered any more
    # scope "consultation": the consultation types it belongs to (MANO's fields per type);
    # empty: every type
    consultation_types: list[str] = []


class HistoryEntry(Record, frozen=True, kw_only=True):
    """One field change of one record, written automatically by every update."""

    collection: ClassVar[str] = "history"
    label: ClassVar[str] = "history entry"

    record_collection: str
    record_id: str
    field: str
    old: Any = None
    new: Any = None
    at: dt.datetime
    author: str | None = None
    # Audit (docs/security.md, "Audit"): the writing device (hex id) and its Ed25519 signature
    # over the entry (mano_core.audit). Empty on entries written without device keys.
    device: str = ""
    sig: str = ""


ErasureReason = Literal["request", "retention", "consent_withdrawn"]
ERASURE_REASONS: tuple[str, ...] = ErasureReason.__args__  # type: ignore[attr-defined]
ConsentScope = Literal["identity", "actions", "comments"]
CONSENT_SCOPES: tuple[str, ...] = ConsentScope.__args__  # type: ignore[attr-defined]


class Erasure(Record, frozen=True, kw_only=True):
    """A signed order to erase persons with everything about them (docs/security.md,
    "Erasure"). Holds ids only, never the erased data. ``device``/``signature`` (hex) are the
    issuing device and its Ed25519 signature over the order (mano_core.erasure.order);
    ``confirmations`` maps each device (hex) that applied it to ``"<general>:<medical>"``,
    the relay sequences by which everything it had sent before applying it was stored;
    ``purged`` maps a compartment name to the relay sequence up to which the relay dropped
    every envelope and older snapshot."""

    collection: ClassVar[str] = "erasures"
    label: ClassVar[str] = "erasure"
    persons: list[str]
    reason: ErasureReason = "request"
    issued_at: dt.datetime
    device: str = ""
    signature: str = ""
    confirmations: dict[str, str] = {}
    purged: dict[str, int] = {}


class Consent(Record, frozen=True, kw_only=True):
    """A person's recorded consent to be followed with a partner organisation in a joint team:
    required before sharing (mano_core.sharing). ``collected_by`` is the member id of the
    professional who collected it; ``shared_as`` the person's id in the joint team."""

    collection: ClassVar[str] = "consents"
    label: ClassVar[str] = "consent"
    person: str
    collected_at: dt.date
    collected_by: str
    partner_organisation: str
    scope: list[ConsentScope] = []
    joint_team: str = ""
    shared_as: str | None = None
    withdrawn_at: dt.datetime | None = None


class Share(Record, frozen=True, kw_only=True):
    """In a joint team: a person shared from an organisation's home team under a consent.
    ``shared_by`` (hex device id) may order the person's erasure here when consent is
    withdrawn, which ``signature`` (hex, by that device, mano_core.erasure.order.sign_share)
    proves; the consent's date, scope and collector are shown to every partner. A Share holds
    ids and dates only and outlives an erasure, as the record of the consent and its end."""

    collection: ClassVar[str] = "shares"
    label: ClassVar[str] = "share"
    person: str
    organisation: str
    shared_by: str
    consent: str
    scope: list[ConsentScope] = []
    consented_at: dt.date
    collected_by: str
    signature: str = ""


class PersonMerge(Record, frozen=True, kw_only=True):
    """Two files of one person merged (fusion de doublons, mano_core.document.person_merge):
    ``merged`` was folded into ``kept`` at ``mergedAt`` and tombstoned. Records that still
    name ``merged`` (a teammate's edit made meanwhile) are re-pointed to ``kept`` by every
    device that sees them. ``fingerprints`` holds, per field of the merged file (``phone``,
    ``otherNames``, ``customFields.<key>``), a keyed digest of its value when it was merged
    (never the value): a later edit of the merged file shows as a changed digest and is
    carried onto the kept one. The same id exists in the medical compartment once a health
    device did the medical part, with the medical values' digests and in ``conflicts`` the
    medical fields on which both files differed (the kept value stayed; a health
    professional chooses). ``medical``: the merging device held the medical compartment and
    did the medical part itself (other health devices wait for it instead of doing it)."""

    collection: ClassVar[str] = "personMerges"
    label: ClassVar[str] = "person merge"

    kept: str
    merged: str
    merged_at: dt.datetime
    medical: bool = False
    fingerprints: dict[str, str] = {}
    conflicts: list[str] = []


DocumentOwnerKind = Literal["person", "medicalFile", "consultation", "treatment"]
MEDICAL_OWNER_KINDS: tuple[str, ...] = ("medicalFile", "consultation", "treatment")


class Document(Record, frozen=True, kw_only=True):
    """An encrypted file (a scanned paper, a photo of a prescription) attached to a person
    (docs/data-model.md, "Documents"). The body is not in the document: it is encrypted on the
    device that attached it with ``key``, a random key held only here (so erasing the record
    forgets it), cut into ``parts`` parts of ``chunk`` plaintext bytes and stored at the relay
    as the opaque file ``file`` (hex of a random 16-byte id). ``digest`` is the SHA-256 of the
    plaintext, ``size`` its length; ``mime`` is what the attaching device sniffed (for display
    only). ``folder`` is a path of folder names joined by "/" ("" at the top). Deleting a
    document clears ``key`` and deletes the file at the relay."""

    collection: ClassVar[str] = "documents"
    label: ClassVar[str] = "document"

    person: str
    owner_kind: DocumentOwnerKind = "person"
    owner: str
    name: str
    folder: str = ""
    mime: str = ""
    size: int = 0
    file: str = ""
    key: str = ""
    parts: int = 0
    chunk: int = 0
    digest: str = ""


class HealthDocument(Document, frozen=True, kw_only=True):
    """A document attached to a medical file, a consultation or a treatment: it lives in the
    medical compartment, so its key (and with it its body) reaches health devices only."""

    collection: ClassVar[str] = "medicalDocuments"
    label: ClassVar[str] = "medical document"


# --- medical compartment ----------------------------------------------------------------------


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


GENERAL_RECORDS: tuple[type[Record], ...] = (
    Person, Action, Comment, Structure, Territory, TerritoryObservation, Place, PersonPlace,
    Encounter, Passage, Report, Group, SubTeam, CustomFieldDefinition, Erasure, Consent, Share,
    PersonMerge, Document, HistoryEntry,
)
MEDICAL_RECORDS: tuple[type[Record], ...] = (MedicalFile, Consultation, Treatment, HistoryEntry,
                                             HealthValue, MedicalComment, PersonMerge,
                                             HealthDocument)
