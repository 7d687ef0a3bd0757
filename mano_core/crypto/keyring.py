"""Content keys (per team, compartment and epoch) and key packages that deliver them.

A key package is ``body || signature(64)``; ``body`` is a msgpack array ``[version, team_id,
issuer, recipient, log_head, sealed]`` and ``sealed`` is an HPKE (RFC 9180, base mode) encryption
of the msgpack list ``[[compartment, epoch, key], …]`` to the recipient's keys from the log:
version 2 with the hybrid post-quantum KEM ML-KEM-768 + X25519 (X-Wing, HPKE KEM 0x647A) when
the log holds the recipient's ML-KEM key, version 1 with DHKEM(X25519) otherwise (HKDF-SHA256,
AES-256-GCM for both). Both versions open: every epoch's key of every compartment the recipient
may read and the issuer may hand out. See docs/security.md, "Key hierarchy".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mano_core import limits
from mano_core.crypto import _wire
from mano_core.crypto.identity import DeviceIdentity
from mano_core.crypto.membership import MembershipLog
from mano_core.errors import KeyMaterialError, KeyPackageError, MissingKeyError
from mano_core.ids import Compartment

_VERSION: Final = 1  # of the serialised keyring
PACKAGE_X25519: Final = 1  # key package sealed with DHKEM(X25519)
PACKAGE_HYBRID: Final = 2  # key package sealed with ML-KEM-768 + X25519
_SUITES: Final = {
    PACKAGE_X25519: hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM),
    PACKAGE_HYBRID: hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256,
                               hpke.AEAD.AES_256_GCM),
}

_KeyTriple = tuple[int, int, bytes]


class _PackageBody(msgspec.Struct, array_like=True, forbid_unknown_fields=True, frozen=True):
    version: int
    team_id: bytes
    issuer: bytes
    recipient: bytes
    log_head: bytes
    sealed: bytes


class _KeyringData(msgspec.Struct, array_like=True, forbid_unknown_fields=True, frozen=True):
    version: int
    team_id: bytes
    keys: list[_KeyTriple]


def _hpke_info(team_id: bytes, issuer: bytes, recipient: bytes) -> bytes:
    return _wire.signed_message(_wire.DOMAIN_KEY_PACKAGE, team_id + issuer + recipient)


class Keyring:
    """The content keys one device holds for one team. Mutable; ``to_bytes`` for the store."""

    __slots__ = ("_aeads", "_keys", "team_id")

    def __init__(self, team_id: bytes) -> None:
        if len(team_id) != 16:
            raise KeyMaterialError("a team id is 16 bytes")
        self.team_id = team_id
        self._keys: dict[tuple[Compartment, int], bytes] = {}
        self._aeads: dict[tuple[Compartment, int], tuple[bytes, AESGCM]] = {}

    def key(self, compartment: Compartment, epoch: int) -> bytes:
        """The 32-byte content key. Raises MissingKeyError if this device does not hold it."""
        try:
            return self._keys[(compartment, epoch)]
        except KeyError:
            raise MissingKeyError(f"no key for {compartment.name} epoch {epoch}") from None

    def aead(self, compartment: Compartment, epoch: int) -> AESGCM:
        """The AES-256-GCM cipher of that content key (cached). Raises MissingKeyError."""
        key = self.key(compartment, epoch)
        cached = self._aeads.get((compartment, epoch))
        if cached is None or cached[0] != key:
            cached = (key, AESGCM(key))
            self._aeads[(compartment, epoch)] = cached
        return cached[1]

    def has_key(self, compartment: Compartment, epoch: int) -> bool:
        """True if this keyring holds the key of (compartment, epoch)."""
        return (compartment, epoch) in self._keys

    def epochs(self, compartment: Compartment) -> list[int]:
        """The epochs of ``compartment`` whose key is held, ascending."""
        return sorted(e for c, e in self._keys if c is compartment)

    def accept_package(
        self, identity: DeviceIdentity, package: bytes, log: MembershipLog
    ) -> list[tuple[Compartment, int]]:
        """Verify a key package addressed to ``identity`` and add its keys; returns new ones.

        The issuer must be active in ``log``: an admin for GENERAL keys, a device with medical
        access for MEDICAL keys; ``identity`` must have access to every compartment received.
        Raises KeyPackageError; on error the keyring is unchanged."""
        if not 64 < len(package) <= limits.MAX_KEY_PACKAGE_SIZE:
            raise KeyPackageError("key package size out of bounds")
        body = _wire.decode(package[:-64], _PackageBody, KeyPackageError, "key package")
        if (body.version not in _SUITES or body.team_id != self.team_id
                or log.team_id != self.team_id):
            raise KeyPackageError("key package of another version or team")
        if body.recipient != identity.device_id:
            raise KeyPackageError("key package addressed to another device")
        if not _wire.verify(body.issuer, package[-64:], _wire.DOMAIN_KEY_PACKAGE, package[:-64]):
            raise KeyPackageError("bad signature on key package")
        if not log.is_active(body.issuer):
            raise KeyPackageError("key package issuer is not an active device of the log")
        private = (identity.kx_private if body.version == PACKAGE_X25519
                   else identity.hybrid_private)
        if private is None:
            raise KeyPackageError("a hybrid key package for a device without an ML-KEM key")
        try:
            info = _hpke_info(body.team_id, body.issuer, body.recipient)
            plain = _SUITES[body.version].decrypt(body.sealed, private, info)
        except (InvalidTag, ValueError):  # a wrong key, a tampered or malformed enc
            raise KeyPackageError("key package does not decrypt with this device's key") from None
        triples = _wire.decode(plain, list[_KeyTriple], KeyPackageError, "key package keys")
        fresh: dict[tuple[Compartment, int], bytes] = {}
        for c_value, epoch, key in triples:
            if c_value not in Compartment._value2member_map_ or len(key) != 32:
                raise KeyPackageError("malformed key in package")
            c = Compartment(c_value)
            if not 0 <= epoch <= log.epoch(c):
                raise KeyPackageError(f"{c.name} epoch {epoch} does not exist yet")
            if not _may_issue(log, body.issuer, c) or not log.has_access(identity.device_id, c):
                raise KeyPackageError(f"{c.name} keys may not travel from that issuer to us")
            held = self._keys.get((c, epoch), fresh.get((c, epoch)))
            if held is not None and held != key:
                raise KeyPackageError(f"conflicting key for {c.name} epoch {epoch}")
            if held is None:
                fresh[(c, epoch)] = key
        self._keys.update(fresh)
        return sorted(fresh)

    def prune(self, identity: DeviceIdentity, log: MembershipLog) -> list[tuple[Compartment, int]]:
        """Forget keys of compartments ``identity`` may no longer read (e.g. health flag lost)."""
        gone = [k for k in self._keys if not log.has_access(identity.device_id, k[0])]
        for k in gone:
            del self._keys[k]
            self._aeads.pop(k, None)
        return sorted(gone)

    def to_bytes(self) -> bytes:
        """Serialised keyring. Secret: only the encrypted local store may hold these bytes."""
        keys = [(int(c), e, k) for (c, e), k in sorted(self._keys.items())]
        return _wire.encode(_KeyringData(_VERSION, self.team_id, keys))

    @classmethod
    def from_bytes(cls, data: bytes) -> Keyring:
        """Inverse of ``to_bytes``. Raises KeyMaterialError."""
        decoded = _wire.decode(data, _KeyringData, KeyMaterialError, "keyring")
        if decoded.version != _VERSION or len(decoded.team_id) != 16:
            raise KeyMaterialError("unknown keyring version or bad team id")
        ring = cls(decoded.team_id)
        for c_value, epoch, key in decoded.keys:
            if c_value not in Compartment._value2member_map_ or len(key) != 32 or epoch < 0:
                raise KeyMaterialError("malformed key in keyring")
            ring._keys[(Compartment(c_value), epoch)] = key
        return ring


def _may_issue(log: MembershipLog, issuer: bytes, compartment: Compartment) -> bool:
    if not log.has_access(issuer, compartment):
        return False
    return compartment is Compartment.MEDICAL or log.is_admin(issuer)


def ensure_epoch_keys(
    identity: DeviceIdentity, log: MembershipLog, keyring: Keyring
) -> list[tuple[Compartment, int]]:
    """Generate the current epoch's key of each compartment for which the log designates
    ``identity`` as generator (``MembershipLog.key_generator``) and the key is missing.

    Call after creating a team and after every log entry; then send ``make_key_packages``."""
    made = []
    for c in Compartment:
        epoch = log.epoch(c)
        if log.key_generator(c, epoch) == identity.device_id and not keyring.has_key(c, epoch):
            keyring._keys[(c, epoch)] = AESGCM.generate_key(bit_length=256)
            made.append((c, epoch))
    return made


def rotate_after_removal(
    identity: DeviceIdentity, log: MembershipLog, keyring: Keyring
) -> list[tuple[Compartment, int]]:
    """After a removal entry: make the new epoch keys this device must generate (see
    ``ensure_epoch_keys``). Old content is not re-encrypted; old keys stay in the keyring."""
    return ensure_epoch_keys(identity, log, keyring)


def make_key_packages(
    issuer: DeviceIdentity,
    log: MembershipLog,
    keyring: Keyring,
    *,
    recipients: Iterable[bytes] | None = None,
) -> dict[bytes, bytes]:
    """One key package per active device (or per listed recipient) other than ``issuer``.

    Each carries all epochs' keys of the compartments the recipient may read and the issuer
    may hand out (admins: GENERAL; medical-access devices: MEDICAL). Devices that would
    receive nothing get no package. Raises KeyPackageError if ``issuer`` is not active."""
    if not log.is_active(issuer.device_id) or log.team_id != keyring.team_id:
        raise KeyPackageError("only an active device of this team issues key packages")
    wanted = None if recipients is None else set(recipients)
    packages: dict[bytes, bytes] = {}
    for device in log.active_devices():
        rid = device.device_id
        if rid == issuer.device_id or (wanted is not None and rid not in wanted):
            continue
        triples: list[_KeyTriple] = [
            (int(c), e, k)
            for (c, e), k in sorted(keyring._keys.items())
            if _may_issue(log, issuer.device_id, c) and log.has_access(rid, c)
        ]
        if not triples:
            continue
        info = _hpke_info(log.team_id, issuer.device_id, rid)
        version, public = _recipient_key(device.kx_public, device.kem_public)
        sealed = _SUITES[version].encrypt(_wire.encode(triples), public, info)
        body = _wire.encode(
            _PackageBody(version, log.team_id, issuer.device_id, rid, log.head_hash, sealed)
        )
        package = body + issuer.sign(body, domain=_wire.DOMAIN_KEY_PACKAGE)
        if len(package) > limits.MAX_KEY_PACKAGE_SIZE:
            raise KeyPackageError("too many epoch keys for one package")
        packages[rid] = package
    return packages


def _recipient_key(
    kx_public: bytes, kem_public: bytes
) -> tuple[int, X25519PublicKey | hpke.MLKEM768X25519PublicKey]:
    """The package version and HPKE public key for a recipient's keys from the log."""
    x25519 = X25519PublicKey.from_public_bytes(kx_public)
    if not kem_public:
        return PACKAGE_X25519, x25519
    return PACKAGE_HYBRID, hpke.MLKEM768X25519PublicKey(
        MLKEM768PublicKey.from_public_bytes(kem_public), x25519)
