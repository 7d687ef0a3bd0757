"""What rides along a MANO record: its "created" entry and MANO's own history of it, its
documents (counted: the export has no files), the comments MANO keeps inside a consultation,
treatment or medical file (our medical comments)."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from mano_core.document import layout
from mano_core.document.queries import fold
from mano_core.errors import ValidationError
from mano_core.ids import Compartment
from mano_core.model import records as r
from mano_core.model.validation import validate
from mano_core.reporting.problems import ImportCode, NoticeCode

from . import cells, history
from .columns import BY_COLLECTION
from .links import is_uuid
from .members import member
from .plan import IDS_NAMESPACE, Plan
from .result import cell_problem, invalid
from .vocabulary import (
    MEDICAL_SHEETS,
)
from .workbook import Sheet


def ride_along(plan: Plan, collection: str, record: r.Record, extras: dict[str, Any],
               sheet: Sheet, number: int) -> None:
    """History, documents and embedded comments that came with a record."""
    medical = collection in MEDICAL_SHEETS
    compartment = Compartment.MEDICAL if medical else Compartment.GENERAL
    plan.history[compartment].append(r.HistoryEntry(
        id=str(uuid.uuid4()), created_at=record.created_at, updated_at=record.created_at,
        created_by=record.created_by, updated_by=record.created_by,
        record_collection=collection, record_id=record.id, field="created",
        at=record.created_at, author=record.created_by))
    raw = extras.get("history")
    if raw:
        fields = plan.fields
        custom = {k[1]: c.definition.key for k, c in fields.items()}

        def field_name(mano: str) -> str | None:
            key = custom.get(fold(mano))
            if key is not None:
                return f"customFields.{key}"
            for col in BY_COLLECTION[collection]:
                if mano in col.mano and col.kind not in ("json", "display"):
                    return col.field
            return mano

        try:
            found = history.entries(collection, record.id, raw, field_name=field_name,
                                    member=lambda m: member(plan, m))
        except cells.CellError as exc:
            plan.problems.append(cell_problem(sheet.title, number, "history", exc))
            found = []
        health = {f"customFields.{c.definition.key}" for c in fields.values()
                  if c.definition.scope == "person" and c.definition.health_only}
        for entry in found:
            if entry.field in health:  # health data: medical history, or not at all
                if plan.medical:
                    plan.history[Compartment.MEDICAL].append(entry)
            else:
                plan.history[compartment].append(entry)
    documents = extras.get("documents")
    if isinstance(documents, list) and documents:
        plan.notice(NoticeCode.DOCUMENTS_NOT_IMPORTED, len(documents))
    comments = extras.get("comments")
    if isinstance(comments, list) and comments and medical:
        try:
            plan.records.setdefault("medicalComments", []).extend(
                _medical_comments(plan, collection, record, comments))
        except cells.CellError as exc:
            plan.problems.append(cell_problem(sheet.title, number, "comments", exc))
        except ValidationError as exc:
            plan.problems.append(invalid(sheet.title, number, "comments", exc.code,
                                         exc.params))


def _medical_comments(plan: Plan, collection: str, parent: r.Record,
                      raw: list[Any]) -> list[r.MedicalComment]:
    """The comments MANO keeps inside a consultation, treatment or medical file, as our
    medical comments (each its own record, in the medical compartment)."""
    person = getattr(parent, "person", "")
    out = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            raise cells.CellError(ImportCode.BAD_COMMENT)
        given = str(item.get("_id") or "")
        comment_id = given if is_uuid(given) else str(
            uuid.uuid5(IDS_NAMESPACE, f"comment/{parent.id}/{index}"))
        when = cells.instant(item.get("date") or item.get("createdAt")
                             or msgspec.to_builtins(parent.created_at))
        author = member(plan, str(item["user"])) if item.get("user") else parent.created_by
        wire = {"id": comment_id, "createdAt": msgspec.to_builtins(when),
                "updatedAt": msgspec.to_builtins(when), "createdBy": author,
                "updatedBy": author, "person": person, "text": cells.text(item.get("comment")),
                "date": msgspec.to_builtins(when), "urgent": bool(item.get("urgent")),
                "team": str(item["team"]) if item.get("team") else None,
                "consultation": parent.id if collection == "consultations" else None,
                "treatment": parent.id if collection == "treatments" else None}
        record = layout.decode(r.MedicalComment, wire)
        validate(record, [])
        assert isinstance(record, r.MedicalComment)
        out.append(record)
    return out
