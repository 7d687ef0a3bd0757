"""Document files in memory (mixed into sync_server.storage.memory.MemoryStorage)."""

from __future__ import annotations

from dataclasses import replace

from mano_core.errors import RelayConflictError
from sync_server.storage.base import StoredFile, part_again
from sync_server.storage.hosts import MemoryHost


class MemoryFiles(MemoryHost):
    """The document-file half of the in-memory backend (``_files``, ``_add_usage``:
    MemoryHost)."""

    async def put_file_part(self, team: bytes, compartment: int, file: bytes, part: int,
                            data: bytes, last: bool, now: float) -> StoredFile:
        files = self._files
        held = files.get((team, file))
        if held is None:
            if part != 0:
                raise RelayConflictError(f"no file to append part {part} to")
            held = (StoredFile(team, file, compartment, 0, 0, False, now), [])
        info, parts = held
        if part_again(info, compartment, part, last) and parts[part] == data:
            return info
        if info.compartment != compartment or info.complete or part != info.parts:
            raise RelayConflictError(f"part {part} does not continue the file")
        info = replace(info, parts=info.parts + 1, size=info.size + len(data), complete=last)
        files[(team, file)] = (info, [*parts, data])
        self._add_usage(team, len(data))
        return info

    async def file_info(self, team: bytes, file: bytes) -> StoredFile | None:
        held = self._files.get((team, file))
        return None if held is None else held[0]

    async def file_part(self, team: bytes, file: bytes, part: int) -> bytes | None:
        held = self._files.get((team, file))
        if held is None or not 0 <= part < len(held[1]):
            return None
        return held[1][part]

    async def delete_file(self, team: bytes, file: bytes) -> int:
        held = self._files.pop((team, file), None)
        if held is None:
            return 0
        self._add_usage(team, -held[0].size)
        return held[0].size

    async def open_files(self, team: bytes) -> int:
        return sum(1 for (t, _), (info, _) in self._files.items()
                   if t == team and not info.complete)

    def _expire_files(self, before: float) -> None:
        files = self._files
        for key, (info, _) in list(files.items()):
            if not info.complete and info.created_at < before:
                del files[key]
                self._add_usage(info.team, -info.size)
