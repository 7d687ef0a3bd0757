"""Records that a teammate's device wrote in a shape the rules forbid: shown as damaged.

Every device validates what it reads from the document, local or remote, with the same types
as a local write (``layout.decode``) and the rules that do not depend on settings
(``validation.validate_stored``). A record that fails is left out of ``list()``; ``get()``
raises DamagedRecordError (a NotFoundError: callers that skip missing records skip it too);
``damaged()`` lists it with who wrote it and when, and an admin can ``repair`` it (write
valid values over the bad ones) or ``delete`` it. One bad record never costs the others."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from mano_core.errors import DamagedRecordError, ValidationError


class Damage(msgspec.Struct, frozen=True, kw_only=True):
    """A record that fails validation. ``updated_by``/``updated_at`` are what the record
    itself claims (the member id and time of its last write), ``None`` when unreadable too."""

    collection: str
    record_id: str
    field: str
    reason: str
    updated_by: str | None = None
    updated_at: dt.datetime | None = None
    wire: dict[str, Any] = {}

    def __str__(self) -> str:
        who = self.updated_by or "?"
        when = self.updated_at.isoformat() if self.updated_at else "?"
        return (f"{self.collection} {self.record_id} is damaged ({self.field}: {self.reason}), "
                f"last written by {who} at {when}")

    def error(self) -> DamagedRecordError:
        return DamagedRecordError(self, self.collection, self.record_id)


def damage_of(collection: str, record_id: str, wire: Any, exc: Exception) -> Damage:
    """Describe why ``wire`` (whatever the document holds for that record) is not a record."""
    if isinstance(exc, ValidationError):
        field, reason = exc.field, exc.reason
    else:
        field, reason = "?", f"not a record ({type(exc).__name__})"
    fields = wire if isinstance(wire, dict) else {}
    by = fields.get("updatedBy")
    at = fields.get("updatedAt")
    try:
        when = dt.datetime.fromisoformat(at) if isinstance(at, str) else None
    except ValueError:
        when = None
    return Damage(collection=collection, record_id=record_id, field=field, reason=reason,
                  updated_by=by if isinstance(by, str) else None, updated_at=when,
                  wire=fields)
