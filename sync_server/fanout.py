"""In-order live delivery per (team, compartment), whoever committed the envelopes.

Each loaded team keeps a cursor per compartment: the last sequence this node delivered live.
Envelopes committed here are delivered straight from memory when they follow the cursor; when
they do not (another node committed in between), or when another node tells us it committed
(``remote``), one pull task per (team, compartment) reads the rows after the cursor from storage
in sequence order and delivers them. Sequences are gap-free and a row is visible before its
notification arrives, so the live stream has no gap and no duplicate across nodes. With one
node (SQLite) every commit follows the cursor and storage is never read. A pull whose read fails
is retried (a doubling pause, bounded) while the team has subscribers here, and ``problem`` says
so meanwhile (/healthz): the rows after the cursor still reach them live once storage answers,
even if no later envelope comes to start another pull.

Cross-node events reach this module through a Bus (sync_server/pgbus.py for PostgreSQL)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Coroutine, Sequence
from typing import TYPE_CHECKING, Any

from mano_core import limits
from mano_core.errors import MembershipError
from mano_core.protocol import codec
from mano_core.protocol import messages as m

from sync_server.bus import Bus, LocalBus
from sync_server.storage.base import unreachable

if TYPE_CHECKING:
    from sync_server.context import RelayContext
    from sync_server.registry import TeamRegistry
    from sync_server.teams import Team

__all__ = ["Bus", "Fanout", "LocalBus", "pull_retry_delay"]

log = logging.getLogger("mano.relay.fanout")


def pull_retry_delay(failures: int) -> float:
    """Seconds before retrying a pull that failed ``failures`` times in a row (>= 1): doubling
    from PULL_RETRY_FIRST_SECONDS, at most PULL_RETRY_MAX_SECONDS."""
    first, most = limits.PULL_RETRY_FIRST_SECONDS, limits.PULL_RETRY_MAX_SECONDS
    return float(min(most, first * 2 ** min(max(failures, 1) - 1, 32)))


class Fanout:
    """Delivers committed envelopes to the relay's subscribers, in sequence order."""

    def __init__(self, ctx: RelayContext, registry: TeamRegistry) -> None:
        self.ctx = ctx
        self.registry = registry
        self._pulls: dict[tuple[bytes, int], asyncio.Task[None]] = {}
        self._again: set[tuple[bytes, int]] = set()
        self._failing: dict[tuple[bytes, int], str] = {}  # pulls waiting to retry: why
        self._log_tasks: set[asyncio.Task[object]] = set()

    # --- envelopes -----------------------------------------------------------------------------

    def committed(self, team: Team, c: int, items: Sequence[tuple[int, bytes]], *,
                  authors: Collection[bytes] = ()) -> int:
        """Envelopes this node just committed (contiguous sequences), pushed by ``authors``
        (their sessions are served last: ``Team.fanout``); returns deliveries."""
        cursor = team.delivered[c]
        if not items or items[-1][0] <= cursor:
            return 0
        if not team.subscribers[c]:
            team.delivered[c] = items[-1][0]
            return 0
        if items[0][0] > cursor + 1:  # another node committed in between: read it in order
            self.pull(team, c)
            return 0
        fresh = [it for it in items if it[0] > cursor]
        team.delivered[c] = fresh[-1][0]
        return team.fanout(c, fresh, self.ctx.config.max_frame, authors=authors)

    def remote(self, team_id: bytes, c: int, head: int) -> None:
        """Some node committed (team, c) up to ``head``."""
        team = self.registry.teams.get(team_id)
        if team is None or c not in team.delivered or head <= team.delivered[c]:
            return
        if not team.subscribers[c]:
            team.delivered[c] = head  # nobody listens; a new subscriber catches up from storage
            return
        self.pull(team, c)

    def pull(self, team: Team, c: int) -> None:
        """Deliver what storage holds after the cursor (one task per team and compartment)."""
        key = (team.team_id, c)
        running = self._pulls.get(key)
        if running is not None and not running.done():
            self._again.add(key)
            return
        # A pull that has returned may still be listed until its done callback runs (a later
        # turn of the loop): it reads no more, so a new one starts, and only its own callback
        # unlists it (a notification handled in between was lost: its rows waited for the
        # next envelope).
        task = asyncio.create_task(self._pull(team, c), name="mano-relay-pull")
        self._pulls[key] = task
        task.add_done_callback(lambda done: self._unlist(key, done))

    def _unlist(self, key: tuple[bytes, int], task: asyncio.Task[None]) -> None:
        if self._pulls.get(key) is task:
            del self._pulls[key]

    @property
    def problem(self) -> str | None:
        """Why live deliveries wait for storage (for /healthz), or None."""
        return next(iter(self._failing.values()), None)

    def _wanted(self, team: Team, c: int) -> bool:
        """True while ``team`` is the one loaded here and someone subscribes to ``c``."""
        return self.registry.teams.get(team.team_id) is team and bool(team.subscribers[c])

    async def _pull(self, team: Team, c: int) -> None:
        ctx, key = self.ctx, (team.team_id, c)
        batch = ctx.config.catchup_batch
        failures = 0
        try:
            while True:
                self._again.discard(key)
                try:
                    rows = await ctx.storage.read_envelopes(team.team_id, c, team.delivered[c],
                                                              batch)
                except Exception as exc:  # noqa: BLE001 - any driver error: retry while wanted
                    failures += 1
                    ctx.metrics.pull_failures += 1
                    self._failing[key] = unreachable(exc)
                    delay = pull_retry_delay(failures)
                    log.warning("pull failed", extra={"team": team.team_id, "c": c,
                                                      "error": repr(exc), "retry_in": delay})
                    if not self._wanted(team, c):
                        return  # a later subscriber catches up from storage
                    await asyncio.sleep(delay)
                    if not self._wanted(team, c):
                        return
                    continue
                self._failing.pop(key, None)
                failures = 0
                more = len(rows) == batch  # storage may hold more, whatever was delivered
                rows = [r for r in rows if r[0] > team.delivered[c]]  # delivered meanwhile
                if rows:
                    team.delivered[c] = rows[-1][0]
                    ctx.metrics.envelopes_out += team.fanout(c, rows, ctx.config.max_frame)
                if not more and key not in self._again:
                    return
        finally:
            self._failing.pop(key, None)

    def resync(self) -> None:
        """After missed events (the bus reconnected): catch every loaded team up."""
        for team in list(self.registry.teams.values()):
            for c in team.delivered:
                if team.subscribers[c]:
                    self.pull(team, c)
            self.log_changed(team.team_id)
        for team_id, invite in list(self.registry.invite_waiters):
            self.invite_answered(team_id, invite)

    async def stop(self) -> None:
        """Cancel running pulls."""
        for task in [*self._pulls.values(), *self._log_tasks]:
            task.cancel()
        await asyncio.gather(*self._pulls.values(), *self._log_tasks, return_exceptions=True)

    def _spawn(self, coro: Coroutine[Any, Any, object]) -> None:
        task = asyncio.ensure_future(coro)
        self._log_tasks.add(task)
        task.add_done_callback(self._log_tasks.discard)

    # --- membership logs, key packages, invitations, presence -----------------------------------

    def log_changed(self, team_id: bytes) -> None:
        """Another node appended to the team's log: reload it (closes revoked sessions)."""
        team = self.registry.teams.get(team_id)
        if team is not None:
            self._spawn(self.refresh_log(team))

    async def refresh_log(self, team: Team) -> bool:
        """Apply log entries stored by other nodes; True if the log grew."""
        async with team.log_lock:
            try:
                entries = await self.ctx.storage.load_log(team.team_id)
            except Exception as exc:  # noqa: BLE001 - any driver error: keep serving, log it
                log.warning("log reload failed", extra={"team": team.team_id, "error": repr(exc)})
                return False
            start = len(team.log)
            if entries is None or len(entries) <= start:
                return False
            candidate = team.log.copy()
            try:
                for entry in entries[start:]:
                    candidate.append(entry)
            except MembershipError:  # never expected: every node verified before storing
                log.exception("stored log entry refused", extra={"team": team.team_id})
                return False
            team.log = candidate
            team.apply_membership(start, entries[start:])
            return True

    def key_stored(self, team_id: bytes, recipient: bytes, kid: int) -> None:
        """Another node stored a key package: push it to the recipient's sessions here."""
        team = self.registry.teams.get(team_id)
        if team is not None and any(s.device == recipient for s in team.sessions):
            self._spawn(self._push_key(team, recipient, kid))

    async def _push_key(self, team: Team, recipient: bytes, kid: int) -> None:
        pkgs = await self.ctx.storage.fetch_keys(team.team_id, recipient, 1024)
        items = [m.KeyItem(kid=p.kid, sender=p.sender, blob=p.blob) for p in pkgs if p.kid == kid]
        if items:
            team.broadcast(codec.encode(m.Keys(id=0, items=items)), device=recipient)

    def invite_requested(self, team_id: bytes, invite: bytes) -> None:
        """Another node stored a join request: show it to this node's admins."""
        team = self.registry.teams.get(team_id)
        if team is not None:
            self._spawn(self._push_invite(team, invite))

    async def _push_invite(self, team: Team, invite: bytes) -> None:
        pending = await self.ctx.storage.pending_invites(team.team_id, 1024)
        items = [m.InviteItem(invite=i, blob=b) for i, b in pending if i == invite]
        if items:
            team.broadcast(codec.encode(m.Invites(id=0, items=items)), admins_only=True)

    def invite_answered(self, team_id: bytes, invite: bytes) -> None:
        """An admin answered on another node: wake the guests waiting here."""
        if (team_id, invite) in self.registry.invite_waiters:
            self._spawn(self._answer_guests(team_id, invite))

    async def _answer_guests(self, team_id: bytes, invite: bytes) -> None:
        answer = await self.ctx.storage.invite_answer(team_id, invite)
        if answer is None:
            return
        for guest, request_id in self.registry.answered((team_id, invite)):
            guest.send(m.InviteAnswer(id=request_id, invite=invite, blob=answer))

    def presence(self, team_id: bytes, device: bytes, blob: bytes) -> None:
        """A presence blob from a session on another node."""
        team = self.registry.teams.get(team_id)
        if team is not None:
            self.ctx.metrics.presence += 1
            team.broadcast(codec.encode(m.Presence(blob=blob, device=device)))
