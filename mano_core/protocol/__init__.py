"""The sync protocol, sans-I/O: messages, the one codec, the connection state machine.

Nothing here does I/O; the relay (sync_server) and the client transport drive it."""

from __future__ import annotations

from mano_core.protocol.auth import AUTH_DOMAIN, auth_challenge
from mano_core.protocol.codec import decode, encode
from mano_core.protocol.codes import FATAL_CODES, ErrorCode, close_code_for
from mano_core.protocol.machine import ALLOWED, TRANSITIONS, Connection, Role, State
from mano_core.protocol.messages import PROTOCOL_VERSION, SUPPORTED_VERSIONS, AnyMessage, Message
from mano_core.protocol.ratelimit import TokenBucket

__all__ = [
    "ALLOWED",
    "AUTH_DOMAIN",
    "FATAL_CODES",
    "PROTOCOL_VERSION",
    "SUPPORTED_VERSIONS",
    "TRANSITIONS",
    "AnyMessage",
    "Connection",
    "ErrorCode",
    "Message",
    "Role",
    "State",
    "TokenBucket",
    "auth_challenge",
    "close_code_for",
    "decode",
    "encode",
]
