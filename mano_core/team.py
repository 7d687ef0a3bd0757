"""A team opened from the encrypted local store: the public domain API.

    store = await LocalStore.open("device.mano", passphrase)
    team = await Team.create(store, name="Maraude Nord", member=member_id)
    person = await team.persons.create(name="…")         # returns once committed
    team.subscribe(lambda event: print(event))           # local and teammates' changes

A developer never touches pycrdt: records are typed, writes are awaited and durable."""

from __future__ import annotations

import asyncio
import builtins
import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Protocol

import msgspec

from mano_core import limits, rules
from mano_core.crypto.log_entry import Role
from mano_core.document.cascade import follow_persons
from mano_core.document.custom_fields import rename_option
from mano_core.document.damage import Damage
from mano_core.document.settings import Settings
from mano_core.document.team_doc import (
    ChangeEvent,
    DocumentCore,
    GeneralDocument,
    MedicalDocument,
    Origin,
)
from mano_core.document.ydeps import encode_state_vector, neutralised, read_deps, read_state_vector
from mano_core.durable import (
    DURABLE_CLASSES,
    DurableActions,
    DurableCollection,
    DurableComments,
    DurableHistory,
    DurableMedicalFiles,
    DurablePersons,
)
from mano_core.documents.service import Documents
from mano_core.erasure.service import Erasures
from mano_core.errors import MalformedUpdateError, NotFoundError
from mano_core.ids import Compartment
from mano_core.model import records as r
from mano_core.codes import Problem
from mano_core.model.records import HistoryEntry, Record
from mano_core.model.validation import applies, stale_custom_fields
from mano_core.person_merges import PersonMerges
from mano_core.quarantine import TeamQuarantine
from mano_core.rules.remote import Refusal, check_remote_update
from mano_core.rules.table import Power, setting_power

Listener = Callable[[ChangeEvent], None]
TEAMS_NAMESPACE = "teams"


async def _nothing() -> None:
    return None


class DocumentStore(Protocol):
    """What a Team needs from the local store (mano_core.store.LocalStore provides it)."""

    async def append_updates(self, doc: str, updates: list[bytes]) -> list[int]: ...
    async def load_document(self, doc: str) -> Any: ...
    async def write_snapshot(self, doc: str, state: bytes, upto_seq: int) -> None: ...
    async def updates_since_snapshot(self, doc: str) -> int: ...
    async def put(self, namespace: str, key: str, value: bytes) -> None: ...
    async def get(self, namespace: str, key: str) -> bytes | None: ...
    async def items(self, namespace: str) -> list[tuple[str, bytes]]: ...
    async def outbox_pending(self, doc: str | None = None, *,
                             limit: int | None = None) -> list[Any]: ...
    def transaction(self) -> Any: ...
    async def checkpoint(self) -> None: ...


class TeamSigner(Protocol):
    """This device's key material for a team, as a Team uses it (``keys_at_rest.TeamKeys``):
    the identity signs audit entries and erasure orders, the verified membership log says who
    may sign what."""

    @property
    def identity(self) -> Any: ...
    @property
    def log(self) -> Any: ...
    @property
    def team_id(self) -> bytes: ...


class TeamInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What the store remembers about a team besides its documents."""

    id: str
    name: str
    created_at: dt.datetime
    member: str  # the member id this device writes as
    medical: bool  # whether this device holds the medical compartment
    synced: bool = False  # a team with keys: every local update also waits in the sync outbox


def doc_name(team_id: str, compartment: Compartment) -> str:
    return f"team/{team_id}/{compartment.name.lower()}"


def local_outbox(team_id: str, compartment: Compartment) -> str:
    """Outbox of local updates not sealed into an envelope yet (when the team syncs)."""
    return f"{doc_name(team_id, compartment)}/local"


def sealed_outbox(team_id: str, compartment: Compartment) -> str:
    """Outbox of sealed envelopes waiting for the relay's acknowledgement."""
    return f"{doc_name(team_id, compartment)}/sealed"


