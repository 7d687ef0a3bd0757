"""Search across a team's collections, as MANO's global search: accents, case and word order
ignored, phone numbers whatever their spacing.

``search(view, text, medical=None)`` returns hits in persons (name, other names, phone,
email, description), actions (name, description), comments, places, territories (name,
perimeter, description), structures (name, address, city, phone, description) and, given the
team's medical collections on a health device, consultations, treatments and medical
comments. Every word of ``text`` must appear in the record's searched text; a query of digits
also finds phone numbers written with spaces, dots or dashes. Results are at most
``MAX_SEARCH_HITS``, persons first, then by collection and label."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, Final

import msgspec

from mano_core.document.queries import fold

from .view import TeamView

MAX_SEARCH_HITS: Final = 500
_NOT_DIGIT = re.compile(r"\D+")
_PHONE = re.compile(r"[\d\s.\-+()]+")


class SearchHit(msgspec.Struct, frozen=True):
    collection: str
    id: str
    label: str  # what a list shows: a name, or the start of a comment


def _texts(collection: str) -> Callable[[Any], Iterable[str]]:
    fields = {
        "persons": ("name", "other_names", "phone", "email", "description"),
        "actions": ("name", "description"),
        "comments": ("text",),
        "places": ("name",),
        "territories": ("name", "perimeter", "description"),
        "structures": ("name", "address", "city", "phone", "description"),
        "consultations": ("name", "type"),
        "treatments": ("name", "dosage", "frequency", "indication"),
        "medicalComments": ("text",),
    }[collection]

    def texts(record: Any) -> Iterable[str]:
        for name in fields:
            value = getattr(record, name, "")
            if isinstance(value, list):
                yield from (str(v) for v in value)
            elif value:
                yield str(value)

    return texts


def _label(record: Any) -> str:
    text = str(getattr(record, "name", None) or getattr(record, "text", ""))
    return text if len(text) <= 80 else text[:79] + "…"


def search(view: TeamView, text: str, *, medical: Any = None) -> list[SearchHit]:
    """Records matching every word of ``text`` (see the module docstring)."""
    words = [fold(w) for w in text.split() if w.strip()]
    if not words:
        return []
    digits = _NOT_DIGIT.sub("", text)
    # digits with spaces, dots, dashes or a + are a phone number, however it is written
    phone_query = len(digits) >= 4 and _PHONE.fullmatch(text.strip()) is not None
    sources: list[tuple[str, Iterable[Any]]] = [
        ("persons", view.persons.list()), ("actions", view.actions.list()),
        ("comments", view.comments.list()), ("places", view.places.list()),
        ("territories", view.territories.list()), ("structures", view.structures.list())]
    if medical is not None:
        sources += [("consultations", medical.consultations.list()),
                    ("treatments", medical.treatments.list()),
                    ("medicalComments", medical.comments.list())]
    hits: list[SearchHit] = []
    for collection, records in sources:
        texts = _texts(collection)
        found = []
        for record in records:
            values = list(texts(record))
            haystack = fold(" ".join(values))
            if all(w in haystack for w in words) or (phone_query and any(
                    digits in _NOT_DIGIT.sub("", v) for v in values
                    if sum(c.isdigit() for c in v) >= len(digits))):
                found.append(SearchHit(collection, record.id, _label(record)))
        hits += sorted(found, key=lambda h: fold(h.label))
        if len(hits) >= MAX_SEARCH_HITS:
            break
    return hits[:MAX_SEARCH_HITS]
