"""The relay: owns storage, the committer, team state and the websocket server.

``async with Relay(config) as relay: await relay.serve_until(stop_event)``."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
import time
import urllib.parse
from http import HTTPStatus
from types import TracebackType
from typing import Final

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from mano_core.errors import LocalProtocolError
from mano_core.protocol.codes import ErrorCode
from mano_core.protocol.machine import State
from sync_server.committer import Committer
from sync_server.config import RelayConfig
from sync_server.bus import Bus
from sync_server.context import RelayContext
from sync_server.fanout import Fanout
from sync_server.handlers import Handlers
from sync_server.metrics import Metrics
from sync_server.registry import TeamRegistry
from sync_server.session import Session
from sync_server.storage import MemoryStorage, SQLiteStorage, Storage
from sync_server.storage.base import unreachable
from sync_server.teams import Team

log = logging.getLogger("mano.relay")

_SWEEP_SECONDS = 1.0
_HOUSEKEEPING_SECONDS = 3600.0
# Frames websockets reads ahead of the handlers per connection: with frames up to 2 x max_frame
# this bounds what one client makes the relay hold before back-pressure (8 x 2 MiB).
RECEIVE_QUEUE_FRAMES: Final = 8


def make_storage(config: RelayConfig, node: str = "") -> Storage:
    """The storage backend named by ``config.db``: ":memory:", a PostgreSQL URL, or an SQLite
    path. ``node`` tags the cross-node events a PostgreSQL backend emits."""
    if config.db == ":memory:":
        return MemoryStorage()
    if config.is_postgres:
        from sync_server.storage import PostgresStorage  # needs asyncpg: extra [postgres]

        return PostgresStorage(config.db, pool_size=config.db_pool, timeout=config.db_timeout,
                               node=node)
    return SQLiteStorage(config.db_path, synchronous=config.synchronous)


def client_address(ws: ServerConnection, forwarded_header: str = "") -> str:
    """The client's IP address: the last hop of ``forwarded_header`` when the operator's proxy
    sets one (only then: a client could forge it), else the socket's peer."""
    if forwarded_header:
        value = ws.request.headers.get(forwarded_header, "") if ws.request else ""
        hop = value.split(",")[-1].strip()
        if hop:
            return hop[:64]
    peer = ws.remote_address
    return str(peer[0]) if peer else ""


def _not_found() -> Response:
    return Response(404, "Not Found", Headers({"Content-Length": "0"}), b"")


def _is_postgres(storage: Storage) -> bool:
    from sync_server.storage import PostgresStorage  # needs asyncpg: only for PostgreSQL

    return isinstance(storage, PostgresStorage)


