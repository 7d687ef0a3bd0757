"""/healthz's reason for a failed storage probe reads "database unreachable: …" once
(docs/operations.md), through a real relay's metrics listener: also when the storage's own error
already says it, as PostgresStorage's does for a refused connection (it read "database
unreachable: database unreachable: ConnectionRefusedError…" before)."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from mano_core.errors import RelayStorageError
from sync_server.server import Relay
from sync_server.storage import SQLiteStorage
from tests.harness.relay import relay_config

pytestmark = pytest.mark.timeout(60)
WAIT = 20.0  # seconds: generous on a loaded machine; the probe's event ends the wait


class FailingProbe(SQLiteStorage):
    """A real SQLite relay store whose health probe fails, once told to, with ``error``."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.error: BaseException | None = None
        self.failed = asyncio.Event()

    async def ping(self) -> None:
        if self.error is not None:
            self.failed.set()  # the health task sets its reason before its next await
            raise self.error
        await super().ping()


def _healthz(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=WAIT) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@pytest.mark.parametrize(("error", "reason"), [
    (RelayStorageError("database unreachable: ConnectionRefusedError(111)"),
     "database unreachable: ConnectionRefusedError(111)"),
    (OSError("disk gone"), "database unreachable: disk gone"),
    (TimeoutError(), "database unreachable: TimeoutError"),
])
async def test_a_failed_probe_reads_database_unreachable_once(
        tmp_path: Path, error: BaseException, reason: str) -> None:
    cfg = relay_config(tmp_path, metrics_listen="127.0.0.1:0", health_interval=0.05)
    storage = FailingProbe(cfg.db_path)
    async with Relay(cfg, storage=storage) as relay:
        assert await asyncio.to_thread(_healthz, relay.metrics_url) == (200, "ok\n")
        storage.error = error
        await asyncio.wait_for(storage.failed.wait(), WAIT)
        assert await asyncio.to_thread(_healthz, relay.metrics_url) == (503, reason + "\n")
