"""The core of a team's documents (the general and medical ones: mano_core.document.compartments).

Both are sans-I/O: local edits produce binary pycrdt updates (``drain_updates``) that the caller
persists and sends; remote updates come in through ``apply_update``. Every change, local or
remote, becomes a typed ChangeEvent."""

from __future__ import annotations

import datetime as dt
import functools
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import msgspec
from pycrdt import Doc, Map, TransactionEvent

from mano_core.errors import MalformedUpdateError
from mano_core.ids import Compartment
from mano_core.model.records import CustomFieldDefinition, HistoryEntry, Record

from mano_core.rules.touch import GuardedIndex

from .collection import Collection
from .deep_events import observe_records
from .layout import to_wire
from .pieces import applying
from .queries import QUERY_COLLECTIONS
from .preread import read_remote
from .merge_run import MergeRun
from .ydeps import UpdateDeps, read_deps, read_state_vector
from .change_types import ChangeEvent, Clock, HistorySigner, Origin, utc_now

if TYPE_CHECKING:
    from mano_core.guarded_build import Backlog

__all__ = ["ChangeEvent", "Clock", "DocumentCore", "HistorySigner", "Origin"]


class DocumentCore:
    """One pycrdt document with its collections, update capture and change tracking."""

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

    def apply_update(self, update: bytes, deps: UpdateDeps | None = None) -> None:
        """Merge a teammate's update (idempotent; duplicates and any order are fine).

        An update whose dependencies have not arrived yet is parked, not handed to pycrdt, and
        applied once they have (see ydeps for why). MalformedUpdateError if it is not an
        update; nothing is applied then."""
        vector = self._take_vector()
        vector = self._integrate(update, deps or read_deps(update), self._apply_now, vector)
        self._keep_vector(vector)

    def _integrate(self, update: bytes, deps: UpdateDeps, apply: Callable[[bytes], None],
                   vector: dict[int, int]) -> dict[int, int]:
        """Merge ``update`` (``apply``) or park it; the state vector after (``vector``, the
        one before, is advanced in place unless something parked followed it)."""
        if not deps.satisfied_by(vector):
            self._parked.append((update, deps, time.monotonic()))
            return vector
        apply(update)
        _advance(vector, deps)
        return self._unpark(apply) if self._parked else vector

    def _unpark(self, apply: Callable[[bytes], None]) -> dict[int, int]:
        """Merge what was parked and can follow now; the state vector after (read again)."""
        while True:
            state = read_state_vector(self.doc.get_state())
            ready = [p for p in self._parked if p[1].satisfied_by(state)]
            if not ready:
                return state
            for item in ready:
                self._parked.remove(item)
                apply(item[0])

    def state_vector(self) -> dict[int, int]:
        """The document's state vector {client: next clock}: a copy the caller may change.
        Kept from what the merges integrated (each update's read gives its clients' ends)
        while nothing else changed the document (``revision``), else read from pycrdt (its
        encoding read back: a varint pair per client, ~1 ms for thousands of clients)."""
        kept = self._vector
        if kept is not None and kept[0] == self.revision and not self._released:
            return dict(kept[1])
        return read_state_vector(self.doc.get_state())

    def _take_vector(self) -> dict[int, int]:
        """The state vector for a merge to advance (the kept one is dropped meanwhile: a
        failure in the merge leaves it to be read again)."""
        kept, self._vector = self._vector, None
        if kept is not None and kept[0] == self.revision and not self._released:
            return kept[1]
        return read_state_vector(self.doc.get_state())

    def _keep_vector(self, vector: dict[int, int]) -> None:
        """Keep the state vector a merge ended with, as of the current revision."""
        self._vector = (self.revision, vector)

    def apply_remote_groups(self, groups: Sequence[Sequence[bytes]], *,
                            capture: bool = False) -> dict[int, str]:
        """Merge groups of teammates' updates (one group per envelope) in ONE pycrdt
        transaction, so the document's observers run once for a whole delivery instead of
        once per update. Returns the refused groups' errors by index: a group with a malformed
        update, or one pycrdt refuses, costs only itself (pycrdt decodes an update before
        integrating it: a refused update changed nothing; the group's updates before it stay
        merged, idempotent, as when each had its own transaction). Parking as apply_update.
        ``capture``: keep what the transaction integrated for ``take_integrated`` (not for a
        whole state: pycrdt would encode it all again)."""
        refused: dict[int, str] = {}
        # Into an empty document (a new device's first snapshot) every record is new: the
        # deep observers would only list them all, at the cost of one Python event per nested
        # change (a third of a MANO-scale first sync): unsubscribe, then list them directly.
        quiet = self.empty
        if quiet:
            self._unobserve_collections()
        # And the document's own observer: pycrdt encodes each transaction's update for it
        # before calling it (a second copy of the whole state, ~0.1 s at MANO scale), which
        # it ignores for remote transactions, unless that update is what is stored (capture).
        silent = quiet and not capture and self._txn_sub is not None
        if silent:
            self.doc.unobserve(self._txn_sub)
        # A state merged into an empty document before the role screening's index exists:
        # the index is made in the same pass as the dependencies (never a second read).
        # (An index already built from the empty document is empty: the state's replaces it.)
        indexing = quiet and (self._guarded is None or self._guarded.empty)
        self._remote, self._capture = True, capture
        self._integrated, self._newly_parked = b"", []
        try:
            with self.doc.transaction(origin="remote") as txn:
                # pycrdt's own apply, in this transaction: its wrapper enters (and leaves) a
                # nested transaction for each update (a few µs each, of a delivery's many).
                assert txn._txn is not None
                self._txn_apply = functools.partial(self.doc._doc.apply_update, txn._txn)
                state = self._take_vector()
                run = MergeRun(groups)  # whole envelopes merged by one pycrdt call (ydeps)
                for index, group in enumerate(groups):
                    if run.skips(index):
                        continue  # merged with the run before it
                    if not indexing and not self._parked and run.merged(
                            index, state, self._txn_apply, self._guard):
                        continue
                    try:
                        for update, deps, fresh in [(u, *self._read_remote(u, indexing))
                                                    for u in group]:
                            if not deps.satisfied_by(state):
                                self._parked.append((update, deps, time.monotonic()))
                                self._newly_parked.append(update)
                                continue
                            if fresh is not None and indexing:  # it alone is the document
                                self._merge(update, guard=False)  # (indexed as it was read)
                                self._guarded = fresh
                            else:
                                self._merge(update)
                            indexing = False
                            if self._parked:  # (rare) what waited may follow it now
                                state = self._unpark(self._merge)
                            else:
                                _advance(state, deps)  # (its structs continue the state)
                    except Exception as exc:  # noqa: BLE001 - pycrdt may raise anything
                        refused[index] = f"{type(exc).__name__}: {exc}"[:300]
        finally:
            self._remote = self._capture = False
            self._txn_apply = None
            self.revision += 1  # (a quiet merge is not seen by _on_transaction)
            self._encoded = None
            if quiet and not self._released:
                self._observe_collections()
            if silent:
                self._txn_sub = self.doc.observe(self._on_transaction)
        if not refused and not run.refused:  # (pycrdt refused something: read it again)
            self._keep_vector(state)
        if quiet:
            self.list_all_changed()
        return refused

    def list_all_changed(self) -> None:
        """Every record listed as changed: a whole state merged into an empty document."""
        for name, collection in self.collections.items():
            ids = set(map(str, collection._map.keys()))
            if ids:
                collection.mark_dirty(ids)
                self._changes.setdefault(name, set()).update(ids)
                if name == "customFields":
                    self.mark_settings_changed()

    def take_integrated(self) -> list[bytes]:
        """What the last ``apply_remote_groups`` changed, to store in its place: the one
        update pycrdt encoded for everything that transaction integrated (a whole delivery's
        envelopes as one row, issue 24; nothing when it integrated nothing new), then each
        update it parked, as it came (not in the document yet, so not in that update)."""
        integrated, parked = self._integrated, self._newly_parked
        self._integrated, self._newly_parked = b"", []
        return ([integrated] if len(integrated) > 2 else []) + parked

    _read_remote = staticmethod(read_remote)  # (mano_core/document/preread.py)

    def _merge(self, update: bytes, guard: bool = True) -> None:
        """Merge one remote update inside the open remote transaction (``guard``: and keep
        the guarded index up to date with it)."""
        try:
            (self._txn_apply or self.doc.apply_update)(update)
        except (ValueError, RuntimeError) as exc:
            raise MalformedUpdateError(f"pycrdt refused the update: {exc}") from None
        if guard:
            self._guard(update)  # its own bytes: read once already (ydeps memo)

    def _apply_now(self, update: bytes) -> None:
        self._remote = True
        try:
            with self.doc.transaction(origin="remote"):
                self._merge(update)
        finally:
            self._remote = False

    def parked_updates(self) -> list[bytes]:
        """Remote updates held back until their dependencies arrive (kept by compaction)."""
        return [update for update, _deps, _since in self._parked]

    def overdue_parked(self, *, timeout: float, limit: int,
                       now: float | None = None) -> list[bytes]:
        """Parked updates past their bounds: parked for more than ``timeout`` seconds (this
        session: the clock restarts when the store is reopened), and the oldest beyond
        ``limit``. The caller quarantines them and then calls ``forget_parked``."""
        now = time.monotonic() if now is None else now
        excess = len(self._parked) - limit
        return [update for i, (update, _deps, since) in enumerate(self._parked)
                if i < excess or now - since > timeout]

    def forget_parked(self, updates: Iterable[bytes]) -> None:
        """Stop waiting for these parked updates (quarantined: committed elsewhere)."""
        gone = set(updates)
        self._parked = [p for p in self._parked if p[0] not in gone]

    @property
    def waiting_updates(self) -> int:
        """Remote updates held back because updates they depend on have not arrived."""
        return len(self._parked)

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


def _advance(vector: dict[int, int], deps: UpdateDeps) -> None:
    """The state vector after merging an update whose dependencies ``vector`` satisfied: each
    of its clients' structs continue the document's (holes excluded: ``satisfied_by``)."""
    for client, end in deps.ends.items():
        if end > vector.get(client, 0):
            vector[client] = end
