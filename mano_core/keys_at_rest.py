"""A device's key material at rest: its identity and, per team, the membership log, the keyring
and the envelope chains, kept as records of the encrypted LocalStore so that a restart (or a
crash) resumes exactly where the device stopped. See docs/security.md, "At rest on the device".

    vault = DeviceVault(store)
    team = await create_team(vault, "Maraude Nord", member_id, health=True)
    sealed = await team.seal(batch, compartment=Compartment.GENERAL)  # committed, in the outbox
    chain = team.chain(Compartment.GENERAL)       # a working copy
    opened = team.open(raw, Compartment.GENERAL, chain)  # apply opened.plaintext, and in the
    await team.save_chains(tx, {Compartment.GENERAL: chain})  # same transaction; after commit:
    team.adopt_chain(Compartment.GENERAL, chain)

Records (namespace: keys): ``vault/device``: ``identity``; ``vault/teams``: one key per team
(hex id); ``vault/team/<hex>``: ``keyring``, ``sealer/<compartment>``, ``chain/<compartment>``;
``vault/log/<hex>``: one key per log entry (zero-padded seq, so keys sort in log order).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Final, NamedTuple

import msgspec

from mano_core.crypto import (
    ChainState,
    DeviceIdentity,
    Keyring,
    MembershipLog,
    Opened,
    Sealer,
    ensure_epoch_keys,
    open_envelope,
)
from mano_core.crypto import join_team as _join_team
from mano_core.crypto.envelope import Authenticated
from mano_core.errors import NotFoundError, StoreCorruptedError, StoreError
from mano_core.ids import Compartment, new_team_id
from mano_core.store import LocalStore, StoreTransaction
from mano_core.team import TEAMS_NAMESPACE, TeamInfo, doc_name

__all__ = ["DeviceVault", "PreparedSeal", "Sealed", "TeamKeys", "create_team", "join_team",
           "team_uuid"]

_NS_DEVICE: Final = "vault/device"
_NS_TEAMS: Final = "vault/teams"
_IDENTITY: Final = "identity"
_KEYRING: Final = "keyring"
_TEAM_FORMAT: Final = b"\x01"


def _ns_team(team_id: bytes) -> str:
    return f"vault/team/{team_id.hex()}"


def _ns_log(team_id: bytes) -> str:
    return f"vault/log/{team_id.hex()}"


def _sealer_key(compartment: Compartment) -> str:
    return f"sealer/{compartment.name.lower()}"


def _chain_key(compartment: Compartment) -> str:
    return f"chain/{compartment.name.lower()}"


def _entry_key(seq: int) -> str:
    return f"{seq:010d}"


def team_uuid(team_id: bytes) -> str:
    """The text form of a 16-byte team id: the id the Team facade (``TeamInfo.id``) uses."""
    return str(uuid.UUID(bytes=team_id))


class Sealed(NamedTuple):
    """An envelope whose sealer state is committed, and its outbox item."""

    envelope: bytes
    outbox_id: int


class PreparedSeal(NamedTuple):
    """An envelope sealed in memory (``TeamKeys.prepare_seal``) and the sealer state it
    advanced to, not adopted until ``seal_into`` committed it."""

    envelope: bytes
    compartment: Compartment
    state: ChainState


class DeviceVault:
    """This device's key material in ``store``. One vault per open store: it caches each
    team's ``TeamKeys`` so that two callers never seal with two copies of one counter."""

    __slots__ = ("_identity", "_lock", "_teams", "store")

    def __init__(self, store: LocalStore) -> None:
        self.store = store
        self._identity: DeviceIdentity | None = None
        self._teams: dict[bytes, TeamKeys] = {}
        self._lock = asyncio.Lock()

    async def identity(self) -> DeviceIdentity:
        """The device identity, created and committed on first use (once per store).

        Raises KeyMaterialError if the stored identity cannot be decoded, StoreError."""
        async with self._lock:
            return await self._load_identity()

    async def _load_identity(self) -> DeviceIdentity:
        if self._identity is None:
            raw = await self.store.get(_NS_DEVICE, _IDENTITY)
            if raw is None:
                identity = DeviceIdentity.generate()
                await self.store.put(_NS_DEVICE, _IDENTITY, identity.to_bytes())
            else:
                identity = DeviceIdentity.from_bytes(raw)
                if not identity.kem_public:  # from before ML-KEM: add one (migration)
                    identity = identity.with_kem()
                    await self.store.put(_NS_DEVICE, _IDENTITY, identity.to_bytes())
            self._identity = identity
        return self._identity

    async def team_ids(self) -> list[bytes]:
        """Ids of the teams this device holds keys for, sorted."""
        return sorted(bytes.fromhex(key) for key, _ in await self.store.items(_NS_TEAMS))

    async def team(self, team_id: bytes) -> TeamKeys:
        """Load a team's key material (once; later calls return the same object).

        The log is re-verified from its genesis. Raises NotFoundError (no such team here),
        StoreCorruptedError (records missing or inconsistent), MembershipError and
        KeyMaterialError (stored bytes that do not verify or decode)."""
        async with self._lock:
            cached = self._teams.get(team_id)
            if cached is not None:
                return cached
            identity = await self._load_identity()
            if await self.store.get(_NS_TEAMS, team_id.hex()) is None:
                raise NotFoundError("vault teams", team_id.hex())
            rows = await self.store.items(_ns_log(team_id))
            if [key for key, _ in rows] != [_entry_key(seq) for seq in range(len(rows))]:
                raise StoreCorruptedError("membership log records are not contiguous")
            log = MembershipLog.from_entries(team_id, [entry for _, entry in rows])
            if log.device(identity.device_id) is None:
                raise StoreCorruptedError("this device is not in the stored membership log")
            records = dict(await self.store.items(_ns_team(team_id)))
            keyring = Keyring.from_bytes(records.get(_KEYRING, b""))
            if keyring.team_id != team_id:
                raise StoreCorruptedError("the stored keyring belongs to another team")
            team = TeamKeys(self, identity, log, keyring,
                            sealers={c: _chain_state(records, _sealer_key(c)) for c in Compartment},
                            chains={c: _chain_state(records, _chain_key(c)) for c in Compartment})
            self._teams[team_id] = team
            return team

    async def _install(self, log: MembershipLog, keyring: Keyring, *, name: str) -> TeamKeys:
        """Commit a new team's log, keyring and TeamInfo in one transaction."""
        identity = await self.identity()
        me = log.device(identity.device_id)
        if me is None:
            raise StoreError("this device is not in the team's log")
        info = TeamInfo(id=team_uuid(log.team_id), name=name, member=me.member,
                        created_at=dt.datetime.now(dt.timezone.utc),
                        medical=log.has_access(identity.device_id, Compartment.MEDICAL),
                        synced=True)
        async with self._lock:
            if log.team_id in self._teams or await self.store.get(_NS_TEAMS, log.team_id.hex()):
                raise StoreError("this store already holds keys for that team")
            async with self.store.transaction() as tx:
                await tx.put(_NS_TEAMS, log.team_id.hex(), _TEAM_FORMAT)
                for seq, entry in enumerate(log.entries):
                    await tx.put(_ns_log(log.team_id), _entry_key(seq), entry)
                await tx.put(_ns_team(log.team_id), _KEYRING, keyring.to_bytes())
                await tx.put(TEAMS_NAMESPACE, info.id, msgspec.msgpack.encode(info))
            team = TeamKeys(self, identity, log, keyring, sealers={}, chains={})
            self._teams[log.team_id] = team
            return team


