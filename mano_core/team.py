"""A team opened from the encrypted local store: the public domain API.

    store = await LocalStore.open("device.mano", passphrase)
    team = await Team.create(store, name="Maraude Nord", member=member_id)
    person = await team.persons.create(name="…")         # returns once committed
    team.subscribe(lambda event: print(event))           # local and teammates' changes

A developer never touches pycrdt: records are typed, writes are awaited and durable.

The team is split by job: what the store keeps and the names of its documents
(``team_info``), its documents loaded from the store at open (``team_load``), one
compartment's write path (``team_compartment``), the typed collections (``team_collections``)
and settings (``team_settings``), the medical compartment's coming and going with the health
flag (``team_medical``); this module creates and opens the team, holds its compartments and
says who may do what. Every name is re-exported here."""

from __future__ import annotations

import asyncio
import builtins
import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import msgspec

from mano_core import rules
from mano_core.codes import Problem
from mano_core.crypto.log_entry import Role
from mano_core.document.custom_fields import rename_option
from mano_core.document.damage import Damage
from mano_core.document.compartments import GeneralDocument, MedicalDocument
from mano_core.document.team_doc import ChangeEvent, DocumentCore
from mano_core.documents.service import Documents
from mano_core.durable import (
    DurableActions,
    DurableCollection,
    DurableComments,
    DurableHistory,
    DurablePersons,
)
from mano_core.erasure.service import Erasures
from mano_core.errors import NotFoundError
from mano_core.guarded_build import GuardedBuild
from mano_core.ids import Compartment
from mano_core.model import records as r
from mano_core.model.records import HistoryEntry, Record
from mano_core.model.validation import applies, stale_custom_fields
from mano_core.person_merges import PersonMerges
from mano_core.quarantine import TeamQuarantine
from mano_core.rules.remote import Refusal, RemoteScreen
from mano_core.rules.table import Power
from mano_core.slices import Progress, load_kept
from mano_core.team_collections import MedicalCollections
from mano_core import team_load, team_medical
from mano_core.team_compartment import CompartmentHolder
from mano_core.team_sealing import SealAtCommit, commit_together
from mano_core.team_followup import FollowUps
from mano_core.team_info import (
    TEAMS_NAMESPACE,
    DocumentStore,
    TeamInfo,
    TeamSigner,
    doc_name,
    local_outbox,
    sealed_outbox,
)
from mano_core.team_settings import DurableSettings
from mano_core.team_upkeep import upkeep_of

__all__ = [
    "TEAMS_NAMESPACE", "CompartmentHolder", "DocumentStore", "DurableSettings",
    "Listener", "MedicalCollections", "Team", "TeamInfo", "TeamSigner", "commit_together",
    "doc_name", "local_outbox", "sealed_outbox",
]

Listener = Callable[[ChangeEvent], None]


