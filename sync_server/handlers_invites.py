"""Handlers for invitations: an admin opens one (``invite_open``), a new device asks to join
with it (``invite_request``, proving it holds the code), the admin answers, the new device
fetches the answer. Every blob is opaque to the relay (docs/protocol.md, invitations).

A request takes a slot only with the proof whose SHA-256 its admin registered: knowing a team's
id (the first 16 bytes of every code) or an invitation's id is not enough, and each invitation
holds at most one request, so junk requests cannot block anyone else's joins."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import TYPE_CHECKING, Final

from mano_core.protocol import codec
from mano_core.protocol import messages as m
from mano_core.protocol.codes import ErrorCode
from sync_server.session import Session

if TYPE_CHECKING:
    from sync_server.config import RelayConfig
    from sync_server.context import RelayContext
    from sync_server.registry import TeamRegistry
    from sync_server.storage import Storage

MAX_INVITE_WAITS_PER_SESSION: Final = 4  # invitation answers one connection may wait for


def proof_matches(proof: bytes, verifier: bytes) -> bool:
    """SHA-256(``proof``) equals ``verifier``, compared in constant time."""
    return hmac.compare_digest(hashlib.sha256(proof).digest(), verifier)


class InviteHandlers:
    """Mixed into sync_server.handlers.Handlers."""

    ctx: RelayContext
    cfg: RelayConfig
    storage: Storage
    registry: TeamRegistry

    async def invite_open(self, s: Session, msg: m.InviteOpen) -> None:
        team, device = s.team, s.device
        assert team is not None and device is not None
        if not team.log.is_admin(device):
            return s.refuse(msg.id, ErrorCode.FORBIDDEN, "only admins open invitations")
        storage = self.storage
        if await storage.invite_verifier(team.team_id, msg.invite) is None:
            if await storage.count_open_invites(team.team_id) >= self.cfg.max_open_invites:
                return s.refuse(msg.id, ErrorCode.TOO_LARGE, "too many open invitations")
            size = len(msg.invite) + len(msg.verifier)
            if team.usage + size > self.cfg.max_team_storage:
                return s.refuse(msg.id, ErrorCode.STORAGE_FULL,
                                "the team's storage quota is used up")
        if not await storage.open_invite(team.team_id, msg.invite, msg.verifier, time.time()):
            return s.refuse(msg.id, ErrorCode.CONFLICT,
                            "invitation id already open with another verifier")
        s.send(m.Ok(id=msg.id))

    async def invite_request(self, s: Session, msg: m.InviteRequest) -> None:
        if not s.become_guest():
            return
        storage = self.storage
        verifier = await storage.invite_verifier(msg.team, msg.invite)
        if verifier is None:  # not opened (yet: its admin may still be offline), or expired
            return s.refuse(msg.id, ErrorCode.NOT_FOUND, "no such open invitation")
        if not proof_matches(msg.proof, verifier):
            return s.refuse(msg.id, ErrorCode.FORBIDDEN,
                            "the request does not prove the invitation's code")
        pending = await storage.pending_invites(msg.team, self.cfg.max_pending_invites)
        if len(pending) >= self.cfg.max_pending_invites and msg.invite not in dict(pending):
            return s.refuse(msg.id, ErrorCode.TOO_LARGE, "too many pending invitation requests")
        if not await storage.put_invite_request(msg.team, msg.invite, msg.blob, time.time()):
            return s.refuse(msg.id, ErrorCode.CONFLICT, "invitation id already used")
        s.guest_wait = True
        s.send(m.Ok(id=msg.id))
        team = self.registry.get(msg.team)
        if team is not None:
            item = m.InviteItem(invite=msg.invite, blob=msg.blob)
            team.broadcast(codec.encode(m.Invites(id=0, items=[item])), admins_only=True)

    async def invite_fetch(self, s: Session, msg: m.InviteFetch) -> None:
        if not s.become_guest():
            return
        answer = await self.storage.invite_answer(msg.team, msg.invite)
        if answer is not None:
            return s.send(m.InviteAnswer(id=msg.id, invite=msg.invite, blob=answer))
        if len(s.invite_waits) >= MAX_INVITE_WAITS_PER_SESSION:
            return s.refuse(msg.id, ErrorCode.TOO_LARGE, "too many invitation answers awaited")
        s.guest_wait = True
        self.registry.wait_answer(s, (msg.team, msg.invite), msg.id)

    async def invite_list(self, s: Session, msg: m.InviteList) -> None:
        assert s.team is not None and s.device is not None
        if not s.team.log.is_admin(s.device):
            return s.refuse(msg.id, ErrorCode.FORBIDDEN, "only admins see invitation requests")
        pending = await self.storage.pending_invites(s.team.team_id, 1024)
        items = [m.InviteItem(invite=i, blob=b) for i, b in pending]
        s.send(m.Invites(id=msg.id, items=items))

    async def invite_answer(self, s: Session, msg: m.InviteAnswer) -> None:
        assert s.team is not None and s.device is not None
        if not s.team.log.is_admin(s.device):
            return s.refuse(msg.id, ErrorCode.FORBIDDEN, "only admins answer invitations")
        team_id = s.team.team_id
        if not await self.storage.answer_invite(team_id, msg.invite, msg.blob):
            return s.refuse(msg.id, ErrorCode.NOT_FOUND, "no such invitation request")
        s.send(m.Ok(id=msg.id))
        for guest, request_id in self.registry.answered((team_id, msg.invite)):
            guest.send(m.InviteAnswer(id=request_id, invite=msg.invite, blob=msg.blob))
