"""The types around a team's document (mano_core.document.team_doc, which re-exports them):
the change events it emits, their origin, the clock it reads and the signer of its history
entries."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from mano_core.ids import Compartment
from mano_core.model.records import HistoryEntry


Clock = Callable[[], dt.datetime]


class Origin(str, enum.Enum):
    LOCAL = "local"
    REMOTE = "remote"


@dataclass(frozen=True, slots=True)
class ChangeEvent:
    """Records of one collection changed. ``origin`` tells our own edits from teammates'."""

    compartment: Compartment
    collection: str
    ids: frozenset[str]
    origin: Origin


class HistorySigner(Protocol):
    """Signs the history entries a document writes (``mano_core.audit`` provides one)."""

    @property
    def device(self) -> str:
        """The signing device's id, hex."""
        ...

    def sign(self, compartment: Compartment, entry: HistoryEntry) -> str:
        """The hex signature of ``entry`` (its ``sig`` field is ignored)."""
        ...


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
