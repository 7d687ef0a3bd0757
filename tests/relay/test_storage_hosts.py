"""The parts of each storage backend name what their backend gives them through an abstract
base (sync_server.storage.hosts): every backend provides all of it, and a part alone, or a
backend that forgot a helper, cannot even be built (no placeholder raising at run time)."""

from __future__ import annotations

import pytest

from sync_server.storage.hosts import MemoryHost, PgHost, SQLiteHost
from sync_server.storage.memory import MemoryStorage
from sync_server.storage.memory_files import MemoryFiles
from sync_server.storage.pg_blobs import PgBlobs
from sync_server.storage.pg_files import PgFiles
from sync_server.storage.sqlite import SQLiteStorage
from sync_server.storage.sqlite_blobs import SQLiteBlobs
from sync_server.storage.sqlite_files import SQLiteFiles
from sync_server.storage.sqlite_snapshots import SQLiteSnapshots


def test_every_backend_provides_what_its_parts_use() -> None:
    from sync_server.storage.postgres import PostgresStorage

    for backend, host in ((SQLiteStorage, SQLiteHost), (PostgresStorage, PgHost),
                          (MemoryStorage, MemoryHost)):
        assert issubclass(backend, host) and not backend.__abstractmethods__, backend


@pytest.mark.parametrize("part", [SQLiteBlobs, SQLiteFiles, SQLiteSnapshots, PgBlobs, PgFiles,
                                  MemoryFiles])
def test_a_part_without_its_backend_is_refused_when_built(part: type) -> None:
    with pytest.raises(TypeError, match="abstract"):
        part()


def test_a_backend_missing_one_helper_is_refused_when_built() -> None:
    class Forgetful(MemoryFiles):  # no _add_usage: a file's bytes would go uncounted
        def __init__(self) -> None:
            self._files = {}

    with pytest.raises(TypeError, match="_add_usage"):
        Forgetful()
