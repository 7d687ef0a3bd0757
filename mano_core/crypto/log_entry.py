"""Membership-log entries: roles, operations and the signed wire form of one entry.

An entry is ``body || signature(64)``: ``body`` is a msgpack array (``MembershipEntry``) and the
signature is the signer's Ed25519 signature of ``"mano/v1/membership" || 0x00 || body``. Entry
``n`` carries ``seq = n`` and the SHA-256 of entry ``n - 1`` (32 zero bytes for the genesis).

Version 1 bodies have the first 12 fields; version 2 bodies (an entry that carries a device's
ML-KEM-768 public key: genesis, add, set_kem_key) have all 13. docs/security.md §3.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

import msgspec

from mano_core import limits
from mano_core.crypto import _wire
from mano_core.crypto.identity import DeviceIdentity
from mano_core.errors import MembershipError
from mano_core.ids import Compartment

LOG_VERSION: Final = 1      # entries without an ML-KEM key (12 fields)
LOG_VERSION_KEM: Final = 2  # entries carrying one (13 fields)
_V1_FIELDS: Final = 12


class Role(enum.StrEnum):
    """A device's role. RESTRICTED: no medical data (even with the health flag), no settings."""

    ADMIN = "admin"
    NORMAL = "normal"
    RESTRICTED = "restricted"


class Op(enum.StrEnum):
    """The kind of a membership-log entry."""

    GENESIS = "genesis"
    ADD = "add"
    CHANGE_ROLE = "change_role"
    REMOVE_DEVICE = "remove_device"
    REMOVE_MEMBER = "remove_member"
    SET_KEM_KEY = "set_kem_key"  # a device publishes its own ML-KEM key (signed by itself)


class MembershipEntry(msgspec.Struct, array_like=True, forbid_unknown_fields=True, frozen=True):
    """The signed body of one entry (msgpack array, fields in this order)."""

    version: int
    team_id: bytes
    seq: int
    prev_hash: bytes
    signer: bytes
    op: str
    device_id: bytes = b""
    kx_public: bytes = b""
    member: str = ""
    role: str = ""
    health: bool = False
    invitation_id: bytes = b""
    kem_public: bytes = b""  # version 2 only: the device's ML-KEM-768 public key


@dataclass(frozen=True, slots=True)
class DeviceState:
    """A device as the log currently describes it."""

    device_id: bytes
    kx_public: bytes
    member: str
    role: Role
    health: bool
    active: bool
    kem_public: bytes = b""  # its ML-KEM-768 public key (b"": packages use X25519 alone)

    def has_access(self, compartment: Compartment) -> bool:
        """True if this device may currently hold keys of ``compartment``."""
        if not self.active:
            return False
        return compartment is Compartment.GENERAL or (
            self.health and self.role is not Role.RESTRICTED
        )

def decode_entry(entry: bytes) -> tuple[MembershipEntry, bytes]:
    """Split and decode an entry into (body, signature); no signature check.

    Raises MembershipError if the bytes are not an entry."""
    if not 64 < len(entry) <= limits.MAX_MEMBERSHIP_ENTRY_SIZE:
        raise MembershipError(f"entry size {len(entry)} outside 65..MAX_MEMBERSHIP_ENTRY_SIZE")
    body = _wire.decode(entry[:-64], MembershipEntry, MembershipError, "membership entry")
    return body, entry[-64:]

def entry_hash(entry: bytes) -> bytes:
    """SHA-256 of an entry's bytes: what the next entry carries as ``prev_hash``."""
    return _wire.sha256(entry)


def sign_entry(signer: DeviceIdentity, body: MembershipEntry) -> bytes:
    """``body || signature``: the entry's wire form (12 fields for version 1, 13 for 2)."""
    if body.version == LOG_VERSION:
        raw = _wire.encode([getattr(body, f) for f in body.__struct_fields__[:_V1_FIELDS]])
    else:
        raw = _wire.encode(body)
    return raw + signer.sign(raw, domain=_wire.DOMAIN_MEMBERSHIP)

