"""Shared low-level helpers: domain labels, domain-separated signatures, msgpack decoding.

Every signature Mano makes is over ``label || 0x00 || data`` so that a signature made for one
purpose (an envelope, a log entry, a relay challenge) can never be replayed as another.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Final, TypeVar

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from mano_core import bounded
from mano_core.errors import CryptoError

DOMAIN_ENVELOPE: Final = "mano/v1/envelope"
DOMAIN_MEMBERSHIP: Final = "mano/v1/membership"
DOMAIN_KEY_PACKAGE: Final = "mano/v1/key-package"
DOMAIN_INVITATION: Final = "mano/v1/invitation"
DOMAIN_RAW: Final = "mano/v1/raw"

ZERO_HASH: Final = bytes(32)
SIGNATURE_SIZE: Final = 64
KEY_SIZE: Final = 32

_T = TypeVar("_T")


def signed_message(domain: str, data: bytes) -> bytes:
    """The exact bytes an Ed25519 signature covers: ``domain (UTF-8) || 0x00 || data``."""
    return _prefix(domain) + data


@functools.lru_cache(maxsize=64)
def _prefix(domain: str) -> bytes:
    label = domain.encode()
    if not label or b"\x00" in label:
        raise CryptoError("a signature domain is a non-empty label without NUL bytes")
    return label + b"\x00"


def signature_prefix(domain: str) -> bytes:
    """What ``signed_message`` puts before the data: ``domain (UTF-8) || 0x00``."""
    return _prefix(domain)


def verify_framed(device_id: bytes, signature: bytes, framed: bytes | memoryview) -> bool:
    """``verify`` for a message already framed (``signature_prefix(domain) || data``): a
    large message is checked where it lies, without the copy ``signed_message`` makes.
    Releases the GIL while it hashes (a worker thread may run it)."""
    if len(device_id) != 32 or len(signature) != SIGNATURE_SIZE:
        return False
    try:
        _public_key(device_id).verify(signature, framed)
    except (InvalidSignature, ValueError):
        return False
    return True


def verify(device_id: bytes, signature: bytes, domain: str, data: bytes) -> bool:
    """True if ``signature`` is ``device_id``'s Ed25519 signature of ``data`` under ``domain``."""
    if len(device_id) != 32 or len(signature) != SIGNATURE_SIZE:
        return False
    try:
        _public_key(device_id).verify(signature, signed_message(domain, data))
    except (InvalidSignature, ValueError):
        return False
    return True


@functools.lru_cache(maxsize=4096)
def _public_key(device_id: bytes) -> Ed25519PublicKey:
    # loading decompresses the point: cache it for the few hundred authors of a team
    return Ed25519PublicKey.from_public_bytes(device_id)


def sha256(data: bytes) -> bytes:
    """SHA-256 digest."""
    return hashlib.sha256(data).digest()


_encoder = msgspec.msgpack.Encoder()


def encode(obj: object) -> bytes:
    """msgpack-encode a msgspec Struct (array-like structs give compact, fixed-order bytes)."""
    return _encoder.encode(obj)


def decode(data: bytes, kind: type[_T], error: type[CryptoError], what: str) -> _T:
    """Decode msgpack ``data`` as ``kind``, raising ``error`` (never a msgspec error)."""
    return bounded.decode(data, kind, error=error, what=what)