class _Compartment:
    """One document of the team and its persistence bookkeeping."""

    def __init__(self, team: Team, core: DocumentCore) -> None:
        self.team = team
        self.core = core
        self.name = doc_name(team.id, core.compartment)
        self.last_seq = 0
        self.since_snapshot = 0
        # Held while teammates' updates are merged in memory and stored, and while compacting:
        # a snapshot must not hold updates whose rows are written after it (an erasure's
        # re-snapshot would leave those rows, and what they carry, behind).
        self.merging = asyncio.Lock()

    async def commit(self) -> None:
        """Persist local edits, tell listeners and the sync client, compact when due."""
        updates = await self._persist()
        self.team._dispatch(self.core.take_changes(Origin.LOCAL))
        if updates and self.team.on_local_commit is not None:
            self.team.on_local_commit(self.core.compartment)
        if self.since_snapshot >= limits.COMPACT_AFTER_UPDATES:
            await self.compact()

    async def _persist(self) -> list[bytes]:
        """Commit the pending local updates (with their sync-outbox places if the team syncs)."""
        updates = self.core.drain_updates()
        if not updates:
            return updates
        try:
            if self.team.syncing:
                # The update and its place in the sync outbox commit together: an edit
                # reported saved is always sent, even after a crash.
                outbox = local_outbox(self.team.id, self.core.compartment)
                async with self.team.store.transaction() as tx:
                    seqs = await tx.append_updates(self.name, updates)
                    for update in updates:
                        await tx.outbox_add(outbox, update)
            else:
                seqs = await self.team.store.append_updates(self.name, updates)
        except BaseException:
            # Not saved: keep the edits in memory, they are committed with the next write.
            self.core._pending[:0] = updates
            raise
        self.last_seq = seqs[-1]
        self.since_snapshot += len(updates)
        return updates

    async def apply_remote(self, updates: Iterable[bytes],
                           also: Callable[[Any], Awaitable[None]] | None = None) -> None:
        """Merge teammates' updates and persist them, with whatever ``also`` writes into the
        same store transaction (the sync cursor, chain states), then tell listeners.
        MalformedUpdateError: nothing applied."""
        batch = list(updates)
        for update in batch:
            read_deps(update)  # refuse the batch before applying any
        refused = await self.apply_remote_groups([batch], lambda tx, _refused: also(tx)
                                                 if also is not None else _nothing())
        if refused:
            raise MalformedUpdateError(refused[0])

    async def apply_remote_groups(
            self, groups: Sequence[Sequence[bytes]],
            also: Callable[[Any, dict[int, str]], Awaitable[None]]) -> dict[int, str]:
        """Merge groups of teammates' updates (one group per envelope) and store them in one
        transaction with what ``also(tx, refused)`` writes. A group the document refuses is
        not stored: ``refused`` maps its index to the error (the caller quarantines it in the
        same transaction); it never costs another group. Listeners are told after the commit.
        A failure or cancellation before the commit stores nothing (merging the same updates
        again later is harmless: they are idempotent)."""
        stored: list[bytes] = []
        async with self.merging:  # a compaction never snapshots updates not stored yet
            refused = self.core.apply_remote_groups(groups)  # one pycrdt transaction
            for index, group in enumerate(groups):
                if index not in refused:
                    stored.extend(group)
            async with self.team.store.transaction() as tx:
                seqs = await tx.append_updates(self.name, stored) if stored else []
                await also(tx, refused)
            if seqs:
                self.last_seq = seqs[-1]
                self.since_snapshot += len(seqs)
        events = self.core.take_changes(Origin.REMOTE)
        self.team._dispatch(events)
        self._report_damage(events)
        if any(e.collection == "customFields" for e in events):
            await self.team.move_health_values()  # a field may have become health-only
        if self.team.erasures.note_changes(events):
            await self.team.erasures.enforce()  # a new order, or data about an erased person
        await self.team.merges.follow(events)  # edits made on a merged person meanwhile
        if any(e.collection in ("documents", "medicalDocuments") for e in events):
            await self.team.documents.sweep()  # a teammate deleted a document held here
        return refused

    def _report_damage(self, events: Iterable[ChangeEvent]) -> None:
        """Tell ``team.on_damage`` about the records teammates' updates just damaged (in the
        collections already read on this device; the others show it when first read)."""
        hook = self.team.on_damage
        if hook is None:
            return
        for event in events:
            collection = self.core.collections.get(event.collection)
            if collection is None or not collection.loaded:
                continue
            for damage in collection.damaged():
                if damage.record_id in event.ids:
                    hook(damage)

    async def scrub_outbox(self) -> int:
        """Rewrite the local updates not sent yet as one update re-encoded from the document,
        so that content deleted since (an erasure) is not sent at all: same structs, same
        clocks, deleted content garbage-collected. Returns how many items it replaced."""
        if not self.team.syncing:
            return 0
        outbox = local_outbox(self.team.id, self.core.compartment)
        async with self.team.outbox_lock:  # no flush seals them meanwhile
            items = await self.team.store.outbox_pending(outbox)
            starts: dict[int, int] = {}
            for item in items:
                for client, start in read_deps(item.payload).starts.items():
                    starts[client] = min(start, starts.get(client, start))
            if not items:
                return 0
            state = read_state_vector(self.core.doc.get_state())
            since = {client: min(clock, starts.get(client, clock))
                     for client, clock in state.items()}
            replacement = self.core.doc.get_update(encode_state_vector(since))
            async with self.team.store.transaction() as tx:
                await tx.outbox_remove([item.id for item in items])
                await tx.outbox_add(outbox, replacement)
        return len(items)

    async def compact(self) -> None:
        """Fold the updates into one snapshot (re-encoded state, never merge_updates).

        Updates still parked (their dependencies have not arrived) are not in the state: they
        are stored again after the snapshot, in the same transaction, so none is lost."""
        async with self.merging:
            await self._compact()

    async def _compact(self, quarantine: Sequence[bytes] = ()) -> None:
        await self._persist()  # pending edits keep their sync-outbox places too
        gone = set(quarantine)
        parked = [u for u in self.core.parked_updates() if u not in gone]
        async with self.team.store.transaction() as tx:
            await tx.write_snapshot(self.name, self.core.encode_state(), self.last_seq)
            seqs = await tx.append_updates(self.name, parked)
            for update in quarantine:
                await self.team.quarantine.put(
                    tx, self.core.compartment, update, "its dependencies never arrived",
                    keep_content=not self.team.erasures.orders())
        self.core.forget_parked(quarantine)  # only once the quarantine is committed
        if seqs:
            self.last_seq = seqs[-1]
        self.since_snapshot = len(seqs)

    async def quarantine_overdue(self, *, timeout: float = limits.MAX_PARKED_SECONDS,
                                 limit: int = limits.MAX_PARKED_UPDATES) -> list[bytes]:
        """Quarantine the parked updates past their bounds (waiting longer than ``timeout``
        seconds, or beyond ``limit`` of them): kept in the team's quarantine, no longer stored
        with the document nor waited for, so that snapshots (and erasures) proceed. Returns
        them (the caller alerts). A failure commits nothing and changes nothing in memory."""
        async with self.merging:
            overdue = self.core.overdue_parked(timeout=timeout, limit=limit)
            if overdue:
                await self._compact(overdue)
        return overdue


