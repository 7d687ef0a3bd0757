"""A remote update's read (dependencies, bounds, and for a large one into an empty document the
role screening's index of it alone), and one such read done ahead of its merge (issue 24: a new
device's first sync reads the downloaded snapshot's state on the loop while the snapshot's
signature is still being checked in a worker thread, mano_core.sync.snapshot). The merge of
those very bytes (the same object) takes the read instead of reading them again; any other
merge reads as before. Nothing read ahead is used unless the merge happens, and the merge
happens only once the signature and decryption are good (docs/security.md)."""

from __future__ import annotations

import threading

from mano_core.rules.touch import GuardedIndex

from .ydeps import MEMO_MAX_UPDATE, UpdateDeps, read_deps, read_into

Read = tuple[UpdateDeps, GuardedIndex | None]


class _Slot(threading.local):
    ahead: tuple[bytes, Read] | None = None


_slot = _Slot()


def read_remote(update: bytes, indexing: bool) -> Read:
    """(dependencies, the role screening's index of the update alone when ``indexing`` and
    it is large, else None). MalformedUpdateError for bytes that are not a bounded update.
    An update read ahead (``read_ahead``) is taken, once."""
    ahead, _slot.ahead = _slot.ahead, None
    if ahead is not None and ahead[0] is update:
        deps, fresh = ahead[1]
        return deps, fresh if indexing else None
    if indexing and len(update) > MEMO_MAX_UPDATE:
        fresh = GuardedIndex()
        marked = read_into(update, fresh)
        if marked is not None:
            fresh.close(update, marked)  # what the one pass could not mark
            return marked, fresh
    return read_deps(update), None


def read_ahead(update: bytes) -> None:
    """Read ``update`` now for the merge of these very bytes to come (a state into an empty
    document: with its index). A refused update keeps nothing: the merge reads it again and
    refuses it there, as without this."""
    forget()
    _slot.ahead = (update, read_remote(update, True))


def forget() -> None:
    """Drop a read done ahead that no merge took (the snapshot was refused, or not merged)."""
    _slot.ahead = None
