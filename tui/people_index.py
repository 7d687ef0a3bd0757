"""The persons list's index: folded names and aliases, filtered and paged off the UI thread.

Built once from ``team.persons.list()`` on the UI thread (the records are plain frozen
structs), then queried from a thread worker: a query touches no pycrdt object, so it may run
while the UI thread applies teammates' updates. Updated record by record on change events."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

from mano_core.document.queries import fold
from mano_core.model.records import Person

ACTIVE, OUT, ALL = "active", "out", "all"


@dataclass(frozen=True, slots=True)
class PersonQuery:
    """What the persons list asks for."""

    text: str = ""
    status: str = ACTIVE          # active, out (of the active list) or all
    subteam: str | None = None
    vulnerable: bool = False


class PersonIndex:
    """Persons with their folded search keys; thread-safe reads, UI-thread writes."""

    def __init__(self, persons: Iterable[Person] = ()) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[Person, str, str]] = {}
        self.update(persons)

    def update(self, persons: Iterable[Person]) -> None:
        """Add or replace these persons (tombstones are removed)."""
        with self._lock:
            for p in persons:
                if p.deleted_at is not None:
                    self._entries.pop(p.id, None)
                else:
                    keys = "\n".join(fold(n) for n in [p.name, *p.other_names])
                    self._entries[p.id] = (p, keys, fold(p.name))

    def remove(self, person_id: str) -> None:
        with self._lock:
            self._entries.pop(person_id, None)

    def __len__(self) -> int:
        return len(self._entries)

    def query(self, q: PersonQuery) -> list[Person]:
        """Matching persons sorted by name (accent- and case-insensitive, aliases included)."""
        needle = fold(q.text.strip())
        with self._lock:
            entries = list(self._entries.values())
        found = [
            (sort_key, p) for p, keys, sort_key in entries
            if (not needle or needle in keys)
            and (q.status == ALL or (q.status == OUT) == p.out_of_active_list)
            and (q.subteam is None or q.subteam in p.assigned_teams)
            and (not q.vulnerable or p.alertness)
        ]
        found.sort(key=lambda item: item[0])
        return [p for _k, p in found]
