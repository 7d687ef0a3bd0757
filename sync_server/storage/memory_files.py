"""Document files in memory (mixed into sync_server.storage.memory.MemoryStorage)."""

from __future__ import annotations

from dataclasses import replace

from mano_core.errors import RelayConflictError
from sync_server.storage.base import StoredFile


class MemoryFiles:
    """The document-file half of the in-memory backend."""

    def _add_usage(self, team: bytes, n: int) -> None:
        raise NotImplementedError

    _files: dict[tuple[bytes, bytes], tuple[StoredFile, list[bytes]]]

    def _files_of(self) -> dict[tuple[bytes, bytes], tuple[StoredFile, list[bytes]]]:
        return self._files

    async def put_file_part(self, team: bytes, compartment: int, file: bytes, part: int,
                            data: bytes, last: bool, now: float) -> StoredFile:
        files = self._files_of()
        held = files.get((team, file))
        if held is None:
            if part != 0:
                raise RelayConflictError(f"no file to append part {part} to")
            held = (StoredFile(team, file, compartment, 0, 0, False, now), [])
        info, parts = held
        if info.compartment != compartment or info.complete or part != info.parts:
            raise RelayConflictError(f"part {part} does not continue the file")
        info = replace(info, parts=info.parts + 1, size=info.size + len(data), complete=last)
        files[(team, file)] = (info, [*parts, data])
        self._add_usage(team, len(data))
        return info

    async def file_info(self, team: bytes, file: bytes) -> StoredFile | None:
        held = self._files_of().get((team, file))
        return None if held is None else held[0]

    async def file_part(self, team: bytes, file: bytes, part: int) -> bytes | None:
        held = self._files_of().get((team, file))
        if held is None or not 0 <= part < len(held[1]):
            return None
        return held[1][part]

    async def delete_file(self, team: bytes, file: bytes) -> int:
        held = self._files_of().pop((team, file), None)
        if held is None:
            return 0
        self._add_usage(team, -held[0].size)
        return held[0].size

    async def open_files(self, team: bytes) -> int:
        return sum(1 for (t, _), (info, _) in self._files_of().items()
                   if t == team and not info.complete)

    def _expire_files(self, before: float) -> None:
        files = self._files_of()
        for key, (info, _) in list(files.items()):
            if not info.complete and info.created_at < before:
                del files[key]
                self._add_usage(info.team, -info.size)
