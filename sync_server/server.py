"""The relay: owns storage, the committer, team state and the websocket server.

``async with Relay(config) as relay: await relay.serve_until(stop_event)``."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from http import HTTPStatus
from types import TracebackType

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from mano_core.errors import LocalProtocolError
from mano_core.protocol.codes import ErrorCode
from mano_core.protocol.machine import State
from sync_server.committer import Committer
from sync_server.config import RelayConfig
from sync_server.fanout import Bus, Fanout, LocalBus
from sync_server.handlers import Handlers
from sync_server.metrics import Metrics
from sync_server.session import Session
from sync_server.storage import MemoryStorage, SQLiteStorage, Storage
from sync_server.teams import Team, verify_log

log = logging.getLogger("mano.relay")

_SWEEP_SECONDS = 1.0
_HOUSEKEEPING_SECONDS = 3600.0


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


class Relay:
    """A running relay. Use as an async context manager; it refuses to start twice."""

    def __init__(self, config: RelayConfig, storage: Storage | None = None) -> None:
        self.config = config
        self.node = os.urandom(4).hex()  # this process, in cross-node events
        self.storage = storage or make_storage(config, self.node)
        self.metrics = Metrics()
        self.committer = Committer(self)
        self.fanout = Fanout(self)
        self.bus: Bus = LocalBus()
        if config.is_postgres:
            from sync_server.pgbus import PgBus
            from sync_server.storage import PostgresStorage

            if isinstance(self.storage, PostgresStorage):
                self.bus = PgBus(config.db, self.node, self.fanout,
                                 check_interval=config.health_interval, timeout=config.db_timeout)
        self.health_problem: str | None = None
        self.handlers = Handlers(self)
        self.teams: dict[bytes, Team] = {}
        self.sessions: set[Session] = set()
        self.invite_waiters: dict[tuple[bytes, bytes], list[tuple[Session, int]]] = {}
        self._team_locks: dict[bytes, asyncio.Lock] = {}
        self._server: Server | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._started = False
        self.shutting_down = False

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
            max_queue=64,
            ping_interval=cfg.ping_interval or None, ping_timeout=cfg.ping_timeout or None,
            process_request=self._http, server_header=None,
        )  # fmt: skip
        self._tasks = [asyncio.create_task(self._sweep()), asyncio.create_task(self._housekeep()),
                       asyncio.create_task(self._check_health())]
        db = cfg.db_display if cfg.db != ":memory:" else cfg.db
        log.info("relay listening",
                 extra={"host": cfg.host, "port": self.port, "node": self.node, "db": db})
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

    async def shutdown(self) -> None:
        """Graceful stop: refuse new connections, finish commits (acks go out), close every
        session with 1001 "going away", close storage."""
        if self.shutting_down:
            return
        self.shutting_down = True
        log.info("relay shutting down", extra={"sessions": len(self.sessions)})
        if self._server is not None:
            self._server.close(close_connections=False)
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
        session = Session(self, ws)
        self.metrics.connections += 1
        self.sessions.add(session)
        try:
            if self.shutting_down:
                session.kill(ErrorCode.GOING_AWAY, "relay shutting down")
            elif len(self.sessions) > self.config.max_connections:
                session.kill(ErrorCode.TOO_MANY_CONNECTIONS, "relay connection limit reached")
            else:
                await session.run()
            await ws.wait_closed()
        finally:
            self.metrics.connections -= 1
            self.sessions.discard(session)
            self.detach(session)

    def _http(self, ws: ServerConnection, request: Request) -> Response | None:
        if request.path == "/healthz":
            problem = "shutting down" if self.shutting_down else self.problem()
            if problem is None:
                return ws.respond(HTTPStatus.OK, "ok\n")
            return ws.respond(HTTPStatus.SERVICE_UNAVAILABLE, problem + "\n")
        if request.path == "/metrics":
            self.metrics.teams = len(self.teams)
            self.metrics.invite_waiters = sum(len(w) for w in self.invite_waiters.values())
            resp = ws.respond(HTTPStatus.OK, self.metrics.render())
            resp.headers["Content-Type"] = "text/plain; version=0.0.4; charset=utf-8"
            return resp
        if "Upgrade" not in request.headers:
            return Response(404, "Not Found", Headers({"Content-Length": "0"}), b"")
        return None

    # --- teams ---------------------------------------------------------------------------------

    async def load_team(self, team_id: bytes) -> Team | None:
        """The team's live state, loading and verifying its log on first use."""
        team = self.teams.get(team_id)
        if team is not None:
            return team
        lock = self._team_locks.setdefault(team_id, asyncio.Lock())
        async with lock:
            team = self.teams.get(team_id)
            if team is None:
                entries = await self.storage.load_log(team_id)
                if entries is None:
                    return None
                membership = await asyncio.to_thread(verify_log, team_id, entries)
                usage = await self.storage.team_usage(team_id)
                team = Team(team_id, membership, usage)
                await self.fanout.init_team(team)
                self.teams[team_id] = team
        return team

    def attach(self, s: Session, team: Team, device: bytes) -> None:
        """Bind an authenticated session to its team."""
        s.team, s.device = team, device
        team.sessions.add(s)
        self.metrics.sessions += 1
        self.metrics.teams = len(self.teams)

    def detach(self, s: Session) -> None:
        """Unbind a closing session (idempotent); unload its team if it was the last; forget
        the invitation answers it waited for."""
        for key in s.invite_waits:
            waiters = [w for w in self.invite_waiters.get(key, ()) if w[0] is not s]
            if waiters:
                self.invite_waiters[key] = waiters
            else:
                self.invite_waiters.pop(key, None)
        s.invite_waits.clear()
        team = s.team
        if team is not None and s in team.sessions:
            team.sessions.discard(s)
            for subs in team.subscribers.values():
                subs.discard(s)
            self.metrics.sessions -= 1
            if not team.sessions and team.pending_commits == 0:
                self.teams.pop(team.team_id, None)
                self._team_locks.pop(team.team_id, None)
            self.metrics.teams = len(self.teams)

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
                elif (cfg.idle_timeout and not s.subscriptions
                      and now - s.last_seen > cfg.idle_timeout):
                    # A subscribed session may listen silently: pings keep it honest.
                    s.kill(ErrorCode.IDLE_TIMEOUT, "no message for too long")

    def problem(self) -> str | None:
        """Why this node cannot serve now (for /healthz), or None."""
        return self.health_problem or self.bus.problem

    async def _check_health(self) -> None:
        """Ping storage now and then, so /healthz tells a load balancer about a lost database."""
        cfg = self.config
        while True:
            try:
                await asyncio.wait_for(self.storage.ping(), cfg.db_timeout)
                if self.health_problem is not None:
                    log.info("database reachable again")
                self.health_problem = None
            except Exception as exc:
                if self.health_problem is None:
                    log.warning("database unreachable", extra={"error": repr(exc)})
                self.health_problem = f"database unreachable: {str(exc) or type(exc).__name__}"
            await asyncio.sleep(cfg.health_interval)

    async def _housekeep(self) -> None:
        """Drop expired invitations now and then."""
        while True:
            try:
                await self.storage.expire(time.time() - self.config.invite_ttl)
            except Exception:
                log.exception("housekeeping failed")
            await asyncio.sleep(_HOUSEKEEPING_SECONDS)
