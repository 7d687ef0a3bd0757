"""What the store keeps about a team and the names of its documents, and the protocols a Team
needs from the local store and from this device's keys (split from mano_core/team.py: this
module imports nothing of the engine, so the key vault and the sync engine can name a team's
documents without loading it)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import msgspec

from mano_core.ids import Compartment

TEAMS_NAMESPACE = "teams"


class StoreWrites(Protocol):
    """What a Team writes in one store transaction (``mano_core.store.StoreTransaction``
    provides it; a store of the tests' wraps that one): the writes are queued and commit
    together when the transaction's block ends."""

    async def append_updates(self, doc: str, updates: Sequence[bytes]) -> list[int]: ...
    async def write_snapshot(self, doc: str, state: bytes, upto_seq: int) -> None: ...
    async def write_ahead(self) -> None:
        """Send what is queued so far to the file now, uncommitted (a snapshot's chunks
        written while pycrdt applies it); once per transaction."""
    async def delete_document(self, doc: str) -> None: ...
    async def put(self, namespace: str, key: str, value: bytes) -> None: ...
    async def delete(self, namespace: str, key: str) -> None: ...
    async def outbox_add(self, doc: str, payload: bytes) -> int: ...
    async def outbox_remove(self, ids: Iterable[int]) -> None: ...
    def after_commit(self, callback: Callable[[], None]) -> None: ...


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
    async def outbox_size(self, doc: str | None = None) -> int: ...
    def transaction(self) -> AbstractAsyncContextManager[StoreWrites]: ...
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