async def commit_together(team: Team) -> None:
    """Persist the pending local edits of every compartment in one store transaction (a
    person's general fields and health values are saved together, or neither), then tell
    listeners and the sync client, and compact when due."""
    holders = team.held()
    drained = [(h, h.core.drain_updates()) for h in holders]
    drained = [(h, u) for h, u in drained if u]
    results: builtins.list[tuple[_Compartment, builtins.list[int]]] = []
    if drained:
        try:
            async with team.store.transaction() as tx:
                for holder, updates in drained:
                    seqs = await tx.append_updates(holder.name, updates)
                    if team.syncing:
                        outbox = local_outbox(team.id, holder.core.compartment)
                        for update in updates:
                            await tx.outbox_add(outbox, update)
                    results.append((holder, seqs))
        except BaseException:
            for holder, updates in drained:
                holder.core._pending[:0] = updates
            raise
        for holder, seqs in results:
            holder.last_seq = seqs[-1]
            holder.since_snapshot += len(seqs)
    for holder in holders:
        team._dispatch(holder.core.take_changes(Origin.LOCAL))
    for holder, _updates in drained:
        if team.on_local_commit is not None:
            team.on_local_commit(holder.core.compartment)
    for holder in holders:
        if holder.since_snapshot >= limits.COMPACT_AFTER_UPDATES:
            await holder.compact()