class Relay:
    """A running relay. Use as an async context manager; it refuses to start twice.

    It owns the websocket server and the background tasks, and ties together the parts that
    each take only what they need: the context (config, storage, metrics, bus), the team
    registry, the committer, the fan-out and the request handlers."""

    def __init__(self, config: RelayConfig, storage: Storage | None = None) -> None:
        node = os.urandom(4).hex()  # this process, in cross-node events
        self.ctx = RelayContext(config, storage or make_storage(config, node), node=node)
        self.registry = TeamRegistry(self.ctx)
        self.fanout = Fanout(self.ctx, self.registry)
        self.committer = Committer(self.ctx, self.registry, self.fanout)
        if config.is_postgres and _is_postgres(self.ctx.storage):
            from sync_server.pgbus import PgBus

            self.ctx.bus = PgBus(config.db, node, self.fanout,
                                 check_interval=config.health_interval, timeout=config.db_timeout)
        self.handlers = Handlers(self.ctx, self.registry, self.committer, self.fanout)
        self.health_problem: str | None = None
        self.sessions: set[Session] = set()
        self._server: Server | None = None
        self._admin: Server | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._started = False
        self.shutting_down = False

    @property
    def config(self) -> RelayConfig:
        """The configuration in force."""
        return self.ctx.config

    @property
    def storage(self) -> Storage:
        """The storage backend."""
        return self.ctx.storage

    @property
    def metrics(self) -> Metrics:
        """The relay's counters (rendered at /metrics)."""
        return self.ctx.metrics

    @property
    def bus(self) -> Bus:
        """Cross-node events (LocalBus with one node)."""
        return self.ctx.bus

    @property
    def node(self) -> str:
        """This process's id in cross-node events."""
        return self.ctx.node

    @property
    def teams(self) -> dict[bytes, Team]:
        """The loaded teams by id."""
        return self.registry.teams

    # --- lifecycle -----------------------------------------------------------------------------

    async def __aenter__(self) -> Relay:
        if self._started:
            raise LocalProtocolError("a Relay starts only once")
        self._started = True
        await self.storage.open()
        try:
            await self.bus.start()
        except BaseException:
            await self.storage.close()
            raise
        self.committer.start()
        cfg = self.config
        self._server = await serve(
            self._handle, cfg.host, cfg.port,
            compression=None,  # ciphertext does not compress; deflate costs ~18x CPU
            max_size=2 * cfg.max_frame,  # we refuse > max_frame ourselves, with an error code
            max_queue=RECEIVE_QUEUE_FRAMES,  # frames read ahead of the handlers, per connection
            ping_interval=cfg.ping_interval or None, ping_timeout=cfg.ping_timeout or None,
            process_request=self._http, server_header=None,
        )  # fmt: skip
        try:
            if cfg.metrics_address is not None:
                self._admin = await serve(
                    self._refuse_upgrade, *cfg.metrics_address,
                    process_request=self._http_admin, server_header=None,
                )
        except OSError:
            self._server.close()
            await self.committer.stop()
            await self.bus.stop()
            await self.storage.close()
            raise
        self._tasks = [asyncio.create_task(self._sweep()), asyncio.create_task(self._housekeep()),
                       asyncio.create_task(self._check_health())]
        db = cfg.db_display if cfg.db != ":memory:" else cfg.db
        log.info("relay listening",
                 extra={"host": cfg.host, "port": self.port, "node": self.node, "db": db,
                        "metrics": self.metrics_url})
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.shutdown()

    @property
    def port(self) -> int:
        """The port actually bound (useful with port 0)."""
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def metrics_url(self) -> str:
        """``http://host:port`` of the /metrics and /healthz listener ("" when off)."""
        if self._admin is None:
            return ""
        host, port = self._admin.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    async def shutdown(self) -> None:
        """Graceful stop: refuse new connections, finish commits (acks go out), close every
        session with 1001 "going away", close storage."""
        if self.shutting_down:
            return
        self.shutting_down = True
        log.info("relay shutting down", extra={"sessions": len(self.sessions)})
        if self._server is not None:
            self._server.close(close_connections=False)
        if self._admin is not None:
            self._admin.close()
        try:
            await asyncio.wait_for(self.committer.drain(), self.config.shutdown_timeout)
        except TimeoutError:
            log.warning("commits still pending at shutdown")
        for s in list(self.sessions):
            s.kill(ErrorCode.GOING_AWAY, "relay shutting down; reconnect later")
        if self._server is not None:
            try:
                await asyncio.wait_for(self._server.wait_closed(), self.config.shutdown_timeout)
            except TimeoutError:
                log.warning("connections still open at shutdown")
        for t in self._tasks:
            t.cancel()
        await self.committer.stop()
        await self.fanout.stop()
        await self.bus.stop()
        await self.storage.close()
        log.info("relay stopped")

    # --- connections ---------------------------------------------------------------------------

    async def _handle(self, ws: ServerConnection) -> None:
        session = Session(self.ctx, ws, self.handlers.dispatch, self.registry.detach)
        session.address = client_address(ws, self.config.forwarded_header)
        if ws.request is not None and "?" in ws.request.path:
            query = urllib.parse.parse_qs(ws.request.path.split("?", 1)[1])
            session.admission = query.get("admission", [""])[0][:256]
        self.metrics.connections += 1
        self.sessions.add(session)
        try:
            if self.shutting_down:
                session.kill(ErrorCode.GOING_AWAY, "relay shutting down")
            elif len(self.sessions) > self.config.max_connections:
                session.kill(ErrorCode.TOO_MANY_CONNECTIONS, "relay connection limit reached")
            elif not self.ctx.admission.connect(session.address):
                session.kill(ErrorCode.TOO_MANY_CONNECTIONS,
                             "too many unauthenticated connections from this address")
            else:
                session.counted_stranger = True
                await session.run()
            # Discard what the client still sends until the closing handshake ends: with a
            # short receive queue, unread frames would keep its close frame from being read.
            with contextlib.suppress(ConnectionClosed):
                async for _ in ws:
                    pass
            await ws.wait_closed()
        finally:
            self.metrics.connections -= 1
            self.sessions.discard(session)
            session.release_admission()
            self.registry.detach(session)
            try:
                await session.abort_upload()
            except Exception as exc:  # noqa: BLE001 - storage down: housekeeping drops it later
                log.warning("unfinished upload not dropped", extra={"error": repr(exc)})

    def _http(self, ws: ServerConnection, request: Request) -> Response | None:
        """On the websocket port: /metrics and /healthz only with the operator's bearer token
        (``metrics_token``); anything else but an upgrade is a 404."""
        token = self.config.metrics_token
        if token and request.path in ("/healthz", "/metrics"):
            given = request.headers.get("Authorization", "")
            if hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return self._http_admin(ws, request)
        if "Upgrade" not in request.headers or request.path in ("/healthz", "/metrics"):
            return _not_found()
        return None

    def _http_admin(self, ws: ServerConnection, request: Request) -> Response:
        """The metrics listener: /healthz and /metrics; never a websocket."""
        if request.path == "/healthz":
            problem = "shutting down" if self.shutting_down else self.problem()
            if problem is None:
                return ws.respond(HTTPStatus.OK, "ok\n")
            return ws.respond(HTTPStatus.SERVICE_UNAVAILABLE, problem + "\n")
        if request.path == "/metrics":
            self.metrics.teams = len(self.teams)
            self.metrics.invite_waiters = self.registry.waiting()
            resp = ws.respond(HTTPStatus.OK, self.metrics.render())
            resp.headers["Content-Type"] = "text/plain; version=0.0.4; charset=utf-8"
            return resp
        return _not_found()

    async def _refuse_upgrade(self, ws: ServerConnection) -> None:
        """Never reached: _http_admin answers every request of the metrics listener."""
        await ws.close()

    async def _sweep(self) -> None:
        """Enforce the authentication and idle timeouts."""
        cfg = self.config
        while True:
            await asyncio.sleep(_SWEEP_SECONDS)
            now = time.monotonic()
            for s in list(self.sessions):
                if s.closing:
                    continue
                if s.state is not State.READY and not s.guest_wait:
                    if now - s.opened > cfg.auth_timeout:
                        s.kill(ErrorCode.AUTH_TIMEOUT, "not authenticated in time")
                elif s.state is not State.READY:
                    if now - s.opened > cfg.guest_timeout:
                        s.kill(ErrorCode.AUTH_TIMEOUT, "no invitation answer in time")
                elif (cfg.idle_timeout and not s.subscriptions
                      and now - s.last_seen > cfg.idle_timeout):
                    # A subscribed session may listen silently: pings keep it honest.
                    s.kill(ErrorCode.IDLE_TIMEOUT, "no message for too long")

    def problem(self) -> str | None:
        """Why this node cannot serve now (for /healthz), or None."""
        return self.health_problem or self.bus.problem or self.fanout.problem

    async def _check_health(self) -> None:
        """Ping storage now and then, so /healthz tells a load balancer about a lost database."""
        cfg = self.config
        while True:
            try:
                await asyncio.wait_for(self.storage.ping(), cfg.db_timeout)
                if self.health_problem is not None:
                    log.info("database reachable again")
                self.health_problem = None
            except Exception as exc:  # noqa: BLE001 - any failure of the probe means unhealthy
                if self.health_problem is None:
                    log.warning("database unreachable", extra={"error": repr(exc)})
                self.health_problem = unreachable(exc)
            await asyncio.sleep(cfg.health_interval)

    async def _housekeep(self) -> None:
        """Drop expired invitations now and then."""
        while True:
            try:
                await self.storage.expire(time.time() - self.config.invite_ttl)
            except Exception:
                log.exception("housekeeping failed")
            await asyncio.sleep(_HOUSEKEEPING_SECONDS)
