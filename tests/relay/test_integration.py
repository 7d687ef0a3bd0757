"""The relay as a real subprocess (``python -m sync_server serve``) with real websocket clients."""

from __future__ import annotations

import asyncio
import signal
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from mano_core.errors import RelayRefusedError
from mano_core.protocol import codec
from mano_core.protocol import messages as m
from mano_core.protocol.codes import ErrorCode
from mano_core.sync.transport import RelayClient
from tests.harness.relay import RelayProcess
from tests.relay.kit import TeamKit

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
async def proc(tmp_path: Path) -> AsyncIterator[RelayProcess]:
    p = await RelayProcess(str(tmp_path / "relay.db"), "--synchronous", "NORMAL").start()
    yield p
    await p.stop()


async def deliveries_until(client: RelayClient, last: int) -> list[int]:
    seqs: list[int] = []
    while not seqs or seqs[-1] < last:
        msg = await client.recv(timeout=30)
        if isinstance(msg, m.Deliver):
            seqs.extend(s for s, _ in msg.items)
    return seqs


async def test_auth_push_ack_fanout_and_dedup(proc: RelayProcess, kit: TeamKit) -> None:
    a = await kit.client(proc.url, "admin", create=True)
    b = await kit.client(proc.url, "bob")
    assert b.auth_ok is not None and b.auth_ok.log_length == len(kit.log)
    await b.subscribe(0, 0)
    env = kit["admin"].seal(b"note for bob")
    ack = await a.push(env)
    assert (ack.seq, ack.dup) == (1, False)
    msg = await b.recv(timeout=30)
    assert isinstance(msg, m.Deliver) and msg.items == [(1, env)]
    resent = await a.push(env)
    assert (resent.seq, resent.dup) == (1, True)
    ack2 = await a.push(kit["admin"].seal(b"second"))
    assert ack2.seq == 2
    msg = await b.recv(timeout=30)
    assert isinstance(msg, m.Deliver) and [s for s, _ in msg.items] == [2]  # no duplicate of 1
    await a.close()
    await b.close()


async def test_catch_up_with_concurrent_pushes_has_no_gap_and_no_duplicate(
    proc: RelayProcess, kit: TeamKit
) -> None:
    a = await kit.client(proc.url, "admin", create=True)
    envs = [kit["admin"].seal(b"edit %d" % i) for i in range(1200)]
    acks = await asyncio.gather(*(a.push_nowait(e) for e in envs[:600]))
    assert [x[0].seq for x in acks] == list(range(1, 601))  # type: ignore[attr-defined]
    b = await kit.client(proc.url, "bob")
    pushing = asyncio.gather(*(a.push_nowait(e) for e in envs[600:]))
    sub = asyncio.ensure_future(b.subscribe(0, 50))
    seqs = await deliveries_until(b, 1200)
    await pushing
    caught = await sub
    assert seqs == list(range(51, 1201))
    assert 600 <= caught.seq <= 1200
    await a.close()
    await b.close()


async def test_restart_keeps_data(tmp_path: Path, kit: TeamKit) -> None:
    db = str(tmp_path / "keep.db")
    p = await RelayProcess(db).start()
    a = await kit.client(p.url, "admin", create=True)
    envs = [kit["admin"].seal(b"kept %d" % i) for i in range(5)]
    for e in envs:
        await a.push(e)
    await a.close()
    code, _ = await p.stop()
    assert code == 0
    p = await RelayProcess(db).start()
    try:
        b = await kit.client(p.url, "bob")  # the team and its log survived
        await b.subscribe(0, 0)
        got: list[tuple[int, bytes]] = []
        while len(got) < 5:
            msg = await b.recv(timeout=30)
            assert isinstance(msg, m.Deliver)
            got.extend(msg.items)
        assert got == list(enumerate(envs, start=1))
        a = await kit.client(p.url, "admin")
        assert (await a.push(envs[0])).dup  # dedup survives the restart too
        await a.close()
        await b.close()
    finally:
        await p.stop()


async def test_removed_device_is_disconnected_and_refused(proc: RelayProcess, kit: TeamKit) -> None:
    a = await kit.client(proc.url, "admin", create=True)
    c = await kit.client(proc.url, "carol")
    b = await kit.client(proc.url, "bob")
    await b.subscribe(0, 0)
    entry = kit.log.remove_device(kit["admin"].identity, kit["carol"].id)
    await a.request(m.LogAppend(id=a.next_id(), entries=[entry]))
    await asyncio.wait_for(c.ws.wait_closed(), 5)
    assert c.ws.close_code == 4000 + ErrorCode.REVOKED
    with pytest.raises(RelayRefusedError):
        await c.push(kit["carol"].seal(b"too late"))
    live = await b.recv(timeout=30)  # the others receive the new entry live
    assert isinstance(live, m.LogEntries) and live.entries == [entry]
    with pytest.raises(RelayRefusedError) as exc:
        await kit.client(proc.url, "carol")
    assert exc.value.code == ErrorCode.AUTH_FAILED
    await a.close()
    await b.close()