def _chain_state(records: dict[str, bytes], key: str) -> ChainState:
    raw = records.get(key)
    return ChainState() if raw is None else ChainState.from_bytes(raw)


class TeamKeys:
    """One team's key material on this device, kept in step with the store: every method that
    changes it returns once the change is committed. ``log`` and ``keyring`` are replaced (not
    mutated) when they change: read them from here each time."""

    __slots__ = ("_chains", "_keyring", "_lock", "_log", "_sealers", "identity", "vault")

    def __init__(self, vault: DeviceVault, identity: DeviceIdentity, log: MembershipLog,
                 keyring: Keyring, *, sealers: dict[Compartment, ChainState],
                 chains: dict[Compartment, ChainState]) -> None:
        """Private: use ``DeviceVault.team``, ``create_team`` or ``join_team``."""
        self.vault = vault
        self.identity = identity
        self._log = log
        self._keyring = keyring
        self._sealers = {c: sealers.get(c, ChainState()) for c in Compartment}
        self._chains = {c: chains.get(c, ChainState()) for c in Compartment}
        self._lock = asyncio.Lock()

    @property
    def team_id(self) -> bytes:
        return self._log.team_id

    @property
    def log(self) -> MembershipLog:
        """The verified membership log (do not append to it: use ``append_entries``)."""
        return self._log

    @property
    def keyring(self) -> Keyring:
        """This device's content keys for the team (change them through this object only)."""
        return self._keyring

    def chain(self, compartment: Compartment) -> ChainState:
        """A copy of what this device has accepted (and committed) from each author in
        ``compartment``: changing it changes nothing here (see ``open``)."""
        return self._chains[compartment].copy()

    def next_counter(self, compartment: Compartment) -> int:
        """The counter this device's next envelope in ``compartment`` will carry."""
        state = self._sealers[compartment]
        return state.next_link(self.team_id, compartment, self.identity.device_id)[0]

    async def seal(self, plaintext: bytes, *, compartment: Compartment,
                   doc: str | None = None, consume: Sequence[int] = ()) -> Sealed:
        """Seal a batch and, in one store transaction, commit the advanced counter and queue the
        envelope in the outbox of ``doc`` (default: the compartment's document). Only send what
        the outbox holds: a counter is then never reused, even after a crash.

        Raises UnauthorizedAuthorError, MissingKeyError (see ``Sealer.seal``), StoreError
        (nothing committed; the counter is free again)."""
        async with self._lock:
            async with self.vault.store.transaction() as tx:
                sealed = await self.seal_into(tx, self.prepare_seal(plaintext,
                                                                    compartment=compartment),
                                              doc=doc)
                if consume:
                    await tx.outbox_remove(consume)
        return sealed

    def prepare_seal(self, plaintext: bytes, *, compartment: Compartment) -> PreparedSeal:
        """Seal a batch in memory with the next counter, for ``seal_into`` the same transaction
        (call both inside one transaction of this device's store: the counter read here is the
        one every earlier transaction committed, and no other can commit before this one).
        Nothing changes here. Raises UnauthorizedAuthorError, MissingKeyError."""
        state = ChainState.from_bytes(self._sealers[compartment].to_bytes())
        raw = Sealer(self.identity, self.team_id, state).seal(
            plaintext, compartment=compartment, log=self._log, keyring=self._keyring)
        return PreparedSeal(raw, compartment, state)

    async def seal_into(self, tx: StoreTransaction, prepared: PreparedSeal, *,
                        doc: str | None = None,
                        committed: Callable[[Sealed], None] | None = None) -> Sealed:
        """Write a prepared seal into ``tx`` (see ``prepare_seal``): the advanced counter and
        the envelope in the outbox of ``doc`` (default: the compartment's document). This
        object adopts the counter once ``tx`` commits, and only then (even if its caller was
        cancelled while the commit ran); ``committed`` is called then too. If ``tx`` does not
        commit, the counter stays free: no envelope carrying it exists anywhere."""
        c = prepared.compartment
        outbox_id = await tx.outbox_add(doc or doc_name(team_uuid(self.team_id), c),
                                        prepared.envelope)
        await tx.put(_ns_team(self.team_id), _sealer_key(c), prepared.state.to_bytes())
        sealed = Sealed(prepared.envelope, outbox_id)

        def adopt() -> None:
            self._sealers[c] = prepared.state
            if committed is not None:
                committed(sealed)

        tx.after_commit(adopt)
        return sealed

    def open(self, raw: bytes, compartment: Compartment,
             chain: ChainState | None = None, *,
             authenticated: Mapping[bytes, Authenticated] | None = None) -> Opened:
        """Verify and decrypt a teammate's envelope (``open_envelope``) against ``chain``, a
        working copy from ``chain(compartment)`` that advances; the chain state this object
        holds never changes here (without ``chain``, a throwaway copy is used). Commit the
        working copy with ``save_chains(tx, {compartment: chain})`` in the transaction that
        stores what the envelopes carried, then ``adopt_chain`` it. ``authenticated``: see
        ``open_envelope`` (a delivery's batch authentication)."""
        state = chain if chain is not None else self._chains[compartment].copy()
        return open_envelope(raw, log=self._log, keyring=self._keyring, team_id=self.team_id,
                             compartment=compartment, chain_state=state,
                             authenticated=authenticated)

    def adopt_chain(self, compartment: Compartment, chain: ChainState) -> None:
        """Make ``chain`` the chain state of ``compartment`` (once its transaction committed)."""
        self._chains[compartment] = chain.copy()

    async def save_chains(self, tx: StoreTransaction | None = None,
                          states: dict[Compartment, ChainState] | None = None) -> None:
        """Write chain states into ``tx`` (``states``, default the ones held); with no ``tx``,
        commit them in a transaction of their own.

        Never commit them before the updates: after a crash the relay's re-sends would then be
        refused as replays and those updates lost. Later is harmless (updates are idempotent)."""
        if tx is None:
            async with self.vault.store.transaction() as own:
                await self.save_chains(own, states)
            return
        for c, state in (states if states is not None else self._chains).items():
            await tx.put(_ns_team(self.team_id), _chain_key(c), state.to_bytes())

    async def append_entries(self, entries: Sequence[bytes]) -> list[tuple[Compartment, int]]:
        """Verify and append new log entries, make the epoch keys the log now asks this device
        to generate, forget keys of compartments it may no longer read; commit all of it in one
        transaction. Returns the keys made (send ``make_key_packages`` to teammates after).

        Raises MembershipError subclasses (nothing changed), StoreError."""
        async with self._lock:
            log = self._log.copy()
            for entry in entries:
                log.append(entry)
            keyring = Keyring.from_bytes(self._keyring.to_bytes())
            made = ensure_epoch_keys(self.identity, log, keyring)
            keyring.prune(self.identity, log)
            async with self.vault.store.transaction() as tx:
                for seq in range(len(self._log), len(log)):
                    await tx.put(_ns_log(self.team_id), _entry_key(seq), log.entries[seq])
                await tx.put(_ns_team(self.team_id), _KEYRING, keyring.to_bytes())
                tx.after_commit(lambda: self._adopt(log, keyring))
        return made

    def _adopt(self, log: MembershipLog, keyring: Keyring) -> None:
        """Hold the log and keyring just committed (``tx.after_commit``: also when the caller
        was cancelled while the commit ran, so that memory never falls behind the file)."""
        self._log, self._keyring = log, keyring

    async def accept_package(self, package: bytes) -> list[tuple[Compartment, int]]:
        """Accept a key package (``Keyring.accept_package``) and commit the keyring; returns the
        new (compartment, epoch) keys. Raises KeyPackageError (nothing changed), StoreError."""
        async with self._lock:
            keyring = Keyring.from_bytes(self._keyring.to_bytes())
            fresh = keyring.accept_package(self.identity, package, self._log)
            if fresh:
                async with self.vault.store.transaction() as tx:
                    await tx.put(_ns_team(self.team_id), _KEYRING, keyring.to_bytes())
                    tx.after_commit(lambda: self._adopt(self._log, keyring))
        return fresh


