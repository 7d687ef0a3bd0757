"""Device identity: an Ed25519 signing key pair and an X25519 key-agreement key pair.

The 32-byte raw Ed25519 public key *is* the device id. The private halves never leave the
device: ``to_bytes()`` gives them to the encrypted local store, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from mano_core.crypto import _wire
from mano_core.errors import KeyMaterialError

_IDENTITY_VERSION: Final = 1
_IDENTITY_SIZE: Final = 1 + 32 + 32


def _raw_public(key: Ed25519PublicKey | X25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True, slots=True)
class DevicePublicKeys:
    """What a device publishes: its id (Ed25519 public key) and its X25519 public key."""

    device_id: bytes
    kx_public: bytes

    def __post_init__(self) -> None:
        if len(self.device_id) != 32 or len(self.kx_public) != 32:
            raise KeyMaterialError("device_id and kx_public are 32 bytes each")


@dataclass(frozen=True, slots=True, repr=False)
class DeviceIdentity:
    """A device's private keys. ``repr`` never shows them."""

    _signing: Ed25519PrivateKey
    _kx: X25519PrivateKey
    device_id: bytes
    kx_public: bytes

    @classmethod
    def generate(cls) -> DeviceIdentity:
        """A new identity from the OS random generator."""
        return cls._of(Ed25519PrivateKey.generate(), X25519PrivateKey.generate())

    @classmethod
    def _of(cls, signing: Ed25519PrivateKey, kx: X25519PrivateKey) -> DeviceIdentity:
        return cls(signing, kx, _raw_public(signing.public_key()), _raw_public(kx.public_key()))

    @property
    def public(self) -> DevicePublicKeys:
        """The public half, to put in the membership log."""
        return DevicePublicKeys(self.device_id, self.kx_public)

    @property
    def kx_private(self) -> X25519PrivateKey:
        """The key-agreement private key (used to unwrap key packages)."""
        return self._kx

    def sign(self, data: bytes, *, domain: str = _wire.DOMAIN_RAW) -> bytes:
        """Ed25519 signature of ``domain || 0x00 || data`` (64 bytes).

        The default domain ``mano/v1/raw`` is distinct from every domain Mano uses internally,
        so nothing signed through this method can be passed off as an envelope or a log entry.
        Pass your own ``domain`` (e.g. ``"mano/v1/relay-auth"``) for each new purpose.
        """
        return self._signing.sign(_wire.signed_message(domain, data))

    def to_bytes(self) -> bytes:
        """65 bytes: version (1) || Ed25519 private seed (32) || X25519 private key (32).

        Secret: only the encrypted local store may hold these bytes."""
        seed = self._signing.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        kx = self._kx.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return bytes([_IDENTITY_VERSION]) + seed + kx

    @classmethod
    def from_bytes(cls, data: bytes) -> DeviceIdentity:
        """Inverse of ``to_bytes``. Raises KeyMaterialError on any other input."""
        if len(data) != _IDENTITY_SIZE or data[0] != _IDENTITY_VERSION:
            raise KeyMaterialError("not a serialised device identity (version 1, 65 bytes)")
        return cls._of(
            Ed25519PrivateKey.from_private_bytes(data[1:33]),
            X25519PrivateKey.from_private_bytes(data[33:65]),
        )

    def __repr__(self) -> str:
        return f"DeviceIdentity(device_id={self.device_id.hex()[:16]}…)"


def verify_signature(
    device_id: bytes, signature: bytes, data: bytes, *, domain: str = _wire.DOMAIN_RAW
) -> bool:
    """True if ``signature`` is the signature ``DeviceIdentity.sign(data, domain=domain)`` of
    the device whose id is ``device_id``. Never raises on malformed input."""
    return _wire.verify(device_id, signature, domain, data)


def valid_public_keys(device_id: bytes, kx_public: bytes) -> bool:
    """True if both are well-formed public keys (a valid Ed25519 point, a 32-byte X25519 key)."""
    if len(device_id) != 32 or len(kx_public) != 32:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(device_id)
        X25519PublicKey.from_public_bytes(kx_public)
    except ValueError:
        return False
    return True
