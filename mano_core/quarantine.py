"""Teammates' updates this device gave up waiting for, kept aside instead of silently dropped.

A teammate's update whose dependencies never arrive (lost behind a pruned history, or from a
faulty author) would otherwise be waited for forever, and every snapshot of the compartment
(and so every erasure's purge) would wait with it. Past its bounds (``limits.MAX_PARKED_SECONDS``,
``limits.MAX_PARKED_UPDATES``) it is moved here in the same transaction that stores the
document without it, and the sync client raises an alert.

Store: namespace ``quarantine/<team id>``, key ``<compartment>/update/<sha-256 hex>``, value a
msgpack ``QuarantinedUpdate``. A quarantine must not keep an erased person, and an update that
never applied cannot be checked for one (an edit names the record it changes by a CRDT id, not
by the record's id): the content is dropped (the record stays) whenever an erasure rewrites the
store (``Team.compact``), and not kept at all in a team that has erasure orders."""

from __future__ import annotations

import hashlib
import time
from typing import Any, Protocol

import msgspec

from mano_core.ids import Compartment


class QuarantinedUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """One update set aside: where, when, why, and its bytes (b"" once dropped)."""

    compartment: int
    digest: str          # SHA-256 of the update, hex
    size: int
    at: float            # time.time() when it was quarantined
    reason: str
    update: bytes = b""


class _Store(Protocol):
    async def items(self, namespace: str) -> list[tuple[str, bytes]]: ...
    def transaction(self) -> Any: ...


class UpdateQuarantine:
    """The quarantine of one team's updates, in the encrypted local store."""

    def __init__(self, store: _Store, team_id: str) -> None:
        self.store = store
        self._ns = f"quarantine/{team_id}"

    async def put(self, tx: Any, compartment: Compartment, update: bytes, reason: str, *,
                  keep_content: bool = True) -> None:
        """Write one quarantined update in the caller's store transaction ``tx``."""
        digest = hashlib.sha256(update).hexdigest()
        row = QuarantinedUpdate(compartment=int(compartment), digest=digest, size=len(update),
                                at=time.time(), reason=reason,
                                update=update if keep_content else b"")
        await tx.put(self._ns, f"{compartment.name.lower()}/update/{digest}",
                     msgspec.msgpack.encode(row))

    async def list(self) -> list[QuarantinedUpdate]:
        """Every quarantined update, oldest first."""
        rows = [msgspec.msgpack.decode(raw, type=QuarantinedUpdate)
                for _key, raw in await self.store.items(self._ns)]
        return sorted(rows, key=lambda r: r.at)

    async def drop_content(self) -> int:
        """Forget the bytes of every quarantined update (keep the records); returns how many."""
        rows = [(key, msgspec.msgpack.decode(raw, type=QuarantinedUpdate))
                for key, raw in await self.store.items(self._ns)]
        full = [(key, row) for key, row in rows if row.update]
        if full:
            async with self.store.transaction() as tx:
                for key, row in full:
                    await tx.put(self._ns, key, msgspec.msgpack.encode(
                        msgspec.structs.replace(row, update=b"")))
        return len(full)
