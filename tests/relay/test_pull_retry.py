"""A live delivery whose read from storage fails is retried until storage answers again: the
rows after the cursor reach the subscribers live even when no later envelope comes to start
another pull (before, the failure was only logged, and they waited for the next envelope or a
reconnection). Meanwhile /healthz answers 503 ``database unreachable: …`` and /metrics counts
the failures. With SQLite (another node's commit simulated: rows appended to storage, then the
bus event) and with two PostgreSQL nodes."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import pytest

from mano_core.errors import RelayStorageError
from sync_server.config import RelayConfig
from sync_server.fanout import pull_retry_delay
from sync_server.server import Relay
from sync_server.storage import PostgresStorage, SQLiteStorage
from tests.harness.relay import relay_config, relay_url
from tests.relay.kit import TeamKit, live_deliveries

pytestmark = pytest.mark.timeout(120)
WAIT = 20.0  # seconds: generous on a loaded machine; the positive event ends every wait


class Failing:
    """Mixin: ``read_envelopes`` fails while ``failing`` is set, counting its calls."""

    failing = False
    reads = 0

    async def read_envelopes(self, team: bytes, c: int, after: int,
                             limit: int) -> Sequence[tuple[int, bytes]]:
        self.reads += 1
        if self.failing:
            raise RelayStorageError("database unreachable: ConnectionResetError(104)")
        return await super().read_envelopes(team, c, after, limit)  # type: ignore[misc]


class FailingSQLite(Failing, SQLiteStorage):
    pass


class FailingPostgres(Failing, PostgresStorage):
    pass


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=WAIT) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


async def _until(predicate: object, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"never happened: {what}"
        await asyncio.sleep(0.01)


async def _fail_then_recover(relay: Relay, storage: Failing, wake: object) -> None:
    """Storage failing: ``wake()`` makes the relay pull; /healthz says it while it retries."""
    reads = storage.reads
    storage.failing = True
    wake()  # type: ignore[operator]
    await _until(lambda: storage.reads >= reads + 2, "the failed pull retried")
    status, body = await asyncio.to_thread(_get, relay.metrics_url + "/healthz")
    assert (status, body) == (503, "database unreachable: ConnectionResetError(104)\n")
    _, metrics = await asyncio.to_thread(_get, relay.metrics_url + "/metrics")
    (line,) = [x for x in metrics.splitlines() if x.startswith("mano_relay_pull_failures_total ")]
    assert int(float(line.split()[1])) >= 2
    storage.failing = False


async def test_a_failed_pull_is_retried_and_delivers_without_a_later_envelope(
        tmp_path: Path) -> None:
    kit = TeamKit("bob")
    cfg = relay_config(tmp_path, metrics_listen="127.0.0.1:0")
    storage = FailingSQLite(cfg.db_path)
    async with Relay(cfg, storage=storage) as relay:
        admin = await kit.client(relay_url(relay), "admin", create=True)
        bob = await kit.client(relay_url(relay), "bob")
        await bob.subscribe(0, 0)
        # Another node's commit: in storage, then its event (what PgBus.dispatch calls).
        head = (await kit.commit_elsewhere(storage, 3))[-1]
        await _fail_then_recover(relay, storage, lambda: relay.fanout.remote(kit.team_id, 0, head))
        assert await live_deliveries(bob, head, WAIT) == [1, 2, 3]
        await _until(lambda: relay.problem() is None, "/healthz ok again")
        await admin.close()
        await bob.close()


async def test_a_failed_pull_stops_when_nobody_subscribes(tmp_path: Path) -> None:
    kit = TeamKit("bob")
    cfg = relay_config(tmp_path)
    storage = FailingSQLite(cfg.db_path)
    async with Relay(cfg, storage=storage) as relay:
        admin = await kit.client(relay_url(relay), "admin", create=True)
        bob = await kit.client(relay_url(relay), "bob")
        await bob.subscribe(0, 0)
        reads = storage.reads
        storage.failing = True
        relay.fanout.remote(kit.team_id, 0, 1)
        await _until(lambda: storage.reads >= reads + 2, "the failed pull retried")
        await bob.close()
        await _until(lambda: not relay.fanout._pulls, "the retrying pull ended")
        assert relay.problem() is None
        await admin.close()


def test_the_retry_pause_doubles_and_is_bounded() -> None:
    pauses = [pull_retry_delay(n) for n in range(1, 12)]
    assert pauses[0] == pytest.approx(0.1)
    assert pauses[1] == pytest.approx(0.2)
    assert pauses == sorted(pauses)
    assert max(pauses) == pull_retry_delay(10_000) == pytest.approx(5.0)


async def test_two_postgres_nodes_a_failed_pull_is_retried(pg_dsn: str) -> None:
    kit = TeamKit("bob")
    cfg = dataclasses.replace(RelayConfig(), port=0, db=pg_dsn, health_interval=0.3,
                              metrics_listen="127.0.0.1:0")
    storage = FailingPostgres(pg_dsn, pool_size=cfg.db_pool, timeout=cfg.db_timeout)
    async with Relay(cfg) as a, Relay(cfg, storage=storage) as b:
        admin = await kit.client(relay_url(a), "admin", create=True)
        bob = await kit.client(relay_url(b), "bob")
        await bob.subscribe(0, 0)
        acked: list[int] = []

        async def push() -> None:
            acked.append((await admin.push(kit["admin"].seal(b"on node A"))).seq)

        pushing: list[asyncio.Task[None]] = []
        await _fail_then_recover(b, storage, lambda: pushing.append(asyncio.create_task(push())))
        await asyncio.gather(*pushing)
        assert await live_deliveries(bob, acked[-1], WAIT) == acked == [1]
        await _until(lambda: b.problem() is None, "/healthz ok again")
        await admin.close()
        await bob.close()
