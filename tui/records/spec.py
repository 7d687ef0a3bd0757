"""Each record type's fields, declared once: which engine fields a form asks for and a detail
view shows, in which order, and how each is entered.

A field's *kind* (text, date, yes/no, choice…) is read from the engine's record type
(``msgspec.inspect``) unless the spec says otherwise; its label is the catalog text
``rec.<record label>.<wire name>``; custom fields come from the team's definitions
(``CustomFieldDefinition``: type, options, required, section, sub-teams, health-only). Every
form and detail view is built from these specs (``tui.records.build``), so a field added here or
in the team's settings appears everywhere at once."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec.inspect as mi

from mano_core.model import records as r
from mano_core.model.validation import field_names

if TYPE_CHECKING:
    from tui.i18n import Translator
    from tui.session import Session

# Entry kinds (what widget a form uses, how a value is read and shown).
TEXT, AREA, NUMBER, DATE, MOMENT = "text", "area", "number", "date", "datetime"
CHECK, YESNO, CHOICE, MULTI = "check", "yesno", "choice", "multi"
SUBTEAMS, SUBTEAM, PERSON, MEMBERS, LIST = "subteams", "subteam", "person", "members", "list"
KINDS = (TEXT, AREA, NUMBER, DATE, MOMENT, CHECK, YESNO, CHOICE, MULTI, SUBTEAMS, SUBTEAM,
         PERSON, MEMBERS, LIST)

# A custom field's type (the engine's CustomFieldType) as an entry kind.
CUSTOM_KINDS: dict[str, str] = {
    "text": TEXT, "textarea": AREA, "number": NUMBER, "date": DATE, "date-with-time": MOMENT,
    "yes-no": YESNO, "boolean": CHECK, "enum": CHOICE, "multi-choice": MULTI,
}

_LONG = frozenset({"description", "text", "comment"})

Options = Callable[["Session", "Translator"], Sequence[tuple[str, Any]]]


@dataclass(frozen=True)
class FieldSpec:
    """One field of a record type as forms and detail views handle it.

    ``wire``: the engine's field name (camelCase); ``kind``: empty to read it from the record
    type; ``options``: (label, value) pairs for choices, computed when a form opens;
    ``required``: said next to the label (the engine checks it too); ``form``/``detail``: where
    it appears; ``hint``: a catalog key shown as the input's placeholder; ``label_by``: the
    wire name of the choice whose value picks this field's label (``<label key>.<value>`` when
    the catalog has it), as a completion date is "Faite le" or "Annulée le" by its status."""

    wire: str
    kind: str = ""
    options: Options | None = None
    required: bool = False
    form: bool = True
    detail: bool = True
    hint: str = ""
    label_by: str = ""


@dataclass(frozen=True)
class RecordSpec:
    """A record type's fields in the order a person reads them, and the scope of its custom
    fields (None: it has none)."""

    record: type[r.Record]
    fields: tuple[FieldSpec, ...]
    custom_scope: str | None = None

    @property
    def name(self) -> str:
        return self.record.label.replace(" ", "_").replace("-", "_")

    def label_key(self, wire: str) -> str:
        return f"rec.{self.name}.{wire}"

    def field(self, wire: str) -> FieldSpec:
        for f in self.fields:
            if f.wire == wire:
                return f
        raise KeyError(wire)

    def kind(self, f: FieldSpec) -> str:
        return f.kind or engine_kind(self.record, f.wire)

    def attr(self, wire: str) -> str:
        """The Python attribute of the record for a wire name (``otherNames`` → other_names)."""
        return _attrs(self.record)[wire]


@functools.cache
def _attrs(kind: type[r.Record]) -> dict[str, str]:
    return {wire: name for name, wire in field_names(kind)}


@functools.cache
def _types(kind: type[r.Record]) -> dict[str, Any]:
    info = mi.type_info(kind)
    assert isinstance(info, mi.StructType)
    return {f.encode_name: f.type for f in info.fields}


def engine_kind(kind: type[r.Record], wire: str) -> str:
    """The entry kind of an engine field, read from its type (optional types unwrapped)."""
    t = _types(kind)[wire]
    if isinstance(t, mi.UnionType):
        inner = [x for x in t.types if not isinstance(x, mi.NoneType)]
        t = inner[0] if len(inner) == 1 else t
    if isinstance(t, mi.BoolType):
        return CHECK
    if isinstance(t, mi.DateType):
        return DATE
    if isinstance(t, mi.DateTimeType):
        return MOMENT
    if isinstance(t, mi.IntType | mi.FloatType):
        return NUMBER
    if isinstance(t, mi.LiteralType):
        return CHOICE
    if isinstance(t, mi.ListType):
        return LIST
    return AREA if wire in _LONG else TEXT


def literal_options(kind: type[r.Record], wire: str) -> Options:
    """The values of a Literal-typed engine field, shown as they are (genders…)."""
    t = _types(kind)[wire]
    if isinstance(t, mi.UnionType):
        t = next(x for x in t.types if isinstance(x, mi.LiteralType))
    values = list(t.values)
    return lambda _s, _t: [(str(v), v) for v in values]


def _subteams(session: Session, _t: Translator) -> list[tuple[str, Any]]:
    return [(s.name, s.id) for s in session.subteams()]


def _out_reasons(session: Session, _t: Translator) -> list[tuple[str, Any]]:
    # the organisation's list if it set one (MANO lets it), else the engine's defaults
    values = session.team.settings.values("outOfActiveListReasons") or list(
        r.OUT_OF_ACTIVE_LIST_REASONS)
    return [(v, v) for v in values]


def _statuses(_s: Session, t: Translator) -> list[tuple[str, Any]]:
    from tui import format as fmt
    return [(fmt.status(t, v), v) for v in r.ACTION_STATUSES]


def _consultation_types(session: Session, _t: Translator) -> list[tuple[str, Any]]:
    # the team's list only: the engine refuses a type that is not in it
    return [(v, v) for v in session.team.settings.values("consultationTypes")]


def _members(session: Session, t: Translator) -> list[tuple[str, Any]]:
    return [(session.member_name(m, t), m) for m, _role, health in session.members() if health]


PERSON_SPEC = RecordSpec(r.Person, (
    FieldSpec("name", required=True),
    FieldSpec("otherNames", kind=LIST, hint="rec.hint.aliases"),
    FieldSpec("gender", options=literal_options(r.Person, "gender")),
    FieldSpec("birthdate", hint="rec.hint.date"),
    FieldSpec("phone"),
    FieldSpec("email"),
    FieldSpec("alertness"),
    FieldSpec("wanderingAt", hint="rec.hint.date"),
    FieldSpec("followedSince", hint="rec.hint.date"),
    FieldSpec("assignedTeams", kind=SUBTEAMS, options=_subteams),
    FieldSpec("description"),
    # out of the active list has its own form (a date and reasons, then back in)
    FieldSpec("outOfActiveList", form=False, detail=False),
    FieldSpec("outOfActiveListDate", form=False, detail=False, hint="rec.hint.date"),
    FieldSpec("outOfActiveListReasons", kind=MULTI, options=_out_reasons, form=False,
              detail=False),
), custom_scope="person")

OUT_OF_LIST_SPEC = RecordSpec(r.Person, (
    FieldSpec("outOfActiveListDate", required=True, hint="rec.hint.date"),
    FieldSpec("outOfActiveListReasons", kind=MULTI, options=_out_reasons),
))

COMMENT_SPEC = RecordSpec(r.Comment, (
    FieldSpec("text", required=True),
    FieldSpec("date", hint="rec.hint.moment"),
    FieldSpec("urgent"),
    FieldSpec("group"),
    FieldSpec("team", kind=SUBTEAM, options=_subteams),
))

MEDICAL_COMMENT_SPEC = RecordSpec(r.MedicalComment, (
    FieldSpec("text", required=True),
    FieldSpec("date", hint="rec.hint.moment"),
    FieldSpec("urgent"),
))

PASSAGE_SPEC = RecordSpec(r.Passage, (
    FieldSpec("date", required=True, hint="rec.hint.moment"),
    FieldSpec("team", kind=SUBTEAM, options=_subteams),
    FieldSpec("comment"),
))

ENCOUNTER_SPEC = RecordSpec(r.Encounter, (
    FieldSpec("date", required=True, hint="rec.hint.moment"),
    FieldSpec("team", kind=SUBTEAM, options=_subteams),
    FieldSpec("comment"),
))

PLACE_SPEC = RecordSpec(r.Place, (FieldSpec("name", required=True),))

CONSULTATION_SPEC = RecordSpec(r.Consultation, (
    FieldSpec("type", kind=CHOICE, options=_consultation_types, required=True),
    FieldSpec("name"),
    FieldSpec("dueAt", required=True, hint="rec.hint.moment"),
    FieldSpec("status", options=_statuses),
    FieldSpec("completedAt", hint="rec.hint.moment", label_by="status"),
    FieldSpec("onlyVisibleBy", kind=MEMBERS, options=_members),
), custom_scope="consultation")

TREATMENT_SPEC = RecordSpec(r.Treatment, (
    FieldSpec("name", required=True),
    FieldSpec("dosage"),
    FieldSpec("frequency"),
    FieldSpec("indication"),
    FieldSpec("startDate", hint="rec.hint.date"),
    FieldSpec("endDate", hint="rec.hint.date"),
))

MEDICAL_FILE_SPEC = RecordSpec(r.MedicalFile, (), custom_scope="medicalFile")

ACTION_SPEC = RecordSpec(r.Action, (
    FieldSpec("name", required=True),
    FieldSpec("dueAt", required=True, hint="rec.hint.moment"),
    FieldSpec("withTime"),
    FieldSpec("status", options=_statuses),
    FieldSpec("completedAt", hint="rec.hint.moment", label_by="status"),
    FieldSpec("teams", kind=SUBTEAMS, options=_subteams),
    FieldSpec("urgent"),
    FieldSpec("group"),
    FieldSpec("description"),
))

SPECS: dict[str, RecordSpec] = {s.record.collection: s for s in (
    PERSON_SPEC, COMMENT_SPEC, MEDICAL_COMMENT_SPEC, PASSAGE_SPEC, ENCOUNTER_SPEC, PLACE_SPEC,
    CONSULTATION_SPEC, TREATMENT_SPEC, MEDICAL_FILE_SPEC, ACTION_SPEC)}