class DurableSettings:
    """The team's lists (categories, services…) and feature switches; writes are durable and
    for admins only (PermissionDeniedError otherwise, nothing changed)."""

    def __init__(self, settings: Settings, commit: Callable[[], Any],
                 require: Callable[[Power], None] | None = None, member: str = "") -> None:
        self._s = settings
        self._commit = commit
        self._require = require or (lambda power: None)
        self._member = member

    def values(self, kind: str) -> list[str]:
        return self._s.values(kind)

    def feature(self, name: str) -> bool:
        return self._s.feature(name)

    def get(self, key: str) -> Any:
        return self._s.get(key)

    async def add(self, kind: str, *values: str) -> None:
        self._require(Power.SETTINGS)
        self._s.add(kind, *values)
        await self._commit()

    async def remove(self, kind: str, value: str) -> None:
        self._require(Power.SETTINGS)
        self._s.remove(kind, value)
        await self._commit()

    async def set_feature(self, name: str, on: bool) -> None:
        self._require(Power.FEATURES)
        self._s.set_feature(name, on)
        await self._commit()

    async def set(self, key: str, value: str | int | float | bool | None) -> None:
        """Admins; any member for its own display name (``memberName.<member id>``)."""
        power = setting_power(key, self._member)
        if power is not None:
            self._require(power)
        self._s.set(key, value)
        await self._commit()


