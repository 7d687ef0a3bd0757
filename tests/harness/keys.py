"""An in-memory team of key holders (no store, no relay): every ``KeyDevice`` keeps its own
log copy and keyring, entries and key packages are passed between them directly. The crypto
tests get one from the ``team`` and ``health_team`` fixtures of tests/crypto/conftest.py."""

from __future__ import annotations

from dataclasses import dataclass, field

from mano_core.crypto import (
    ChainState,
    DeviceIdentity,
    Keyring,
    MembershipLog,
    Opened,
    Role,
    Sealer,
    ensure_epoch_keys,
    make_key_packages,
    open_envelope,
)
from mano_core.ids import Compartment, new_id, new_team_id


@dataclass
class KeyDevice:
    """One device's view of the team."""

    identity: DeviceIdentity
    member: str
    log: MembershipLog
    keyring: Keyring
    sealer: Sealer
    chain: ChainState = field(default_factory=ChainState)

    @property
    def id(self) -> bytes:
        return self.identity.device_id

    def seal(self, plaintext: bytes, compartment: Compartment = Compartment.GENERAL) -> bytes:
        return self.sealer.seal(
            plaintext, compartment=compartment, log=self.log, keyring=self.keyring
        )

    def open(self, raw: bytes, compartment: Compartment = Compartment.GENERAL) -> Opened:
        return open_envelope(
            raw, log=self.log, keyring=self.keyring, team_id=self.log.team_id,
            compartment=compartment, chain_state=self.chain,
        )


class KeyTeam:
    """A team whose key devices all see every published entry at once."""

    def __init__(self, *, founder_health: bool = False) -> None:
        self.team_id = new_team_id()
        identity = DeviceIdentity.generate()
        member = new_id()
        log = MembershipLog.create(self.team_id, identity, member=member, health=founder_health)
        self.founder = self._device(identity, member, log)
        self.devices: dict[bytes, KeyDevice] = {identity.device_id: self.founder}
        self.sync_keys()

    def _device(self, identity: DeviceIdentity, member: str, log: MembershipLog) -> KeyDevice:
        return KeyDevice(identity, member, log, Keyring(self.team_id),
                         Sealer(identity, self.team_id))

    def publish(self, entry: bytes) -> None:
        """Every device (removed ones too: the log is not secret) appends the entry."""
        for device in self.devices.values():
            device.log.append(entry)

    def sync_keys(self) -> None:
        """Designated generators make missing keys; every device sends what it may."""
        for _ in range(2):
            for d in self.active():
                ensure_epoch_keys(d.identity, d.log, d.keyring)
            for issuer in self.active():
                packages = make_key_packages(issuer.identity, issuer.log, issuer.keyring)
                for rid, package in packages.items():
                    target = self.devices[rid]
                    target.keyring.accept_package(target.identity, package, target.log)

    def active(self) -> list[KeyDevice]:
        return [d for d in self.devices.values() if self.founder.log.is_active(d.id)]

    def add(
        self,
        *,
        role: Role = Role.NORMAL,
        health: bool = False,
        member: str | None = None,
        by: KeyDevice | None = None,
    ) -> KeyDevice:
        admin = by or self.founder
        identity = DeviceIdentity.generate()
        member = member or new_id()
        entry = admin.log.add_device(admin.identity, identity.public, member=member, role=role,
                                     health=health)
        self.publish(entry)
        log = MembershipLog.from_entries(self.team_id, admin.log.entries)
        device = self._device(identity, member, log)
        self.devices[identity.device_id] = device
        self.sync_keys()
        return device

    def remove(self, device: KeyDevice, *, by: KeyDevice | None = None) -> None:
        admin = by or self.founder
        self.publish(admin.log.remove_device(admin.identity, device.id))
        self.sync_keys()
