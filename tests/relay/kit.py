"""Test helpers: a real team (identities, verified membership log, keyrings, sealers) for raw
protocol clients."""

from __future__ import annotations

import time
from dataclasses import dataclass

from mano_core.crypto import (
    DeviceIdentity,
    Keyring,
    MembershipLog,
    Role,
    Sealer,
    ensure_epoch_keys,
    make_key_packages,
)
from mano_core.ids import Compartment, new_id, new_team_id
from mano_core.protocol import messages as m
from mano_core.sync.transport import RelayClient
from sync_server.storage import NewEnvelope
from sync_server.storage.base import Storage


@dataclass
class KitDevice:
    """One device: identity, its own log copy and keyring, a sealer."""

    name: str
    identity: DeviceIdentity
    log: MembershipLog
    keyring: Keyring
    sealer: Sealer

    @property
    def id(self) -> bytes:
        return self.identity.device_id

    def seal(self, plaintext: bytes, c: Compartment = Compartment.GENERAL) -> bytes:
        return self.sealer.seal(plaintext, compartment=c, log=self.log, keyring=self.keyring)


class TeamKit:
    """A founder (admin, health) plus ``names`` normal devices, all in one verified log."""

    def __init__(self, *names: str) -> None:
        self.team_id = new_team_id()
        founder = DeviceIdentity.generate()
        self.log = MembershipLog.create(self.team_id, founder, member=new_id(), health=True)
        self.devices: dict[str, KitDevice] = {}
        self._add("admin", founder)
        for name in names:
            ident = DeviceIdentity.generate()
            entry = self.log.add_device(founder, ident.public, member=new_id(),
                                        role=Role.NORMAL, health=False)
            self.publish(entry)
            self._add(name, ident)
        self.sync_keys()

    def _add(self, name: str, ident: DeviceIdentity) -> None:
        self.devices[name] = KitDevice(
            name, ident, MembershipLog.from_entries(self.team_id, self.log.entries),
            Keyring(self.team_id), Sealer(ident, self.team_id),
        )

    def __getitem__(self, name: str) -> KitDevice:
        return self.devices[name]

    def publish(self, entry: bytes) -> None:
        self.log.append(entry)
        for d in self.devices.values():
            d.log.append(entry)

    def sync_keys(self) -> None:
        active = [d for d in self.devices.values() if d.log.is_active(d.id)]
        for _ in range(2):
            for d in active:
                ensure_epoch_keys(d.identity, d.log, d.keyring)
            for issuer in active:
                pkgs = make_key_packages(issuer.identity, issuer.log, issuer.keyring)
                for rid, package in pkgs.items():
                    target = next(d for d in active if d.id == rid)
                    target.keyring.accept_package(target.identity, package, target.log)

    async def client(self, url: str, name: str, *, create: bool = False) -> RelayClient:
        """A connected, authenticated client for device ``name``."""
        c = await RelayClient.connect(url)
        genesis = self.log.entries if create else None
        await c.authenticate(self[name].identity, self.team_id, genesis)
        return c

    async def commit_elsewhere(self, storage: Storage, count: int) -> list[int]:
        """``count`` envelopes of the admin in ``storage`` as another node commits them (no
        event here: the caller sends it, as PgBus would); returns their sequences."""
        envs = [self["admin"].seal(b"from another node %d" % i) for i in range(count)]
        out = await storage.append_envelopes(
            [NewEnvelope(self.team_id, 0, self["admin"].id, 1000 + i, e)
             for i, e in enumerate(envs)], time.time())
        return [a.seq for a in out]


async def live_deliveries(client: RelayClient, last: int, wait: float) -> list[int]:
    """The sequences ``client`` receives live until ``last``; AssertionError if none comes for
    ``wait`` seconds."""
    seqs: list[int] = []
    while not seqs or seqs[-1] < last:
        try:
            msg = await client.recv(wait)
        except TimeoutError:
            raise AssertionError(f"live delivery stopped at {seqs} (expected up to {last})"
                                 ) from None
        if isinstance(msg, m.Deliver):
            seqs.extend(s for s, _ in msg.items)
    return seqs


# RelayProcess moved to tests/harness/relay.py (one module per kind of fixture).
from tests.harness.relay import RelayProcess  # noqa: E402,F401
