"""Cryptographic primitives of the local store: the wrapped data key, AEAD rows, lookup tags.

A random 256-bit data key is wrapped (AES-256-GCM) under the passphrase-derived key-encryption
key. Two subkeys are derived from it with HKDF-SHA256: one encrypts rows (AES-256-GCM, random
96-bit nonce, stored as ``nonce || ciphertext || tag``), the other computes HMAC-SHA256 lookup
tags so that document and record names never appear in the file.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from mano_core.errors import StoreCorruptedError, WrongPassphraseError

FORMAT: Final = b"mano-store/1"
DATA_KEY_BYTES: Final = 32
NONCE_BYTES: Final = 12
AEAD_TAG_BYTES: Final = 16
LOOKUP_TAG_BYTES: Final = 32
OVERHEAD: Final = NONCE_BYTES + AEAD_TAG_BYTES


def new_data_key() -> bytes:
    """A fresh random data key."""
    return os.urandom(DATA_KEY_BYTES)


def _wrap_ad(kdf_blob: bytes, salt: bytes) -> bytes:
    # Binding the KDF parameters and salt means a tampered meta table cannot unwrap the key.
    return FORMAT + b"|data-key|" + kdf_blob + salt


def wrap_data_key(kek: bytes, data_key: bytes, kdf_blob: bytes, salt: bytes) -> bytes:
    """Encrypt the data key under the key-encryption key."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(kek).encrypt(nonce, data_key, _wrap_ad(kdf_blob, salt))


def unwrap_data_key(kek: bytes, wrapped: bytes, kdf_blob: bytes, salt: bytes) -> bytes:
    """Decrypt the data key. Raises WrongPassphraseError if the key-encryption key is wrong."""
    if len(wrapped) != NONCE_BYTES + DATA_KEY_BYTES + AEAD_TAG_BYTES:
        raise StoreCorruptedError("meta.wrapped_key: wrong length")
    try:
        return AESGCM(kek).decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:],
                                   _wrap_ad(kdf_blob, salt))
    except InvalidTag:
        raise WrongPassphraseError("the passphrase does not unlock this store") from None


def _subkey(data_key: bytes, purpose: bytes) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=FORMAT + b"|" + purpose)
    return hkdf.derive(data_key)


class RowCipher:
    """Seals and opens rows, and computes lookup tags, under one store's data key."""

    __slots__ = ("_aead", "_tag_key")

    def __init__(self, data_key: bytes) -> None:
        self._aead = AESGCM(_subkey(data_key, b"rows"))
        self._tag_key = _subkey(data_key, b"lookup-tags")

    def tag(self, kind: bytes, *names: str) -> bytes:
        """HMAC-SHA256 of a length-prefixed (kind, names…) tuple: a row's lookup key."""
        mac = hmac.new(self._tag_key, kind + b"|", hashlib.sha256)
        for name in names:
            raw = name.encode("utf-8")
            mac.update(len(raw).to_bytes(4, "big"))
            mac.update(raw)
        return mac.digest()

    def seal(self, plaintext: bytes | bytearray | memoryview, ad: bytes) -> bytearray:
        """``nonce || AES-256-GCM(plaintext, ad)``, written in place (no copy of the ciphertext)."""
        nonce = os.urandom(NONCE_BYTES)
        out = bytearray(OVERHEAD + len(plaintext))
        out[:NONCE_BYTES] = nonce
        self._aead.encrypt_into(nonce, plaintext, ad, memoryview(out)[NONCE_BYTES:])
        return out

    def open_into(self, blob: bytes, ad: bytes, what: str, out: memoryview) -> None:
        """``open``, the plaintext written into ``out`` (exactly its size: StoreCorruptedError
        otherwise). On failure ``out`` may hold unauthenticated bytes: the caller drops it."""
        if not isinstance(blob, bytes) or len(blob) - OVERHEAD != len(out):
            raise StoreCorruptedError(f"{what}: not a sealed row of the expected length")
        view = memoryview(blob)
        try:
            self._aead.decrypt_into(view[:NONCE_BYTES], view[NONCE_BYTES:], ad, out)
        except InvalidTag:
            raise StoreCorruptedError(f"{what}: authentication failed (tampered, "
                                      "moved or swapped row)") from None

    def open(self, blob: bytes, ad: bytes, what: str) -> bytes:
        """Authenticate and decrypt a row. Raises StoreCorruptedError naming ``what`` on failure."""
        if not isinstance(blob, bytes) or len(blob) < OVERHEAD:
            raise StoreCorruptedError(f"{what}: not a sealed row")
        view = memoryview(blob)
        try:
            return self._aead.decrypt(view[:NONCE_BYTES], view[NONCE_BYTES:], ad)
        except InvalidTag:
            raise StoreCorruptedError(f"{what}: authentication failed (tampered, "
                                      "moved or swapped row)") from None