async def create_team(vault: DeviceVault, name: str, member: str, *,
                      health: bool = False) -> TeamKeys:
    """Found a team on this device: a new team id, the genesis entry making this device its
    admin for ``member``, the epoch-0 keys (MEDICAL only if ``health``) and a ``TeamInfo`` for
    the Team facade (id: ``team_uuid(team_id)``), committed together. Raises StoreError."""
    identity = await vault.identity()
    log = MembershipLog.create(new_team_id(), identity, member=member, health=health)
    keyring = Keyring(log.team_id)
    ensure_epoch_keys(identity, log, keyring)
    return await vault._install(log, keyring, name=name)


async def join_team(vault: DeviceVault, code: str, welcome: bytes, entries: Sequence[bytes],
                    key_package: bytes | None, *, name: str = "") -> TeamKeys:
    """Join with an invitation (``mano_core.crypto.join_team``: redeem the code with
    ``redeem_request(code, await vault.identity())`` first) and commit the verified log, the
    keys received and a ``TeamInfo`` together. ``name`` is the team's display name if known.

    Raises InvitationInvalidError, MembershipError, KeyPackageError, StoreError (already
    joined)."""
    identity = await vault.identity()
    log, keyring = _join_team(code, identity, welcome=welcome, entries=list(entries),
                              key_package=key_package)
    ensure_epoch_keys(identity, log, keyring)  # first device with access to an ownerless epoch
    return await vault._install(log, keyring, name=name)
