"""Device identity: an Ed25519 signing key pair, an X25519 key-agreement key pair and an
ML-KEM-768 key pair (with the X25519 one, the hybrid post-quantum KEM key packages are sealed
to: docs/security.md §4).

The 32-byte raw Ed25519 public key *is* the device id. The private halves never leave the
device: ``to_bytes()`` gives them to the encrypted local store, nothing else. Identities made
before ML-KEM (serialisation version 1) load without it; ``with_kem()`` adds one (migration).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PrivateKey, MLKEM768PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from mano_core.crypto import _wire
from mano_core.errors import KeyMaterialError

_V1_SIZE: Final = 1 + 32 + 32            # version 1: Ed25519 seed, X25519 key
_V2_SIZE: Final = 1 + 32 + 32 + 64       # version 2: and the ML-KEM-768 seed (d || z)
KEM_PUBLIC_SIZE: Final = 1184            # an ML-KEM-768 encapsulation key


def _raw_public(key: Ed25519PublicKey | X25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True, slots=True)
class DevicePublicKeys:
    """What a device publishes: its id (Ed25519 public key), its X25519 public key and its
    ML-KEM-768 public key (empty for an identity from before ML-KEM)."""

    device_id: bytes
    kx_public: bytes
    kem_public: bytes = b""

    def __post_init__(self) -> None:
        if len(self.device_id) != 32 or len(self.kx_public) != 32:
            raise KeyMaterialError("device_id and kx_public are 32 bytes each")
        if len(self.kem_public) not in (0, KEM_PUBLIC_SIZE):
            raise KeyMaterialError(f"kem_public is {KEM_PUBLIC_SIZE} bytes (or empty)")


@dataclass(frozen=True, slots=True, repr=False)
class DeviceIdentity:
    """A device's private keys. ``repr`` never shows them."""

    _signing: Ed25519PrivateKey
    _kx: X25519PrivateKey
    _kem: MLKEM768PrivateKey | None
    device_id: bytes
    kx_public: bytes
    kem_public: bytes  # b"" without an ML-KEM key (an identity from before ML-KEM)

    @classmethod
    def generate(cls) -> DeviceIdentity:
        """A new identity (with its ML-KEM key) from the OS random generator."""
        return cls._of(Ed25519PrivateKey.generate(), X25519PrivateKey.generate(),
                       MLKEM768PrivateKey.generate())

    @classmethod
    def _of(cls, signing: Ed25519PrivateKey, kx: X25519PrivateKey,
            kem: MLKEM768PrivateKey | None) -> DeviceIdentity:
        kem_public = b"" if kem is None else kem.public_key().public_bytes_raw()
        return cls(signing, kx, kem, _raw_public(signing.public_key()),
                   _raw_public(kx.public_key()), kem_public)

    def with_kem(self) -> DeviceIdentity:
        """This identity with a new ML-KEM-768 key (same device id and X25519 key): the
        migration of an identity from before ML-KEM. Itself if it has one already."""
        return self if self._kem is not None else self._of(
            self._signing, self._kx, MLKEM768PrivateKey.generate())

    @property
    def public(self) -> DevicePublicKeys:
        """The public half, to put in the membership log."""
        return DevicePublicKeys(self.device_id, self.kx_public, self.kem_public)

    @property
    def kx_private(self) -> X25519PrivateKey:
        """The key-agreement private key (used to unwrap version-1 key packages)."""
        return self._kx

    @property
    def hybrid_private(self) -> hpke.MLKEM768X25519PrivateKey | None:
        """The ML-KEM-768 + X25519 private key (version-2 key packages); None without ML-KEM."""
        return None if self._kem is None else hpke.MLKEM768X25519PrivateKey(self._kem, self._kx)

    def sign(self, data: bytes, *, domain: str = _wire.DOMAIN_RAW) -> bytes:
        """Ed25519 signature of ``domain || 0x00 || data`` (64 bytes).

        The default domain ``mano/v1/raw`` is distinct from every domain Mano uses internally,
        so nothing signed through this method can be passed off as an envelope or a log entry.
        Pass your own ``domain`` (e.g. ``"mano/v1/relay-auth"``) for each new purpose.
        """
        return self._signing.sign(_wire.signed_message(domain, data))

    def to_bytes(self) -> bytes:
        """129 bytes: version (2) || Ed25519 private seed (32) || X25519 private key (32) ||
        ML-KEM-768 seed (64); without ML-KEM, version 1 and the first 65 bytes.

        Secret: only the encrypted local store may hold these bytes."""
        seed = self._signing.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        kx = self._kx.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        if self._kem is None:
            return b"\x01" + seed + kx
        return b"\x02" + seed + kx + self._kem.private_bytes_raw()

    @classmethod
    def from_bytes(cls, data: bytes) -> DeviceIdentity:
        """Inverse of ``to_bytes`` (versions 1 and 2). Raises KeyMaterialError on any other
        input."""
        if not ((len(data) == _V1_SIZE and data[:1] == b"\x01")
                or (len(data) == _V2_SIZE and data[:1] == b"\x02")):
            raise KeyMaterialError("not a serialised device identity (version 1 or 2)")
        kem = MLKEM768PrivateKey.from_seed_bytes(data[65:129]) if data[0] == 2 else None
        return cls._of(
            Ed25519PrivateKey.from_private_bytes(data[1:33]),
            X25519PrivateKey.from_private_bytes(data[33:65]),
            kem,
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


def valid_kem_public(kem_public: bytes) -> bool:
    """True if ``kem_public`` is a well-formed ML-KEM-768 encapsulation key (FIPS 203 checks)."""
    if len(kem_public) != KEM_PUBLIC_SIZE:
        return False
    try:
        MLKEM768PublicKey.from_public_bytes(kem_public)
    except ValueError:
        return False
    return True
