"""The membership log: an append-only, hash-chained, admin-signed list of membership changes,
and the membership state it describes (who is in, with which role, which epoch is current).

Entry format in ``log_entry``; rules (who may sign what, how epochs advance, how concurrent
admin changes are ordered) in docs/security.md, "Membership log".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from mano_core import limits
from mano_core.crypto import _wire
from mano_core.crypto.identity import (
    DeviceIdentity,
    DevicePublicKeys,
    valid_kem_public,
    valid_public_keys,
)
from mano_core.crypto.log_entry import (
    LOG_VERSION,
    LOG_VERSION_KEM,
    DeviceState,
    MembershipEntry,
    Op,
    Role,
    decode_entry,
    entry_hash,
    sign_entry,
)
from mano_core.errors import ForkedLogError, MembershipError, NotAdminError
from mano_core.ids import Compartment

__all__ = [
    "DeviceState", "MembershipEntry", "MembershipLog", "Op", "Role", "decode_entry", "entry_hash",
]


@dataclass(slots=True)
class _Access:
    """Epoch intervals ``[start, end]`` (end None = still open) of one device, per compartment."""

    spans: dict[Compartment, list[tuple[int, int | None]]] = field(
        default_factory=lambda: {c: [] for c in Compartment}
    )

class MembershipLog:
    """A verified membership log and the state it describes. Mutable: ``append`` grows it.

    Builders (``add_device`` …) return signed entry bytes and do not append them: publish the
    entry (the relay accepts it only if it extends its head), then ``append`` it."""

    __slots__ = (
        "_access",
        "_devices",
        "_entries",
        "_epochs",
        "_generators",
        "_hashes",
        "_invitations",
        "_writable",
        "team_id",
    )

    def __init__(self, team_id: bytes) -> None:
        if len(team_id) != 16:
            raise MembershipError("a team id is 16 bytes")
        self.team_id = team_id
        self._entries: list[bytes] = []
        self._hashes: list[bytes] = []
        self._devices: dict[bytes, DeviceState] = {}
        self._access: dict[bytes, _Access] = {}
        self._epochs: dict[Compartment, int] = dict.fromkeys(Compartment, 0)
        self._generators: dict[tuple[Compartment, int], bytes | None] = {}
        self._invitations: set[bytes] = set()
        # can_write's answers, forgotten at each entry applied (the only change of access)
        self._writable: dict[tuple[bytes, Compartment, int], bool] = {}

    # --- construction -----------------------------------------------------------------------

    @classmethod
    def create(
        cls, team_id: bytes, founder: DeviceIdentity, *, member: str, health: bool = False
    ) -> MembershipLog:
        """A new log whose genesis entry makes ``founder`` the first admin."""
        log = cls(team_id)
        body = MembershipEntry(
            LOG_VERSION_KEM if founder.kem_public else LOG_VERSION, team_id, 0, _wire.ZERO_HASH,
            founder.device_id, Op.GENESIS.value, founder.device_id, founder.kx_public, member,
            Role.ADMIN.value, health, b"", founder.kem_public,
        )
        log.append(sign_entry(founder, body))
        return log

    @classmethod
    def from_entries(cls, team_id: bytes, entries: Iterable[bytes]) -> MembershipLog:
        """Verify a whole log from its genesis. Raises MembershipError subclasses."""
        log = cls(team_id)
        for entry in entries:
            log.append(entry)
        if not log._entries:
            raise MembershipError("a log has at least its genesis entry")
        return log

    def copy(self) -> MembershipLog:
        """An independent copy (no re-verification)."""
        other = MembershipLog(self.team_id)
        other._entries = list(self._entries)
        other._hashes = list(self._hashes)
        other._devices = dict(self._devices)
        other._access = {
            d: _Access({c: list(s) for c, s in a.spans.items()}) for d, a in self._access.items()
        }
        other._epochs = dict(self._epochs)
        other._generators = dict(self._generators)
        other._invitations = set(self._invitations)
        return other

    def append(self, entry: bytes) -> None:
        """Verify ``entry`` against the current head and the rules, then append it.

        Raises ForkedLogError (does not extend the head), NotAdminError (signer not an active
        admin), MembershipError (anything else). On error the log is unchanged."""
        if len(self._entries) >= limits.MAX_MEMBERSHIP_ENTRIES:
            raise MembershipError(f"the log is full ({limits.MAX_MEMBERSHIP_ENTRIES} entries)")
        body, signature = decode_entry(entry)
        if body.version not in (LOG_VERSION, LOG_VERSION_KEM):
            raise MembershipError(f"unknown membership-log version {body.version}")
        if body.team_id != self.team_id:
            raise MembershipError("entry belongs to another team")
        if not _wire.verify(body.signer, signature, _wire.DOMAIN_MEMBERSHIP, entry[:-64]):
            raise MembershipError("bad signature on membership entry")
        self._check(body)
        self._apply(body)
        self._entries.append(entry)
        self._hashes.append(_wire.sha256(entry))

    # --- builders ---------------------------------------------------------------------------

    def add_device(
        self,
        signer: DeviceIdentity,
        device: DevicePublicKeys,
        *,
        member: str,
        role: Role,
        health: bool,
        invitation_id: bytes = b"",
    ) -> bytes:
        """Signed entry adding ``device`` for ``member`` (a member id, not a name), with its
        ML-KEM key if it has one (a version-2 entry)."""
        return self._build(signer, Op.ADD, device_id=device.device_id, kx_public=device.kx_public,
                           member=member, role=role, health=health, invitation_id=invitation_id,
                           kem_public=device.kem_public)

    def change_role(
        self, signer: DeviceIdentity, device_id: bytes, role: Role, health: bool
    ) -> bytes:
        """Signed entry changing a device's role and health flag."""
        return self._build(signer, Op.CHANGE_ROLE, device_id=device_id, role=role, health=health)

    def remove_device(self, signer: DeviceIdentity, device_id: bytes) -> bytes:
        """Signed entry removing one device (e.g. a lost one). Starts a new epoch everywhere."""
        return self._build(signer, Op.REMOVE_DEVICE, device_id=device_id)

    def remove_member(self, signer: DeviceIdentity, member: str) -> bytes:
        """Signed entry removing every device of ``member``. Starts a new epoch everywhere."""
        return self._build(signer, Op.REMOVE_MEMBER, member=member)

    def set_kem_key(self, device: DeviceIdentity) -> bytes:
        """Entry by which an active device publishes its own ML-KEM-768 public key, signed by
        itself (no admin needed: it changes no membership). The migration of a device added
        before ML-KEM; key packages to it then use the hybrid suite."""
        return self._build(device, Op.SET_KEM_KEY, device_id=device.device_id,
                           kem_public=device.kem_public)

    def needs_kem_key(self, device: DeviceIdentity) -> bool:
        """True if ``device`` is active, has an ML-KEM key and the log does not hold it yet."""
        state = self._devices.get(device.device_id)
        return (state is not None and state.active and bool(device.kem_public)
                and state.kem_public != device.kem_public)

    def _build(
        self,
        signer: DeviceIdentity,
        op: Op,
        *,
        device_id: bytes = b"",
        kx_public: bytes = b"",
        member: str = "",
        role: Role | None = None,
        health: bool = False,
        invitation_id: bytes = b"",
        kem_public: bytes = b"",
    ) -> bytes:
        if not self._entries:
            raise MembershipError("the log has no genesis entry")
        body = MembershipEntry(
            LOG_VERSION_KEM if kem_public else LOG_VERSION, self.team_id, len(self._entries),
            self.head_hash, signer.device_id, op.value, device_id, kx_public, member,
            "" if role is None else Role(role).value, health, invitation_id, kem_public,
        )
        self._check(body)
        return sign_entry(signer, body)

    # --- queries ----------------------------------------------------------------------------

    @property
    def entries(self) -> list[bytes]:
        """The wire/stored form of every entry, genesis first (a copy)."""
        return list(self._entries)

    @property
    def head_hash(self) -> bytes:
        """SHA-256 of the last entry."""
        return self._hashes[-1] if self._hashes else _wire.ZERO_HASH

    def __len__(self) -> int:
        return len(self._entries)

    def contains_hash(self, entry_hash: bytes) -> bool:
        """True if an entry of this log has that SHA-256."""
        return entry_hash in self._hashes

    def device(self, device_id: bytes) -> DeviceState | None:
        """The device's current state, or None if it never was in the log."""
        return self._devices.get(device_id)

    def active_devices(self) -> list[DeviceState]:
        """Devices currently in the team, in the order they joined."""
        return [d for d in self._devices.values() if d.active]

    def is_active(self, device_id: bytes) -> bool:
        """True if the device is currently in the team."""
        state = self._devices.get(device_id)
        return state is not None and state.active

    def is_admin(self, device_id: bytes) -> bool:
        """True if the device is currently an active admin."""
        state = self._devices.get(device_id)
        return state is not None and state.active and state.role is Role.ADMIN

    def has_access(self, device_id: bytes, compartment: Compartment) -> bool:
        """True if the device may currently hold keys of ``compartment``."""
        state = self._devices.get(device_id)
        return state is not None and state.has_access(compartment)

    def epoch(self, compartment: Compartment) -> int:
        """The current key epoch of ``compartment``."""
        return self._epochs[compartment]

    def can_write(self, device_id: bytes, compartment: Compartment, epoch: int) -> bool:
        """True if the device had access to ``compartment`` during ``epoch``."""
        key = (device_id, compartment, epoch)
        known = self._writable.get(key)
        if known is None:
            known = self._writable[key] = self._can_write(device_id, compartment, epoch)
        return known

    def _can_write(self, device_id: bytes, compartment: Compartment, epoch: int) -> bool:
        access = self._access.get(device_id)
        current = self._epochs[compartment]
        if access is None or not 0 <= epoch <= current:
            return False
        return any(
            start <= epoch <= (current if end is None else end)
            for start, end in access.spans[compartment]
        )

    def key_generator(self, compartment: Compartment, epoch: int) -> bytes | None:
        """The device that must generate the content key of (compartment, epoch), if known.

        It is the signer of the entry that started the epoch if it has access to the
        compartment, else the earliest-joined device with access right after that entry, else
        (nobody had access) the first device to gain access during that epoch."""
        return self._generators.get((compartment, epoch))

    def invitation_used(self, invitation_id: bytes) -> bool:
        """True if an ADD entry already consumed that invitation."""
        return invitation_id in self._invitations

    # --- rules ------------------------------------------------------------------------------

    def _check(self, e: MembershipEntry) -> None:
        """Raise if ``e`` may not extend this log; reads state only."""
        seq = len(self._entries)
        if e.seq != seq or e.prev_hash != self.head_hash:
            raise ForkedLogError(f"entry {e.seq} does not extend the head (entry {seq})")
        try:
            op = Op(e.op)
            role = Role(e.role) if e.role else None
        except ValueError:
            raise MembershipError(f"unknown op {e.op!r} or role {e.role!r}") from None
        if (op is Op.GENESIS) != (seq == 0):
            raise MembershipError("the genesis entry is the first entry and only the first")
        if (e.version == LOG_VERSION_KEM) != bool(e.kem_public):
            raise MembershipError("a version-2 entry carries an ML-KEM key, a version-1 none")
        if e.kem_public and (op not in (Op.GENESIS, Op.ADD, Op.SET_KEM_KEY)
                             or not valid_kem_public(e.kem_public)):
            raise MembershipError("an ML-KEM key is valid and comes with genesis, add or "
                                  "set_kem_key")
        if op is Op.SET_KEM_KEY:
            if e.signer != e.device_id or not self.is_active(e.signer) or not e.kem_public:
                raise MembershipError("set_kem_key is signed by the active device it keys")
            if e.kx_public or e.member or role is not None or e.health or e.invitation_id:
                raise MembershipError("set_kem_key carries the ML-KEM key and nothing else")
            return
        if op is Op.GENESIS:
            if e.signer != e.device_id or role is not Role.ADMIN:
                raise MembershipError("the genesis adds its own signer as admin")
        elif not self.is_admin(e.signer):
            raise NotAdminError("the signer is not an active admin at this point of the log")
        if op in (Op.GENESIS, Op.ADD):
            if e.device_id in self._devices:
                raise MembershipError("a device id is added only once (new device, new keys)")
            if not valid_public_keys(e.device_id, e.kx_public) or role is None:
                raise MembershipError("an added device needs valid public keys and a role")
            if not 0 < len(e.member) <= limits.MAX_MEMBER_ID_LENGTH:
                raise MembershipError("a member id has 1..MAX_MEMBER_ID_LENGTH characters")
            used = self.invitation_used(e.invitation_id)
            if e.invitation_id and (len(e.invitation_id) != 16 or used):
                raise MembershipError("invitation id is malformed or already used")
            return
        if e.kx_public or e.invitation_id:
            raise MembershipError(f"{op} carries no keys and no invitation")
        if max(self._epochs.values()) >= limits.MAX_KEY_EPOCH:
            raise MembershipError("key epochs are exhausted (u32)")
        if op is Op.REMOVE_MEMBER:
            targets = [d.device_id for d in self.active_devices() if d.member == e.member]
            if not targets or e.device_id:
                raise MembershipError("remove_member names a member with active devices")
        else:
            if not self.is_active(e.device_id):
                raise MembershipError(f"{op} targets an active device")
            targets = [e.device_id]
        if op is Op.CHANGE_ROLE:
            if role is None:
                raise MembershipError("change_role needs a role")
            admins = {d.device_id for d in self.active_devices() if d.role is Role.ADMIN}
            if role is not Role.ADMIN and admins <= set(targets):
                raise MembershipError("the team must keep at least one admin")
        elif e.signer in targets or role is not None or e.health:
            raise MembershipError("an admin cannot remove its own device; removal has no role")

    def _first_with_access(self, compartment: Compartment, signer: bytes) -> bytes | None:
        if self.has_access(signer, compartment):
            return signer
        return next(
            (d.device_id for d in self._devices.values() if d.has_access(compartment)), None
        )

    def _apply(self, e: MembershipEntry) -> None:
        self._writable.clear()
        op = Op(e.op)
        if op is Op.REMOVE_MEMBER:
            targets = [d.device_id for d in self.active_devices() if d.member == e.member]
        else:
            targets = [e.device_id]
        before = {t: self._devices[t] for t in targets if t in self._devices}
        for t in targets:
            old = self._devices.get(t)
            if op in (Op.GENESIS, Op.ADD):
                self._devices[t] = DeviceState(
                    t, e.kx_public, e.member, Role(e.role), e.health, True, e.kem_public
                )
                self._access[t] = _Access()
                if e.invitation_id:
                    self._invitations.add(e.invitation_id)
            elif old is not None and op is Op.CHANGE_ROLE:
                self._devices[t] = replace(old, role=Role(e.role), health=e.health)
            elif old is not None and op is Op.SET_KEM_KEY:
                self._devices[t] = replace(old, kem_public=e.kem_public)
            elif old is not None:
                self._devices[t] = replace(old, active=False)
        if op is Op.GENESIS:
            for c in Compartment:
                self._generators[(c, 0)] = None
        revoked = {
            c for c in Compartment for t, old in before.items()
            if old.has_access(c) and not self._devices[t].has_access(c)
        }
        bump = set(Compartment) if op in (Op.REMOVE_DEVICE, Op.REMOVE_MEMBER) else revoked
        for c in sorted(bump):
            self._epochs[c] += 1
            self._generators[(c, self._epochs[c])] = self._first_with_access(c, e.signer)
        for t in targets:
            spans = self._access[t].spans
            now = self._devices[t]
            for c in Compartment:
                had = t in before and before[t].has_access(c)
                if had and not now.has_access(c):
                    start, _ = spans[c][-1]
                    spans[c][-1] = (start, self._epochs[c] - 1)
                elif now.has_access(c) and not had:
                    spans[c].append((self._epochs[c], None))
                    if self._generators.get((c, self._epochs[c]), b"") is None:
                        self._generators[(c, self._epochs[c])] = t
