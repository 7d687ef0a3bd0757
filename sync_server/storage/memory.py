"""In-memory storage backend: for tests and throw-away relays (nothing survives a restart)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from mano_core.errors import RelayConflictError
from sync_server.storage.base import (
    Appended,
    KeyPackage,
    NewEnvelope,
    SnapshotInfo,
    already_appended,
    snapshot_part_again,
)
from sync_server.storage.memory_files import MemoryFiles


@dataclass
class _Compartment:
    envelopes: dict[int, tuple[bytes, float]] = field(default_factory=dict)
    dedup: dict[tuple[bytes, int], int] = field(default_factory=dict)
    head: int = 0
    pruned: int = 0


@dataclass
class _Invite:
    request: bytes
    created_at: float
    answer: bytes | None = None


@dataclass
class _Team:
    log: list[bytes]
    usage: int = 0
    compartments: dict[int, _Compartment] = field(default_factory=dict)
    invites: dict[bytes, _Invite] = field(default_factory=dict)
    opened: dict[bytes, tuple[bytes, float]] = field(default_factory=dict)  # verifier, time


class MemoryStorage(MemoryFiles):
    """Implements sync_server.storage.base.Storage with dicts."""

    def __init__(self) -> None:
        self._teams: dict[bytes, _Team] = {}
        self._snapshots: dict[int, tuple[SnapshotInfo, list[bytes]]] = {}
        self._keys: dict[tuple[bytes, bytes], dict[int, KeyPackage]] = {}
        self._files = {}
        self._next_id = 1

    async def open(self) -> None:
        """Nothing to open."""

    async def close(self) -> None:
        """Nothing to close."""

    async def ping(self) -> None:
        """Always ready."""

    def _comp(self, team: bytes, c: int) -> _Compartment:
        return self._teams[team].compartments.setdefault(c, _Compartment())

    def _add_usage(self, team: bytes, n: int) -> None:
        if team in self._teams:
            self._teams[team].usage += n

    async def create_team(self, team: bytes, log: Sequence[bytes], now: float) -> bool:
        if team in self._teams:
            return False
        self._teams[team] = _Team(log=list(log), usage=sum(len(e) for e in log))
        return True

    async def load_log(self, team: bytes) -> list[bytes] | None:
        t = self._teams.get(team)
        return None if t is None else list(t.log)

    async def append_log(self, team: bytes, start: int, entries: Sequence[bytes]) -> None:
        t = self._teams[team]
        if already_appended(t.log[start:], start, len(t.log), entries):
            return
        if len(t.log) != start:
            raise RelayConflictError(f"log has {len(t.log)} entries, not {start}")
        t.log.extend(entries)
        t.usage += sum(len(e) for e in entries)

    async def team_usage(self, team: bytes) -> int:
        t = self._teams.get(team)
        return 0 if t is None else t.usage

    async def append_envelopes(self, items: Sequence[NewEnvelope], now: float) -> list[Appended]:
        out: list[Appended] = []
        for it in items:
            comp = self._comp(it.team, it.compartment)
            old = comp.dedup.get((it.author, it.counter))
            if old is not None:
                out.append(Appended(old, True))
                continue
            comp.head += 1
            comp.envelopes[comp.head] = (it.data, now)
            comp.dedup[(it.author, it.counter)] = comp.head
            self._add_usage(it.team, len(it.data))
            out.append(Appended(comp.head, False))
        return out

    async def read_envelopes(
        self, team: bytes, compartment: int, after: int, limit: int
    ) -> list[tuple[int, bytes]]:
        if team not in self._teams:
            return []
        comp = self._comp(team, compartment)
        out: list[tuple[int, bytes]] = []
        seq = max(after, comp.pruned) + 1
        while seq <= comp.head and len(out) < limit:
            item = comp.envelopes.get(seq)
            if item is not None:
                out.append((seq, item[0]))
            seq += 1
        return out

    async def head(self, team: bytes, compartment: int) -> int:
        return self._comp(team, compartment).head if team in self._teams else 0

    async def envelope_bytes(self, team: bytes, compartment: int, after: int,
                             upto: int | None = None) -> int:
        if team not in self._teams:
            return 0
        comp = self._comp(team, compartment)
        top = comp.head if upto is None else min(upto, comp.head)
        return sum(len(item[0]) for seq, item in comp.envelopes.items() if after < seq <= top)

    async def pruned_upto(self, team: bytes, compartment: int) -> int:
        return self._comp(team, compartment).pruned if team in self._teams else 0

    async def put_snapshot(
        self, team: bytes, compartment: int, upto: int, parts: Sequence[bytes], now: float
    ) -> SnapshotInfo:
        sid, self._next_id = self._next_id, self._next_id + 1
        size = sum(len(p) for p in parts)
        info = SnapshotInfo(sid, team, compartment, upto, len(parts), size, now)
        self._snapshots[sid] = (info, list(parts))
        self._add_usage(team, size)
        return info

    async def begin_snapshot(self, team: bytes, compartment: int, upto: int, now: float) -> int:
        sid, self._next_id = self._next_id, self._next_id + 1
        self._snapshots[sid] = (SnapshotInfo(sid, team, compartment, upto, -1, 0, now), [])
        return sid

    async def put_snapshot_part(self, sid: int, part: int, data: bytes) -> None:
        if sid not in self._snapshots:
            raise RelayConflictError(f"no unfinished snapshot {sid}")
        info, parts = self._snapshots[sid]
        stored = parts[part] if info.parts < 0 and 0 <= part < len(parts) else None
        if snapshot_part_again(len(parts), part, stored, data):
            return
        if info.parts >= 0 or part != len(parts):
            raise RelayConflictError("no such unfinished snapshot, or a part out of order")
        parts.append(data)
        self._snapshots[sid] = (replace(info, size=info.size + len(data)), parts)
        self._add_usage(info.team, len(data))

    async def finish_snapshot(self, sid: int) -> SnapshotInfo:
        info, parts = self._snapshots[sid]
        info = replace(info, parts=len(parts))
        self._snapshots[sid] = (info, parts)
        return info

    async def abort_snapshot(self, sid: int) -> None:
        entry = self._snapshots.get(sid)
        if entry is not None and entry[0].parts < 0:
            del self._snapshots[sid]
            self._add_usage(entry[0].team, -entry[0].size)

    def _snapshots_of(self, team: bytes, compartment: int) -> list[SnapshotInfo]:
        infos = [i for i, _ in self._snapshots.values()
                 if i.team == team and i.compartment == compartment and i.parts >= 0]
        return sorted(infos, key=lambda i: (i.upto, i.sid), reverse=True)

    async def newest_snapshot(self, team: bytes, compartment: int, *,
                              before: int = 0) -> SnapshotInfo | None:
        infos = self._snapshots_of(team, compartment)
        older = [i for i in infos if not before or i.upto < before]
        return older[0] if older else None

    async def snapshot_part(self, sid: int, part: int) -> bytes | None:
        entry = self._snapshots.get(sid)
        if entry is None or not 0 <= part < len(entry[1]):
            return None
        return entry[1][part]

    async def prune(
        self, team: bytes, compartment: int, *, now: float, retention: float, keep: int
    ) -> int:
        infos = self._snapshots_of(team, compartment)
        if len(infos) < keep or team not in self._teams:
            return 0
        for old in infos[keep:]:
            self._snapshots.pop(old.sid)
            self._add_usage(team, -old.size)
        floor = infos[keep - 1].upto
        comp = self._comp(team, compartment)
        deleted = 0
        for seq in sorted(comp.envelopes):
            if seq > floor:
                break
            data, at = comp.envelopes[seq]
            if at >= now - retention:
                break  # keep a contiguous tail: never prune past a recent envelope
            del comp.envelopes[seq]
            self._add_usage(team, -len(data))
            comp.pruned = seq
            deleted += 1
        return deleted

    async def purge(self, team: bytes, compartment: int, upto: int) -> tuple[int, int]:
        infos = self._snapshots_of(team, compartment)
        if not infos or infos[0].upto < upto or team not in self._teams:
            raise RelayConflictError(f"no snapshot of compartment {compartment} covers {upto}")
        for old in infos[1:]:
            self._snapshots.pop(old.sid)
            self._add_usage(team, -old.size)
        comp = self._comp(team, compartment)
        gone = [seq for seq in comp.envelopes if seq <= upto]
        for seq in gone:
            data, _ = comp.envelopes.pop(seq)
            self._add_usage(team, -len(data))
        comp.pruned = max(comp.pruned, upto)
        return len(gone), len(infos) - 1

    async def put_key(
        self, team: bytes, recipient: bytes, sender: bytes, blob: bytes, now: float
    ) -> int:
        kid, self._next_id = self._next_id, self._next_id + 1
        self._keys.setdefault((team, recipient), {})[kid] = KeyPackage(kid, sender, blob)
        self._add_usage(team, len(blob))
        return kid

    async def fetch_keys(self, team: bytes, recipient: bytes, limit: int) -> list[KeyPackage]:
        box = self._keys.get((team, recipient), {})
        return [box[k] for k in sorted(box)[:limit]]

    async def count_keys(self, team: bytes, recipient: bytes) -> int:
        return len(self._keys.get((team, recipient), {}))

    async def delete_keys(self, team: bytes, recipient: bytes, kids: Sequence[int]) -> None:
        box = self._keys.get((team, recipient), {})
        for kid in kids:
            pkg = box.pop(kid, None)
            if pkg is not None:
                self._add_usage(team, -len(pkg.blob))

    async def open_invite(self, team: bytes, invite: bytes, verifier: bytes, now: float) -> bool:
        t = self._teams[team]
        old = t.opened.get(invite)
        if old is not None:
            return old[0] == verifier
        t.opened[invite] = (verifier, now)
        t.usage += len(invite) + len(verifier)
        return True

    async def invite_verifier(self, team: bytes, invite: bytes) -> bytes | None:
        t = self._teams.get(team)
        found = None if t is None else t.opened.get(invite)
        return None if found is None else found[0]

    async def count_open_invites(self, team: bytes) -> int:
        t = self._teams.get(team)
        return 0 if t is None else len(t.opened)

    async def put_invite_request(
        self, team: bytes, invite: bytes, blob: bytes, now: float
    ) -> bool:
        t = self._teams[team]
        old = t.invites.get(invite)
        if old is not None:
            return old.request == blob
        t.invites[invite] = _Invite(blob, now)
        t.usage += len(blob)
        return True

    async def pending_invites(self, team: bytes, limit: int) -> list[tuple[bytes, bytes]]:
        t = self._teams.get(team)
        if t is None:
            return []
        rows = sorted((v.created_at, k) for k, v in t.invites.items() if v.answer is None)
        return [(k, t.invites[k].request) for _, k in rows[:limit]]

    async def answer_invite(self, team: bytes, invite: bytes, blob: bytes) -> bool:
        t = self._teams.get(team)
        if t is None or invite not in t.invites:
            return False
        t.invites[invite].answer = blob
        t.usage += len(blob)
        return True

    async def invite_answer(self, team: bytes, invite: bytes) -> bytes | None:
        t = self._teams.get(team)
        entry = None if t is None else t.invites.get(invite)
        return None if entry is None else entry.answer

    async def expire(self, before: float) -> int:
        self._expire_files(before)
        for sid, (info, _) in list(self._snapshots.items()):
            if info.parts < 0 and info.created_at < before:
                await self.abort_snapshot(sid)
        n = 0
        for t in self._teams.values():
            for k in [k for k, v in t.invites.items() if v.created_at < before]:
                inv = t.invites.pop(k)
                t.usage -= len(inv.request) + len(inv.answer or b"")
                n += 1
            for k in [k for k, (_, at) in t.opened.items() if at < before]:
                verifier, _ = t.opened.pop(k)
                t.usage -= len(k) + len(verifier)
        return n
