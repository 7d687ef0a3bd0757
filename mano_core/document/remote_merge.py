"""Teammates' updates merged into a team's document (mano_core.document.team_doc.DocumentCore,
which inherits this): one update (``apply_update``) or a whole delivery in one pycrdt
transaction (``apply_remote_groups``), an update whose dependencies have not arrived parked
until they have (ydeps), and the state vector kept from what each merge integrated.

Apart from the document's construction, observers and change tracking (team_doc.py) so that
each module has one job; the attributes and methods it uses are declared below and provided
by DocumentCore."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from pycrdt import Doc, TransactionEvent

from mano_core.errors import MalformedUpdateError
from mano_core.rules.touch import GuardedIndex

from .merge_run import MergeRun
from .preread import read_remote
from .ydeps import UpdateDeps, read_deps, read_state_vector

__all__ = ["RemoteMerges"]


class RemoteMerges:
    """The merging half of DocumentCore (which provides what is declared here: the
    attributes its constructor sets and the methods below, defined there)."""

    doc: Doc[Any]
    revision: int
    _parked: list[tuple[bytes, UpdateDeps, float]]
    _vector: tuple[int, dict[int, int]] | None
    _released: bool
    _remote: bool
    _capture: bool
    _txn_apply: Callable[[bytes], None] | None
    _integrated: bytes
    _newly_parked: list[bytes]
    _guarded: GuardedIndex | None
    _txn_sub: Any
    _encoded: tuple[int, bytes] | None

    if TYPE_CHECKING:  # DocumentCore's: declared for the type checker, no runtime stub
        @property
        def empty(self) -> bool: ...

        def _observe_collections(self) -> None: ...

        def _unobserve_collections(self) -> None: ...

        def _on_transaction(self, event: TransactionEvent) -> None: ...

        def list_all_changed(self) -> None: ...

        def _guard(self, update: bytes) -> None: ...

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
        deps.advance(vector)
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
                                deps.advance(state)  # (its structs continue the state)
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
