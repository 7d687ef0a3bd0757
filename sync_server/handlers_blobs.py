"""Handlers for snapshots (and purges), key packages and presence (opaque blobs); invitations
are in sync_server/handlers_invites.py."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from mano_core.errors import RelayConflictError
from mano_core.ids import Compartment
from mano_core.protocol import codec
from mano_core.protocol import messages as m
from mano_core.protocol.codes import ErrorCode
from sync_server.handlers_files import over_quota
from sync_server.session import Session, SnapshotUpload

if TYPE_CHECKING:
    from sync_server.config import RelayConfig
    from sync_server.context import RelayContext
    from sync_server.registry import TeamRegistry
    from sync_server.storage import Storage

log = logging.getLogger("mano.relay")


class BlobHandlers:
    """Mixed into sync_server.handlers.Handlers."""

    ctx: RelayContext
    cfg: RelayConfig
    storage: Storage
    registry: TeamRegistry

    # --- snapshots -----------------------------------------------------------------------------

    async def snapshot_put(self, s: Session, msg: m.SnapshotPut) -> None:
        """One part of an upload, stored at once (never held in memory): the snapshot becomes
        visible with its last part. Size, quota and the relay-wide number of uploads are
        checked at every part; a refused upload is dropped and its next parts ignored."""
        team, device = s.team, s.device
        assert team is not None and device is not None
        storage, cfg = self.storage, self.cfg
        up = s.upload
        if msg.part == 0:
            await s.abort_upload()
            if msg.c not in Compartment._value2member_map_ or not team.log.has_access(
                device, Compartment(msg.c)
            ):
                return self._drop_upload(s, msg, ErrorCode.FORBIDDEN,
                                         "no access to that compartment")
            if self.ctx.uploads >= cfg.max_uploads:
                return self._drop_upload(s, msg, ErrorCode.BUSY,
                                         "too many snapshot uploads in progress; retry later")
            refused = await self._snapshot_conflict(team.team_id, msg.c, msg.upto, msg.spare)
            if refused:
                return self._drop_upload(s, msg, ErrorCode.CONFLICT, refused)
            if msg.spare and (other := self._covering_upload(s, msg.c, msg.upto)):
                return self._drop_upload(s, msg, ErrorCode.CONFLICT, other)
            self.ctx.uploads += 1
            sid = await storage.begin_snapshot(team.team_id, msg.c, msg.upto, time.time())
            up = s.upload = SnapshotUpload(msg.id, msg.c, msg.upto, sid, spare=msg.spare)
        elif up is None or (up.request_id, up.c, up.upto, up.parts) != (
            msg.id, msg.c, msg.upto, msg.part
        ):
            if msg.id == s.dropped_upload:  # the rest of an upload refused already
                if msg.last:
                    s.dropped_upload = 0
                return None
            await s.abort_upload()
            return self._drop_upload(s, msg, ErrorCode.CONFLICT, "snapshot parts out of order")
        if up.size + len(msg.data) > cfg.max_snapshot_size:
            await s.abort_upload()
            return self._drop_upload(s, msg, ErrorCode.TOO_LARGE, "snapshot above the size limit")
        if over_quota(s, cfg, len(msg.data)):
            await s.abort_upload()
            return self._drop_upload(s, msg, ErrorCode.STORAGE_FULL,
                                     "the team's storage quota is used up")
        await storage.put_snapshot_part(up.sid, up.parts, msg.data)
        up.parts += 1
        up.size += len(msg.data)
        team.usage += len(msg.data)
        if not msg.last:
            return None
        refused = await self._snapshot_conflict(team.team_id, up.c, up.upto, up.spare)
        if refused:
            await s.abort_upload()
            return s.refuse(msg.id, ErrorCode.CONFLICT, refused)
        s.upload = None
        self.ctx.uploads -= 1
        await storage.finish_snapshot(up.sid)
        await storage.prune(team.team_id, up.c, now=time.time(), retention=cfg.retention,
                            keep=cfg.snapshots_kept)
        team.usage = await storage.team_usage(team.team_id)
        s.send(m.Ok(id=msg.id))
        return None

    async def _snapshot_conflict(self, team_id: bytes, c: int, upto: int,
                                 spare: bool) -> str | None:
        """Why a snapshot of (team, c) up to ``upto`` cannot be stored now, or None. A
        ``spare`` one (a device's periodic snapshot) also not when one as new is stored:
        every device at the head takes one of the same ``upto`` at the same moment, and one
        stored is enough. An erasure's is not spare: it replaces the newest (docs/protocol.md
        §6, "Purge": the purge keeps only the newest, which must be the erased state)."""
        head = await self.storage.head(team_id, c)
        if upto > head:
            return f"upto {upto} is above head {head}"
        newest = await self.storage.newest_snapshot(team_id, c)
        if newest is not None and (upto < newest.upto or (spare and upto == newest.upto)):
            return f"a snapshot up to {newest.upto} exists"
        return None

    @staticmethod
    def _covering_upload(s: Session, c: int, upto: int) -> str | None:
        """Another session of the team (on this node) uploading a snapshot of ``c`` that
        covers ``upto``: a spare upload is refused as if that one were stored (CONFLICT: its
        device counts it as uploaded). Should that upload fail, its device, which was not
        answered ``ok``, still has it due and uploads again once back at the head."""
        assert s.team is not None
        for other in s.team.sessions:
            up = other.upload
            if other is not s and up is not None and up.c == c and up.upto >= upto:
                return f"an upload up to {up.upto} is in progress"
        return None

    @staticmethod
    def _drop_upload(s: Session, msg: m.SnapshotPut, code: ErrorCode, why: str) -> None:
        """Refuse an upload once; its following parts (same request) are ignored."""
        if not msg.last:
            s.dropped_upload = msg.id
        s.refuse(msg.id, code, why)

    async def snapshot_get(self, s: Session, msg: m.SnapshotGet) -> None:
        team, device = s.team, s.device
        assert team is not None and device is not None
        if msg.c not in Compartment._value2member_map_ or not team.log.has_access(
            device, Compartment(msg.c)
        ):
            return s.refuse(msg.id, ErrorCode.FORBIDDEN, "no access to that compartment")
        info = await self.storage.newest_snapshot(team.team_id, msg.c, before=msg.before)
        if info is None:
            return s.refuse(msg.id, ErrorCode.NOT_FOUND, "no snapshot of that compartment"
                            + (f" below {msg.before}" if msg.before else ""))
        for part in range(info.parts):
            data = await self.storage.snapshot_part(info.sid, part)
            if data is None:
                return s.refuse(msg.id, ErrorCode.NOT_FOUND, "the snapshot was replaced")
            if s.closing:
                return
            s.conn.send(m.SnapshotData(id=msg.id, c=msg.c, upto=info.upto, part=part,
                                       last=part == info.parts - 1, data=data))
            for frame in s.conn.data_to_send():
                await s.ws.send(frame)  # flow control: a big snapshot waits for the socket

    async def purge(self, s: Session, msg: m.Purge) -> None:
        """Erasure: drop envelopes <= ``upto`` and every snapshot but the newest, which must
        cover ``upto`` (FORBIDDEN without access to ``c``, CONFLICT without such a snapshot or
        above the head: nothing dropped then). A second identical purge drops nothing."""
        team, device = s.team, s.device
        assert team is not None and device is not None
        if msg.c not in Compartment._value2member_map_ or not team.log.has_access(
            device, Compartment(msg.c)
        ):
            return s.refuse(msg.id, ErrorCode.FORBIDDEN, "no access to that compartment")
        storage = self.storage
        head = await storage.head(team.team_id, msg.c)
        if msg.upto > head:
            return s.refuse(msg.id, ErrorCode.CONFLICT, f"upto {msg.upto} is above head {head}")
        try:
            envelopes, snapshots = await storage.purge(team.team_id, msg.c, msg.upto)
        except RelayConflictError as exc:
            return s.refuse(msg.id, ErrorCode.CONFLICT, str(exc))
        team.usage = await storage.team_usage(team.team_id)
        log.info("compartment purged", extra={"team": team.team_id, "device": device,
                                              "c": msg.c, "upto": msg.upto,
                                              "envelopes": envelopes, "snapshots": snapshots})
        s.send(m.Purged(id=msg.id, c=msg.c, upto=msg.upto, envelopes=envelopes,
                        snapshots=snapshots))

    # --- key packages --------------------------------------------------------------------------

    async def key_put(self, s: Session, msg: m.KeyPut) -> None:
        team, device = s.team, s.device
        assert team is not None and device is not None
        if not team.log.is_active(msg.to):
            return s.refuse(msg.id, ErrorCode.NOT_FOUND, "no such active device in the team")
        storage = self.storage
        if await storage.count_keys(team.team_id, msg.to) >= self.cfg.max_pending_keys:
            return s.refuse(msg.id, ErrorCode.TOO_LARGE, "too many key packages pending")
        if team.usage + len(msg.blob) > self.cfg.max_team_storage:
            return s.refuse(msg.id, ErrorCode.STORAGE_FULL, "the team's storage quota is used up")
        kid = await storage.put_key(team.team_id, msg.to, device, msg.blob, time.time())
        team.usage += len(msg.blob)
        s.send(m.Ok(id=msg.id))
        item = m.KeyItem(kid=kid, sender=device, blob=msg.blob)
        team.broadcast(codec.encode(m.Keys(id=0, items=[item])), device=msg.to)

    async def key_fetch(self, s: Session, msg: m.KeyFetch) -> None:
        assert s.team is not None and s.device is not None
        pkgs = await self.storage.fetch_keys(s.team.team_id, s.device, 1024)
        items: list[m.KeyItem] = []
        size = 0
        for p in pkgs:  # stay within one frame; the device fetches again after acking
            size += len(p.blob) + 64
            if items and size > self.cfg.max_frame - 1024:
                break
            items.append(m.KeyItem(kid=p.kid, sender=p.sender, blob=p.blob))
        s.send(m.Keys(id=msg.id, items=items))

    async def key_ack(self, s: Session, msg: m.KeyAck) -> None:
        assert s.team is not None and s.device is not None
        await self.storage.delete_keys(s.team.team_id, s.device, msg.kids)
        s.team.usage = await self.storage.team_usage(s.team.team_id)
        s.send(m.Ok(id=msg.id))

    # --- presence ------------------------------------------------------------------------------

    async def presence(self, s: Session, msg: m.Presence) -> None:
        assert s.team is not None and s.device is not None
        self.ctx.metrics.presence += 1
        frame = codec.encode(m.Presence(blob=msg.blob, device=s.device))
        s.team.broadcast(frame, exclude=s)
        await self.ctx.bus.publish_presence(s.team.team_id, s.device, msg.blob)
