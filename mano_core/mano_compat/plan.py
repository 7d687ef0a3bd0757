"""The plan of an import of MANO's files: everything read so far (records, history, fields,
list values, members, known ids and names, problems, notices), nothing written."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Final

from mano_core.ids import Compartment
from mano_core.model import records as r
from mano_core.reporting.problems import NoticeCode
from mano_core.team import Team

from .customs import FieldChoice
from .result import Problem, SheetReport

Progress = Callable[[int, int], None]


IDS_NAMESPACE: Final = uuid.UUID("1b6f8f6c-6a8e-4c55-9a57-3f1f0a0d6d2e")


class Plan:
    """Everything an import has read so far; nothing of it is written until apply."""
    def __init__(self, team: Team, medical: bool, now: dt.datetime, author: str) -> None:
        self.team = team
        self.medical = medical
        self.now = now
        self.author = author
        self.records: dict[str, list[r.Record]] = {}
        self.present: dict[str, int] = {}
        self.history: dict[Compartment, list[r.HistoryEntry]] = {
            Compartment.GENERAL: [], Compartment.MEDICAL: []}
        self.problems: list[Problem] = []
        self.notices: dict[tuple[NoticeCode, str, str], int] = {}
        self.fields: dict[tuple[str, str], FieldChoice] = {}
        self.settings_added: dict[str, list[str]] = {}
        self.members: dict[str, str] = {}  # MANO user id → name
        self.member_ids: dict[str, str] = {}  # MANO user id → our member id
        self.known: dict[str, set[str]] = {}  # collection → ids (team's and the file's)
        self.by_name: dict[str, dict[str, str | None]] = {}  # collection → folded name → id
        self.sheets: list[SheetReport] = []
        self.health_dropped = 0
        self.file_ids: dict[str, set[str]] = {}  # collection → ids met in the file
        self.file_definitions: list[r.CustomFieldDefinition] = []  # "champs personnalisés"

    def in_file(self, collection: str) -> set[str]:
        return self.file_ids.setdefault(collection, set())

    def notice(self, code: NoticeCode, count: int = 1, *, value: str = "",
               what: str = "") -> None:
        key = (code, value, what)
        self.notices[key] = self.notices.get(key, 0) + count

    def list_values(self, kind: str) -> list[str]:
        return [*self.team.settings.values(kind), *self.settings_added.get(kind, [])]

    def add_values(self, kind: str, values: list[str]) -> None:
        current = set(self.list_values(kind))
        for value in values:
            if value not in current:
                self.settings_added.setdefault(kind, []).append(value)
                current.add(value)
