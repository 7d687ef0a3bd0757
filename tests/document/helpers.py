"""Replicas of a team document exchanging updates in memory (like h11's ConnectionPair)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from mano_core.document.compartments import GeneralDocument
from mano_core.model.records import Record

T0 = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.timezone.utc)


class Clock:
    """A deterministic clock advancing one second per reading."""

    def __init__(self, start: dt.datetime = T0) -> None:
        self.t = start

    def __call__(self) -> dt.datetime:
        self.t += dt.timedelta(seconds=1)
        return self.t


def replica(member: str, client_id: int) -> GeneralDocument:
    return GeneralDocument(author=member, client_id=client_id, clock=Clock())


def exchange(*docs: GeneralDocument) -> None:
    """Every replica sends its pending updates to every other one."""
    outgoing = [(d, d.drain_updates()) for d in docs]
    for sender, updates in outgoing:
        for receiver in docs:
            if receiver is not sender:
                for update in updates:
                    receiver.apply_update(update)


def domain_state(doc: GeneralDocument) -> dict[str, Any]:
    """The whole domain content, compared across replicas (never compare encoded bytes)."""
    state: dict[str, Any] = {}
    for name, coll in doc.collections.items():
        state[name] = {rec.id: json.loads(json.dumps(
            __import__("msgspec").to_builtins(rec), sort_keys=True))
            for rec in coll.list(include_deleted=True)}
    state["settings"] = {k: doc.settings.values(k) for k in
                         ("actionCategories", "services")}
    return state


def fresh(state: bytes) -> GeneralDocument:
    """A second member's document opened from ``state``."""
    return GeneralDocument(author="member-b", state=[state])


def by_id(records: list[Record]) -> dict[str, Record]:
    return {r.id: r for r in records}
