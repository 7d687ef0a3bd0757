"""Which records a transaction changed in one collection, from pycrdt's deep events.

pycrdt's ``observe_deep`` wraps every event and converts everything it carries into Python
objects first (each new record's Map, each value, recursively): one Python object per nested
change, ~11 µs a new record, a tenth of a teammate's delivery (issue 24), for a listener that
only needs each changed record's id. So the collection's shared Map is observed at pycrdt's own
level (``integrated.observe_deep``, as pycrdt's wrapper does it), and an event is read only as
far as the id: the keys of the collection's Map (new, changed or deleted records), or, for a
change inside a record, that record's ``"_"`` entry (its id, see layout.py) read in the
transaction pycrdt hands the callback, as its own wrapper reads it. An exception in the
listener is raised at the end of the transaction, as pycrdt does for its observers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pycrdt import Doc, Map
from pycrdt._pycrdt import Map as _RawMap


def observe_records(doc: Doc[Any], shared: Map[Any],
                    listener: Callable[[set[str]], None]) -> Any:
    """Call ``listener`` with the ids of the records of ``shared`` (a collection's Map) each
    transaction changed; returns the subscription (``drop()`` ends it)."""

    def on_events(events: list[Any]) -> None:
        try:
            listener(changed_ids(doc, events))
        except Exception as exc:  # noqa: BLE001 - raised by pycrdt at the transaction's end
            doc._exceptions.append(exc)

    return shared.integrated.observe_deep(on_events)


def changed_ids(doc: Doc[Any], events: list[Any]) -> set[str]:
    """The record ids pycrdt's raw deep ``events`` of a collection's Map name."""
    ids: set[str] = set()
    with doc._read_transaction(events[0].transaction):
        for event in events:
            path = event.path
            if not path:
                ids.update(map(str, event.keys))
                continue
            # A record's own "id" entry names it: event paths of pycrdt 0.14 were seen naming
            # the wrong record after out-of-order updates.
            target = event.target
            base = Map(_integrated=target, _doc=doc).get("_") \
                if isinstance(target, _RawMap) else None
            record_id = base.get("id") if isinstance(base, dict) else None
            ids.add(str(record_id if record_id is not None else path[0]))
    return ids
