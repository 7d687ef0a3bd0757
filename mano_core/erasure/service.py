"""A team's erasures: order one, apply every valid order, report how far each has gone.

    order = await team.erasures.erase([person.id])          # admins; signed, synced like any edit
    team.erasures.status(order.id).waiting_for               # devices that have not applied it yet

How an erasure completes (docs/security.md, "Erasure"):

1. **Order.** An admin device writes a signed ``Erasure`` record (ids only) to the general
   document. It travels like any change; a device offline meanwhile gets it when it is back.
2. **Apply** (every device, ``enforce``): remove the closure of records about those persons
   from its documents (``closure.plan_erasure``: their content is garbage-collected from the
   CRDT state), re-snapshot its store (the update rows that held the data are deleted; deleted
   rows are zeroed by ``secure_delete``) and truncate the store's write-ahead log. Records about
   an erased person that arrive later (a teammate's offline edit) are removed as they arrive.
3. **Confirm** (sync client): once everything the device sent before applying the order is
   stored by the relay, it records its confirmation with the relay sequences covering it.
4. **Purge** (sync client): when every active device has confirmed, a device uploads a fresh
   snapshot of each compartment and asks the relay to drop every envelope and older snapshot
   it covers; it records ``purged``. Devices re-snapshot their store when they see it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import msgspec

from mano_core.erasure import order as orders
from mano_core.erasure.closure import ErasurePlan, plan_erasure, strip_predicate
from mano_core.errors import ErasureForbiddenError, InvalidErasureOrderError, NotFoundError
from mano_core.ids import Compartment
from mano_core.model.records import Erasure, ErasureReason

if TYPE_CHECKING:
    from mano_core.document.team_doc import ChangeEvent
    from mano_core.team import Team

log = logging.getLogger("mano.erasure")

_APPLIED: Final = "applied"   # record key: ids of the orders this device has applied
_ERASED: Final = "erased"     # record key: every record id this device removed for them
_COMPACTED: Final = "purge-compacted"  # record key: purge marks already followed by a compaction


@dataclass(frozen=True, slots=True)
class Confirmation:
    """A device's confirmation: the relay sequences up to which it had sent everything."""

    general: int
    medical: int

    @classmethod
    def parse(cls, text: str) -> Confirmation:
        general, _, medical = text.partition(":")
        return cls(int(general or 0), int(medical or 0))

    def __str__(self) -> str:
        return f"{self.general}:{self.medical}"

    def mark(self, compartment: Compartment) -> int:
        return self.general if compartment is Compartment.GENERAL else self.medical


@dataclass(frozen=True, slots=True)
class ErasureStatus:
    """How far an order has gone, as this device sees it."""

    order: Erasure
    problem: str | None           # why it is invalid (then it is ignored), or None
    applied: bool                 # this device removed the records
    waiting_for: tuple[str, ...]  # active devices (hex ids) that have not confirmed yet
    purged: dict[str, int]        # compartment name → relay sequence purged up to
    complete: bool                # applied everywhere and purged from the relay

    @property
    def valid(self) -> bool:
        return self.problem is None


