"""The sans-I/O sync protocol state machine, shared by the relay and the client.

No asyncio, no sockets: a driver feeds each received websocket message to ``receive_frame()``,
reads ``events_received()``, calls ``send()`` and writes out ``data_to_send()``; when
``close_code`` is set it closes the websocket with that code and reason.

States (one per connection, the same on both ends)::

    START --hello(C)--> HELLO --welcome(R)--> GUEST --auth(C)--> AUTHENTICATING
          --auth_ok(R)--> READY
      any state --error(R, fatal) or local fail()--> CLOSED

In GUEST a client may also send invitation requests/fetches (a device that is not a member
yet); in READY it may send everything a client sends. A message not allowed in the current
state, or not sent by that role, is a LocalProtocolError when we send it and a
RemoteProtocolError (code UNEXPECTED_MESSAGE, fatal) when the peer does.
"""

from __future__ import annotations

import enum
from typing import Final

from mano_core import limits
from mano_core.errors import LocalProtocolError, ProtocolError, RemoteProtocolError
from mano_core.protocol import codec
from mano_core.protocol import messages as m
from mano_core.protocol.codes import CLOSE_NORMAL, FATAL_CODES, ErrorCode, close_code_for


class Role(enum.Enum):
    """Which end of the connection this machine is."""

    CLIENT = "client"
    RELAY = "relay"


class State(enum.Enum):
    """Connection states (see the module docstring)."""

    START = "start"
    HELLO = "hello"
    GUEST = "guest"
    AUTHENTICATING = "authenticating"
    READY = "ready"
    CLOSED = "closed"


_C, _R = Role.CLIENT, Role.RELAY
_S = State

# Table 1: messages that move the state. (state, sender, type) -> next state.
TRANSITIONS: Final[dict[tuple[State, Role, type[m.Message]], State]] = {
    (_S.START, _C, m.Hello): _S.HELLO,
    (_S.HELLO, _R, m.Welcome): _S.GUEST,
    (_S.GUEST, _C, m.Auth): _S.AUTHENTICATING,
    (_S.AUTHENTICATING, _R, m.AuthOk): _S.READY,
}

_GUEST_CLIENT: Final[frozenset[type[m.Message]]] = frozenset({m.InviteRequest, m.InviteFetch})
_GUEST_RELAY: Final[frozenset[type[m.Message]]] = frozenset({m.Ok, m.Error, m.InviteAnswer})
_READY_CLIENT: Final[frozenset[type[m.Message]]] = frozenset(
    {
        m.LogFetch, m.LogAppend, m.Subscribe, m.Unsubscribe, m.Push, m.HeadGet, m.CatchupGet,
        m.SnapshotPut, m.SnapshotGet, m.Purge, m.KeyPut, m.KeyFetch, m.KeyAck,
        m.FilePut, m.FileStatus, m.FileGet, m.FileDelete,
        m.InviteOpen, m.InviteRequest, m.InviteList, m.InviteAnswer, m.InviteFetch,
        m.Presence,
    }
)  # fmt: skip
_READY_RELAY: Final[frozenset[type[m.Message]]] = frozenset(
    {
        m.Ok, m.Error, m.LogEntries, m.Ack, m.Deliver, m.CaughtUp, m.Head, m.CatchupPlan,
        m.SnapshotData,
        m.Purged, m.FileInfo, m.FileData, m.Keys, m.Invites, m.InviteAnswer, m.Presence,
    }
)  # fmt: skip

# Table 2: messages allowed without a state change. (state, sender) -> types.
ALLOWED: Final[dict[tuple[State, Role], frozenset[type[m.Message]]]] = {
    (_S.START, _R): frozenset({m.Error}),
    (_S.HELLO, _R): frozenset({m.Error}),
    (_S.GUEST, _C): _GUEST_CLIENT,
    (_S.GUEST, _R): _GUEST_RELAY,
    (_S.AUTHENTICATING, _R): _GUEST_RELAY,
    (_S.READY, _C): _READY_CLIENT,
    (_S.READY, _R): _READY_RELAY,
}


