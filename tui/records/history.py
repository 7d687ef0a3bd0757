"""A record's field history in words, for every detail view (the person file's history tab,
an action's detail): who changed which field (its label, not ``phone`` or ``assignedTeams``),
from what to what (dates in the interface's language and time zone, sub-teams and members by
name, statuses as shown elsewhere), and whether the writer's signature holds
(``mano_core.audit``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.widgets import DataTable

from mano_core import audit
from mano_core.audit import AuditStatus
from tui.records.build import history_label, history_value
from tui.records.values import moment_text
from tui.text import LONG_CELL_LIMIT, cell, cells

if TYPE_CHECKING:
    from tui.i18n import Translator
    from tui.session import Session

AUDIT_MARKS = {AuditStatus.VERIFIED: "audit.verified", AuditStatus.UNSIGNED: "audit.unsigned",
               AuditStatus.FORGED: "audit.forged",
               AuditStatus.UNKNOWN_DEVICE: "audit.unknown_device"}


def history_columns(t: Translator) -> list[str]:
    return [t("col.date"), t("col.author"), t("col.field"), t("col.change"), t("col.audit")]


def fill_history(session: Session, t: Translator, table: DataTable[Any], collection: str,
                 record_id: str) -> None:
    """The record's history, newest first, in words."""
    table.clear()
    for line in reversed(audit.trail(session.team, record_id)):
        # who the log says signed it when the signature holds; else who the entry claims
        who = line.member if line.status is AuditStatus.VERIFIED else line.author
        old = history_value(session, t, collection, line.field, line.old)
        new = history_value(session, t, collection, line.field, line.new)
        table.add_row(*cells(moment_text(t, line.at), session.member_name(who, t),
                             history_label(session, t, collection, line.field)),
                      cell(f"{old} → {new}", LONG_CELL_LIMIT),
                      cell(t(AUDIT_MARKS[line.status])), key=line.entry_id)
