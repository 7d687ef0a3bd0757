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

from mano_core.model.medical_records import (
    Consultation,
    HealthValue,
    MedicalComment,
    MedicalFile,
    Treatment,
)
from mano_core.model.record_base import (
    ACTION_STATUSES,
    ATMOSPHERES,
    CANCELLED,
    CUSTOM_FIELD_TYPES,
    DONE,
    GENDERS,
    OUT_OF_ACTIVE_LIST_REASONS,
    TO_DO,
    ActionStatus,
    Atmosphere,
    ConsultationStatus,
    CustomFieldScope,
    CustomFieldType,
    Gender,
    Record,
)

# The record types and value sets of every compartment, one import for callers (the base and
# the medical records live in record_base.py and medical_records.py).
__all__ = [
    "ACTION_STATUSES", "ATMOSPHERES", "CANCELLED", "CONSENT_SCOPES", "CUSTOM_FIELD_TYPES", "DONE",
    "ERASURE_REASONS", "GENDERS", "GENERAL_RECORDS", "MEDICAL_OWNER_KINDS", "MEDICAL_RECORDS",
    "OUT_OF_ACTIVE_LIST_REASONS", "TO_DO", "Action", "ActionStatus", "Atmosphere", "Comment",
    "Consent", "ConsentScope", "Consultation", "ConsultationStatus", "CustomFieldDefinition",
    "CustomFieldScope", "CustomFieldType", "Document", "DocumentOwnerKind", "Encounter", "Erasure",
    "ErasureReason", "Gender", "Group", "HealthDocument", "HealthValue", "HistoryEntry",
    "MedicalComment", "MedicalFile", "Passage", "Person", "PersonMerge", "PersonPlace", "Place",
    "Record", "Report", "Share", "Structure", "SubTeam", "Territory", "TerritoryObservation",
    "Treatment",
]


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



GENERAL_RECORDS: tuple[type[Record], ...] = (
    Person, Action, Comment, Structure, Territory, TerritoryObservation, Place, PersonPlace,
    Encounter, Passage, Report, Group, SubTeam, CustomFieldDefinition, Erasure, Consent, Share,
    PersonMerge, Document, HistoryEntry,
)
MEDICAL_RECORDS: tuple[type[Record], ...] = (MedicalFile, Consultation, Treatment, HistoryEntry,
                                             HealthValue, MedicalComment, PersonMerge,
                                             HealthDocument)
