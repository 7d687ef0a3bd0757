"""Invitations: a one-time code an admin gives a new device, redeemed without the relay learning
anything it could use.

Code: Crockford base32 of ``team_id (16) || secret (12) || SHA-256(team_id || secret)[:2]``,
48 characters in 12 groups of 4. From the secret, HKDF-SHA256 (salt = team id) derives the
public ``invitation_id`` (what the relay sees, to route), an AES-256-GCM key and the relay
proof: the admin opens the invitation at the relay with ``verifier = SHA-256(proof)`` and the
new device's request carries ``proof``, so that only a holder of the code takes its slot. The new
device's request and the admin's welcome are encrypted and authenticated under that key, so
the relay can neither read them nor substitute its own device keys. Flow in docs/security.md.
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass
from typing import Final

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from mano_core import limits
from mano_core.crypto import _wire
from mano_core.crypto.identity import DeviceIdentity, DevicePublicKeys
from mano_core.crypto.keyring import Keyring, make_key_packages
from mano_core.crypto.membership import MembershipLog, Role, entry_hash
from mano_core.errors import (
    InvitationExpiredError,
    InvitationInvalidError,
    InvitationUsedError,
    KeyMaterialError,
    LimitExceededError,
    NotAdminError,
)
from mano_core.ids import new_id

_VERSION: Final = 1
_SECRET_SIZE: Final = 12
_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CODE_BYTES: Final = 16 + _SECRET_SIZE + 2
_CODE_CHARS: Final = _CODE_BYTES * 8 // 5  # 48
_AD_REQUEST: Final = _wire.signed_message(_wire.DOMAIN_INVITATION, b"request")
_AD_WELCOME: Final = _wire.signed_message(_wire.DOMAIN_INVITATION, b"welcome")
_DOMAIN_PROOF: Final = _wire.DOMAIN_INVITATION + "/proof"
RELAY_PROOF_SIZE: Final = 32  # bytes of invite_request.proof


def _derive(team_id: bytes, secret: bytes, label: bytes, size: int) -> bytes:
    info = _wire.signed_message(_wire.DOMAIN_INVITATION, label)
    return HKDF(hashes.SHA256(), size, salt=team_id, info=info).derive(secret)


def _checksum(team_id: bytes, secret: bytes) -> bytes:
    return _wire.sha256(team_id + secret)[:2]


def _encode_code(team_id: bytes, secret: bytes) -> str:
    number = int.from_bytes(team_id + secret + _checksum(team_id, secret))
    chars = "".join(_ALPHABET[(number >> (5 * i)) & 31] for i in reversed(range(_CODE_CHARS)))
    return "-".join(chars[i : i + 4] for i in range(0, _CODE_CHARS, 4))


def parse_code(code: str) -> tuple[bytes, bytes]:
    """(team_id, secret) from a typed code; tolerant of case, dashes, spaces, O/0 and I/L/1.

    Raises InvitationInvalidError on a mistyped code (2-byte checksum)."""
    cleaned = code.upper().translate(str.maketrans("OIL", "011", "- \t\n"))
    if len(cleaned) != _CODE_CHARS or any(ch not in _ALPHABET for ch in cleaned):
        raise InvitationInvalidError(f"an invitation code has {_CODE_CHARS} base32 characters")
    number = 0
    for ch in cleaned:
        number = number * 32 + _ALPHABET.index(ch)
    raw = number.to_bytes(_CODE_BYTES)
    team_id, secret, check = raw[:16], raw[16:-2], raw[-2:]
    if not hmac.compare_digest(check, _checksum(team_id, secret)):
        raise InvitationInvalidError("the invitation code is mistyped (checksum)")
    return team_id, secret


class _Record(msgspec.Struct, array_like=True, forbid_unknown_fields=True, frozen=True):
    version: int
    team_id: bytes
    invitation_id: bytes
    key: bytes
    issuer: bytes
    member: str
    role: str
    health: bool
    expires_at: int
    verifier: bytes = b""  # absent from records made before the relay proof


class _RequestPayload(msgspec.Struct, array_like=True, forbid_unknown_fields=True, frozen=True):
    device_id: bytes
    kx_public: bytes
    proof: bytes
    kem_public: bytes = b""  # absent (3 elements) from a device without an ML-KEM key


@dataclass(frozen=True, slots=True, repr=False)
class Invitation:
    """The admin device's record of an open invitation. Holds a secret-derived key: persist
    ``to_bytes()`` only in the encrypted local store."""

    team_id: bytes
    invitation_id: bytes
    key: bytes
    issuer: bytes
    member: str
    role: Role
    health: bool
    expires_at: int
    verifier: bytes = b""  # SHA-256 of the relay proof; b"" in records older than it

    @classmethod
    def create(
        cls,
        admin: DeviceIdentity,
        log: MembershipLog,
        *,
        role: Role,
        health: bool,
        expires_at: int,
        now: int,
        member: str | None = None,
        secret: bytes | None = None,
    ) -> tuple[str, Invitation]:
        """A new invitation: (code to show/type, record to keep). Times are Unix seconds.

        ``member`` is the member id the new device will belong to (default: a new member).
        Raises NotAdminError, InvitationExpiredError (expires_at <= now), LimitExceededError
        (lifetime above MAX_INVITATION_LIFETIME). ``secret`` (12 bytes) is for test vectors
        only: by default a fresh random one."""
        if not log.is_admin(admin.device_id):
            raise NotAdminError("only an active admin creates invitations")
        if expires_at <= now:
            raise InvitationExpiredError("an invitation must expire in the future")
        if expires_at - now > limits.MAX_INVITATION_LIFETIME:
            raise LimitExceededError(
                "MAX_INVITATION_LIFETIME", expires_at - now, limits.MAX_INVITATION_LIFETIME
            )
        if secret is None:
            secret = os.urandom(_SECRET_SIZE)
        elif len(secret) != _SECRET_SIZE:
            raise InvitationInvalidError(f"an invitation secret is {_SECRET_SIZE} bytes")
        record = cls(
            log.team_id,
            _derive(log.team_id, secret, b"id", 16),
            _derive(log.team_id, secret, b"key", 32),
            admin.device_id,
            member if member is not None else new_id(),
            Role(role),
            health,
            expires_at,
            relay_verifier(_relay_proof(log.team_id, secret)),
        )
        return _encode_code(log.team_id, secret), record

    def to_bytes(self) -> bytes:
        """Serialised record (secret)."""
        return _wire.encode(
            _Record(_VERSION, self.team_id, self.invitation_id, self.key, self.issuer,
                    self.member, self.role.value, self.health, self.expires_at,
                    self.verifier)
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Invitation:
        """Inverse of ``to_bytes``. Raises InvitationInvalidError."""
        r = _wire.decode(data, _Record, InvitationInvalidError, "invitation record")
        if r.version != _VERSION or r.role not in Role._value2member_map_:
            raise InvitationInvalidError("unknown invitation record version or role")
        return cls(r.team_id, r.invitation_id, r.key, r.issuer, r.member, Role(r.role),
                   r.health, r.expires_at, r.verifier)

    def __repr__(self) -> str:
        return (f"Invitation(id={self.invitation_id.hex()}, role={self.role}, "
                f"expires_at={self.expires_at})")


def _relay_proof(team_id: bytes, secret: bytes) -> bytes:
    return _derive(team_id, secret, b"relay-proof", RELAY_PROOF_SIZE)


def relay_proof(code: str) -> bytes:
    """What the new device shows the relay with its request (``invite_request.proof``): HKDF of
    the code's secret, label "relay-proof". It proves knowledge of the code to the relay, which
    stores only its SHA-256 (``relay_verifier``). Raises InvitationInvalidError (mistyped)."""
    team_id, secret = parse_code(code)
    return _relay_proof(team_id, secret)


def relay_verifier(proof: bytes) -> bytes:
    """SHA-256 of a relay proof: what the admin registers with ``invite_open``."""
    return _wire.sha256(proof)


def redeem_request(code: str, identity: DeviceIdentity, *, nonce: bytes | None = None) -> bytes:
    """What the new device sends (through the relay): ``0x01 || invitation_id (16) ||
    nonce (12) || AES-GCM(public keys (with its ML-KEM key) + proof of its signing key)``. Raises
    InvitationInvalidError on a mistyped code. ``nonce``: test vectors only (default random)."""
    team_id, secret = parse_code(code)
    invitation_id = _derive(team_id, secret, b"id", 16)
    keys = identity.kx_public + identity.kem_public
    proof = identity.sign(team_id + invitation_id + keys, domain=_DOMAIN_PROOF)
    fields = [identity.device_id, identity.kx_public, proof]
    payload = _wire.encode(fields + [identity.kem_public] if identity.kem_public else fields)
    nonce = os.urandom(12) if nonce is None else nonce
    aead = AESGCM(_derive(team_id, secret, b"key", 32))
    sealed = aead.encrypt(nonce, payload, _AD_REQUEST + team_id + invitation_id)
    return bytes([_VERSION]) + invitation_id + nonce + sealed


def invitation_id_of(request: bytes) -> bytes:
    """The public invitation id a request is for (for routing). Raises InvitationInvalidError."""
    if not 29 + 16 <= len(request) <= limits.MAX_INVITATION_MESSAGE_SIZE or request[0] != _VERSION:
        raise InvitationInvalidError("not an invitation request")
    return request[1:17]


@dataclass(frozen=True, slots=True)
class Admission:
    """What the admin device produces on accepting a request: the log entry to publish, the
    new device's key package (None if the admin may hand out nothing it can read) and the
    welcome to send back to the new device."""

    device_id: bytes
    entry: bytes
    key_package: bytes | None
    welcome: bytes


def accept_request(
    admin: DeviceIdentity,
    log: MembershipLog,
    keyring: Keyring,
    invitation: Invitation,
    request: bytes,
    *,
    now: int,
    nonce: bytes | None = None,
) -> Admission:
    """Admin side: check and answer a redeem request. Does not append to ``log``.

    Raises InvitationExpiredError, InvitationUsedError (the log already holds an entry for
    it), InvitationInvalidError (wrong team, tampered or not made from the code), and the
    MembershipError subclasses of ``MembershipLog.add_device``. ``nonce`` (of the welcome):
    test vectors only (default random)."""
    if invitation.team_id != log.team_id:
        raise InvitationInvalidError("invitation of another team")
    if now >= invitation.expires_at:
        raise InvitationExpiredError("the invitation has expired")
    if log.invitation_used(invitation.invitation_id):
        raise InvitationUsedError("the invitation was already redeemed")
    if invitation_id_of(request) != invitation.invitation_id:
        raise InvitationInvalidError("request for another invitation")
    team_id, inv_id = invitation.team_id, invitation.invitation_id
    try:
        payload = AESGCM(invitation.key).decrypt(
            request[17:29], request[29:], _AD_REQUEST + team_id + inv_id
        )
    except InvalidTag:
        raise InvitationInvalidError("request not made from this invitation's code") from None
    p = _wire.decode(payload, _RequestPayload, InvitationInvalidError, "invitation request")
    proved = team_id + inv_id + p.kx_public + p.kem_public
    if not _wire.verify(p.device_id, p.proof, _DOMAIN_PROOF, proved):
        raise InvitationInvalidError("the new device does not hold its signing key")
    try:
        keys = DevicePublicKeys(p.device_id, p.kx_public, p.kem_public)
    except KeyMaterialError:
        raise InvitationInvalidError("the new device's public keys are malformed") from None
    entry = log.add_device(
        admin, keys, member=invitation.member,
        role=invitation.role, health=invitation.health, invitation_id=inv_id,
    )
    after = log.copy()
    after.append(entry)
    package = make_key_packages(admin, after, keyring, recipients=[p.device_id]).get(p.device_id)
    nonce = os.urandom(12) if nonce is None else nonce
    body = entry_hash(entry) + p.device_id
    welcome = nonce + AESGCM(invitation.key).encrypt(nonce, body, _AD_WELCOME + team_id + inv_id)
    return Admission(p.device_id, entry, package, welcome)


def join_team(
    code: str,
    identity: DeviceIdentity,
    *,
    welcome: bytes,
    entries: list[bytes],
    key_package: bytes | None,
) -> tuple[MembershipLog, Keyring]:
    """New-device side: authenticate the team's log with the welcome, then accept the keys.

    ``entries`` is the team's log as served by the relay; the welcome (only the inviting admin
    can make it) proves the entry that added us belongs to it. Raises InvitationInvalidError,
    MembershipError subclasses, KeyPackageError."""
    team_id, secret = parse_code(code)
    inv_id = _derive(team_id, secret, b"id", 16)
    if not 12 + 16 < len(welcome) <= limits.MAX_INVITATION_MESSAGE_SIZE:
        raise InvitationInvalidError("not a welcome")
    try:
        body = AESGCM(_derive(team_id, secret, b"key", 32)).decrypt(
            welcome[:12], welcome[12:], _AD_WELCOME + team_id + inv_id
        )
    except InvalidTag:
        raise InvitationInvalidError("welcome not made by the inviting admin") from None
    if len(body) != 64 or body[32:] != identity.device_id:
        raise InvitationInvalidError("welcome addressed to another device")
    log = MembershipLog.from_entries(team_id, entries)
    if not log.contains_hash(body[:32]) or not log.is_active(identity.device_id):
        raise InvitationInvalidError("the log served is not the one the admin added us to")
    keyring = Keyring(team_id)
    if key_package is not None:
        keyring.accept_package(identity, key_package, log)
    return log, keyring
