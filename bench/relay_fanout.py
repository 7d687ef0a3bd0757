"""Fan-out benchmark, in ONE run: the Mano relay (durable SQLite, synchronous=FULL) vs a raw
websockets broadcast server vs pycrdt-websocket's server (plaintext Yjs peer), same harness.

Each server runs in its own subprocess; one publisher and N subscribers run in this process.
Throughput: the publisher sends M messages as fast as it may (the Mano publisher pipelines
pushes, up to WINDOW unacked); deliveries/s = N*M / (last receipt - first send).
Latency: 100 messages/s for LAT_SECONDS; p50/p99 over every (message, subscriber) pair.

    python bench/relay_fanout.py [--repeat 3] [--messages 1000] [--quick]

Needs the "bench" extra for the pycrdt-websocket peer (skipped if absent)."""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mano_core.crypto import (  # noqa: E402
    DeviceIdentity,
    Keyring,
    MembershipLog,
    Role,
    Sealer,
    ensure_epoch_keys,
)
from mano_core.ids import Compartment, new_id, new_team_id  # noqa: E402
from mano_core.protocol import codec  # noqa: E402
from mano_core.protocol import messages as m  # noqa: E402
from mano_core.protocol.auth import AUTH_DOMAIN, auth_challenge  # noqa: E402
from mano_core.sync.transport import RelayClient  # noqa: E402

from bench.fanout_servers import Server, Stalled, serve_pycrdt, serve_raw  # noqa: E402

WINDOW = 256
# Seconds any one step may take (subscribing, all deliveries, all acks) before the run is
# reported FAILED with what each subscriber got; --quick and the suite's short mode use less.
STEP_TIMEOUT = 120.0
LAT_RATE = 100.0
LAT_SECONDS = 2.0
ENVELOPE_OVERHEAD = 186  # header + tag + signature
T = TypeVar("T")


# --- clients -----------------------------------------------------------------------------------


@dataclass
class Team:
    team_id: bytes
    log: MembershipLog
    pub: DeviceIdentity
    sub: DeviceIdentity
    sealer: Sealer
    keyring: Keyring


def make_team() -> Team:
    team_id = new_team_id()
    pub = DeviceIdentity.generate()
    log = MembershipLog.create(team_id, pub, member=new_id())
    sub = DeviceIdentity.generate()
    log.append(log.add_device(pub, sub.public, member=new_id(), role=Role.NORMAL, health=False))
    keyring = Keyring(team_id)
    ensure_epoch_keys(pub, log, keyring)
    return Team(team_id, log, pub, sub, Sealer(pub, team_id), keyring)


