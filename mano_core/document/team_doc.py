"""The core of a team's documents (the general and medical ones: mano_core.document.compartments).

Both are sans-I/O: local edits produce binary pycrdt updates (``drain_updates``) that the caller
persists and sends; remote updates come in through ``apply_update``. Every change, local or
remote, becomes a typed ChangeEvent. The merging of remote updates (parking, the kept state
vector, one transaction per delivery) is remote_merge.py's."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import msgspec
from pycrdt import Doc, Map, TransactionEvent

from mano_core.ids import Compartment
from mano_core.model.records import CustomFieldDefinition, HistoryEntry, Record

from mano_core.rules.touch import GuardedIndex

from .collection import Collection
from .deep_events import observe_records
from .layout import to_wire
from .pieces import applying
from .queries import QUERY_COLLECTIONS
from .remote_merge import RemoteMerges
from .ydeps import UpdateDeps, read_deps, read_state_vector
from .change_types import ChangeEvent, Clock, HistorySigner, Origin, utc_now

if TYPE_CHECKING:
    from mano_core.guarded_build import Backlog

__all__ = ["ChangeEvent", "Clock", "DocumentCore", "HistorySigner", "Origin"]


class DocumentCore(RemoteMerges):
    """One pycrdt document with its collections, update capture and change tracking (its
    teammates' updates merged: mano_core.document.remote_merge)."""

    def __init__(self, compartment: Compartment, kinds: Iterable[type[Record]], *,
                 author: str | None, clock: Clock | None = None,
                 client_id: int | None = None,
                 custom_fields: Callable[[], list[CustomFieldDefinition]] | None = None,
                 state: Iterable[bytes] = (), updates: Iterable[bytes] = (),
                 doc: Doc[Any] | None = None) -> None:
        """``doc``: a document already holding the stored snapshot (mano_core.team applies it
        piece by piece first, handing the event loop back: mano_core.document.pieces), else a
        new one; ``state``: whole states (stored snapshots, plain or in pieces), applied as
        they are; ``updates``: the
        stored updates after it, which may include teammates' updates still waiting for their
        dependencies (compaction stores them again): those are parked again, not handed to
        pycrdt's own pending buffer. Both are loaded before observing: no events for them."""
        self.compartment = compartment
        if doc is None:
            doc = Doc(client_id=client_id) if client_id is not None else Doc()
        self.doc: Doc[Any] = doc
        for stored in state:
            for _done in applying(self.doc, stored):
                pass
        self._parked: list[tuple[bytes, UpdateDeps, float]] = []
        # The state vector as of ``revision`` (``state_vector``), kept from what each merge
        # integrated instead of pycrdt's encoding of it read back (a varint pair per client).
        self._vector: tuple[int, dict[int, int]] | None = None
        vector = read_state_vector(self.doc.get_state())
        for update in updates:
            vector = self._integrate(update, read_deps(update), self.doc.apply_update, vector)
        self.author = author
        # Set by mano_core.audit.bind when the team has this device's keys: history entries
        # are then signed; without it they are written unsigned (local-only teams).
        self.signer: HistorySigner | None = None
        self._clock = clock or utc_now
        self._custom_fields = custom_fields
        self._pending: list[bytes] = []
        self._guarded: GuardedIndex | None = None
        self._guard_backlog: Backlog | None = None  # while it is built off the loop
        self._remote = False
        # What the last remote transaction integrated, as one update (its TransactionEvent's,
        # which pycrdt encodes for the observer anyway), and the updates it parked instead:
        # what a delivery stores (``take_integrated``).
        self._capture = False
        self._txn_apply: Callable[[bytes], None] | None = None  # see apply_remote_groups
        self._integrated: bytes = b""
        self._newly_parked: list[bytes] = []
        # Transactions that changed the document (an encoding of it taken at one revision is
        # its state as long as the revision is the same: mano_core.sync.snapshot_policy).
        self.revision = 0
        self._vector = (0, vector)  # (nothing observed the loads above: revision 0 is them)
        self._encoded: tuple[int, bytes] | None = None  # (revision, state): encode_state
        self._empty = True  # until the document is seen holding something (``empty``)
        self._changes: dict[str, set[str]] = {}
        self.collections: dict[str, Collection[Any]] = {}
        for kind in kinds:
            cls = QUERY_COLLECTIONS.get(kind.collection, Collection)
            self.collections[kind.collection] = cls(self, kind)
        self._history_map: Map[Any] = self.doc.get("history", type=Map)
        self._txn_sub: Any = self.doc.observe(self._on_transaction)
        self._deep: dict[str, Any] = {}  # collection name -> its deep observer's subscription
        self._released = False  # release(): its subscriptions dropped for good
        self._observe_collections()

    def _observe_collections(self) -> None:
        for name, collection in self.collections.items():
            self._deep[name] = observe_records(self.doc, collection._map, self._observer(name))

    def _unobserve_collections(self) -> None:
        for subscription in self._deep.values():
            subscription.drop()
        self._deep = {}

    def release(self) -> None:
        """Drop this document's pycrdt subscriptions (its team's store closed). pycrdt holds
        each observer callback from Rust, out of sight of Python's collector, and the
        callbacks hold this document: without this, a document and every record decoded
        from it stay in memory for the life of the process (a MANO-scale team ~0.2 GB, ×10
        ~1.6 GB; every later full collection walks its records). Changes are no longer
        tracked afterwards. Idempotent."""
        self._released = True
        self._encoded = None   # (encode_state: its revision is no longer counted)
        self._unobserve_collections()
        if self._txn_sub is not None:
            self.doc.unobserve(self._txn_sub)
            self._txn_sub = None

    def rebind(self, doc: Doc[Any], listed: dict[str, set[str]] | None = None) -> None:
        """Move this (empty) core and its collections onto ``doc``, a document built apart
        (a received version-2 snapshot: mano_core.sync.snapshot_adopt), and list every record
        of ``doc`` as changed (the listeners' events, the collections' caches). What is bound
        to the pycrdt document is moved: its subscriptions, one root ``Map`` per collection,
        the history and the settings; the role-screening index and the kept state vector are
        the empty document's, so they are dropped (built, read again from ``doc``).
        ``listed``: ``doc``'s record ids by collection, read before (``records_of``)."""
        self._unobserve_collections()
        if self._txn_sub is not None:
            self.doc.unobserve(self._txn_sub)
            self._txn_sub = None
        self.doc = doc
        self._history_map = doc.get("history", type=Map)
        for collection in self.collections.values():
            collection._map = doc.get(collection.name, type=Map)
        settings = getattr(self, "settings", None)
        if settings is not None and settings._core is self:  # (the medical one: the general's)
            settings._map = doc.get("settings", type=Map)
        self._guarded = None
        self._guard_backlog = None
        self.revision += 1
        self._vector = None
        self._encoded = None
        self._empty = True  # (asked again: ``empty`` reads the state vector)
        if not self._released:
            self._txn_sub = doc.observe(self._on_transaction)
            self._observe_collections()
        self.list_all_changed(listed)

    # --- clock, author, settings hooks ---------------------------------------------------------

    def now(self) -> dt.datetime:
        return self._clock()

    def now_ms(self) -> float:
        return self._clock().timestamp() * 1000

    def custom_field_definitions(self) -> list[CustomFieldDefinition]:
        return self._custom_fields() if self._custom_fields else []

    def mark_settings_changed(self) -> None:
        self._changes.setdefault("settings", set()).add("settings")

    def write_history(self, collection: str, record_id: str, field: str, old: Any,
                      new: Any) -> None:
        """Append one history entry (called inside the writer's transaction), signed when a
        ``signer`` is set."""
        now = self.now()
        signer = self.signer
        entry = HistoryEntry(id=str(uuid.uuid4()), created_at=now, updated_at=now,
                             created_by=self.author, updated_by=self.author,
                             record_collection=collection, record_id=record_id, field=field,
                             old=old, new=new, at=now, author=self.author,
                             device=signer.device if signer is not None else "")
        if signer is not None:
            entry = msgspec.structs.replace(entry, sig=signer.sign(self.compartment, entry))
        self._history_map[entry.id] = to_wire(entry)

    # --- updates in and out --------------------------------------------------------------------

    def drain_updates(self) -> list[bytes]:
        """The binary updates of local edits since the last call, oldest first."""
        pending, self._pending = self._pending, []
        return pending

    def records_of(self, doc: Doc[Any]) -> dict[str, set[str]]:
        """The record ids ``doc`` holds, by collection of this document (read from its root
        maps: ``Map.keys()``, ~40 ms at MANO scale, which ``rebind`` can be handed)."""
        return {name: set(map(str, doc.get(name, type=Map).keys()))
                for name in self.collections}

    def list_all_changed(self, listed: dict[str, set[str]] | None = None) -> None:
        """Every record listed as changed: a whole state merged into an empty document
        (``listed``: its ids, ``records_of`` that state; else read from the maps)."""
        for name, collection in self.collections.items():
            ids = set(map(str, collection._map.keys())) if listed is None else listed[name]
            if ids:
                collection.mark_dirty(ids)
                self._changes.setdefault(name, set()).update(ids)
                if name == "customFields":
                    self.mark_settings_changed()

    @property
    def empty(self) -> bool:
        """Whether the document holds nothing yet (a new device's, before its first sync).
        Asked at each delivery: its state vector is encoded only while it is empty (one byte
        then), never again once it held something (a Yjs document never loses a client's
        clock: deleted content stays as deletions), instead of the whole vector each time."""
        if self._empty:
            self._empty = self.doc.get_state() == b"\x00"
        return self._empty

    def encode_state(self) -> bytes:
        """The whole document as one update (a snapshot). pycrdt encodes it in one call
        holding the GIL (80–130 ms at MANO scale, ~1 s at ×10, whatever the thread: issue 24),
        so the encoding is kept while the document does not change (``revision``): a
        compaction, the snapshot policy's size and the upload that follow one another at the
        end of a catch-up take one encoding instead of three. Dropped at the next change."""
        kept = self._encoded
        if kept is not None and kept[0] == self.revision:
            return kept[1]
        state = self.doc.get_update()
        if not self._released:   # (released: changes are no longer counted)
            self._encoded = (self.revision, state)
        return state

    @property
    def has_changes(self) -> bool:
        """Whether any record changed since the last ``take_changes``."""
        return bool(self._changes)

    def pending_changes(self) -> dict[str, set[str]]:
        """{collection: ids} changed since the last ``take_changes`` (do not change it)."""
        return self._changes

    def changed(self, collection: str) -> bool:
        """Whether records of ``collection`` changed since the last ``take_changes``."""
        return collection in self._changes

    def take_changes(self, origin: Origin) -> list[ChangeEvent]:
        """Change events accumulated since the last call."""
        changes, self._changes = self._changes, {}
        return [ChangeEvent(self.compartment, name, frozenset(ids), origin)
                for name, ids in changes.items()]

    def _on_transaction(self, event: TransactionEvent) -> None:
        update = event.update
        if len(update) > 2:  # b"\x00\x00": a transaction that changed nothing
            self.revision += 1
            self._encoded = None  # (encode_state: that state is gone)
        if self._remote:  # (the guarded index: see _merge)
            if self._capture:
                self._integrated = update  # (take_integrated)
            return
        if len(update) > 2:
            self._pending.append(update)
        self._guard(update)

    def _guard(self, update: bytes) -> None:
        """Keep the guarded index up to date with an update this document integrated (or
        the backlog of one being built: mano_core.guarded_build)."""
        if self._guarded is not None:
            self._guarded.observe(update)
        elif (backlog := self._guard_backlog) is not None:
            backlog.append(update)
            if backlog.capped and len(backlog) > backlog.limit:
                self._guard_backlog = None  # no build started: it will encode the state

    def guarded_index(self) -> GuardedIndex:
        """The index of the items only some roles may write (mano_core.rules.touch), built
        from the current state on first use and kept up to date with every transaction."""
        if self._guarded is None:
            index = GuardedIndex()
            index.build(self.doc.get_update())
            self._guarded = index
        return self._guarded

    def _observer(self, name: str) -> Callable[[set[str]], None]:
        collection = self.collections[name]

        def on_change(ids: set[str]) -> None:
            collection.mark_dirty(ids)
            self._changes.setdefault(name, set()).update(ids)
            if name == "customFields":
                self.mark_settings_changed()

        return on_change


