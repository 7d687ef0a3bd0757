"""Passphrase → key-encryption key, with Argon2id and parameters stored in the store's meta
table."""

from __future__ import annotations

import struct
import unicodedata
from dataclasses import dataclass
from typing import Final

from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from mano_core.errors import StoreCorruptedError

KEK_BYTES: Final = 32
SALT_BYTES: Final = 16

# Bounds checked when parameters are read back from a file, so a tampered meta table cannot make
# opening a store allocate gigabytes or spin for minutes.
_MAX_ITERATIONS: Final = 64
_MAX_MEMORY_KIB: Final = 1024 * 1024  # 1 GiB
_MAX_LANES: Final = 16
_ENCODING: Final = struct.Struct(">III")


@dataclass(frozen=True, slots=True)
class KdfParams:
    """Argon2id cost parameters: passes over memory, memory in KiB, parallel lanes.

    Raises ValueError when out of the accepted range (memory must be at least 8 KiB per lane)."""

    iterations: int
    memory_kib: int
    lanes: int

    def __post_init__(self) -> None:
        if not 1 <= self.lanes <= _MAX_LANES:
            raise ValueError(f"lanes must be in 1..{_MAX_LANES}")
        if not 1 <= self.iterations <= _MAX_ITERATIONS:
            raise ValueError(f"iterations must be in 1..{_MAX_ITERATIONS}")
        if not 8 * self.lanes <= self.memory_kib <= _MAX_MEMORY_KIB:
            raise ValueError(f"memory_kib must be in {8 * self.lanes}..{_MAX_MEMORY_KIB}")

    def encode(self) -> bytes:
        """The 12-byte form stored in the meta table (and bound into the wrapped key's AD)."""
        return _ENCODING.pack(self.iterations, self.memory_kib, self.lanes)

    @classmethod
    def decode(cls, blob: bytes) -> KdfParams:
        """Parse stored parameters. Raises StoreCorruptedError if malformed or out of range."""
        try:
            return cls(*_ENCODING.unpack(blob))
        except (struct.error, ValueError) as exc:
            raise StoreCorruptedError(f"meta.kdf: invalid KDF parameters ({exc})") from None


# The default: ~200-300 ms and 64 MiB on a 2-vCPU laptop (docs MEASUREMENTS.md).
DEFAULT_KDF: Final = KdfParams(iterations=3, memory_kib=64 * 1024, lanes=4)
# For small devices: the OWASP minimum for Argon2id (~50-60 ms, 19 MiB).
INTERACTIVE_KDF: Final = KdfParams(iterations=2, memory_kib=19 * 1024, lanes=1)
# Tests only: microseconds, and no protection at all against guessing.
TEST_KDF: Final = KdfParams(iterations=1, memory_kib=8, lanes=1)


def normalize_passphrase(passphrase: str) -> bytes:
    """NFC-normalised UTF-8, so the same passphrase typed on another system derives the same key."""
    return unicodedata.normalize("NFC", passphrase).encode("utf-8")


def derive_kek(passphrase: str, salt: bytes, params: KdfParams) -> bytes:
    """The key-encryption key for this passphrase. CPU- and memory-heavy: call it in a thread."""
    kdf = Argon2id(
        salt=salt,
        length=KEK_BYTES,
        iterations=params.iterations,
        lanes=params.lanes,
        memory_cost=params.memory_kib,
    )
    return kdf.derive(normalize_passphrase(passphrase))
