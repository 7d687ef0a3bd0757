"""In-memory state of the teams that have live sessions: verified membership log, sessions,
subscriptions, per-device rate buckets, storage usage; and live fan-out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

import msgspec

from mano_core.crypto.membership import MembershipLog
from mano_core.ids import Compartment
from mano_core.protocol import codec
from mano_core.protocol import messages as m
from mano_core.protocol.codes import ErrorCode
from mano_core.protocol.ratelimit import TokenBucket

if TYPE_CHECKING:
    from sync_server.session import Session

log = logging.getLogger("mano.relay.teams")

_ITEM_OVERHEAD = 16    # msgpack bytes around one [seq, envelope] pair, rounded up
_FRAME_OVERHEAD = 64   # msgpack bytes of a Deliver frame around its items, rounded up


def deliver_frames(c: int, items: Sequence[tuple[int, bytes]], max_frame: int) -> list[bytes]:
    """Encode ``items`` as as few Deliver frames as fit in ``max_frame`` bytes each."""
    frames: list[bytes] = []
    batch: list[tuple[int, bytes]] = []
    size = _FRAME_OVERHEAD
    for seq, env in items:
        cost = len(env) + _ITEM_OVERHEAD
        if batch and (size + cost > max_frame or len(batch) >= 1024):
            frames.append(codec.encode(m.Deliver(c=c, items=batch)))
            batch, size = [], _FRAME_OVERHEAD
        batch.append((seq, env))
        size += cost
    if batch:
        frames.append(codec.encode(m.Deliver(c=c, items=batch)))
    return frames


class Team:
    """One team's live state. Created when its first session authenticates."""

    def __init__(self, team_id: bytes, membership: MembershipLog, usage: int) -> None:
        self.team_id = team_id
        self.log = membership
        self.usage = usage
        self.sessions: set[Session] = set()
        self.subscribers: dict[int, set[Session]] = {int(c): set() for c in Compartment}
        self.buckets: dict[bytes, TokenBucket] = {}
        self.pending_commits = 0
        # Last sequence delivered live per compartment (set by TeamRegistry.load).
        self.delivered: dict[int, int] = {}
        self.log_lock = asyncio.Lock()  # one log change at a time (local append or reload)

    def bucket(self, device: bytes, rate: float, burst: float, now: float) -> TokenBucket:
        """The device's token bucket (shared by all its sessions)."""
        b = self.buckets.get(device)
        if b is None:
            b = self.buckets[device] = TokenBucket(rate, burst, now)
        return b

    def fanout(self, c: int, items: Sequence[tuple[int, bytes]], max_frame: int, *,
               authors: Collection[bytes] = ()) -> int:
        """Deliver committed envelopes (in order, contiguous) to every subscriber of ``c``;
        returns deliveries. The sessions of ``authors`` (the devices that pushed them) come
        last: they hold the content already, their teammates are waiting for it (each write
        can wake a reader, and a loaded machine then runs it before the next write).

        Frames are encoded once for all live subscribers; subscribers still catching up get
        the items buffered (they filter what their catch-up already sent), live ones skip
        what their catch-up already read past. A subscriber is never skipped silently: one the
        relay cannot serve (its buffer is full, or it would be left a gap) is closed with
        SLOW_CONSUMER, and reconnects and catches up from its cursor."""
        subs = self.subscribers.get(c)
        if not subs or not items:
            return 0
        frames: list[bytes] | None = None
        delivered = 0
        order = sorted(subs, key=lambda s: s.device in authors) if authors else list(subs)
        for session in order:
            if session.deliver_live(c, items):
                continue  # buffered during catch-up
            sub = session.subscriptions.get(c)
            seen = sub.cursor if sub is not None else 0
            if seen >= items[-1][0]:
                continue
            rest: Sequence[tuple[int, bytes]] = items
            if sub is not None and seen < items[0][0] - 1:
                # It missed envelopes before these: sending these would leave it a silent
                # gap. Close it instead; it reconnects and catches up from its cursor.
                session.kill(ErrorCode.SLOW_CONSUMER,
                             f"live delivery skipped after {seen}: reconnect and catch up")
                continue
            if seen >= items[0][0]:
                rest = [it for it in items if it[0] > seen]
                out = deliver_frames(c, rest, max_frame)
            else:
                if frames is None:
                    frames = deliver_frames(c, items, max_frame)
                out = frames
            for frame in out:
                if not session.write(frame):
                    break
            else:
                delivered += len(rest)
                if sub is not None:
                    sub.cursor = rest[-1][0]
        return delivered

    def broadcast(self, frame: bytes, *, exclude: Session | None = None,
                  admins_only: bool = False, device: bytes | None = None) -> None:
        """Write one encoded frame to the team's authenticated sessions (filtered)."""
        for session in list(self.sessions):
            if session is exclude or session.device is None:
                continue
            if admins_only and not self.log.is_admin(session.device):
                continue
            if device is not None and session.device != device:
                continue
            session.write(frame)

    def apply_membership(self, start: int, entries: list[bytes]) -> None:
        """After log entries were stored: close sessions of removed devices, drop
        subscriptions that lost access, and send the new entries to everyone left."""
        for session in list(self.sessions):
            dev = session.device
            if dev is None:
                continue
            if not self.log.is_active(dev):
                log.info("closing revoked session", extra={"team": self.team_id, "device": dev})
                session.kill(ErrorCode.REVOKED, "this device was removed from the team")
                continue
            for c in list(session.subscriptions):
                if not self.log.has_access(dev, Compartment(c)):
                    session.drop_subscription(c, "access to this compartment was revoked")
        frame = codec.encode(m.LogEntries(id=0, start=start, entries=entries))
        self.broadcast(frame)


def may_write(log: MembershipLog, device: bytes, c: Compartment, epoch: int) -> bool:
    """True if ``device`` may write ``c`` now: it is active, has access to ``c`` NOW, and had
    access during ``epoch``. A device whose access was taken away (a health flag withdrawn)
    is refused at every epoch, including the old ones whose keys it still holds."""
    return (log.is_active(device) and log.has_access(device, c)
            and log.can_write(device, c, epoch))


def verify_log(team_id: bytes, entries: Sequence[bytes]) -> MembershipLog:
    """Verify a whole log. Raises MembershipError (or a subclass)."""
    try:
        return MembershipLog.from_entries(team_id, entries)
    except msgspec.MsgspecError as exc:  # defence in depth: never let a decoder error escape
        from mano_core.errors import MembershipError

        raise MembershipError(f"undecodable log entry: {exc}") from None
