"""Forms and detail views made from a record spec (``tui.records.spec``) and the team's custom
fields, never written screen by screen.

    fields = form_fields(PERSON_SPEC, session, t, person)          # the FormScreen's fields
    changes = record_changes(PERSON_SPEC, values, person)          # engine fields to write
    rows = detail_rows(PERSON_SPEC, session, t, person)            # (section, label, value)

Custom fields are those the engine says apply (``Team.custom_fields_for``: live, enabled for
the record's sub-teams, health-only ones on health devices only), grouped by their section.
A consultation's fields are those of its type (``CustomFieldDefinition.consultation_types``),
plus those of every type."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mano_core.model.records import CustomFieldDefinition, Record

from . import spec as k
from .spec import FieldSpec, RecordSpec
from .values import EntryError, from_input, show, to_custom, to_input

if TYPE_CHECKING:
    from tui.i18n import Translator
    from tui.session import Session
    from tui.widgets.forms import Field

CUSTOM = "custom."  # form field names of custom fields: custom.<key>

# An entry kind as the form's widget kind.
_WIDGETS = {k.TEXT: "text", k.NUMBER: "text", k.DATE: "text", k.MOMENT: "text",
            k.LIST: "text", k.AREA: "area", k.CHECK: "check", k.YESNO: "yesno",
            k.CHOICE: "select", k.SUBTEAM: "select", k.MULTI: "multi", k.SUBTEAMS: "multi",
            k.MEMBERS: "multi", k.PERSON: "person"}


def _parser(kind: str, required: bool) -> Any:
    def parse(raw: Any) -> Any:
        if kind == k.LIST:
            return [x.strip() for x in str(raw or "").split(",") if x.strip()]
        value = from_input(kind, raw)
        if required and (value is None or value == "" or value == []):
            raise EntryError("required")
        return value
    return parse


def _list_input(value: Any) -> str:
    return ", ".join(str(v) for v in value) if isinstance(value, list) else ""


def label(spec: RecordSpec, t: Translator, wire: str) -> str:
    """A field's label in the interface's language (``rec.person.otherNames``…)."""
    return t.get(spec.label_key(wire), wire)


def custom_definitions(spec: RecordSpec, session: Session, teams: Iterable[str] = (),
                       record: Record | None = None) -> list[CustomFieldDefinition]:
    """The custom fields a record of ``spec`` shows and asks for, in reading order (sections in
    the order their first field was created)."""
    if spec.custom_scope is None:
        return []
    found = session.team.custom_fields_for(spec.custom_scope, teams)
    if spec.custom_scope == "consultation":  # the fields of its type, and those of all
        kind = getattr(record, "type", None)
        found = [d for d in found if not d.consultation_types or kind in d.consultation_types]
    found.sort(key=lambda d: (d.created_at, d.key))
    order: dict[str, int] = {}
    for d in found:
        order.setdefault(d.section, len(order))
    return sorted(found, key=lambda d: order[d.section])


def custom_kind(d: CustomFieldDefinition) -> str:
    return k.CUSTOM_KINDS.get(d.type, k.TEXT)


def _yes_no(t: Translator) -> list[tuple[str, Any]]:
    return [(t("value.yes"), True), (t("value.no"), False)]


def labels_by(spec: RecordSpec, t: Translator, f: FieldSpec, value: Any) -> str:
    """``f``'s label when the choice it follows (``f.label_by``) holds ``value``: "Annulée
    le" for a cancelled one's completion date; its own label when the catalog has none."""
    key = f"{spec.label_key(f.wire)}.{value}"
    return t(key) if t.has(key) else label(spec, t, f.wire)


def _labels_by(spec: RecordSpec, session: Session, t: Translator,
               f: FieldSpec) -> tuple[str, dict[Any, str]] | None:
    if not f.label_by:
        return None
    chooser = spec.field(f.label_by)
    values = [v for _label, v in chooser.options(session, t)] if chooser.options else []
    return f.label_by, {v: labels_by(spec, t, f, v) for v in values}


def form_fields(spec: RecordSpec, session: Session, t: Translator,
                record: Record | None = None, *, defaults: Mapping[str, Any] | None = None,
                only: Sequence[str] | None = None, teams: Iterable[str] | None = None,
                custom: bool = True) -> list[Field]:
    """The form's fields for a new record (``defaults`` by wire name) or ``record``: the
    spec's form fields (``only``: these wire names, in this order), then the custom fields
    that apply to ``teams`` (default: the record's sub-teams, else the current one)."""
    from tui.widgets.forms import Field
    defaults = defaults or {}
    chosen: list[FieldSpec] = ([spec.field(w) for w in only] if only is not None
                               else [f for f in spec.fields if f.form])
    out: list[Field] = []
    for f in chosen:
        kind = spec.kind(f)
        value = (getattr(record, spec.attr(f.wire)) if record is not None
                 else defaults.get(f.wire))
        options: Sequence[tuple[str, Any]] = ()
        if f.options is not None:
            options = f.options(session, t)
        elif kind == k.YESNO:
            options = _yes_no(t)
        out.append(Field(
            f.wire, label(spec, t, f.wire), kind=_WIDGETS[kind],
            value=_list_input(value) if kind == k.LIST else to_input(kind, value),
            options=options, placeholder=t(f.hint) if f.hint else "", wire=(f.wire,),
            parse=_parser(kind, f.required), required=f.required,
            labels=_labels_by(spec, session, t, f)))
    if custom and spec.custom_scope is not None:
        if teams is None:
            held = getattr(record, "assigned_teams", None) or getattr(record, "teams", None)
            teams = held or ([session.subteam] if session.subteam else [])
        values = getattr(record, "custom_fields", {}) if record is not None else {}
        for d in custom_definitions(spec, session, teams, record):
            kind = custom_kind(d)
            options = ([(o, o) for o in d.options] if kind in (k.CHOICE, k.MULTI)
                       else _yes_no(t) if kind == k.YESNO else [])
            raw = values.get(d.key)
            out.append(Field(
                CUSTOM + d.key, d.label_text, kind=_WIDGETS[kind], value=to_input(kind, raw),
                options=options, wire=(f"customFields.{d.key}",),
                placeholder=(t("rec.hint.date") if kind == k.DATE else
                             t("rec.hint.moment") if kind == k.MOMENT else ""),
                parse=_custom_parser(kind, d.required), section=d.section,
                required=d.required))
    return out