class Erasures:
    """The erasures of one team (``team.erasures``)."""

    def __init__(self, team: Team) -> None:
        self.team = team
        self._ns = f"erasure/{team.id}"
        self._applied: set[str] = set()
        self._erased: set[str] = set()
        self._compacted: set[str] = set()
        self._loaded = False
        self._problems: dict[str, str] = {}
        self._verified: dict[tuple[object, ...], str | None] = {}

    # --- reading ------------------------------------------------------------------------------

    def orders(self) -> list[Erasure]:
        """Every order in the document (valid or not), oldest first."""
        return sorted(self.team.erasure_records.list(include_deleted=True),
                      key=lambda o: (o.issued_at, o.id))

    def problem(self, order: Erasure) -> str | None:
        """Why ``order`` is not valid here, or None if it is."""
        keys = self.team.keys
        if keys is None:
            return None  # a team without keys is local only: its orders are its own
        # Orders are immutable once signed (only confirmations and purge marks are added):
        # verify each once per state of the membership log.
        cache_key = (order.id, order.signature, order.device, tuple(sorted(order.persons)),
                     len(keys.log), len(self.team.shares))
        if cache_key in self._verified:
            return self._verified[cache_key]
        problem = None
        try:
            orders.verify(keys.log, order, self.team.shares.list(include_deleted=True))
        except InvalidErasureOrderError as exc:
            problem = str(exc)
        self._verified[cache_key] = problem
        return problem

    def valid_orders(self) -> list[Erasure]:
        return [o for o in self.orders() if self.problem(o) is None]

    def erased_persons(self) -> set[str]:
        """Persons erased by a valid order."""
        return {p for o in self.valid_orders() for p in o.persons}

    def erased_ids(self) -> frozenset[str]:
        """Every record id this device removed for an erasure."""
        return frozenset(self._erased)

    def preview(self, person_ids: Iterable[str]) -> dict[str, int]:
        """What erasing these persons would remove, per collection (nothing is changed)."""
        return self._plan(set(person_ids)).counts()

    def can_order(self, person_ids: Iterable[str],
                  reason: ErasureReason = "request") -> bool:
        """True if this device may order that erasure."""
        keys = self.team.keys
        if keys is None:
            return True
        return orders.may_order(keys.log, keys.identity.device_id, list(person_ids), reason,
                                self.team.shares.list(include_deleted=True))

    def required_devices(self) -> list[str]:
        """Active devices (hex) every order waits for."""
        keys = self.team.keys
        if keys is None:
            return []
        return [d.device_id.hex() for d in keys.log.active_devices()]

    def compartments_to_purge(self) -> list[Compartment]:
        """Compartments some active device holds (the relay keeps envelopes of those)."""
        keys = self.team.keys
        if keys is None:
            return []
        return [c for c in Compartment
                if any(d.has_access(c) for d in keys.log.active_devices())]

    def status(self, order_id: str) -> ErasureStatus:
        """How far that order has gone. NotFoundError if there is none."""
        order = self.team.erasure_records.get(order_id, include_deleted=True)
        problem = self.problem(order)
        waiting = tuple(d for d in self.required_devices() if d not in order.confirmations)
        purged = dict(order.purged)
        complete = problem is None and order.id in self._applied and not waiting and all(
            c.name.lower() in purged for c in self.compartments_to_purge())
        return ErasureStatus(order, problem, order.id in self._applied, waiting, purged,
                             complete)

    def pending(self) -> list[ErasureStatus]:
        """Orders not complete yet (invalid ones included, with their problem)."""
        statuses = [self.status(o.id) for o in self.orders()]
        return [s for s in statuses if not s.complete]

    # --- ordering -----------------------------------------------------------------------------

    async def erase(self, person_ids: Sequence[str], *,
                    reason: ErasureReason = "request") -> Erasure:
        """Order and apply the erasure of these persons with everything about them (see the
        module docstring). Returns once this device's store holds none of it.

        Raises ErasureForbiddenError (not an admin, or in a joint team not the device that
        shared them), NotFoundError (an unknown person)."""
        persons = sorted(set(person_ids))
        for person_id in persons:
            self.team.persons.get(person_id, include_deleted=True)
        if not persons:
            raise NotFoundError("persons", "")
        if not self.can_order(persons, reason):
            raise ErasureForbiddenError("only an admin device may order an erasure (or, in a "
                                        "joint team, the device that shared the person)")
        now = self.team.doc.now()
        keys = self.team.keys
        order = Erasure(id=str(uuid.uuid4()), created_at=now, updated_at=now,
                        created_by=self.team.info.member, updated_by=self.team.info.member,
                        persons=persons, reason=reason, issued_at=now,
                        device=keys.identity.device_id.hex() if keys is not None else "")
        if keys is not None:
            order = msgspec.structs.replace(
                order, signature=orders.sign(keys.identity, keys.team_id, order))
        fields = {f: getattr(order, f) for f in order.__struct_fields__
                  if f not in ("created_at", "updated_at", "created_by", "updated_by",
                               "deleted_at")}
        await self.team.erasure_records.create(**fields)
        await self.enforce()
        return self.team.erasure_records.get(order.id, include_deleted=True)

    # --- applying -----------------------------------------------------------------------------

    async def load(self) -> None:
        """Read what this device already applied (once, when the team opens)."""
        if self._loaded:
            return
        for key, raw in await self.team.store.items(self._ns):
            values = set(msgspec.msgpack.decode(raw, type=list[str]))
            if key == _APPLIED:
                self._applied = values
            elif key == _ERASED:
                self._erased = values
            elif key == _COMPACTED:
                self._compacted = values
        self._loaded = True

    def has_work(self) -> bool:
        """True if some valid order is not complete (cheap: called after every delivery)."""
        return any(s.valid and not s.complete for s in map(self.status, (
            o.id for o in self.team.erasure_records.list(include_deleted=True))))

    async def enforce(self) -> bool:
        """Apply every valid order: remove what is left about their persons, then re-snapshot
        the store and truncate its log if anything was removed or a relay purge is newly
        known. Idempotent; returns True if the store was rewritten."""
        await self.load()
        valid = []
        for order in self.orders():
            problem = self.problem(order)
            if problem is not None:
                if self._problems.get(order.id) != problem:
                    log.warning("erasure order ignored: %s", problem)
                    self._problems[order.id] = problem
                continue
            valid.append(order)
        if not valid:
            return False
        persons = {p for o in valid for p in o.persons}
        plan = self._plan(persons)
        new_orders = {o.id for o in valid} - self._applied
        purge_marks = {f"{o.id}/{c}" for o in valid for c in o.purged} - self._compacted
        if plan.empty and not new_orders and not purge_marks:
            return False
        # Removed ids are kept in memory at once (late history entries about them must go
        # too); what was applied is recorded only once the store is rewritten, so a failure
        # (a full disk) leaves the order to be finished by the next ``enforce``.
        # Their documents' bodies first, while the records still name the files: deleted here
        # and queued for deletion at the relay (durably), then the records forget the keys.
        await self.team.documents.forget_erased(sorted(plan.general.get("documents", ())),
                                                sorted(plan.medical.get("medicalDocuments", ())))
        await self.team.documents.forget_withheld_of(sorted(persons))
        if self.team.medical_doc is None and (n := await self.team.discard_withheld_edits()):
            # Medical edits withheld since the health flag was withdrawn cannot be read here
            # (no compartment to check them against): an erasure is a duty, they go.
            log.warning("erasure: %d medical edits withheld on this device deleted", n)
        self._erased |= self._apply(plan, persons)
        # Records a teammate's update removed before this device applied the order (the
        # issuer's erasure travels with the order) leave bodies no record names: those too.
        await self.team.documents.sweep()
        for holder in self.team.held():
            await holder.commit()
            await holder.scrub_outbox()  # local updates not sent yet, without the content
        await self.team.compact()
        applied, compacted = self._applied | new_orders, self._compacted | purge_marks
        async with self.team.store.transaction() as tx:
            await tx.put(self._ns, _APPLIED, msgspec.msgpack.encode(sorted(applied)))
            await tx.put(self._ns, _ERASED, msgspec.msgpack.encode(sorted(self._erased)))
            await tx.put(self._ns, _COMPACTED, msgspec.msgpack.encode(sorted(compacted)))
        self._applied, self._compacted = applied, compacted
        await self.team.store.checkpoint()
        return True

    def note_changes(self, events: Iterable[ChangeEvent]) -> bool:
        """After teammates' changes: True if ``enforce`` must run (a new or changed order, or a
        record about an erased person arrived)."""
        if not self._applied and not self.team.erasure_records.list(include_deleted=True):
            return False
        persons: set[str] | None = None
        for event in events:
            if event.collection == "erasures":
                return True
            if persons is None:
                persons = self.erased_persons() | self._erased
            if event.ids & persons:
                return True
            if self._mentions(event.collection, event.ids, persons,
                              event.compartment):
                return True
        return False

    def _mentions(self, collection: str, ids: Iterable[str], gone: set[str],
                  compartment: Compartment) -> bool:
        """True if a changed record points at an erased person or record."""
        doc = self.team.doc if compartment is Compartment.GENERAL else self.team.medical_doc
        if doc is None or collection not in doc.collections:
            return False
        coll = doc.collections[collection]
        for record_id in ids:
            try:
                record = coll.get(record_id, include_deleted=True)
            except NotFoundError:
                continue
            refs = {getattr(record, name, None) for name in ("person", "action", "record_id")}
            refs.update(getattr(record, "persons", None) or ())
            for rel in getattr(record, "relations", None) or ():
                refs.update(str(rel).split("|")[:2])
            if refs & gone:
                return True
        return False

    def _plan(self, persons: set[str]) -> ErasurePlan:
        return plan_erasure(persons, self.team.doc, self.team.medical_doc,
                            known_erased=self._erased)

    def _apply(self, plan: ErasurePlan, persons: set[str]) -> set[str]:
        removed: set[str] = set()
        for name, ids in plan.general.items():
            removed.update(self.team.doc.collections[name].erase(ids))
        if self.team.medical_doc is not None:
            for name, ids in plan.medical.items():
                removed.update(self.team.medical_doc.collections[name].erase(ids))
        drop = strip_predicate(persons)
        for collection, record_id, field in plan.strips:
            self.team.doc.collections[collection].strip(record_id, field, drop)
        return removed | persons


    # --- confirmations and purge marks (used by the sync client) -------------------------------

    def unapplied(self) -> list[Erasure]:
        """Valid orders this device has not applied yet (an ``enforce`` failed or was cut)."""
        return [o for o in self.valid_orders() if o.id not in self._applied]

    def unconfirmed(self, device: str) -> list[Erasure]:
        """Valid orders this device applied and has not confirmed yet."""
        return [o for o in self.valid_orders()
                if o.id in self._applied and device not in o.confirmations]

    async def confirm(self, device: str, marks: Confirmation) -> int:
        """Record this device's confirmation on every order it applied; returns how many."""
        todo = self.unconfirmed(device)
        for order in todo:
            await self.team.erasure_records.update(
                order.id, confirmations={**order.confirmations, device: str(marks)})
        return len(todo)

    def purges_due(self, held: Iterable[Compartment]) -> dict[Compartment, int]:
        """Compartments (among ``held``) the relay must now purge, each with the relay sequence
        the purge must cover at least: every required device confirmed every valid order."""
        required = self.required_devices()
        due: dict[Compartment, int] = {}
        for order in self.valid_orders():
            if order.id not in self._applied:
                continue
            if any(d not in order.confirmations for d in required):
                continue
            marks = [Confirmation.parse(v) for v in order.confirmations.values()]
            for c in held:
                if c.name.lower() in order.purged:
                    continue
                needed = max((m.mark(c) for m in marks), default=0)
                due[c] = max(due.get(c, 0), needed)
        return due

    async def mark_purged(self, compartment: Compartment, upto: int) -> None:
        """Record that the relay purged ``compartment`` up to ``upto`` on every order that was
        waiting for it (then every device re-snapshots its store)."""
        name = compartment.name.lower()
        required = self.required_devices()
        for order in self.valid_orders():
            if name in order.purged or any(d not in order.confirmations for d in required):
                continue
            await self.team.erasure_records.update(order.id, purged={**order.purged, name: upto})

