"""The persons list's index: folded names, aliases and phone numbers, filtered and paged off
the UI thread.

Built once from ``team.persons.list()`` on the UI thread (the records are plain frozen
structs), then queried from a thread worker: a query touches no pycrdt object, so it may run
while the UI thread applies teammates' updates. Updated record by record on change events.

The entries are kept sorted by name (``_order``), each change put in its place, so that a
query filters them in order and sorts nothing: sorting the 30,000 persons of a ×10 team is
one C call that holds the GIL for ~40 ms, while the UI thread waits for it (the persons
list's worst stall at ×10 was 167 ms with 66 ms of the loop's own CPU, issue 24). The first
order is sorted in slices merged in Python (``_sorted``), which hands the GIL back.

A search matches whatever the word order: every word typed must begin a word of the person's
name or other names ("karim ben" finds "BENALI Karim"), or, for digits, be part of a phone
number (spaces, dots and dashes ignored: "0611" finds "06 11 22 33 44")."""

from __future__ import annotations

import bisect
import heapq
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from mano_core.document.queries import fold
from mano_core.model.records import Person

ACTIVE, OUT, ALL = "active", "out", "all"
_WORDS = re.compile(r"[^\W_]+")
_DIGITS = re.compile(r"\d")
SORT_SLICE = 2048   # entries sorted in one C call (the GIL held meanwhile: ~2 ms)


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
    rank: tuple[str, str]    # the list's order: folded name, then id


def _entry(p: Person) -> _Entry:
    names = [fold(n) for n in [p.name, *p.other_names]]
    words = tuple(w for n in names for w in _WORDS.findall(n))
    return _Entry(p, words, "\n".join(names), "".join(_DIGITS.findall(p.phone)),
                  (fold(p.name), p.id))


def _rank(e: _Entry) -> tuple[str, str]:
    return e.rank


def _sorted(entries: list[_Entry]) -> list[_Entry]:
    """``entries`` sorted by rank: slices of ``SORT_SLICE`` sorted, then merged in Python
    (a thread running it lets the UI thread take the GIL between two entries)."""
    runs = [sorted(entries[i:i + SORT_SLICE], key=_rank)
            for i in range(0, len(entries), SORT_SLICE)]
    return runs[0] if len(runs) == 1 else list(heapq.merge(*runs, key=_rank))


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
        self._entries = {p.id: _entry(p) for p in persons if p.deleted_at is None}
        self._order = _sorted(list(self._entries.values()))   # the entries, by rank

    def update(self, persons: Iterable[Person]) -> None:
        """Add or replace these persons (tombstones are removed)."""
        with self._lock:
            for p in persons:
                self._drop(p.id)
                if p.deleted_at is None:
                    entry = self._entries[p.id] = _entry(p)
                    bisect.insort(self._order, entry, key=_rank)

    def remove(self, person_id: str) -> None:
        with self._lock:
            self._drop(person_id)

    def _drop(self, person_id: str) -> None:
        old = self._entries.pop(person_id, None)
        if old is not None:
            at = bisect.bisect_left(self._order, old.rank, key=_rank)
            assert self._order[at] is old   # ranks are unique (the id is in them)
            del self._order[at]

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
            entries = list(self._order)
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
