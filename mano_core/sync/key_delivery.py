"""Key packages this device owes its teammates, kept in the store until the relay has taken each.

After a membership change (a device added or removed: a new epoch) an admin or a health device
makes one key package per teammate (``make_key_packages``). A package sent once and refused
(the recipient's queue at the relay full, the quota used up) or lost with the connection would
leave that teammate unable to read or write the new epoch, with no repair. So packages are
queued durably here, one per recipient (a newer package carries every key an older one did and
replaces it), and sent at every session and after every change until the relay answers ``ok``
(it then holds it durably until the recipient acknowledges it). A refusal is an alert, never an
exception ending the caller's operation; a recipient no longer in the team (``NOT_FOUND``) is
dropped from the queue.

Store: namespace ``keys-out/<team hex>``, key = recipient device id (hex), value = package."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Final

from mano_core.errors import RelayRefusedError
from mano_core.keys_at_rest import TeamKeys
from mano_core.protocol import messages as m
from mano_core.protocol.codes import ErrorCode
from mano_core.store import LocalStore
from mano_core.sync.transport import RelayClient

Alert = Callable[[str, str], None]
RETRY_AFTER: Final = 30.0  # seconds before a refused package is offered again in a session


class KeyDelivery:
    """The durable queue of key packages to hand to the relay, per team."""

    def __init__(self, keys: TeamKeys, store: LocalStore) -> None:
        self.keys = keys
        self.store = store
        self._ns = f"keys-out/{keys.team_id.hex()}"
        self._lock = asyncio.Lock()
        self.pending = 0  # packages queued and not taken by the relay yet (after ``load``)

    async def load(self) -> None:
        self.pending = len(await self.store.items(self._ns))

    async def queue(self, packages: dict[bytes, bytes]) -> None:
        """Queue ``packages`` (recipient device id -> package) in one transaction; each
        replaces a package still queued for the same recipient. Raises StoreError."""
        if not packages:
            return
        async with self._lock:
            async with self.store.transaction() as tx:
                for device, blob in packages.items():
                    await tx.put(self._ns, device.hex(), blob)
            self.pending = len(await self.store.items(self._ns))

    async def deliver(self, client: RelayClient, alert: Alert) -> int:
        """Offer every queued package to the relay; returns how many it took. A refusal
        (TOO_LARGE, STORAGE_FULL, …) is alerted and the package stays queued; a lost
        connection raises RelayRefusedError (code 0 or fatal): the rest waits for the next
        session."""
        taken = 0
        async with self._lock:
            for key, blob in await self.store.items(self._ns):
                device = bytes.fromhex(key)
                try:
                    await client.request(m.KeyPut(id=client.next_id(), to=device, blob=blob))
                except RelayRefusedError as exc:
                    if exc.fatal or exc.code == 0:
                        raise
                    if exc.code == ErrorCode.NOT_FOUND:  # no longer an active device
                        await self.store.delete(self._ns, key)
                        continue
                    alert("keys", f"key package for device {key[:12]}… not accepted by the "
                                  f"relay yet, kept and offered again: {exc}")
                    continue
                # Only the package sent is removed: a newer one queued meanwhile stays.
                if await self.store.get(self._ns, key) == blob:
                    await self.store.delete(self._ns, key)
                taken += 1
            self.pending = len(await self.store.items(self._ns))
        return taken