class Team:
    """An open team; every write is awaited and durable. Open one with ``Device.open_team``
    (the one door: it attaches this device's keys, so history entries are signed and edits
    are sealed for the team), found one with ``Device.create_team``; ``Team.create`` makes a
    team kept without keys (local only: demos, benchmarks)."""

    # Bound by mano_core.team_collections when the team is loaded.
    doc: GeneralDocument
    medical_doc: MedicalDocument | None
    persons: DurablePersons
    actions: DurableActions
    comments: DurableComments
    history: DurableHistory
    structures: DurableCollection[r.Structure]
    territories: DurableCollection[r.Territory]
    observations: DurableCollection[r.TerritoryObservation]
    places: DurableCollection[r.Place]
    person_places: DurableCollection[r.PersonPlace]
    encounters: DurableCollection[r.Encounter]
    passages: DurableCollection[r.Passage]
    reports: DurableCollection[r.Report]
    groups: DurableCollection[r.Group]
    subteams: DurableCollection[r.SubTeam]
    custom_fields: DurableCollection[r.CustomFieldDefinition]
    consents: DurableCollection[r.Consent]
    shares: DurableCollection[r.Share]
    erasure_records: DurableCollection[r.Erasure]
    settings: DurableSettings
    medical: MedicalCollections | None
    _repair_guard: Callable[[], None]

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
        # Set by the sync client: seals an isolated edit in its own transaction (issue 24).
        self.seal_at_commit: SealAtCommit | None = None
        # Called with each record a teammate's update damaged (the sync client alerts).
        self.on_damage: Callable[[Damage], None] | None = None
        # This device's keys for the team (set by ``Device`` when it opens the team); None for
        # a team kept without keys (local only).
        self.keys: TeamSigner | None = None
        self.erasures = Erasures(self)
        self.merges = PersonMerges(self)
        self.follow_ups = FollowUps(store, info.id)  # a follow-up left undone (team_followup)
        self.documents = Documents(self)  # attached files (mano_core/documents/)
        self.guarded = GuardedBuild(self)  # the role screening's index, built off the loop
        self.quarantine = TeamQuarantine(store, info.id)
        # Held while local updates move from the local outbox to sealed envelopes (the sync
        # client's flush) or are rewritten (an erasure's scrub).
        self.outbox_lock = asyncio.Lock()
        # The store's housekeeping nobody waits for (compactions), awaited by Device.close.
        self.upkeep = upkeep_of(store)
        self._general: CompartmentHolder | None = None
        self._medical: CompartmentHolder | None = None

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
        await team_load.load(team)
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
        return await team_load.opened(team)

    @staticmethod
    async def list(store: DocumentStore) -> list[TeamInfo]:
        """The teams held in this store."""
        return [msgspec.msgpack.decode(v, type=TeamInfo)
                for _k, v in await store.items(TEAMS_NAMESPACE)]

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
        screen = self.remote_screen(compartment)
        return (update, None) if screen is None else screen.screen(update, author)

    def remote_screen(self, compartment: Compartment) -> RemoteScreen | None:
        """``screen_remote`` for one delivery of ``compartment``, its lookups made once
        (None: nothing to screen there: the medical compartment, or no keys yet). Use it
        for that delivery only, its updates in order."""
        if compartment is not Compartment.GENERAL or self.keys is None:
            return None
        return RemoteScreen(self.compartment(compartment).core.guarded_index(), self.keys.log)

    def damaged(self) -> builtins.list[Damage]:
        """Every record of the team's documents on this device that fails validation."""
        return [d for h in self.held() for c in h.core.collections.values()
                for d in c.damaged()]

    # --- the medical compartment comes and goes with the health flag (team_medical) -----------

    async def enable_medical(self) -> bool:
        """Open the medical compartment on this device (its health flag was granted: the sync
        client calls this when the log says so). True if it was not open."""
        return await team_medical.enable_medical(self)

    async def move_health_values(self) -> int:
        """On a device holding the medical compartment: move health-only values still held by
        general person records into it, so devices without medical keys stop receiving them.
        Returns how many persons were cleaned."""
        return await team_medical.move_health_values(self)

    async def drop_medical(
            self, also: Callable[[Any], Awaitable[None]] | None = None) -> bool:
        """Close the medical compartment and delete everything of it from this device's store
        but this device's own work not at the relay yet (``withheld_edits``,
        ``documents.withheld``). True if it was open. ``also(tx)`` writes in the same
        transaction (the sync client forgets its position)."""
        return await team_medical.drop_medical(self, also)

    async def withheld_edits(self) -> int:
        """This device's medical edits kept since it lost the compartment: 0 while it holds it."""
        return await team_medical.withheld_edits(self)

    async def discard_withheld_edits(self) -> int:
        """Delete the withheld medical edits for good; returns how many (none while held)."""
        return await team_medical.discard_withheld_edits(self)

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

    @property
    def clock(self) -> Callable[[], dt.datetime] | None:
        """The clock the team's documents stamp their history with (None: the wall clock)."""
        return self._clock

    def hold(self, compartment: Compartment, core: DocumentCore) -> CompartmentHolder:
        """Hold ``core``, just loaded (mano_core.team_load), as this team's ``compartment``,
        in place of any document held there before; its holder (the compartment's write
        path)."""
        holder = CompartmentHolder(self, core)
        if compartment is Compartment.GENERAL:
            self._general = holder
        else:
            self._medical = holder
        return holder

    def compartment(self, compartment: Compartment) -> CompartmentHolder:
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
            also: Callable[[Any, dict[int, str]], Awaitable[None]], *,
            snapshot: bool = False) -> dict[int, str]:
        """Merge and persist groups of teammates' updates, each on its own (used by the sync
        client: one group per envelope, or one whole state: ``snapshot``); returns the
        refused groups' errors by index."""
        return await self.compartment(compartment).apply_remote_groups(groups, also,
                                                                       snapshot=snapshot)

    def holds_merges(self) -> bool:
        """Whether the team holds person merges (their follow-up: mano_core/team_followup)."""
        return bool(len(self.doc.collection(r.PersonMerge)))

    def held(self) -> builtins.list[CompartmentHolder]:
        """The compartments this device holds (the medical one on health devices only)."""
        return [h for h in (self._general, self._medical) if h is not None]

    async def load(self, *, progress: Progress | None = None) -> None:
        """Decode every record this device holds (persons, actions and comments first, then
        the other collections, then the medical compartment's) in slices that hand the event
        loop back every few milliseconds (mano_core.slices): afterwards every read is served
        from memory. ``progress(done, total)`` counts records. Teammates' updates arriving
        meanwhile are applied and kept; without this, the first read of each collection
        decodes it at once, on whatever called it."""
        first = ("persons", "actions", "comments")
        collections = [self.doc.collections[n] for n in first]
        collections += [c for n, c in self.doc.collections.items() if n not in first]
        if self.medical_doc is not None:
            collections += list(self.medical_doc.collections.values())
        await load_kept(collections, progress=progress)  # kept: frozen (mano_core/heap.py)

    async def compact(self) -> None:
        """Fold every compartment's updates into a snapshot now. Quarantined updates lose their
        content too (their records stay): an erasure rewrites the store with this and must
        leave nothing of the erased persons behind, and an update that never applied cannot be
        told apart (mano_core/quarantine.py)."""
        for holder in self.held():
            await holder.compact()
        await self.quarantine.drop_content()
