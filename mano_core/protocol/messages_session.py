"""Messages of the session (setup, ok, errors) and of the membership log (docs/protocol.md §3,
§5, §10)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from mano_core import limits
from mano_core.protocol.message_base import (
    Capabilities, DeviceId, LogEntries_, LogEntry, Message, Name, Nonce, Signature, TeamId,
    Text, U32, Versions,
)


# --- session -----------------------------------------------------------------------------------


class Hello(Message, frozen=True, tag="hello"):
    """Client → relay, first message: the protocol versions the client speaks."""

    versions: Versions
    client: Name = ""


class Welcome(Message, frozen=True, tag="welcome"):
    """Relay → client: the chosen version and the authentication challenge nonce.

    ``caps``: the optional features this relay serves (names; unknown ones are ignored by a
    client, and an older relay sends none: then the client uses the base protocol only)."""

    version: U32
    nonce: Nonce
    relay: Name = ""
    max_frame: U32 = limits.MAX_FRAME_SIZE
    caps: Capabilities = msgspec.field(default_factory=list)


class Auth(Message, frozen=True, tag="auth"):
    """Client → relay: sign the challenge (mano_core.protocol.auth) as ``device`` of ``team``.

    ``genesis`` (the whole membership log so far) creates the team at the relay if it does not
    hold it yet; it is ignored if identical to the relay's copy, refused otherwise."""

    team: TeamId
    device: DeviceId
    sig: Signature
    genesis: LogEntries_ | None = None


class AuthOk(Message, frozen=True, tag="auth_ok"):
    """Relay → client: authenticated; the relay's membership log has ``log_length`` entries."""

    team: TeamId
    device: DeviceId
    log_length: U32
    log_head: bytes


class Ok(Message, frozen=True, tag="ok"):
    """Relay → client: request ``id`` succeeded (for requests with no other answer)."""

    id: U32


class Error(Message, frozen=True, tag="error"):
    """Relay → client: request ``id`` (0: none) failed with ``code`` (ErrorCode)."""

    code: U32
    msg: Text = ""
    id: U32 = 0
    fatal: bool = False


# --- membership log ----------------------------------------------------------------------------


class LogFetch(Message, frozen=True, tag="log_fetch"):
    """Client → relay: send the membership-log entries from index ``after`` (0-based) on."""

    id: U32
    after: U32


class LogAppend(Message, frozen=True, tag="log_append"):
    """Client → relay: append signed entries to the team's membership log (verified)."""

    id: U32
    entries: Annotated[list[LogEntry], Meta(min_length=1, max_length=256)]


class LogEntries(Message, frozen=True, tag="log_entries"):
    """Relay → client: log entries ``start``, ``start+1``, … (``id`` 0: a live append)."""

    id: U32
    start: U32
    entries: LogEntries_