def payloads(kind: str, team: Team | None, size: int, count: int) -> list[bytes]:
    """``count`` messages of about ``size`` bytes on the wire, as each server expects."""
    if kind == "mano":
        assert team is not None
        return [team.sealer.seal(os.urandom(max(0, size - ENVELOPE_OVERHEAD)),
                                 compartment=Compartment.GENERAL, log=team.log,
                                 keyring=team.keyring) for _ in range(count)]
    if kind == "raw":
        return [os.urandom(size) for _ in range(count)]
    from pycrdt import Doc, Map, create_update_message

    doc: Doc = Doc()
    root = doc.get("root", type=Map)
    out: list[bytes] = []
    doc.observe(lambda ev: out.append(create_update_message(ev.update)))
    for i in range(count):
        root[f"k{i}"] = os.urandom(size // 2).hex()  # plaintext: a hex string of ~size bytes
    return out


async def mano_subscriber(url: str, team: Team) -> ClientConnection:
    ws = await connect(url, compression=None, max_size=2**21)
    await ws.send(codec.encode(m.Hello(versions=[1])))
    welcome = codec.decode(await ws.recv())  # type: ignore[arg-type]
    assert isinstance(welcome, m.Welcome)
    sig = team.sub.sign(auth_challenge(team.team_id, team.sub.device_id, welcome.nonce),
                        domain=AUTH_DOMAIN)
    await ws.send(codec.encode(m.Auth(team=team.team_id, device=team.sub.device_id, sig=sig)))
    assert isinstance(codec.decode(await ws.recv()), m.AuthOk)  # type: ignore[arg-type]
    await ws.send(codec.encode(m.Subscribe(id=1, c=0, after=0)))
    assert isinstance(codec.decode(await ws.recv()), m.CaughtUp)  # type: ignore[arg-type]
    return ws


async def receive(kind: str, ws: ClientConnection, total: int, times: list[float]) -> None:
    """Record the receipt time of message k (0-based) in ``times[k]``."""
    k = 0
    perf = time.perf_counter
    async for frame in ws:
        assert isinstance(frame, bytes)
        if kind == "mano":
            msg = codec.decode(frame)
            if isinstance(msg, m.Deliver):
                now = perf()
                for _ in msg.items:
                    times[k] = now
                    k += 1
        elif kind == "raw" or (frame[0] == 0 and frame[1] == 2):
            times[k] = perf()
            k += 1
        if k >= total:
            return


async def step(what: str, aw: Awaitable[T], timeout: float) -> T:
    """``aw``, or Stalled naming the step after ``timeout`` seconds."""
    try:
        return await asyncio.wait_for(aw, timeout)
    except TimeoutError:
        raise Stalled(f"{what}: not done after {timeout:.0f} s") from None


async def run_once(kind: str, url: str, n: int, size: int, count: int,
                   rate: float | None,
                   timeout: float = STEP_TIMEOUT) -> tuple[float, list[float]]:
    """One measurement: (deliveries/s, latencies in seconds). Raises Stalled if a step takes
    more than ``timeout`` seconds (it says how many messages each subscriber received)."""
    team = make_team() if kind == "mano" else None
    msgs = payloads(kind, team, size, count)
    if kind == "mano":
        assert team is not None
        pub = await step("publisher connect", RelayClient.connect(url), timeout)
        await step("publisher auth",
                   pub.authenticate(team.pub, team.team_id, team.log.entries), timeout)
        subs = [await step(f"subscriber {i} subscribe", mano_subscriber(url, team), timeout)
                for i in range(n)]
    else:
        path = f"/room-{time.monotonic_ns()}"
        # close_timeout: pycrdt-websocket's server never answers the closing handshake, which
        # would otherwise cost websockets' default 10 s per run (after the measurement).
        pubws = await connect(url + path, compression=None, max_size=2**21, close_timeout=0.2)
        subs = [await connect(url + path, compression=None, max_size=2**21, close_timeout=0.2)
                for _ in range(n)]
        if kind == "pycrdt":
            for ws in [pubws, *subs]:
                await ws.recv()  # the server's SyncStep1
    recv_times = [[0.0] * count for _ in range(n)]
    receivers = [asyncio.create_task(receive(kind, ws, count, t))
                 for ws, t in zip(subs, recv_times)]
    sent = [0.0] * count
    t0 = time.perf_counter()
    inflight: list[asyncio.Future[list[m.Message]]] = []
    for i, msg in enumerate(msgs):
        if rate:
            delay = t0 + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        sent[i] = time.perf_counter()
        if kind == "mano":
            inflight.append(pub.push_nowait(msg))
            if len(inflight) >= WINDOW:
                await inflight.pop(0)
        else:
            await pubws.send(msg)
    done, pending = await asyncio.wait(receivers, timeout=timeout,
                                       return_when=asyncio.FIRST_EXCEPTION)
    failed = [t for t in done if t.exception() is not None]
    if failed:  # a subscriber's error (e.g. the relay closed it) ends the run here
        for task in pending:
            task.cancel()
        failed[0].result()
    if pending:
        got = [sum(1 for t in times if t) for times in recv_times]
        short = {i: g for i, g in enumerate(got) if g < count}
        acks = sum(1 for f in inflight if f.done() and not f.exception())
        for task in pending:
            task.cancel()
        raise Stalled(f"deliveries: after {timeout:.0f} s, {len(short)} of {n} subscribers "
                      f"short of {count} (subscriber: received) {short}; "
                      f"open: {[subs[i].state.name for i in short]}; acks {acks} of {count}")
    if kind == "mano":
        await step("acks", asyncio.gather(*inflight), timeout)
    last = max(max(t) for t in recv_times)
    lat = [t[i] - sent[i] for t in recv_times for i in range(count)]
    await asyncio.gather(*(ws.close() for ws in subs))
    if kind == "mano":
        await pub.close()
    else:
        await pubws.close()
    return n * count / (last - sent[0]), lat


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def main_async(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """Runs the benchmark, prints its table and returns the medians, keyed "1→N size B":
    ``{kind}_thr``, ``{kind}_p50``, ``{kind}_p99`` (deliveries/s, seconds) per server kind."""
    lat_seconds = getattr(args, "lat_seconds", LAT_SECONDS)
    timeout = getattr(args, "step_timeout", STEP_TIMEOUT)
    mano_failures: list[str] = []
    kinds = ["raw", "mano"]
    try:
        import pycrdt.websocket  # noqa: F401

        kinds.append("pycrdt")
    except ImportError:
        print("pycrdt-websocket not installed (pip install -e '.[bench]'): peer skipped")
    results: dict[tuple[str, int, int], list[tuple[float, float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.repeat):
            for n in args.subscribers:
                for size in args.sizes:
                    for kind in kinds:  # interleaved: the machine's noise hits all alike
                        try:
                            server = Server(kind, Path(tmp))  # a fresh server for every run
                        except Stalled as exc:
                            what = f"run {rep + 1} {kind} 1->{n} {size} B FAILED: {exc}"
                            if kind == "mano":
                                mano_failures.append(what)
                            print(what, flush=True)
                            continue
                        try:
                            count = args.messages if n <= 10 else max(100, args.messages // 4)
                            thr, _ = await run_once(kind, server.url, n, size, count, None,
                                                    timeout)
                            lat_n = int(LAT_RATE * lat_seconds)
                            if kind == "pycrdt":
                                await asyncio.sleep(0.3)  # let a dying server die
                            if server.proc.poll() is not None:
                                # pycrdt-websocket's server sometimes dies when the throughput
                                # run's clients disconnect (ConnectionClosedOK escaping its
                                # task group): keep that figure, measure latency on a new one.
                                print(f"run {rep + 1} {kind} 1->{n} {size} B: server exited "
                                      "after the throughput run; restarted for latency")
                                server.stop()
                                server = Server(kind, Path(tmp))
                            _, lat = await run_once(kind, server.url, n, size, lat_n, LAT_RATE,
                                                   timeout)
                            results.setdefault((kind, n, size), []).append(
                                (thr, pct(lat, 0.5), pct(lat, 0.99)))
                            print(f"run {rep + 1} {kind:7} 1->{n:<3} {size:5} B: {thr:9.0f} "
                                  f"deliveries/s, p50 {pct(lat, .5) * 1e3:6.2f} ms, "
                                  f"p99 {pct(lat, .99) * 1e3:6.2f} ms", flush=True)
                        except Exception as exc:  # a crashed peer server: report, go on
                            what = (f"run {rep + 1} {kind} 1->{n} {size} B FAILED: {exc!r}; "
                                    f"server log tail: {server.log.read_text()[-300:]!r}")
                            if kind == "mano":  # our relay lost or withheld something
                                what += f"; relay metrics: {server.metrics()}"
                                mano_failures.append(what)
                            print(what, flush=True)
                        finally:
                            server.stop()
    print(f"\nMedians of {args.repeat} runs (deliveries/s; latency at {LAT_RATE:.0f} msg/s):")
    print("| fan-out | envelope | raw websockets | mano relay (durable) | ratio | "
          "pycrdt-websocket | mano / pycrdt | p50 raw / mano / pycrdt (ms) | "
          "p99 raw / mano / pycrdt (ms) |")
    print("|---|---|---|---|---|---|---|---|---|")
    out: dict[str, dict[str, float]] = {}
    for n in args.subscribers:
        for size in args.sizes:
            med = {k: [statistics.median(x[i] for x in results[(k, n, size)]) for i in range(3)]
                   for k in kinds if results.get((k, n, size))}
            if "raw" not in med or "mano" not in med:
                continue
            raw, mano = med["raw"], med["mano"]
            py = med.get("pycrdt", [float("nan")] * 3)
            out[f"1→{n} {size} B"] = {
                f"{k}_{f}": v[i] for k, v in med.items()
                for i, f in enumerate(("thr", "p50", "p99"))} | {
                "runs": min(len(results[(k, n, size)]) for k in med)}
            print(f"| 1→{n} | {size} B | {raw[0]:,.0f} | {mano[0]:,.0f} | "
                  f"{mano[0] / raw[0]:.2f}× | {py[0]:,.0f} | {mano[0] / py[0]:.2f}× | "
                  f"{raw[1] * 1e3:.2f} / {mano[1] * 1e3:.2f} / {py[1] * 1e3:.2f} | "
                  f"{raw[2] * 1e3:.2f} / {mano[2] * 1e3:.2f} / {py[2] * 1e3:.2f} |")
    if mano_failures:  # a peer server's failure is its own; the Mano relay's is a bug
        raise Stalled(f"{len(mano_failures)} Mano relay run(s) failed: "
                           + " | ".join(mano_failures))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", choices=["raw", "pycrdt"], help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--subscribers", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 4096])
    parser.add_argument("--quick", action="store_true", help="1 run, few messages")
    parser.add_argument("--step-timeout", type=float, default=STEP_TIMEOUT,
                        help="seconds one step may take before the run is reported FAILED")
    args = parser.parse_args()
    if args.serve == "raw":
        asyncio.run(serve_raw())
    elif args.serve == "pycrdt":
        asyncio.run(serve_pycrdt())
    else:
        if args.quick:
            args.repeat, args.messages, args.step_timeout = 1, 400, 40.0
        asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
