"""One websocket connection at the relay: drives the sans-I/O protocol machine, writes frames
without blocking (slow consumers are disconnected), runs catch-up, dispatches requests."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from websockets.asyncio.server import ServerConnection, broadcast
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State as WsState

from mano_core.protocol import messages as m
from mano_core.protocol.codes import CLOSE_INTERNAL, ErrorCode
from mano_core.protocol.machine import Connection, Role, State
from mano_core.protocol.ratelimit import TokenBucket

from sync_server.teams import deliver_frames

if TYPE_CHECKING:
    from sync_server.context import RelayContext
    from sync_server.teams import Team

log = logging.getLogger("mano.relay.session")


@dataclass(slots=True)
class Subscription:
    """A compartment subscription: catching up (``pending`` buffers live items) or live."""

    c: int
    request_id: int
    cursor: int
    pending: list[tuple[int, bytes]] | None = field(default_factory=list)
    pending_bytes: int = 0


@dataclass(slots=True)
class SnapshotUpload:
    """A snapshot being received part by part, each part stored as it arrives (``sid``)."""

    request_id: int
    c: int
    upto: int
    sid: int
    parts: int = 0
    size: int = 0
    spare: bool = False  # SnapshotPut.spare: not stored if one as new is (handlers_blobs.py)


Dispatch = Callable[["Session", m.AnyMessage], Awaitable[None]]


class Session:
    """A client connection. ``device``/``team`` are set once authenticated.

    ``dispatch`` handles each received message (sync_server.handlers.Handlers.dispatch);
    ``on_close`` is called once the session starts closing (idempotent on the caller's side:
    it may be called more than once), to unbind it from its team and guest waits."""

    def __init__(self, ctx: RelayContext, ws: ServerConnection, dispatch: Dispatch,
                 on_close: Callable[[Session], None]) -> None:
        self.ctx = ctx
        self.cfg = ctx.config
        self.ws = ws
        self._dispatch = dispatch
        self._on_close = on_close
        self.conn = Connection(Role.RELAY, max_frame=ctx.config.max_frame)
        self.device: bytes | None = None
        self.team: Team | None = None
        self.subscriptions: dict[int, Subscription] = {}
        self.opened = time.monotonic()
        self.last_seen = self.opened
        self.guest_wait = False  # waiting for an invitation answer: guest_timeout applies
        self.address = ""        # the client's address (Admission counts per address)
        self.admission = ""      # the ?admission= token of the connection's URL
        self.counted_stranger = False  # counted in Admission.unauthenticated
        self.counted_guest = False     # counted in Admission.guests
        self.closing = False
        self.bucket = TokenBucket(self.cfg.rate, self.cfg.burst, self.opened)
        self.tasks: set[asyncio.Task[None]] = set()
        self.nonce = b""
        self.close_task: asyncio.Future[None] | None = None
        self.upload: SnapshotUpload | None = None
        self.dropped_upload = 0  # request id of a refused upload whose next parts are ignored
        self.invite_waits: set[tuple[bytes, bytes]] = set()  # (team, invite) answers awaited

    # --- writing -------------------------------------------------------------------------------

    def write(self, frame: bytes) -> bool:
        """Write one frame now, never waiting. A client whose unsent bytes exceed the send
        buffer is a slow consumer: it is disconnected (it catches up after reconnecting)."""
        if self.closing:
            return False
        transport = self.ws.transport
        if transport is not None and transport.get_write_buffer_size() > self.cfg.send_buffer:
            self.kill(ErrorCode.SLOW_CONSUMER, "send buffer full: reconnect and catch up")
            return False
        if self.ws.protocol.state is not WsState.OPEN:  # broadcast() would skip it silently
            self._close(CLOSE_INTERNAL, "connection closing")
            return False
        try:
            broadcast([self.ws], frame, raise_exceptions=True)
        except ExceptionGroup:  # the transport refused the bytes: this frame is lost to it
            self.kill(ErrorCode.SLOW_CONSUMER, "write failed: reconnect and catch up")
            return False
        self.ctx.metrics.bytes_out += len(frame)
        return True

    def send(self, message: m.Message) -> None:
        """Send one message through the state machine (no-op once closing)."""
        if self.closing:
            return
        self.conn.send(message)
        self.flush()

    def refuse(self, request_id: int, code: ErrorCode, msg: str) -> None:
        """Answer a request with an error code (fatal codes close the session)."""
        self.ctx.metrics.reject(code.name.lower())
        if self.closing:
            return
        self.conn.refuse(request_id, code, msg)
        self.flush()

    def flush(self) -> None:
        """Write what the machine queued; close the websocket if the machine closed."""
        for frame in self.conn.data_to_send():
            self.write(frame)
        if self.conn.close_code is not None and not self.closing:
            self._close(self.conn.close_code, self.conn.close_reason)

    def kill(self, code: ErrorCode, msg: str) -> None:
        """End the session with a fatal error code (sent first if possible)."""
        if self.closing:
            return
        self.ctx.metrics.reject(code.name.lower())
        self.conn.fail(code, msg)
        for frame in self.conn.data_to_send():
            broadcast([self.ws], frame)
        self._close(self.conn.close_code or 1011, self.conn.close_reason)

    def _close(self, code: int, reason: str) -> None:
        self.closing = True
        self._on_close(self)
        self.close_task = asyncio.ensure_future(self.ws.close(code, reason))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # --- receive loop --------------------------------------------------------------------------

    async def run(self) -> None:
        """Serve the connection until it closes."""
        cfg, metrics = self.cfg, self.ctx.metrics
        try:
            async for frame in self.ws:
                if self.closing:
                    break
                now = time.monotonic()
                self.last_seen = now
                metrics.bytes_in += len(frame)
                if isinstance(frame, str):
                    self.kill(ErrorCode.BAD_FRAME, "text frames are not part of the protocol")
                    break
                if self.team is not None and self.device is not None:
                    allowed = self.team.bucket(self.device, cfg.rate, cfg.burst, now).take(now)
                else:  # a stranger: its connection's rate and its address's
                    allowed = self.bucket.take(now) and self.ctx.admission.take(self.address, now)
                if not allowed:
                    self.kill(ErrorCode.RATE_LIMITED, "message rate limit exceeded")
                    break
                self.conn.receive_frame(frame)
                if self.conn.error is not None:
                    metrics.reject(ErrorCode(self.conn.error.code).name.lower())
                    log.info("protocol error", extra={"code": self.conn.error.code,
                                                      "error": str(self.conn.error)})
                    self.flush()
                    break
                for event in self.conn.events_received():
                    await self._dispatch(self, event)
                    if self.closing:
                        break
                if self.conn.close_code is not None:  # the client ended it (fatal error)
                    self.flush()
                    break
        except ConnectionClosed:
            pass
        finally:
            self.closing = True
            self._on_close(self)
            for task in list(self.tasks):
                if not task.done() and task is not asyncio.current_task():
                    task.cancel()

    # --- subscriptions ---------------------------------------------------------------------------

    def deliver_live(self, c: int, items: Sequence[tuple[int, bytes]]) -> bool:
        """Buffer live items while subscription ``c`` catches up; False if it is live."""
        sub = self.subscriptions.get(c)
        if sub is None or sub.pending is None:
            return False
        sub.pending.extend(items)
        sub.pending_bytes += sum(len(env) for _, env in items)
        if (len(sub.pending) > self.cfg.catchup_buffer
                or sub.pending_bytes > self.cfg.catchup_buffer_bytes):
            self.kill(ErrorCode.SLOW_CONSUMER, "too many live envelopes during catch-up")
        return True

    def drop_subscription(self, c: int, msg: str) -> None:
        """Stop delivering ``c`` and tell the client why."""
        sub = self.subscriptions.pop(c, None)
        if sub is not None and self.team is not None:
            self.team.subscribers[c].discard(self)
            self.refuse(sub.request_id, ErrorCode.FORBIDDEN, msg)

    def _drop_pruned(self, sub: Subscription) -> None:
        """End subscription ``sub`` with PRUNED: what follows its cursor is gone."""
        if self.subscriptions.get(sub.c) is not sub or self.team is None:
            return
        del self.subscriptions[sub.c]
        self.team.subscribers[sub.c].discard(self)
        self.refuse(sub.request_id, ErrorCode.PRUNED,
                    f"envelopes after {sub.cursor} were pruned: fetch the snapshot")

    def start_catchup(self, sub: Subscription) -> None:
        """Register ``sub`` for live items, then stream stored ones in the background."""
        assert self.team is not None
        self.subscriptions[sub.c] = sub
        self.team.subscribers[sub.c].add(self)
        self._spawn(self._catchup(sub))

    async def _catchup(self, sub: Subscription) -> None:
        # No gap, no duplicate: live items are buffered from before the first read; stored
        # rows are read until exhausted; buffered items above the cursor then follow.
        team, cfg, metrics = self.team, self.cfg, self.ctx.metrics
        assert team is not None

        try:
            while not self.closing:
                rows = await self.ctx.storage.read_envelopes(team.team_id, sub.c, sub.cursor,
                                                          cfg.catchup_batch)
                if rows and rows[0][0] != sub.cursor + 1:
                    # Stored sequences have no gap above the pruned prefix: rows after the
                    # cursor were pruned or purged meanwhile. As at subscribe time, the
                    # client must fetch the snapshot (a silent gap would lose edits).
                    return self._drop_pruned(sub)
                if rows:
                    for frame in deliver_frames(sub.c, rows, cfg.max_frame):
                        if self.closing:
                            return
                        await self.ws.send(frame)
                        metrics.bytes_out += len(frame)
                    metrics.envelopes_out += len(rows)
                    sub.cursor = rows[-1][0]
                if len(rows) < cfg.catchup_batch:
                    break
            if self.closing or self.subscriptions.get(sub.c) is not sub:
                return
            rest = [it for it in (sub.pending or ()) if it[0] > sub.cursor]
            sub.pending = None  # live from here on
            if rest:
                for frame in deliver_frames(sub.c, rest, cfg.max_frame):
                    self.write(frame)
                metrics.envelopes_out += len(rest)
                sub.cursor = rest[-1][0]
            self.send(m.CaughtUp(id=sub.request_id, c=sub.c, seq=sub.cursor))
        except ConnectionClosed:
            pass
        except Exception:
            log.exception("catch-up failed")
            self.kill(ErrorCode.INTERNAL, "catch-up failed")

    def become_guest(self) -> bool:
        """Count this unauthenticated connection as a guest (once); False, after closing it
        with TOO_MANY_CONNECTIONS, if the guest slots (relay-wide or its address's) are full."""
        if self.team is not None or self.counted_guest:
            return True
        if not self.ctx.admission.become_guest(self.address):
            self.kill(ErrorCode.TOO_MANY_CONNECTIONS, "too many guests are waiting")
            return False
        self.counted_guest = self.guest_wait = True
        return True

    async def abort_upload(self) -> None:
        """Drop the snapshot upload in progress, if any (its stored parts are deleted)."""
        up, self.upload = self.upload, None
        if up is not None:
            self.ctx.uploads -= 1
            await self.ctx.storage.abort_snapshot(up.sid)
            if self.team is not None:
                self.team.usage -= up.size

    def release_admission(self) -> None:
        """Stop counting this connection as a stranger (authenticated, or closed)."""
        if self.counted_stranger or self.counted_guest:
            self.ctx.admission.release(self.address, stranger=self.counted_stranger,
                                       guest=self.counted_guest)
        self.counted_stranger = self.counted_guest = False

    @property
    def state(self) -> State:
        """The protocol state of this session."""
        return self.conn.state