def _custom_parser(kind: str, required: bool) -> Any:
    inner = _parser(kind, required)
    return lambda raw: to_custom(kind, inner(raw))


def record_changes(spec: RecordSpec, values: Mapping[str, Any],
                   record: Record | None = None) -> dict[str, Any]:
    """The engine fields (Python names) to write from a form's values: all of them for a new
    record, only those that changed for ``record``. Custom fields are merged into the
    record's ``custom_fields`` (those the form did not show are kept as they are)."""
    out: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for name, value in values.items():
        if name.startswith(CUSTOM):
            custom[name[len(CUSTOM):]] = value
            continue
        try:
            attr = spec.attr(name)
        except KeyError:
            continue  # a field of the form that is no engine field (the caller reads it)
        if record is None or getattr(record, attr) != value:
            out[attr] = value
    if custom:
        before: dict[str, Any] = dict(getattr(record, "custom_fields", {}) or {})
        merged = dict(before)
        for key, value in custom.items():
            if value is None and key not in before:
                continue
            merged[key] = value
        if record is None:
            merged = {key: v for key, v in merged.items() if v is not None}
            if merged:
                out["custom_fields"] = merged
        elif merged != before:
            out["custom_fields"] = merged
    return out


def detail_rows(spec: RecordSpec, session: Session, t: Translator, record: Record, *,
                teams: Iterable[str] | None = None, skip: Iterable[str] = (),
                empty: bool = True) -> list[tuple[str, str, str]]:
    """(section, label, value) of every detail field of ``record`` then of its custom fields
    (section "" for the record's own fields); values in full, in the interface's words.
    ``empty``: keep fields without a value (shown ``—``)."""
    skipped = set(skip)
    rows: list[tuple[str, str, str]] = []
    for f in spec.fields:
        if not f.detail or f.wire in skipped:
            continue
        kind = spec.kind(f)
        value = getattr(record, spec.attr(f.wire))
        text = show(kind, value, session, t)
        if empty or text != "—":
            rows.append(("", label(spec, t, f.wire), text))
    if spec.custom_scope is not None:
        if teams is None:
            teams = getattr(record, "assigned_teams", None) or getattr(record, "teams", [])
        values = getattr(record, "custom_fields", {}) or {}
        stale = session.team.stale_custom_fields(record)
        for d in custom_definitions(spec, session, teams, record):
            text = show(custom_kind(d), values.get(d.key), session, t)
            if d.key in stale:
                text = t("value.stale", value=text)
            if empty or text != "—":
                rows.append((d.section, d.label_text, text))
    return rows


def history_label(session: Session, t: Translator, collection: str, field: str) -> str:
    """A history entry's field in words: the record type's label for its own fields, the
    custom field's label for ``customFields.<key>``."""
    if field.startswith("customFields.") or field.startswith("customFields"):
        key = field.partition(".")[2]
        for d in session.team.custom_fields.list():
            if d.key == key:
                return d.label_text
        return key or field
    spec = k.SPECS.get(collection)
    if spec is not None and t.has(spec.label_key(field)):
        return t(spec.label_key(field))
    return t.get(f"rec.any.{field}", field)


def history_value(session: Session, t: Translator, collection: str, field: str,
                  value: Any) -> str:
    """A history entry's old or new value in words (dates in the interface's language,
    sub-teams and members by name, statuses as shown elsewhere)."""
    if value is None or value == "" or value == []:
        return "—"
    if field.startswith("customFields"):
        key = field.partition(".")[2]
        for d in session.team.custom_fields.list():
            if d.key == key:
                return show(custom_kind(d), value, session, t)
        return show(k.TEXT, value, session, t)
    spec = k.SPECS.get(collection)
    kind = k.TEXT
    if spec is not None:
        try:
            f = spec.field(field)
            kind = spec.kind(f)
        except KeyError:
            try:
                kind = k.engine_kind(spec.record, field)
            except KeyError:
                kind = k.TEXT
    if field == "status":
        from tui import format as fmt
        return fmt.status(t, str(value))
    if kind in (k.DATE, k.MOMENT) and isinstance(value, str):
        return show(kind, value, session, t)
    if kind == k.LIST and isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return show(kind, value, session, t)
