"""The authentication challenge a device signs with its Ed25519 key (docs/protocol.md "Auth").

The signed bytes are domain-separated so that a signature made here can never be mistaken for
an envelope or membership-log signature, and bound to the relay's fresh nonce, the team and the
device, so that it cannot be replayed on another session, team or relay."""

from __future__ import annotations

from typing import Final

from mano_core.errors import LocalProtocolError
from mano_core.protocol.messages import PROTOCOL_VERSION

AUTH_DOMAIN: Final = b"mano/relay-auth/v1\x00"
NONCE_SIZE: Final = 32


def auth_challenge(
    team_id: bytes, device_id: bytes, nonce: bytes, version: int = PROTOCOL_VERSION
) -> bytes:
    """The exact bytes a device signs to authenticate: domain || version(u8) || team(16) ||
    device(32) || nonce(32). Raises LocalProtocolError on wrong lengths."""
    if len(team_id) != 16 or len(device_id) != 32 or len(nonce) != NONCE_SIZE:
        raise LocalProtocolError("auth challenge needs a 16-byte team, 32-byte device, 32-byte nonce")
    if not 0 <= version <= 255:
        raise LocalProtocolError("protocol version out of range")
    return AUTH_DOMAIN + bytes([version]) + team_id + device_id + nonce
