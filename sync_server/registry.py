"""The teams a relay has loaded (those with live sessions) and the invitation answers guests
wait for: loading a team (verifying its log), binding sessions to it, unloading it."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from mano_core.ids import Compartment
from sync_server.teams import Team, verify_log

if TYPE_CHECKING:
    from sync_server.context import RelayContext
    from sync_server.session import Session

InviteKey = tuple[bytes, bytes]  # (team, invite)


class TeamRegistry:
    """Loaded teams by id, and guests' awaited invitation answers."""

    def __init__(self, ctx: RelayContext) -> None:
        self.ctx = ctx
        self.teams: dict[bytes, Team] = {}
        self.invite_waiters: dict[InviteKey, list[tuple[Session, int]]] = {}
        self._locks: dict[bytes, asyncio.Lock] = {}

    def get(self, team_id: bytes) -> Team | None:
        """The team if loaded here."""
        return self.teams.get(team_id)

    async def load(self, team_id: bytes) -> Team | None:
        """The team's live state, loading and verifying its log on first use; None if the
        relay holds no such team."""
        team = self.teams.get(team_id)
        if team is not None:
            return team
        lock = self._locks.setdefault(team_id, asyncio.Lock())
        async with lock:
            team = self.teams.get(team_id)
            if team is None:
                storage = self.ctx.storage
                entries = await storage.load_log(team_id)
                if entries is None:
                    self._locks.pop(team_id, None)
                    return None
                membership = await asyncio.to_thread(verify_log, team_id, entries)
                team = Team(team_id, membership, await storage.team_usage(team_id))
                for c in Compartment:  # live delivery starts at the stored heads
                    team.delivered[int(c)] = await storage.head(team_id, int(c))
                self.teams[team_id] = team
        return team

    def adopt(self, team: Team) -> Team:
        """The live state the relay fans out from for ``team``'s id, for a caller that awaited
        since it got ``team``: ``team`` itself, registered again if the team was unloaded
        meanwhile (its last session left), or the state loaded since by another session. A
        session bound to an unloaded copy would stay connected and receive nothing live."""
        return self.teams.setdefault(team.team_id, team)

    def attach(self, s: Session, team: Team, device: bytes) -> None:
        """Bind an authenticated session to its team."""
        s.team, s.device = team, device
        team.sessions.add(s)
        self.ctx.metrics.sessions += 1
        self.ctx.metrics.teams = len(self.teams)

    def detach(self, s: Session) -> None:
        """Unbind a closing session (idempotent): unload its team if it was the last, forget
        the invitation answers it waited for."""
        for key in s.invite_waits:
            self._forget(key, s)
        s.invite_waits.clear()
        team = s.team
        if team is not None and s in team.sessions:
            team.sessions.discard(s)
            for subs in team.subscribers.values():
                subs.discard(s)
            self.ctx.metrics.sessions -= 1
            if not team.sessions and team.pending_commits == 0:
                self.teams.pop(team.team_id, None)
                self._locks.pop(team.team_id, None)
            self.ctx.metrics.teams = len(self.teams)

    # --- invitation answers --------------------------------------------------------------------

    def wait_answer(self, s: Session, key: InviteKey, request_id: int) -> None:
        """Remember that ``s`` waits for the answer to ``key`` (request ``request_id``)."""
        s.invite_waits.add(key)
        self.invite_waiters.setdefault(key, []).append((s, request_id))

    def answered(self, key: InviteKey) -> list[tuple[Session, int]]:
        """The sessions waiting for ``key``, forgotten now that it is answered."""
        waiters = self.invite_waiters.pop(key, [])
        for s, _ in waiters:
            s.invite_waits.discard(key)
        return waiters

    def waiting(self) -> int:
        """How many answers are awaited in all."""
        return sum(len(w) for w in self.invite_waiters.values())

    def _forget(self, key: InviteKey, s: Session) -> None:
        waiters = [w for w in self.invite_waiters.get(key, ()) if w[0] is not s]
        if waiters:
            self.invite_waiters[key] = waiters
        else:
            self.invite_waiters.pop(key, None)