async def test_oversized_frame_gets_error_code_and_others_are_still_served(
    proc: RelayProcess, kit: TeamKit
) -> None:
    a = await kit.client(proc.url, "admin", create=True)
    b = await kit.client(proc.url, "bob")
    await b.ws.send(b"\x81" + b"x" * (1024 * 1024 + 10))
    await asyncio.wait_for(b.ws.wait_closed(), 5)
    assert b.ws.close_code == 4000 + ErrorCode.FRAME_TOO_LARGE
    assert b.closed_error is not None and b.closed_error.code == ErrorCode.FRAME_TOO_LARGE
    # hostile garbage on another connection: error + close, relay unharmed
    async with connect(proc.url, compression=None) as raw:
        await raw.send(b"\xc1garbage")
        err = codec.decode(await raw.recv())  # type: ignore[arg-type]
        assert isinstance(err, m.Error) and err.code == ErrorCode.BAD_FRAME and err.fatal
    assert (await a.push(kit["admin"].seal(b"still fine"))).seq == 1
    await a.close()


async def test_unauthenticated_subscribe_is_refused(proc: RelayProcess) -> None:
    async with connect(proc.url, compression=None) as raw:
        await raw.send(codec.encode(m.Hello(versions=[1])))
        assert isinstance(codec.decode(await raw.recv()), m.Welcome)  # type: ignore[arg-type]
        await raw.send(codec.encode(m.Subscribe(id=1, c=0, after=0)))
        err = codec.decode(await raw.recv())  # type: ignore[arg-type]
        assert isinstance(err, m.Error) and err.code == ErrorCode.UNEXPECTED_MESSAGE
        with pytest.raises(ConnectionClosed):
            await raw.recv()
        assert raw.close_code == 4000 + ErrorCode.UNEXPECTED_MESSAGE


async def test_health_and_metrics(proc: RelayProcess, kit: TeamKit) -> None:
    a = await kit.client(proc.url, "admin", create=True)
    await a.push(kit["admin"].seal(b"counted"))

    def get(port: int, path: str, token: str = "") -> tuple[int, str]:
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, str(r.read().decode())
        except urllib.error.HTTPError as exc:
            return exc.code, ""

    # On their own listener (loopback), not on the websocket port.
    assert await asyncio.to_thread(get, proc.metrics_port, "/healthz") == (200, "ok\n")
    status, text = await asyncio.to_thread(get, proc.metrics_port, "/metrics")
    assert status == 200
    assert "mano_relay_envelopes_in_total 1" in text
    assert "mano_relay_sessions 1" in text
    assert 'mano_relay_ack_latency_seconds_bucket{le="+Inf"} 1' in text
    for path in ("/healthz", "/metrics"):
        assert (await asyncio.to_thread(get, proc.port, path))[0] == 404
    await a.close()


async def test_metrics_on_the_websocket_port_need_the_token(tmp_path: Path) -> None:
    p = await RelayProcess(str(tmp_path / "relay.db"), "--metrics-token", "s3cret").start()
    try:
        def get(path: str, token: str) -> int:
            req = urllib.request.Request(f"http://127.0.0.1:{p.port}{path}",
                                         headers={"Authorization": f"Bearer {token}"})
            try:
                with urllib.request.urlopen(req, timeout=30) as r:
                    return int(r.status)
            except urllib.error.HTTPError as exc:
                return exc.code

        assert await asyncio.to_thread(get, "/metrics", "s3cret") == 200
        assert await asyncio.to_thread(get, "/healthz", "s3cret") == 200
        assert await asyncio.to_thread(get, "/metrics", "guess") == 404
    finally:
        await p.stop()


async def test_sigterm_is_graceful(tmp_path: Path, kit: TeamKit) -> None:
    db = str(tmp_path / "term.db")
    p = await RelayProcess(db).start()
    a = await kit.client(p.url, "admin", create=True)
    b = await kit.client(p.url, "bob")
    await b.subscribe(0, 0)
    futs = [a.push_nowait(kit["admin"].seal(b"in flight %d" % i)) for i in range(200)]
    await futs[0]
    code, logs = await p.stop(signal.SIGTERM)
    assert code == 0 and "relay stopped" in logs
    results = await asyncio.gather(*futs, return_exceptions=True)
    acked = [r[0].seq for r in results if isinstance(r, list)]  # type: ignore[attr-defined]
    assert acked == list(range(1, len(acked) + 1))
    for c in (a, b):
        await asyncio.wait_for(c.ws.wait_closed(), 5)
        assert c.ws.close_code == 1001
    p = await RelayProcess(db).start()  # everything acked was committed
    try:
        a = await kit.client(p.url, "admin")
        caught = await a.subscribe(0, 0)
        assert caught.seq >= len(acked)
        await a.close()
    finally:
        await p.stop()
