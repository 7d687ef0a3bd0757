"""What both parts of a merge of two persons share (mano_core.document.person_merge and its
medical part): the picks, the keyed digests, the merges in effect and where a merged person's
file is now."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final, Literal

import msgspec

from mano_core.errors import ValidationError
from mano_core.model.records import PersonMerge

if TYPE_CHECKING:
    from .collection import Collection
    from .compartments import GeneralDocument

Pick = Literal["kept", "merged", "both"]
PICKS: Final[tuple[str, ...]] = ("kept", "merged", "both")
MEDICAL_BY_PERSON: Final = ("consultations", "treatments", "medicalComments",
                            "medicalDocuments")
FILE: Final = "medicalFile."
CUSTOM: Final = "customFields."


def empty(value: Any) -> bool:
    return value is None or value is False or value == "" or value == [] or value == {}


def digest(merge_id: str, value: Any) -> str:
    # Keyed by the merge id: digests of two merges cannot be compared with each other.
    data = msgspec.json.encode(value, order="deterministic")
    return hashlib.blake2b(data, key=merge_id.encode()[:64], digest_size=12).hexdigest()


def set_digest(merge_id: str, items: Iterable[Any]) -> str:
    return " ".join(sorted({digest(merge_id, i) for i in items}))


def merges(general: GeneralDocument) -> list[PersonMerge]:
    """The merges in effect, oldest first. A person merged twice at once (two devices) keeps
    its first merge; a cycle (A into B while B into A) drops its latest merge."""
    records = sorted(general.collection(PersonMerge).list(),
                     key=lambda m: (m.merged_at, m.id))
    chosen: dict[str, PersonMerge] = {}
    for m in records:
        chosen.setdefault(m.merged, m)
    while True:
        cycle = _a_cycle(chosen)
        if not cycle:
            break
        latest = max(cycle, key=lambda m: (m.merged_at, m.id))
        del chosen[latest.merged]
    return sorted(chosen.values(), key=lambda m: (m.merged_at, m.id))


def _a_cycle(chosen: Mapping[str, PersonMerge]) -> list[PersonMerge]:
    for start in chosen:
        seen: list[str] = []
        node = start
        while node in chosen and node not in seen:
            seen.append(node)
            node = chosen[node].kept
        if node in seen:
            return [chosen[n] for n in seen[seen.index(node):]]
    return []


def redirects(general: GeneralDocument) -> dict[str, str]:
    """{merged person id: the person its file is in now} (chains followed)."""
    edges = {m.merged: m.kept for m in merges(general)}
    out: dict[str, str] = {}
    for start in edges:
        node = start
        while node in edges:
            node = edges[node]
        out[start] = node
    return out


def candidates(collection: Collection[Any], only: Mapping[str, set[str]] | None) -> list[Any]:
    """Live records to look at: all, or those of ``only`` (ids changed since the last look).
    A deleted person's medical records read as deleted but are live: read what is stored."""
    stored = collection._records()
    if only is None:
        return [r for r in stored.values() if r.deleted_at is None]
    return [r for i in only.get(collection.name, ()) if (r := stored.get(i)) is not None
            and r.deleted_at is None]


def update_leniently(collection: Collection[Any], record_id: str,
                     changes: dict[str, Any]) -> None:
    """Write ``changes``; fields the rules refuse (a value the kept file's settings do not
    allow) are left out one by one rather than losing the others."""
    while changes:
        try:
            collection.update(record_id, **changes)
            return
        except ValidationError as exc:
            field = exc.field.split(".")[0]
            if field not in changes:
                return
            del changes[field]