class Connection:
    """One end of a sync-protocol connection. Not thread-safe; never does I/O."""

    def __init__(self, role: Role, *, max_frame: int = limits.MAX_FRAME_SIZE) -> None:
        self.role = role
        self.peer_role = Role.RELAY if role is Role.CLIENT else Role.CLIENT
        self.max_frame = max_frame
        self.state = State.START
        self.version: int | None = None
        self.error: ProtocolError | None = None  # why the connection failed, if it did
        self.close_code: int | None = None
        self.close_reason = ""
        self._events: list[m.AnyMessage] = []
        self._out: list[bytes] = []

    # --- transitions ---------------------------------------------------------------------------

    def _next_state(self, sender: Role, message: m.Message) -> State | None:
        """The state after ``sender`` sends ``message``; None if that move is illegal."""
        kind = type(message)
        if isinstance(message, m.Error) and message.fatal:
            return State.CLOSED if self.state is not State.CLOSED else None
        nxt = TRANSITIONS.get((self.state, sender, kind))
        if nxt is not None:
            return nxt
        if kind in ALLOWED.get((self.state, sender), ()):
            return self.state
        return None

    def can_send(self, kind: type[m.Message]) -> bool:
        """True if our role may send a ``kind`` message now (for pre-encoded fan-out bytes)."""
        return kind in ALLOWED.get((self.state, self.role), ())

    # --- sending -------------------------------------------------------------------------------

    def send(self, message: m.Message) -> None:
        """Queue ``message`` for sending. Raises LocalProtocolError if it is illegal now."""
        nxt = self._next_state(self.role, message)
        if nxt is None:
            raise LocalProtocolError(
                f"{self.role.value} cannot send {type(message).__name__} "
                f"in state {self.state.value}"
            )
        if isinstance(message, m.Welcome):
            self.version = message.version
        self._out.append(codec.encode(message))
        self._enter(nxt, message)

    def fail(self, code: ErrorCode, msg: str = "", request_id: int = 0) -> None:
        """End the connection with error ``code``: the relay tells the peer first.

        After this, ``close_code`` is set and the driver should close the websocket."""
        if self.state is State.CLOSED:
            return
        if self.role is Role.RELAY:
            self._out.append(
                codec.encode(m.Error(code=int(code), msg=msg[:limits.MAX_ERROR_MESSAGE],
                                     id=request_id, fatal=True))
            )
        self.state = State.CLOSED
        self.close_code = close_code_for(code)
        self.close_reason = code.name.lower()

    def refuse(self, request_id: int, code: ErrorCode, msg: str = "") -> None:
        """Answer request ``request_id`` with an error; fatal codes also end the connection."""
        if code in FATAL_CODES:
            self.fail(code, msg, request_id)
        else:
            self.send(m.Error(code=int(code), msg=msg[:limits.MAX_ERROR_MESSAGE], id=request_id))

    def data_to_send(self) -> list[bytes]:
        """Frames to write, in order (each is one binary websocket message)."""
        out, self._out = self._out, []
        return out

    # --- receiving -----------------------------------------------------------------------------

    def receive_frame(self, frame: bytes) -> None:
        """Feed one received binary websocket message. Never raises on peer errors: a bad or
        illegal frame records ``error``, queues a fatal error (relay role) and sets
        ``close_code``. Raises LocalProtocolError if the connection is already closed."""
        if self.state is State.CLOSED:
            raise LocalProtocolError("frame received after the connection was closed")
        try:
            message = codec.decode(frame, self.max_frame)
            self._receive(message)
        except RemoteProtocolError as exc:
            self.error = exc
            self.fail(ErrorCode(exc.code), str(exc))

    def _receive(self, message: m.AnyMessage) -> None:
        nxt = self._next_state(self.peer_role, message)
        if nxt is None:
            raise RemoteProtocolError(
                f"{type(message).__name__} not allowed in state {self.state.value}",
                ErrorCode.UNEXPECTED_MESSAGE,
            )
        if isinstance(message, m.Hello) and self.role is Role.RELAY:
            common = set(message.versions) & set(m.SUPPORTED_VERSIONS)
            if not common:
                raise RemoteProtocolError(
                    f"no common protocol version (relay speaks {list(m.SUPPORTED_VERSIONS)})",
                    ErrorCode.UNSUPPORTED_VERSION,
                )
            self.version = max(common)
        if isinstance(message, m.Welcome) and self.role is Role.CLIENT:
            if message.version not in m.SUPPORTED_VERSIONS:
                raise RemoteProtocolError(
                    f"relay chose unsupported version {message.version}",
                    ErrorCode.UNSUPPORTED_VERSION,
                )
            self.version = message.version
        self._events.append(message)
        self._enter(nxt, message, received=True)

    def _enter(self, nxt: State, message: m.Message, received: bool = False) -> None:
        self.state = nxt
        if nxt is State.CLOSED and isinstance(message, m.Error) and received and (
            self.role is Role.RELAY
        ):
            # A client that ends the session with an error does not choose the relay's close
            # code (nor pass for a relay-side failure): it is a normal close.
            self.close_code, self.close_reason = CLOSE_NORMAL, "closed by the client"
        elif nxt is State.CLOSED and isinstance(message, m.Error):
            try:
                code = ErrorCode(message.code)
            except ValueError:  # a code from a newer relay: still a fatal error
                self.close_code, self.close_reason = 4000 + min(message.code, 999), "error"
            else:
                self.close_code, self.close_reason = close_code_for(code), code.name.lower()

    def events_received(self) -> list[m.AnyMessage]:
        """Messages received since the last call, in order."""
        events, self._events = self._events, []
        return events
