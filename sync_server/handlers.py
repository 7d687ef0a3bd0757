"""What the relay does with each client request (one method per message type)."""

from __future__ import annotations

import hmac
import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from mano_core.crypto.envelope import Envelope
from mano_core.crypto.identity import verify_signature
from mano_core.errors import MalformedEnvelopeError, MembershipError, RelayConflictError
from mano_core.ids import Compartment
from mano_core.protocol import messages as m
from mano_core.protocol.auth import AUTH_DOMAIN, auth_challenge
from mano_core.protocol.codes import ErrorCode
from sync_server.committer import PendingPush
from sync_server.handlers_blobs import BlobHandlers
from sync_server.handlers_files import FileHandlers
from sync_server.handlers_invites import InviteHandlers
from sync_server.session import Session, Subscription
from sync_server.storage.base import NewEnvelope
from sync_server.teams import may_write, verify_log

if TYPE_CHECKING:
    from sync_server.committer import Committer
    from sync_server.context import RelayContext
    from sync_server.fanout import Fanout
    from sync_server.registry import TeamRegistry
    from sync_server.teams import Team

log = logging.getLogger("mano.relay")


class Handlers(BlobHandlers, FileHandlers, InviteHandlers):
    """Request handlers of one relay; ``dispatch`` routes a received message. They need the
    shared context, the team registry, the committer (pushes) and the fan-out (log reloads);
    a test may build them over MemoryStorage with no websocket server."""

    def __init__(self, ctx: RelayContext, registry: TeamRegistry, committer: Committer,
                 fanout: Fanout) -> None:
        self.ctx = ctx
        self.cfg = ctx.config
        self.storage = ctx.storage
        self.registry = registry
        self.committer = committer
        self.fanout = fanout
        self._table: dict[type[m.Message], Callable[[Session, Any], Awaitable[None]]] = {
            m.Hello: self.hello, m.Auth: self.auth, m.Push: self.push,
            m.Subscribe: self.subscribe, m.Unsubscribe: self.unsubscribe, m.HeadGet: self.head,
            m.CatchupGet: self.catchup_plan,
            m.LogFetch: self.log_fetch, m.LogAppend: self.log_append,
            m.SnapshotPut: self.snapshot_put, m.SnapshotGet: self.snapshot_get,
            m.Purge: self.purge,
            m.FilePut: self.file_put, m.FileStatus: self.file_status,
            m.FileGet: self.file_get, m.FileDelete: self.file_delete,
            m.KeyPut: self.key_put, m.KeyFetch: self.key_fetch, m.KeyAck: self.key_ack,
            m.InviteOpen: self.invite_open,
            m.InviteRequest: self.invite_request, m.InviteFetch: self.invite_fetch,
            m.InviteList: self.invite_list, m.InviteAnswer: self.invite_answer,
            m.Presence: self.presence,
        }  # fmt: skip

    async def dispatch(self, s: Session, msg: m.Message) -> None:
        """Handle one message; a relay-side failure closes only this session."""
        if isinstance(msg, m.Error):  # the client ends the session (fatal: the machine closed)
            self.ctx.metrics.client_errors += 1
            return
        try:
            await self._table[type(msg)](s, msg)
        except Exception:
            log.exception("request failed", extra={"type": type(msg).__name__})
            s.kill(ErrorCode.INTERNAL, "relay error")

    # --- session -------------------------------------------------------------------------------

    async def hello(self, s: Session, msg: m.Hello) -> None:
        s.nonce = os.urandom(32)
        s.send(m.Welcome(version=s.conn.version or 1, nonce=s.nonce, relay=self.cfg.name,
                         max_frame=self.cfg.max_frame, caps=list(m.RELAY_CAPABILITIES)))

    async def auth(self, s: Session, msg: m.Auth) -> None:
        challenge = auth_challenge(msg.team, msg.device, s.nonce, s.conn.version or 1)
        if not verify_signature(msg.device, msg.sig, challenge, domain=AUTH_DOMAIN):
            return s.kill(ErrorCode.AUTH_FAILED, "bad signature")
        team = await self.registry.load(msg.team)
        if team is None and msg.genesis:
            token = self.cfg.admission_token
            if token and not hmac.compare_digest(s.admission.encode(), token.encode()):
                return s.kill(ErrorCode.AUTH_FAILED,
                              "creating a team at this relay needs the operator's admission token")
            try:
                log_ = verify_log(msg.team, msg.genesis)
            except MembershipError as exc:
                return s.kill(ErrorCode.AUTH_FAILED, f"genesis log refused: {exc}")
            if sum(len(e) for e in msg.genesis) > self.cfg.max_team_storage:
                return s.kill(ErrorCode.AUTH_FAILED, "the genesis log is above the team quota")
            why = self.ctx.admission.may_create_team(s.address, time.monotonic())
            if why is not None:
                return s.kill(ErrorCode.RATE_LIMITED, why)
            await self.storage.create_team(msg.team, list(msg.genesis), time.time())
            team = await self.registry.load(msg.team)
            log.info("team created", extra={"team": msg.team, "entries": len(log_)})
        elif (team is not None and msg.genesis
              and list(msg.genesis) != team.log.entries[: len(msg.genesis)]):
            return s.kill(ErrorCode.TEAM_EXISTS, "the team exists with another log")
        if team is None:
            return s.kill(ErrorCode.UNKNOWN_TEAM, "no such team at this relay")
        if not team.log.is_active(msg.device):
            # Added on another node a moment ago? Reload the log before refusing.
            await self.fanout.refresh_log(team)
        if s.closing:
            return
        team = self.registry.adopt(team)  # no await from here to attach
        if not team.log.is_active(msg.device):
            return s.kill(ErrorCode.AUTH_FAILED, "device is not an active member of the team")
        if len(team.sessions) >= self.cfg.max_connections_per_team:
            return s.kill(ErrorCode.TOO_MANY_CONNECTIONS, "team connection limit reached")
        s.release_admission()
        s.guest_wait = False
        self.registry.attach(s, team, msg.device)
        s.send(m.AuthOk(team=msg.team, device=msg.device, log_length=len(team.log),
                        log_head=team.log.head_hash))

    # --- envelopes -----------------------------------------------------------------------------

    async def push(self, s: Session, msg: m.Push) -> None:
        team, device = s.team, s.device
        assert team is not None and device is not None
        try:
            h = Envelope.parse(msg.env).header
        except MalformedEnvelopeError as exc:
            return s.refuse(msg.id, ErrorCode.BAD_ENVELOPE, str(exc))
        if h.team_id != team.team_id or h.author != device:
            return s.refuse(msg.id, ErrorCode.BAD_ENVELOPE, "team or author is not the session's")
        if not may_write(team.log, device, h.compartment, h.epoch):
            return s.refuse(msg.id, ErrorCode.FORBIDDEN, "not allowed to write there")
        if team.usage + len(msg.env) > self.cfg.max_team_storage:
            return s.refuse(msg.id, ErrorCode.STORAGE_FULL, "the team's storage quota is used up")
        new = NewEnvelope(team.team_id, int(h.compartment), device, h.counter, msg.env)
        self.committer.submit(PendingPush(s, msg.id, new, time.perf_counter()))

    async def subscribe(self, s: Session, msg: m.Subscribe) -> None:
        team, device = s.team, s.device
        assert team is not None and device is not None
        if msg.c not in Compartment._value2member_map_ or not team.log.has_access(
            device, Compartment(msg.c)
        ):
            return s.refuse(msg.id, ErrorCode.FORBIDDEN, "no access to that compartment")
        if msg.c in s.subscriptions:
            return s.refuse(msg.id, ErrorCode.CONFLICT, "already subscribed")
        pruned = await self.storage.pruned_upto(team.team_id, msg.c)
        if msg.after < pruned:
            return s.refuse(msg.id, ErrorCode.PRUNED,
                            f"envelopes up to {pruned} were pruned: fetch the snapshot")
        s.start_catchup(Subscription(msg.c, msg.id, msg.after))

    async def head(self, s: Session, msg: m.HeadGet) -> None:
        team, device = s.team, s.device
        assert team is not None and device is not None
        if msg.c not in Compartment._value2member_map_ or not team.log.has_access(
            device, Compartment(msg.c)
        ):
            return s.refuse(msg.id, ErrorCode.FORBIDDEN, "no access to that compartment")
        s.send(m.Head(id=msg.id, c=msg.c, seq=await self.storage.head(team.team_id, msg.c)))

    async def catchup_plan(self, s: Session, msg: m.CatchupGet) -> None:
        """What a catch-up of ``c`` from ``after`` would take (docs/protocol.md §4a): the
        head, the newest snapshot (its ``upto`` and bytes) and the envelopes' bytes, so the
        device chooses between the envelopes and that snapshot first. Two range sums over the
        sequences above ``after``: a device near the head costs little."""
        team, device = s.team, s.device
        assert team is not None and device is not None
        if msg.c not in Compartment._value2member_map_ or not team.log.has_access(
            device, Compartment(msg.c)
        ):
            return s.refuse(msg.id, ErrorCode.FORBIDDEN, "no access to that compartment")
        storage, tid = self.storage, team.team_id
        head = await storage.head(tid, msg.c)
        snap = await storage.newest_snapshot(tid, msg.c)
        upto, size = (snap.upto, snap.size) if snap is not None else (0, 0)
        behind = await storage.envelope_bytes(tid, msg.c, msg.after)
        # The tail summed over its own range (after the snapshot), not the covered part: a
        # range sum reads every envelope's row in it (SQLite reads a blob's pages for its
        # length there), and the tail is the small part (a new device: 20 MB against ~0).
        # (A push committed between the two sums counts in neither total twice: clamped.)
        tail = min(behind, await storage.envelope_bytes(tid, msg.c, upto)
                   if upto > msg.after else behind)
        s.send(m.CatchupPlan(id=msg.id, c=msg.c, head=head, upto=upto, size=size,
                             behind=behind, tail=tail))

    async def unsubscribe(self, s: Session, msg: m.Unsubscribe) -> None:
        sub = s.subscriptions.pop(msg.c, None)
        if sub is not None and s.team is not None:
            s.team.subscribers[msg.c].discard(s)
        s.send(m.Ok(id=msg.id))

    # --- membership log ------------------------------------------------------------------------

    async def log_fetch(self, s: Session, msg: m.LogFetch) -> None:
        assert s.team is not None
        entries = s.team.log.entries
        start = min(msg.after, len(entries))
        while True:  # several frames if needed; the last one may be empty
            chunk = entries[start : start + 256]
            s.send(m.LogEntries(id=msg.id, start=start, entries=chunk))
            start += len(chunk)
            if len(chunk) < 256:
                break

    async def log_append(self, s: Session, msg: m.LogAppend) -> None:
        team = s.team
        assert team is not None
        for attempt in range(2):
            async with team.log_lock:
                error = await self._log_append(s, team, msg)
            if error is None:
                return
            # Refused against our copy of the log: if another node appended meanwhile, load
            # its entries and judge once more against the log as it is now.
            if attempt or not await self.fanout.refresh_log(team):
                return s.refuse(msg.id, ErrorCode.BAD_LOG_ENTRY, error)

    async def _log_append(self, s: Session, team: Team, msg: m.LogAppend) -> str | None:
        """Verify and store the entries, then answer; or return why they were refused."""
        size = sum(len(e) for e in msg.entries)
        if team.usage + size > self.cfg.max_team_storage:
            s.refuse(msg.id, ErrorCode.STORAGE_FULL, "the team's storage quota is used up")
            return None
        start = len(team.log)
        candidate = team.log.copy()
        try:
            for entry in msg.entries:
                candidate.append(entry)
        except MembershipError as exc:
            return str(exc)
        try:
            await self.storage.append_log(team.team_id, start, list(msg.entries))
        except RelayConflictError as exc:
            return f"the log changed meanwhile: {exc}"
        team.log = candidate  # pushes are judged by the new log from here on
        team.usage += size
        s.send(m.Ok(id=msg.id))
        log.info("membership log appended", extra={"team": team.team_id, "start": start,
                                                     "count": len(msg.entries)})
        await self.committer.passed(self.committer.submitted)
        team.apply_membership(start, list(msg.entries))
        return None
