"""A tiny asyncio websocket driver for the client role of the sync protocol.

It owns no policy (no outbox, no reconnect): it connects, authenticates, matches answers to
requests by id, and hands every other message (deliveries, presence, live log entries, key
packages, invitations) to ``recv()``. The sync client builds on it."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Sequence
from types import TracebackType

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidState

from mano_core import limits
from mano_core.crypto.identity import DeviceIdentity
from mano_core.errors import RelayRefusedError, RelayUnreachableError, SyncError
from mano_core.protocol import messages as m
from mano_core.protocol.auth import AUTH_DOMAIN, auth_challenge
from mano_core.protocol.machine import Connection, Role, State

_FINAL = (m.Ok, m.Error, m.Ack, m.CaughtUp, m.Head, m.CatchupPlan, m.Purged, m.Keys, m.Invites,
          m.InviteAnswer, m.FileInfo)


def _is_final(msg: m.Message) -> bool:
    if isinstance(msg, m.SnapshotData | m.FileData):
        return msg.last
    if isinstance(msg, m.LogEntries):
        return len(msg.entries) < 256
    return isinstance(msg, _FINAL)


class RelayClient:
    """One client connection to a relay. Use ``await RelayClient.connect(url)``."""

    def __init__(self, ws: ClientConnection, *, max_frame: int = limits.MAX_FRAME_SIZE) -> None:
        self.ws = ws
        self.conn = Connection(Role.CLIENT, max_frame=max_frame)
        self.inbox: asyncio.Queue[m.Message] = asyncio.Queue()
        self.welcome: m.Welcome | None = None
        self.auth_ok: m.AuthOk | None = None
        self.closed_error: RelayRefusedError | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, tuple[asyncio.Future[list[m.Message]], list[m.Message]]] = {}
        self._waiters: list[asyncio.Future[m.Message]] = []
        self._on_part: dict[int, Callable[[m.Message], None]] = {}  # request id -> progress
        self._reader: asyncio.Task[None] | None = None

    @classmethod
    async def connect(cls, url: str, *, client_name: str = "mano-python") -> RelayClient:
        """Open the websocket and exchange hello/welcome. Raises RelayUnreachableError (no
        connection: websockets raises OSError, TimeoutError or InvalidHandshake, never
        translated further) or SyncError (the peer is not a relay we can speak with)."""
        try:
            ws = await connect(url, compression=None, max_size=2 * limits.MAX_FRAME_SIZE,
                               ping_interval=limits.CLIENT_PING_INTERVAL_SECONDS,
                               ping_timeout=limits.CLIENT_PING_TIMEOUT_SECONDS,
                               close_timeout=limits.CLIENT_CLOSE_TIMEOUT_SECONDS)
        except (OSError, TimeoutError, InvalidHandshake) as exc:  # e.g. cut during the handshake
            raise RelayUnreachableError(f"cannot connect to {url}: {exc}") from exc
        self = cls(ws)
        self._reader = asyncio.create_task(self._read())
        self._send(m.Hello(versions=list(m.SUPPORTED_VERSIONS), client=client_name))
        welcome = self._waiter()  # after the send: no answer is routed before we await it
        try:
            msg = await welcome
        except RelayRefusedError as exc:
            await self.close()
            if exc.code == 0:  # closed before the welcome
                raise RelayUnreachableError(f"{url} closed before its welcome") from exc
            raise
        if not isinstance(msg, m.Welcome):
            raise SyncError(f"expected welcome, got {type(msg).__name__}")
        self.welcome = msg
        return self

    async def authenticate(
        self, identity: DeviceIdentity, team_id: bytes, genesis: Sequence[bytes] | None = None
    ) -> m.AuthOk:
        """Sign the relay's challenge; ``genesis`` creates the team. Raises RelayRefusedError."""
        assert self.welcome is not None
        challenge = auth_challenge(team_id, identity.device_id, self.welcome.nonce,
                                   self.welcome.version)
        self._send(m.Auth(team=team_id, device=identity.device_id,
                          sig=identity.sign(challenge, domain=AUTH_DOMAIN),
                          genesis=list(genesis) if genesis is not None else None))
        msg = await self._waiter()
        if isinstance(msg, m.Error):
            raise RelayRefusedError(msg.code, msg.msg, msg.fatal)
        if not isinstance(msg, m.AuthOk):
            raise SyncError(f"expected auth_ok, got {type(msg).__name__}")
        self.auth_ok = msg
        return msg

    def can(self, capability: str) -> bool:
        """Whether the relay announced ``capability`` in its welcome (docs/protocol.md §3):
        use an optional feature only then; an older relay announces none."""
        return self.welcome is not None and capability in self.welcome.caps

    # --- requests ------------------------------------------------------------------------------

    def next_id(self) -> int:
        """A fresh request id."""
        return next(self._ids)

    def start(self, msg: m.Message) -> asyncio.Future[list[m.Message]]:
        """Send a request (its ``id`` must come from next_id) without waiting; the future gets
        every message answering it (the last one final) or RelayRefusedError."""
        request_id: int = getattr(msg, "id")  # noqa: B009 - every request has one, the base not
        fut: asyncio.Future[list[m.Message]] = asyncio.get_running_loop().create_future()
        self._send(msg)  # raises on a closed connection: then no future is left behind
        self._pending[request_id] = (fut, [])
        return fut

    async def request(self, msg: m.Message, *,
                      on_part: Callable[[m.Message], None] | None = None) -> list[m.Message]:
        """Send a request and wait for all of its answer. Raises RelayRefusedError.
        ``on_part`` is called with each answer as it arrives (the progress of a download)."""
        fut = self.start(msg)
        if on_part is not None:
            self._on_part[getattr(msg, "id")] = on_part  # noqa: B009 - as in start()
        try:
            return await fut
        finally:
            self._on_part.pop(getattr(msg, "id"), None)  # noqa: B009

    async def catchup_plan(self, c: int, after: int) -> m.CatchupPlan:
        """What catching up on ``c`` from ``after`` would take (capability ``catchup_plan``:
        check ``can`` first). Raises RelayRefusedError (FORBIDDEN: no access to ``c``)."""
        (plan,) = await self.request(m.CatchupGet(id=self.next_id(), c=c, after=after))
        assert isinstance(plan, m.CatchupPlan)
        return plan

    async def push(self, envelope: bytes) -> m.Ack:
        """Push one envelope and wait for its ack (sent only once it is durable)."""
        (ack,) = await self.request(m.Push(id=self.next_id(), env=envelope))
        assert isinstance(ack, m.Ack)
        return ack

    def push_nowait(self, envelope: bytes) -> asyncio.Future[list[m.Message]]:
        """Pipeline a push; the future resolves to ``[Ack]``."""
        return self.start(m.Push(id=self.next_id(), env=envelope))

    async def subscribe(self, c: int, after: int) -> m.CaughtUp:
        """Subscribe; stored envelopes arrive in ``recv()`` as Deliver before this returns."""
        (*_, done) = await self.request(m.Subscribe(id=self.next_id(), c=c, after=after))
        assert isinstance(done, m.CaughtUp)
        return done

    async def head(self, c: int) -> int:
        """The last sequence of compartment ``c`` the relay has stored now. Only if the relay
        announced it (``can(m.CAP_HEAD_GET)``): an older relay closes on it. Raises
        RelayRefusedError (FORBIDDEN: no access to ``c``; code 0: the connection closed)."""
        (answer,) = await self.request(m.HeadGet(id=self.next_id(), c=c))
        assert isinstance(answer, m.Head)
        return answer.seq

    async def purge(self, c: int, upto: int) -> m.Purged:
        """Ask the relay to drop compartment ``c``'s envelopes up to ``upto`` and all its
        snapshots but the newest, which must cover ``upto`` (upload it first). Idempotent.
        Raises RelayRefusedError: FORBIDDEN (no access to ``c``), CONFLICT (no stored snapshot
        covers ``upto``, or ``upto`` is above the head; nothing was dropped)."""
        (done,) = await self.request(m.Purge(id=self.next_id(), c=c, upto=upto))
        assert isinstance(done, m.Purged)
        return done

    async def recv(self, timeout: float | None = None) -> m.Message:
        """The next message that answers no request (Deliver, Presence, live LogEntries…)."""
        return await asyncio.wait_for(self.inbox.get(), timeout)

    async def close(self) -> None:
        """Close the websocket and stop reading."""
        await self.ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)

    async def __aenter__(self) -> RelayClient:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # --- plumbing ------------------------------------------------------------------------------

    def _waiter(self) -> asyncio.Future[m.Message]:
        fut: asyncio.Future[m.Message] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        return fut

    def _send(self, msg: m.Message) -> None:
        if self.conn.state is State.CLOSED:
            raise self.closed_error or SyncError("connection closed")
        self.conn.send(msg)
        try:
            for frame in self.conn.data_to_send():
                self.ws.protocol.send_binary(frame)
            self.ws.send_data()
        except InvalidState:  # the socket closed under us: the session ends, reconnect
            raise self.closed_error or SyncError("connection closed") from None

    async def _read(self) -> None:
        try:
            async for frame in self.ws:
                if isinstance(frame, str) or self.conn.state is State.CLOSED:
                    break
                self.conn.receive_frame(frame)
                for msg in self.conn.events_received():
                    self._route(msg)
                if self.conn.close_code is not None:
                    break
        except ConnectionClosed:
            pass
        finally:
            err = self.closed_error or RelayRefusedError(0, "connection closed", True)
            for fut, _ in self._pending.values():
                if not fut.done():
                    fut.set_exception(err)
            for w in self._waiters:
                if not w.done():
                    w.set_exception(err)
            self._pending.clear()

    def _route(self, msg: m.Message) -> None:
        if isinstance(msg, m.Error) and msg.fatal:
            self.closed_error = RelayRefusedError(msg.code, msg.msg, True)
        if self._waiters and isinstance(msg, (m.Welcome, m.AuthOk, m.Error)) and (
            not isinstance(msg, m.Error) or msg.id == 0
        ):
            waiter = self._waiters.pop(0)
            if not waiter.done():  # its caller may have been cancelled meanwhile
                waiter.set_result(msg)
            return
        request_id = getattr(msg, "id", 0)
        entry = self._pending.get(request_id) if request_id else None
        if entry is None:
            self.inbox.put_nowait(msg)
            return
        fut, parts = entry
        if isinstance(msg, m.Error):
            del self._pending[request_id]
            self._on_part.pop(request_id, None)
            if not fut.done():
                fut.set_exception(RelayRefusedError(msg.code, msg.msg, msg.fatal))
            return
        parts.append(msg)
        on_part = self._on_part.get(request_id)
        if on_part is not None:
            on_part(msg)
        if _is_final(msg):
            del self._pending[request_id]
            self._on_part.pop(request_id, None)
            if not fut.done():
                fut.set_result(parts)