class Team:
    """An open team; every write is awaited and durable. Open one with ``Device.open_team``
    (the one door: it attaches this device's keys, so history entries are signed and edits
    are sealed for the team), found one with ``Device.create_team``; ``Team.create`` makes a
    team kept without keys (local only: demos, benchmarks)."""

    def __init__(self, store: DocumentStore, info: TeamInfo,
                 clock: Callable[[], dt.datetime] | None = None) -> None:
        self.store = store
        self.info = info
        self.id = info.id
        self._clock = clock
        self._listeners: list[Listener] = []
        # Local updates also go to the sync outbox, whether a relay is reachable or not.
        self.syncing = info.synced
        self.on_local_commit: Callable[[Compartment], None] | None = None
        # Called with each record a teammate's update damaged (the sync client alerts).
        self.on_damage: Callable[[Damage], None] | None = None
        # This device's keys for the team (set by ``Device`` when it opens the team); None for
        # a team kept without keys (local only).
        self.keys: TeamSigner | None = None
        self.erasures = Erasures(self)
        self.merges = PersonMerges(self)
        self.documents = Documents(self)  # attached files (mano_core/documents/)
        self.quarantine = TeamQuarantine(store, info.id)
        # Held while local updates move from the local outbox to sealed envelopes (the sync
        # client's flush) or are rewritten (an erasure's scrub).
        self.outbox_lock = asyncio.Lock()
        self._general: _Compartment | None = None
        self._medical: _Compartment | None = None

    # --- lifecycle ----------------------------------------------------------------------------

    @classmethod
    async def create(cls, store: DocumentStore, *, name: str, member: str,
                     medical: bool = True, team_id: str | None = None,
                     clock: Callable[[], dt.datetime] | None = None) -> Team:
        """A new, empty team in this store; ``member`` is the id this device writes as."""
        now = (clock or (lambda: dt.datetime.now(dt.timezone.utc)))()
        info = TeamInfo(id=team_id or str(uuid.uuid4()), name=name, created_at=now,
                        member=member, medical=medical)
        await store.put(TEAMS_NAMESPACE, info.id, msgspec.msgpack.encode(info))
        team = cls(store, info, clock)
        await team._load()
        await team.erasures.load()
        await team.documents.load()
        return team

    @classmethod
    async def _open(cls, store: DocumentStore, team_id: str, *,
                    clock: Callable[[], dt.datetime] | None = None) -> Team:
        """Load a team of this store: its snapshot plus the updates after it, without keys.
        Private: ``Device.open_team`` is the way to open a team (it attaches the keys)."""
        raw = await store.get(TEAMS_NAMESPACE, team_id)
        if raw is None:
            raise NotFoundError("teams", team_id)
        team = cls(store, msgspec.msgpack.decode(raw, type=TeamInfo), clock)
        await team._load()
        await team.erasures.load()
        await team.documents.load()
        if not team.info.synced:
            await team.erasures.enforce()  # finish an erasure a crash interrupted
        await team.merges.follow()  # a merge whose follow-up a crash interrupted
        return team

    @staticmethod
    async def list(store: DocumentStore) -> list[TeamInfo]:
        """The teams held in this store."""
        return [msgspec.msgpack.decode(v, type=TeamInfo)
                for _k, v in await store.items(TEAMS_NAMESPACE)]

    async def _load(self) -> None:
        general = await self._load_core(Compartment.GENERAL, None)
        assert isinstance(general, GeneralDocument)
        self.doc = general
        if self.info.medical:
            medical = await self._load_core(Compartment.MEDICAL, general)
            assert isinstance(medical, MedicalDocument)
            self.medical_doc: MedicalDocument | None = medical
        else:
            self.medical_doc = None
        self._bind()

    async def _load_core(self, compartment: Compartment,
                         general: GeneralDocument | None) -> DocumentCore:
        name = doc_name(self.id, compartment)
        loaded = await self.store.load_document(name)
        state = [loaded.snapshot] if loaded.snapshot else []
        updates = list(loaded.updates)
        core: DocumentCore
        if general is None:
            core = GeneralDocument(author=self.info.member, clock=self._clock, state=state,
                                   updates=updates)
            self._general = _Compartment(self, core)
            holder = self._general
        else:
            core = MedicalDocument(custom_fields=lambda: general.custom_fields.list(),  # noqa: PLW0108
                                   settings=general.settings, author=self.info.member,
                                   clock=self._clock, state=state, updates=updates)
            self._medical = _Compartment(self, core)
            holder = self._medical
        holder.last_seq = loaded.last_seq
        holder.since_snapshot = len(loaded.updates)
        return core

    def _bind(self) -> None:
        assert self._general is not None
        g = self._general

        repair = lambda: self.require(Power.REPAIR)  # noqa: E731

        def durable(core: DocumentCore, kind: type[Record], holder: _Compartment,
                    power: Power | None = None) -> Any:
            cls = DURABLE_CLASSES.get(kind.collection, DurableCollection)
            guard = (lambda: self.require(power)) if power is not None else (lambda: None)
            return cls(core.collections[kind.collection], holder.commit, write_guard=guard,
                       repair_guard=repair)

        gd = self.doc

        async def together() -> None:
            await commit_together(self)

        self.persons: DurablePersons = DurablePersons(gd.persons, together, repair_guard=repair)
        self.actions: DurableActions = durable(gd, r.Action, g)
        self.comments: DurableComments = durable(gd, r.Comment, g)
        self.history: DurableHistory = durable(gd, r.HistoryEntry, g)
        self.structures: DurableCollection[r.Structure] = durable(gd, r.Structure, g)
        self.territories: DurableCollection[r.Territory] = durable(gd, r.Territory, g)
        self.observations: DurableCollection[r.TerritoryObservation] = durable(
            gd, r.TerritoryObservation, g)
        self.places: DurableCollection[r.Place] = durable(gd, r.Place, g)
        self.person_places: DurableCollection[r.PersonPlace] = durable(gd, r.PersonPlace, g)
        self.encounters: DurableCollection[r.Encounter] = durable(gd, r.Encounter, g)
        self.passages: DurableCollection[r.Passage] = durable(gd, r.Passage, g)
        self.reports: DurableCollection[r.Report] = durable(gd, r.Report, g)
        self.groups: DurableCollection[r.Group] = durable(gd, r.Group, g)
        self.subteams: DurableCollection[r.SubTeam] = durable(gd, r.SubTeam, g, Power.SUBTEAMS)
        self.custom_fields: DurableCollection[r.CustomFieldDefinition] = durable(
            gd, r.CustomFieldDefinition, g, Power.CUSTOM_FIELDS)

        async def definitions_commit() -> None:
            await g.commit()
            await self.move_health_values()  # a field may have become health-only

        self.custom_fields._commit = definitions_commit
        self.consents: DurableCollection[r.Consent] = durable(gd, r.Consent, g)
        self.shares: DurableCollection[r.Share] = durable(gd, r.Share, g)
        self.erasure_records: DurableCollection[r.Erasure] = durable(gd, r.Erasure, g)
        self.settings = DurableSettings(gd.settings, g.commit, self.require, self.info.member)
        self._repair_guard = repair
        self._bind_medical()

    def _bind_medical(self) -> None:
        gd = self.doc
        self.medical: MedicalCollections | None = None
        if self.medical_doc is not None and self._medical is not None:
            m, md = self._medical, self.medical_doc

            def durable(core: DocumentCore, kind: type[Record], holder: _Compartment) -> Any:
                cls = DURABLE_CLASSES.get(kind.collection, DurableCollection)
                return cls(core.collections[kind.collection], holder.commit,
                           repair_guard=self._repair_guard)

            gd.persons.attach_health(md.health_values)
            follow_persons(md, gd)
            self.medical = MedicalCollections(
                medical_files=durable(md, r.MedicalFile, m),
                consultations=durable(md, r.Consultation, m),
                treatments=durable(md, r.Treatment, m),
                history=durable(md, r.HistoryEntry, m),
                comments=durable(md, r.MedicalComment, m),
                health_values=durable(md, r.HealthValue, m))

    # --- roles (mano_core.rules) ----------------------------------------------------------------

    @property
    def role(self) -> Role:
        """This device's role in the team, from the signed membership log. A team kept without
        keys (local only) belongs to its one user: admin."""
        if self.keys is None:
            return Role.ADMIN
        state = self.keys.log.device(self.keys.identity.device_id)
        return state.role if state is not None and state.active else Role.RESTRICTED

    def may(self, power: Power) -> bool:
        """True if this device's role holds ``power`` (docs/security.md, "Who may do what")."""
        return rules.may(self.role, power)

    def require(self, power: Power) -> None:
        """PermissionDeniedError unless this device's role holds ``power``."""
        rules.require(self.role, power)

    async def rename_custom_field_option(self, definition_id: str, old: str, new: str) -> int:
        """Admins: rename an option of a choice custom field and rewrite every value holding
        it (mano_core.document.custom_fields). Returns how many records were rewritten."""
        self.require(Power.CUSTOM_FIELDS)
        try:
            count = rename_option(self.doc, self.medical_doc, definition_id, old, new)
        finally:
            await commit_together(self)
        return count

    def stale_custom_fields(self, record: Record) -> dict[str, Problem]:
        """{key: why} for the custom-field values of ``record`` that no longer fit their
        definition (shown as stale; clearing them is always allowed); ``str(why)`` is the
        English text, ``why.code`` and ``why.params`` are for translating it."""
        return stale_custom_fields(record, self.doc.custom_fields.list())

    def custom_fields_for(self, scope: str, teams: Iterable[str] = ()) -> builtins.list[
            r.CustomFieldDefinition]:
        """The custom fields to show and ask for a record of ``scope`` in these sub-teams:
        live, enabled, enabled for one of them (or for all), health-only ones only on a
        device that holds their values."""
        teams = list(teams)
        return [d for d in self.doc.custom_fields.list()
                if d.scope == scope and applies(d, teams)
                and (self.medical_doc is not None or not (
                    d.health_only or d.scope in ("medicalFile", "consultation")))]

    def screen_remote(self, compartment: Compartment, update: bytes,
                      author: bytes) -> tuple[bytes, Refusal | None]:
        """Check a teammate's update against the role table (mano_core.rules.remote), from its
        author's role in the membership log: (the update, None) if allowed, else (a neutral
        update to integrate instead, the Refusal). The caller applies the returned update
        in order with the others and quarantines a refused one. MalformedUpdateError if it
        is not an update."""
        if compartment is not Compartment.GENERAL or self.keys is None:
            return update, None
        index = self.compartment(compartment).core.guarded_index()
        touch = index.touches(update)
        if not touch.roots:
            return update, None
        state = self.keys.log.device(author)
        refusal = check_remote_update(state.role if state is not None else None,
                                      state.member if state is not None else "",
                                      compartment, touch)
        if refusal is None:
            index.observe(update)  # later updates of the same delivery may build on it
            return update, None
        return neutralised(update), refusal

    def damaged(self) -> builtins.list[Damage]:
        """Every record of the team's documents on this device that fails validation."""
        return [d for h in self.held() for c in h.core.collections.values()
                for d in c.damaged()]

    # --- the medical compartment comes and goes with the health flag -----------------------------

    async def enable_medical(self) -> bool:
        """Open the medical compartment on this device (its health flag was granted: the sync
        client calls this when the log says so). True if it was not open."""
        if self.medical_doc is not None:
            return False
        self.info = msgspec.structs.replace(self.info, medical=True)
        await self.store.put(TEAMS_NAMESPACE, self.info.id, msgspec.msgpack.encode(self.info))
        medical = await self._load_core(Compartment.MEDICAL, self.doc)
        assert isinstance(medical, MedicalDocument)
        self.medical_doc = medical
        self._bind_medical()
        await self.move_health_values()
        await self.merges.follow()  # the medical part of merges made without medical keys
        return True

    async def move_health_values(self) -> int:
        """On a device holding the medical compartment: move health-only values still held by
        general person records into it (mano_core.document.health), so devices without
        medical keys stop receiving them. Returns how many persons were cleaned."""
        if self.medical_doc is None:
            return 0
        moved = self.doc.persons.move_health_values()
        await commit_together(self)
        return moved

    async def drop_medical(self) -> bool:
        """Close the medical compartment and delete everything of it from this device's store
        (its health flag was withdrawn, or its role made restricted). True if it was open."""
        if self.medical_doc is None:
            return False
        async with self.store.transaction() as tx:
            for name in (doc_name(self.id, Compartment.MEDICAL),
                         local_outbox(self.id, Compartment.MEDICAL),
                         sealed_outbox(self.id, Compartment.MEDICAL)):
                await tx.delete_document(name)
            self.info = msgspec.structs.replace(self.info, medical=False)
            await tx.put(TEAMS_NAMESPACE, self.info.id, msgspec.msgpack.encode(self.info))
        self.doc.persons.detach_health()
        self.medical_doc = None
        self._medical = None
        self.medical = None
        await self.documents.drop_compartment(Compartment.MEDICAL)
        self._dispatch([ChangeEvent(Compartment.MEDICAL, name, frozenset(), Origin.REMOTE)
                        for name in ("persons", "medicalFiles", "consultations", "treatments")])
        return True

    def attach_keys(self, keys: TeamSigner) -> None:
        """Give the team this device's key material (``Device`` does it when opening it)."""
        from mano_core import audit  # audit signs with the keys; it imports nothing of Team

        self.keys = keys
        audit.bind(self, keys)

    # --- change subscriptions -----------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with every ChangeEvent (local and remote); returns an unsubscribe."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _dispatch(self, events: builtins.list[ChangeEvent]) -> None:
        events = list(events)
        if self.medical_doc is not None:
            values = self.medical_doc.health_values
            for event in list(events):
                if event.collection == values.name:  # a person's health values changed
                    persons = frozenset(v.person for i in event.ids
                                        if (v := values._records().get(i)) is not None)
                    if persons:
                        events.append(ChangeEvent(event.compartment, "persons", persons,
                                                  event.origin))
        for event in events:
            for listener in list(self._listeners):
                listener(event)

    # --- history, sync hooks ------------------------------------------------------------------

    def history_of(self, record_id: str) -> builtins.list[HistoryEntry]:
        """Field history of a record, oldest first (a medical record's history lives in the
        medical compartment and is only found on health professionals' devices). A person's
        includes the history of the files merged into it (``team.merges``)."""
        ids = [record_id, *self.merges.merged_from(record_id)]
        entries = [e for i in ids for e in self.history.of_record(i)]
        if self.medical is not None:
            entries += [e for i in ids for e in self.medical.history.of_record(i)]
        return sorted(entries, key=lambda h: (h.at, h.id))

    def compartment(self, compartment: Compartment) -> _Compartment:
        holder = self._general if compartment is Compartment.GENERAL else self._medical
        if holder is None:
            raise NotFoundError("compartments", compartment.name.lower())
        return holder

    async def apply_remote(self, compartment: Compartment, updates: Iterable[bytes],
                           also: Callable[[Any], Awaitable[None]] | None = None) -> None:
        """Merge and persist teammates' updates. MalformedUpdateError: nothing applied."""
        await self.compartment(compartment).apply_remote(updates, also)

    async def apply_remote_groups(
            self, compartment: Compartment, groups: Sequence[Sequence[bytes]],
            also: Callable[[Any, dict[int, str]], Awaitable[None]]) -> dict[int, str]:
        """Merge and persist groups of teammates' updates, each on its own (used by the sync
        client: one group per envelope); returns the refused groups' errors by index."""
        return await self.compartment(compartment).apply_remote_groups(groups, also)

    def held(self) -> builtins.list[_Compartment]:
        """The compartments this device holds (the medical one on health devices only)."""
        return [h for h in (self._general, self._medical) if h is not None]

    async def compact(self) -> None:
        """Fold every compartment's updates into a snapshot now. Quarantined updates lose their
        content too (their records stay): an erasure rewrites the store with this and must
        leave nothing of the erased persons behind, and an update that never applied cannot be
        told apart (mano_core/quarantine.py)."""
        for holder in self.held():
            await holder.compact()
        await self.quarantine.drop_content()


class MedicalCollections(msgspec.Struct, frozen=True):
    """The medical compartment's collections (only on health professionals' devices)."""

    medical_files: DurableMedicalFiles
    consultations: DurableCollection[r.Consultation]
    treatments: DurableCollection[r.Treatment]
    history: DurableHistory
    comments: DurableCollection[r.MedicalComment]
    health_values: DurableCollection[r.HealthValue]  # read-only: written through team.persons
