"""The persons list's index: folded names, aliases and phone numbers, filtered and paged off
the UI thread.

Built once from ``team.persons.list()`` on the UI thread (the records are plain frozen
structs), then queried from a thread worker: a query touches no pycrdt object, so it may run
while the UI thread applies teammates' updates. Updated record by record on change events.

A search matches whatever the word order: every word typed must begin a word of the person's
name or other names ("karim ben" finds "BENALI Karim"), or, for digits, be part of a phone
number (spaces, dots and dashes ignored: "0611" finds "06 11 22 33 44")."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from mano_core.document.queries import fold
from mano_core.model.records import Person

ACTIVE, OUT, ALL = "active", "out", "all"
_WORDS = re.compile(r"[^\W_]+")
_DIGITS = re.compile(r"\d")


@dataclass(frozen=True, slots=True)
class PersonQuery:
    """What the persons list asks for."""

    text: str = ""
    status: str = ACTIVE          # active, out (of the active list) or all
    subteam: str | None = None
    vulnerable: bool = False

    @property
    def filtered(self) -> bool:
        """True if something besides the text narrows the list."""
        return self.status != ALL or self.subteam is not None or self.vulnerable


@dataclass(frozen=True, slots=True)
class _Entry:
    person: Person
    words: tuple[str, ...]   # folded words of the name and other names
    names: str               # folded name and other names, one per line
    phone: str               # digits only
    sort_key: str


def _entry(p: Person) -> _Entry:
    names = [fold(n) for n in [p.name, *p.other_names]]
    words = tuple(w for n in names for w in _WORDS.findall(n))
    return _Entry(p, words, "\n".join(names), "".join(_DIGITS.findall(p.phone)),
                  fold(p.name))


def _matcher(text: str) -> Callable[[_Entry], bool] | None:
    """A test for the entries the text finds; None for an empty text (everything)."""
    needle = fold(text.strip())
    if not needle:
        return None
    tokens = _WORDS.findall(needle)
    digits = "".join(_DIGITS.findall(needle))
    phone_like = bool(digits) and not re.search(r"[^\d\s.+()-]", needle)

    def matches(e: _Entry) -> bool:
        if phone_like and e.phone and digits in e.phone:
            return True
        if needle in e.names:
            return True  # a piece of a name as typed ("ali" in "benali")
        return bool(tokens) and all(any(w.startswith(tok) for w in e.words) for tok in tokens)

    return matches


class PersonIndex:
    """Persons with their folded search keys; thread-safe reads, UI-thread writes."""

    def __init__(self, persons: Iterable[Person] = ()) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self.update(persons)

    def update(self, persons: Iterable[Person]) -> None:
        """Add or replace these persons (tombstones are removed)."""
        with self._lock:
            for p in persons:
                if p.deleted_at is not None:
                    self._entries.pop(p.id, None)
                else:
                    self._entries[p.id] = _entry(p)

    def remove(self, person_id: str) -> None:
        with self._lock:
            self._entries.pop(person_id, None)

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, person_id: str) -> Person | None:
        entry = self._entries.get(person_id)
        return entry.person if entry is not None else None

    def query(self, q: PersonQuery) -> list[Person]:
        """Matching persons sorted by name (accent- and case-insensitive, aliases included,
        words in any order, phone numbers by their digits)."""
        return self.search(q)[0]

    def search(self, q: PersonQuery) -> tuple[list[Person], int]:
        """(matching persons sorted by name, how many more the text finds that the other
        filters hide): the list says when a filter hides someone looked for."""
        matches = _matcher(q.text)
        with self._lock:
            entries = list(self._entries.values())
        found: list[_Entry] = []
        hidden = 0
        for e in entries:
            if matches is not None and not matches(e):
                continue
            p = e.person
            if ((q.status == ALL or (q.status == OUT) == p.out_of_active_list)
                    and (q.subteam is None or q.subteam in p.assigned_teams)
                    and (not q.vulnerable or p.alertness)):
                found.append(e)
            else:
                hidden += 1
        found.sort(key=lambda e: (e.sort_key, e.person.id))
        return [e.person for e in found], (hidden if matches is not None else 0)

    def unfiltered(self, q: PersonQuery) -> PersonQuery:
        return replace(q, status=ALL, subteam=None, vulnerable=False)


def describe(p: Person, *, subteam_name: Callable[[str], str],
             born: Callable[[str], str], followed: Callable[[str], str],
             out: str, day: Callable[[object], str]) -> str:
    """One line that tells a person from their homonyms: name, other names, birth date,
    sub-teams, followed since, out of the active list. The texts come from the caller (the
    interface's language)."""
    parts = [p.name + (f" ({', '.join(p.other_names)})" if p.other_names else "")]
    if p.birthdate is not None:
        parts.append(born(day(p.birthdate)))
    teams = [n for n in (subteam_name(s) for s in p.assigned_teams) if n]
    if teams:
        parts.append(", ".join(teams))
    if p.followed_since is not None:
        parts.append(followed(day(p.followed_since)))
    if p.out_of_active_list:
        parts.append(out)
    return " · ".join(parts)
