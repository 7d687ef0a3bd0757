"""The quarantine of one team: what this device received and set aside instead of applying,
kept (with an alert when it happened) instead of silently dropped. One place, two kinds:

- **envelopes** (``QuarantinedEnvelope``): a teammate's envelope that failed a check (bad
  signature, wrong context, unreadable plaintext, malformed or too deeply nested update, an
  update the document refuses, an author without access): its relay sequence, compartment,
  author, author counter, error, and its bytes. The relay cursor moves past it in the same
  transaction that stores its row (sync/machine.py), so it never costs another envelope.
- **updates** (``QuarantinedUpdate``): a teammate's update the role table refused (replaced
  by a neutral one, mano_core/rules), or one whose dependencies never arrived within
  ``limits.MAX_PARKED_SECONDS`` / ``limits.MAX_PARKED_UPDATES`` (moved here in the transaction
  that stores the document without it, so snapshots and erasures go on).

``await team.quarantine.list()`` lists both, oldest first; ``sync.state.quarantine`` is the
envelopes as read from here (after each commit that adds one): the store is the one list, so
what a client shows is what is committed, after a restart too, each envelope once. Store:
namespace ``quarantine/<team id>``, keys
``<compartment>/envelope/<seq, 12 digits>`` and ``<compartment>/update/<sha-256 hex>``, values
msgpack. A quarantine must not keep an erased person, and what never applied cannot be checked
for one (an edit names the record it changes by a CRDT id, not by the record's id): the bytes
are dropped (the rows stay) whenever an erasure rewrites the store (``Team.compact``), and not
kept at all in a team that has erasure orders."""

from __future__ import annotations

import hashlib
import time
from typing import Any, ClassVar, Protocol

import msgspec

from mano_core.ids import Compartment


class QuarantinedUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """One update set aside: where, when, why, and its bytes (b"" once dropped)."""

    kind: ClassVar[str] = "update"
    compartment: int
    digest: str          # SHA-256 of the update, hex
    size: int
    at: float            # time.time() when it was quarantined
    reason: str
    update: bytes = b""


class QuarantinedEnvelope(msgspec.Struct, frozen=True, kw_only=True):
    """One envelope set aside: its relay ``seq``, ``author`` device (b"" if the envelope
    cannot even be parsed), author ``counter`` (-1 if unknown), the error's class name
    (``code``) and message, and its bytes (b"" once dropped)."""

    kind: ClassVar[str] = "envelope"
    compartment: int
    seq: int
    author: bytes
    counter: int
    code: str
    detail: str
    at: float
    envelope: bytes = b""

    @property
    def reason(self) -> str:
        return f"{self.code}: {self.detail}"


Quarantined = QuarantinedUpdate | QuarantinedEnvelope


class _Store(Protocol):
    async def items(self, namespace: str) -> list[tuple[str, bytes]]: ...
    def transaction(self) -> Any: ...


class TeamQuarantine:
    """The quarantine of one team's received data, in the encrypted local store."""

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

    async def put_envelope(self, tx: Any, row: QuarantinedEnvelope, *,
                           keep_content: bool = True) -> None:
        """Write one quarantined envelope in the caller's store transaction ``tx`` (the one
        that moves the cursor past it)."""
        if not keep_content:
            row = msgspec.structs.replace(row, envelope=b"")
        name = Compartment(row.compartment).name.lower()
        await tx.put(self._ns, f"{name}/envelope/{row.seq:012d}", msgspec.msgpack.encode(row))

    async def updates(self) -> list[QuarantinedUpdate]:
        """Every quarantined update, oldest first."""
        rows = [msgspec.msgpack.decode(raw, type=QuarantinedUpdate)
                for key, raw in await self.store.items(self._ns) if "/update/" in key]
        return sorted(rows, key=lambda r: r.at)

    async def envelopes(self) -> list[QuarantinedEnvelope]:
        """Every quarantined envelope, by compartment and sequence."""
        rows = [msgspec.msgpack.decode(raw, type=QuarantinedEnvelope)
                for key, raw in await self.store.items(self._ns) if "/envelope/" in key]
        return sorted(rows, key=lambda r: (r.compartment, r.seq))

    async def drop_content(self) -> int:
        """Forget the bytes of everything quarantined (keep the rows); returns how many."""
        full: list[tuple[str, bytes]] = []
        for key, raw in await self.store.items(self._ns):
            row: Quarantined
            if "/envelope/" in key:
                row = msgspec.msgpack.decode(raw, type=QuarantinedEnvelope)
                if row.envelope:
                    full.append((key, msgspec.msgpack.encode(
                        msgspec.structs.replace(row, envelope=b""))))
            else:
                row = msgspec.msgpack.decode(raw, type=QuarantinedUpdate)
                if row.update:
                    full.append((key, msgspec.msgpack.encode(
                        msgspec.structs.replace(row, update=b""))))
        if full:
            async with self.store.transaction() as tx:
                for key, value in full:
                    await tx.put(self._ns, key, value)
        return len(full)

    # last in the class: its name would shadow the builtin in the annotations above
    async def list(self) -> list[Quarantined]:
        """Everything quarantined, envelopes and updates, oldest first."""
        return sorted([*await self.envelopes(), *await self.updates()], key=lambda r: r.at)
