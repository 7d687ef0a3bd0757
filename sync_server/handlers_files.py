"""Handlers for document files: opaque ciphertext stored part by part under a random id
(docs/protocol.md §7a). The relay checks who may touch which compartment (the log), the
limits and the team's quota; it never sees a key or a byte of plaintext."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from mano_core import limits
from mano_core.errors import RelayConflictError
from mano_core.ids import Compartment
from mano_core.protocol import messages as m
from mano_core.protocol.codes import ErrorCode
from sync_server.session import Session

if TYPE_CHECKING:
    from sync_server.config import RelayConfig
    from sync_server.context import RelayContext
    from sync_server.storage import Storage

log = logging.getLogger("mano.relay")


def may_touch(s: Session, c: int) -> bool:
    """True if the session's device may read and write compartment ``c``'s files now (the
    same rule as for its envelopes: MEDICAL needs the health flag on a non-restricted role)."""
    team, device = s.team, s.device
    assert team is not None and device is not None
    return c in Compartment._value2member_map_ and team.log.has_access(device, Compartment(c))


def over_quota(s: Session, cfg: RelayConfig, more: int) -> bool:
    """True if storing ``more`` bytes would take the team above its quota (snapshot parts,
    key packages and file parts all count, sync_server.handlers_blobs)."""
    assert s.team is not None
    return s.team.usage + more > cfg.max_team_storage


class FileHandlers:
    """Mixed into sync_server.handlers.Handlers."""

    ctx: RelayContext
    cfg: RelayConfig
    storage: Storage

    async def file_put(self, s: Session, msg: m.FilePut) -> None:
        """Store one part (answered ``ok`` once durable). A part already stored is answered
        ``ok`` again without storing it (a device re-sending after a lost answer)."""
        team = s.team
        assert team is not None
        if not may_touch(s, msg.c):
            return s.refuse(msg.id, ErrorCode.FORBIDDEN, "no access to that compartment")
        info = await self.storage.file_info(team.team_id, msg.file)
        if info is not None and info.compartment != msg.c:
            return s.refuse(msg.id, ErrorCode.CONFLICT, "that file id is used in another "
                                                        "compartment")
        if info is not None and msg.part < info.parts:
            return s.send(m.Ok(id=msg.id))
        expected = 0 if info is None else info.parts
        if info is not None and info.complete:
            return s.refuse(msg.id, ErrorCode.CONFLICT, "the file is complete")
        if msg.part != expected:
            return s.refuse(msg.id, ErrorCode.CONFLICT, f"expected part {expected}")
        size = (0 if info is None else info.size) + len(msg.data)
        if msg.part >= limits.MAX_FILE_PARTS or size > self.cfg.max_file_size:
            return s.refuse(msg.id, ErrorCode.TOO_LARGE, "the file is above its size limit")
        if info is None and await self.storage.open_files(team.team_id) >= \
                self.cfg.max_open_files:
            return s.refuse(msg.id, ErrorCode.TOO_LARGE, "too many unfinished uploads")
        if over_quota(s, self.cfg, len(msg.data)):
            return s.refuse(msg.id, ErrorCode.STORAGE_FULL,
                            "the team's storage quota is used up")
        try:
            await self.storage.put_file_part(team.team_id, msg.c, msg.file, msg.part,
                                             msg.data, msg.last, time.time())
        except RelayConflictError as exc:  # another session stored that part meanwhile
            return s.refuse(msg.id, ErrorCode.CONFLICT, str(exc))
        team.usage += len(msg.data)
        s.send(m.Ok(id=msg.id))
        return None

    async def file_status(self, s: Session, msg: m.FileStatus) -> None:
        assert s.team is not None
        if not may_touch(s, msg.c):
            return s.refuse(msg.id, ErrorCode.FORBIDDEN, "no access to that compartment")
        info = await self.storage.file_info(s.team.team_id, msg.file)
        if info is None or info.compartment != msg.c:
            return s.refuse(msg.id, ErrorCode.NOT_FOUND, "no such file")
        s.send(m.FileInfo(id=msg.id, c=msg.c, file=msg.file, parts=info.parts,
                          size=info.size, complete=info.complete))
        return None

    async def file_get(self, s: Session, msg: m.FileGet) -> None:
        """Send a range of parts of a complete file, waiting for the socket between parts."""
        assert s.team is not None
        if not may_touch(s, msg.c):
            return s.refuse(msg.id, ErrorCode.FORBIDDEN, "no access to that compartment")
        info = await self.storage.file_info(s.team.team_id, msg.file)
        if info is None or info.compartment != msg.c or not info.complete:
            return s.refuse(msg.id, ErrorCode.NOT_FOUND, "no such complete file")
        end = info.parts if msg.count == 0 else min(info.parts, msg.first + msg.count)
        if msg.first >= end:
            return s.refuse(msg.id, ErrorCode.NOT_FOUND, "no such part")
        for part in range(msg.first, end):
            data = await self.storage.file_part(s.team.team_id, msg.file, part)
            if data is None:
                return s.refuse(msg.id, ErrorCode.NOT_FOUND, "the file was deleted")
            if s.closing:
                return None
            s.conn.send(m.FileData(id=msg.id, file=msg.file, part=part, last=part == end - 1,
                                   data=data))
            for frame in s.conn.data_to_send():
                await s.ws.send(frame)  # flow control: a big file waits for the socket
        return None

    async def file_delete(self, s: Session, msg: m.FileDelete) -> None:
        team = s.team
        assert team is not None
        if not may_touch(s, msg.c):
            return s.refuse(msg.id, ErrorCode.FORBIDDEN, "no access to that compartment")
        info = await self.storage.file_info(team.team_id, msg.file)
        if info is not None and info.compartment != msg.c:
            return s.refuse(msg.id, ErrorCode.FORBIDDEN, "the file is in another compartment")
        freed = await self.storage.delete_file(team.team_id, msg.file)
        if freed:
            team.usage = await self.storage.team_usage(team.team_id)
            log.info("file deleted", extra={"team": team.team_id, "device": s.device,
                                            "c": msg.c, "bytes": freed})
        s.send(m.Ok(id=msg.id))
        return None
