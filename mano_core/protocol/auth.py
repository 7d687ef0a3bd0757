"""The authentication challenge a device signs with its Ed25519 key (docs/protocol.md "Auth").

The device signs, with the crypto layer's domain separation (``label || 0x00 || data``):

    "mano/v1/relay-auth" || 0x00 || version (u8) || team id (16) || device id (32) || nonce (32)

so a signature made here can never pass for an envelope or membership-log signature, and is
bound to the relay's fresh nonce, the team and the device: it cannot be replayed on another
session, team or relay."""

from __future__ import annotations

from typing import Final

from mano_core.errors import LocalProtocolError
from mano_core.protocol.messages import PROTOCOL_VERSION

AUTH_DOMAIN: Final = "mano/v1/relay-auth"
NONCE_SIZE: Final = 32


def auth_challenge(
    team_id: bytes, device_id: bytes, nonce: bytes, version: int = PROTOCOL_VERSION
) -> bytes:
    """The data a device signs under AUTH_DOMAIN to authenticate (see module docstring).

    Use ``identity.sign(auth_challenge(...), domain=AUTH_DOMAIN)``. Raises LocalProtocolError
    on wrong lengths."""
    if len(team_id) != 16 or len(device_id) != 32 or len(nonce) != NONCE_SIZE:
        raise LocalProtocolError(
            "auth challenge needs a 16-byte team, 32-byte device, 32-byte nonce")
    if not 0 <= version <= 255:
        raise LocalProtocolError("protocol version out of range")
    return bytes([version]) + team_id + device_id + nonce


def signed_bytes(challenge: bytes) -> bytes:
    """The exact bytes the Ed25519 signature covers (for other-language clients and docs)."""
    return AUTH_DOMAIN.encode() + b"\x00" + challenge
