"""Wire error codes and the websocket close codes they map to (docs/protocol.md "Errors")."""

from __future__ import annotations

import enum


class ErrorCode(enum.IntEnum):
    """The ``code`` of an ``error`` message. Fatal codes are followed by a close."""

    BAD_FRAME = 1             # not msgpack, unknown message type, or a field of the wrong type
    UNSUPPORTED_VERSION = 2   # no protocol version in common
    UNEXPECTED_MESSAGE = 3    # a message not allowed in the current state (e.g. before auth)
    AUTH_FAILED = 4           # bad signature, unknown device, or not active in the team
    AUTH_TIMEOUT = 5          # no authentication (or guest request) in time
    UNKNOWN_TEAM = 6          # the relay holds no team with that id and no genesis was sent
    TEAM_EXISTS = 7           # a genesis log was sent for a team that exists with another log
    REVOKED = 8               # this device was removed from the team: its session is closed
    FORBIDDEN = 9             # not allowed: compartment/role/health, or not an admin
    BAD_ENVELOPE = 10         # malformed header, author or team not the session's
    BAD_LOG_ENTRY = 11        # a membership-log entry failed verification
    FRAME_TOO_LARGE = 12      # a websocket message above the frame limit
    RATE_LIMITED = 13         # the device sent more messages than its rate allows
    TOO_MANY_CONNECTIONS = 14  # the team's or the relay's connection limit is reached
    STORAGE_FULL = 15         # the team's storage quota is used up
    PRUNED = 16               # "after N" is below what the relay still keeps: fetch the snapshot
    SLOW_CONSUMER = 17        # the client did not read fast enough; reconnect and catch up
    IDLE_TIMEOUT = 18         # no message for too long
    NOT_FOUND = 19            # no such snapshot / invitation
    CONFLICT = 20             # invitation id taken, snapshot older than the newest, …
    TOO_LARGE = 21            # a field or a whole snapshot above its limit; too many pending
    GOING_AWAY = 22           # the relay is shutting down; reconnect later
    INTERNAL = 23             # a relay-side failure; nothing was committed for that request
    BUSY = 24                 # the relay is at a limit shared by everyone (uploads): retry later


# Errors that end the session: the relay sends ``error`` with fatal=true, then closes.
FATAL_CODES: frozenset[ErrorCode] = frozenset(
    {
        ErrorCode.BAD_FRAME,
        ErrorCode.UNSUPPORTED_VERSION,
        ErrorCode.UNEXPECTED_MESSAGE,
        ErrorCode.AUTH_FAILED,
        ErrorCode.AUTH_TIMEOUT,
        ErrorCode.UNKNOWN_TEAM,
        ErrorCode.TEAM_EXISTS,
        ErrorCode.REVOKED,
        ErrorCode.FRAME_TOO_LARGE,
        ErrorCode.RATE_LIMITED,
        ErrorCode.TOO_MANY_CONNECTIONS,
        ErrorCode.SLOW_CONSUMER,
        ErrorCode.IDLE_TIMEOUT,
        ErrorCode.GOING_AWAY,
        ErrorCode.INTERNAL,
    }
)

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_INTERNAL = 1011
CLOSE_BASE = 4000  # a fatal error ``code`` closes the websocket with 4000 + code


def close_code_for(code: ErrorCode) -> int:
    """The websocket close code used after a fatal error ``code``."""
    if code is ErrorCode.GOING_AWAY:
        return CLOSE_GOING_AWAY
    return CLOSE_BASE + int(code)
