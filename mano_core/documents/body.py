"""Encrypting a document's body on the device (pure, no I/O): docs/protocol.md §15,
"Document bodies".

Each document has its own random 256-bit key and a random 16-byte file id. The plaintext is
cut into parts of ``chunk`` bytes (the last one shorter; an empty file is one empty part), and
part ``i`` of ``n`` is sealed as

    nonce (12, random) || AES-256-GCM(key, nonce, part, AD = "mano/v1/document" 0x00
                                      || file id (16) || i (u32) || n (u32))      (+16 tag)

so a part moved to another index, another file or a body cut short fails to open. The key,
the file id, ``n``, the chunk size, the length and the SHA-256 of the plaintext live only in
the document's CRDT record; the relay stores the sealed parts under the file id."""

from __future__ import annotations

import hashlib
import os
import struct
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mano_core import limits
from mano_core.errors import DocumentCorruptedError

DOMAIN: Final = b"mano/v1/document\x00"
KEY_SIZE: Final = 32
FILE_ID_SIZE: Final = 16
NONCE_SIZE: Final = 12
OVERHEAD: Final = NONCE_SIZE + 16  # bytes a sealed part adds to its plaintext


@dataclass(frozen=True, slots=True)
class SealedBody:
    """A body sealed for the relay: what goes into the record, and the parts to upload."""

    file: bytes
    key: bytes
    chunk: int
    size: int
    digest: bytes
    parts: tuple[bytes, ...]


def part_count(size: int, chunk: int) -> int:
    """How many parts a body of ``size`` bytes has (at least one)."""
    return max(1, -(-size // chunk))


def part_ad(file: bytes, index: int, count: int) -> bytes:
    """The associated data of part ``index`` of ``count`` of file ``file``."""
    return DOMAIN + file + struct.pack(">II", index, count)


def seal_body(data: bytes, *, chunk: int = limits.DOCUMENT_CHUNK, key: bytes | None = None,
              file: bytes | None = None, nonces: list[bytes] | None = None) -> SealedBody:
    """Seal ``data`` under a fresh key and file id (both from the OS's random source).
    ``key``, ``file`` and ``nonces`` are for test vectors only: never reuse a key."""
    if not 0 < chunk <= limits.MAX_FILE_PART - OVERHEAD:
        raise ValueError(f"chunk {chunk} does not fit in a file part")
    key = key or AESGCM.generate_key(bit_length=256)
    file = file or os.urandom(FILE_ID_SIZE)
    aead = AESGCM(key)
    count = part_count(len(data), chunk)
    parts = []
    for i in range(count):
        nonce = nonces[i] if nonces is not None else os.urandom(NONCE_SIZE)
        piece = data[i * chunk:(i + 1) * chunk]
        parts.append(nonce + aead.encrypt(nonce, piece, part_ad(file, i, count)))
    return SealedBody(file, key, chunk, len(data), hashlib.sha256(data).digest(), tuple(parts))


def open_part(key: bytes, file: bytes, index: int, count: int, sealed: bytes) -> bytes:
    """The plaintext of one sealed part. DocumentCorruptedError if it does not open."""
    if len(key) != KEY_SIZE or len(sealed) < OVERHEAD:
        raise DocumentCorruptedError(f"part {index} of the document is malformed")
    try:
        return AESGCM(key).decrypt(sealed[:NONCE_SIZE], sealed[NONCE_SIZE:],
                                   part_ad(file, index, count))
    except InvalidTag:
        raise DocumentCorruptedError(f"part {index} of the document fails authentication") \
            from None


def open_body(key: bytes, file: bytes, parts: list[bytes], *, size: int,
              digest: bytes) -> bytes:
    """The whole plaintext. DocumentCorruptedError unless every part opens and the result has
    the recorded length and digest."""
    data = b"".join(open_part(key, file, i, len(parts), p) for i, p in enumerate(parts))
    if len(data) != size or hashlib.sha256(data).digest() != digest:
        raise DocumentCorruptedError("the document's body is not the one its record names")
    return data
