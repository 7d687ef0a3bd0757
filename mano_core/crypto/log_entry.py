"""Membership-log entries: roles, operations and the signed wire form of one entry.

An entry is ``body || signature(64)``: ``body`` is a msgpack array (``MembershipEntry``) and the
signature is the signer's Ed25519 signature of ``"mano/v1/membership" || 0x00 || body``. Entry
``n`` carries ``seq = n`` and the SHA-256 of entry ``n - 1`` (32 zero bytes for the genesis).
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

LOG_VERSION: Final = 1


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


@dataclass(frozen=True, slots=True)
class DeviceState:
    """A device as the log currently describes it."""

    device_id: bytes
    kx_public: bytes
    member: str
    role: Role
    health: bool
    active: bool

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
    """``body || signature``: the entry's wire form."""
    raw = _wire.encode(body)
    return raw + signer.sign(raw, domain=_wire.DOMAIN_MEMBERSHIP)

