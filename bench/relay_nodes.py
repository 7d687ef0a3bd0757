"""Relay scale-out benchmark, in ONE run: 1, 2 and 3 relay nodes sharing one PostgreSQL, against
one node on SQLite (the embedded default), same harness, same machine.

Workload: T teams, each with one publisher and S subscribers; a team's devices are spread
round-robin over the nodes (publisher on node 0, subscriber k on node k mod N), so with N > 1
most deliveries cross nodes through PostgreSQL (NOTIFY, then an ordered read). Durable storage
everywhere: SQLite synchronous=FULL; PostgreSQL with its defaults (fsync, synchronous_commit on).
Throughput: every publisher sends M envelopes as fast as it may (at most 256 unacknowledged);
deliveries/s = T*S*M / (last receipt - first send). Latency: each publisher sends 50
envelopes/s for LAT_SECONDS; p50/p99 over every (envelope, subscriber) pair.

    python bench/relay_nodes.py [--repeat 3] [--teams 4] [--subscribers 10] [--messages 500]

PostgreSQL: MANO_TEST_POSTGRES_DSN, else the private cluster of scripts/postgres.sh (started
here and left running). Each measurement gets a fresh schema and fresh relay processes."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402

from bench.relay_fanout import Team, make_team, mano_subscriber, payloads, pct, receive  # noqa: E402
from mano_core.protocol import messages as m  # noqa: E402
from mano_core.sync.transport import RelayClient  # noqa: E402

WINDOW = 256
LAT_RATE = 50.0
LAT_SECONDS = 2.0
SIZE = 1024
CONFIGS = [("sqlite", 1), ("postgres", 1), ("postgres", 2), ("postgres", 3)]


def postgres_dsn() -> str:
    dsn = os.environ.get("MANO_TEST_POSTGRES_DSN")
    if dsn:
        return dsn
    out = subprocess.run([str(ROOT / "scripts" / "postgres.sh"), "start"], check=True,
                         capture_output=True, text=True).stdout
    found = re.search(r"MANO_TEST_POSTGRES_DSN=(\S+)", out)
    if not found:
        raise SystemExit("cannot start PostgreSQL: " + out)
    return found.group(1)


class Node:
    """One relay subprocess."""

    def __init__(self, db: str, tmp: Path) -> None:
        self.log = tmp / f"node-{time.monotonic_ns()}.log"
        # Through tui.demo.child: the node dies with this process however it ends.
        cmd = [sys.executable, "-m", "tui.demo.child", str(os.getpid()), "--",
               "-m", "sync_server", "serve", "--port", "0", "--db", db,
               "--synchronous", "FULL", "--rate", "1e9", "--burst", "1e9",
               "--send-buffer", str(64 * 2**20), "--catchup-buffer", "1000000",
               "--log-level", "warning"]
        with open(self.log, "wb") as err:
            self.proc = subprocess.Popen(cmd, stderr=err, cwd=ROOT)
        deadline = time.monotonic() + 30
        while True:
            found = re.search(r"listening on (ws://[\d.:]+)", self.log.read_text(errors="replace"))
            if found:
                self.url = found.group(1)
                return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                # Not SystemExit: the suite reports it and runs the other benches.
                self.proc.kill()
                raise RuntimeError(f"relay failed to start: {self.log.read_text()[-2000:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(15)


async def publish(url: str, team: Team, msgs: list[bytes], sent: list[float],
                  rate: float | None, genesis: bool) -> None:
    pub = await RelayClient.connect(url)
    await pub.authenticate(team.pub, team.team_id, team.log.entries if genesis else None)
    inflight: list[asyncio.Future[list[m.Message]]] = []
    t0 = time.perf_counter()
    for i, msg in enumerate(msgs):
        if rate:
            delay = t0 + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        sent[i] = time.perf_counter()
        inflight.append(pub.push_nowait(msg))
        if len(inflight) >= WINDOW:
            await inflight.pop(0)
    await asyncio.gather(*inflight)
    await pub.close()


async def run_once(urls: list[str], teams: list[Team], subs: int, count: int,
                   rate: float | None) -> tuple[float, list[float]]:
    """One measurement over all teams: (deliveries/s, latencies in seconds)."""
    msgs = [payloads("mano", t, SIZE, count) for t in teams]
    for t in teams:  # create the teams (on node 0) before subscribers arrive
        c = await RelayClient.connect(urls[0])
        await c.authenticate(t.pub, t.team_id, t.log.entries)
        await c.close()
    conns = [[await mano_subscriber(urls[(k + 1) % len(urls)], t) for k in range(subs)]
             for t in teams]
    times = [[[0.0] * count for _ in range(subs)] for _ in teams]
    sent = [[0.0] * count for _ in teams]
    receivers = [asyncio.create_task(receive("mano", ws, count, times[i][k]))
                 for i, team_conns in enumerate(conns) for k, ws in enumerate(team_conns)]
    await asyncio.gather(*(publish(urls[0], t, msgs[i], sent[i], rate, False)
                           for i, t in enumerate(teams)))
    await asyncio.wait_for(asyncio.gather(*receivers), 300)
    first = min(s[0] for s in sent)
    last = max(max(tt) for team_times in times for tt in team_times)
    lat = [tt[j] - sent[i][j] for i, team_times in enumerate(times) for tt in team_times
           for j in range(count)]
    for team_conns in conns:
        for ws in team_conns:
            await ws.close()
    return len(teams) * subs * count / (last - first), lat


async def measure(kind: str, n: int, dsn: str, tmp: Path, args: argparse.Namespace
                  ) -> tuple[float, float, float]:
    schema = "bench_" + uuid.uuid4().hex[:12]
    if kind == "sqlite":
        dbs = [str(tmp / f"bench-{time.monotonic_ns()}.db")]
    else:
        dbs = [f"{dsn}{'&' if '?' in dsn else '?'}search_path={schema}"] * n
    nodes = [Node(dbs[0], tmp)]  # the first one migrates; the others start together
    nodes += [Node(db, tmp) for db in dbs[1:n]]
    try:
        urls = [nd.url for nd in nodes]
        thr, _ = await run_once(urls, [make_team() for _ in range(args.teams)],
                                args.subscribers, args.messages, None)
        lat_n = int(LAT_RATE * getattr(args, "lat_seconds", LAT_SECONDS))
        _, lat = await run_once(urls, [make_team() for _ in range(args.teams)],
                                args.subscribers, lat_n, LAT_RATE)
        return thr, pct(lat, 0.5), pct(lat, 0.99)
    finally:
        for nd in nodes:
            nd.stop()
        if kind == "postgres":
            conn = await asyncpg.connect(dsn)
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            await conn.close()


async def main_async(args: argparse.Namespace) -> dict[str, list[float]]:
    """Runs the benchmark, prints its table and returns the medians per set-up:
    ``{"sqlite x1": [deliveries/s, p50 s, p99 s], ...}``."""
    dsn = postgres_dsn()
    results: dict[tuple[str, int], list[tuple[float, float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.repeat):
            for kind, n in CONFIGS:  # interleaved: the machine's noise hits all alike
                r = await measure(kind, n, dsn, Path(tmp), args)
                results.setdefault((kind, n), []).append(r)
                print(f"run {rep + 1} {kind:8} x{n}: {r[0]:9.0f} deliveries/s, "
                      f"p50 {r[1] * 1e3:6.2f} ms, p99 {r[2] * 1e3:7.2f} ms", flush=True)
    base = statistics.median(x[0] for x in results[("sqlite", 1)])
    print(f"\nMedians of {args.repeat} runs; {args.teams} teams x (1 publisher -> "
          f"{args.subscribers} subscribers), {SIZE} B envelopes, {args.messages} per publisher;"
          f" latency at {LAT_RATE:.0f} envelopes/s per publisher:")
    print("| relay | deliveries/s | vs SQLite x1 | p50 (ms) | p99 (ms) |")
    print("|---|---:|---:|---:|---:|")
    out: dict[str, list[float]] = {}
    for kind, n in CONFIGS:
        med = [statistics.median(x[i] for x in results[(kind, n)]) for i in range(3)]
        out[f"{kind} x{n}"] = med
        label = f"{'SQLite' if kind == 'sqlite' else 'PostgreSQL'} × {n} node{'s' * (n > 1)}"
        print(f"| {label} | {med[0]:,.0f} | {med[0] / base:.2f}× | {med[1] * 1e3:.2f} | "
              f"{med[2] * 1e3:.2f} |")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--teams", type=int, default=4)
    parser.add_argument("--subscribers", type=int, default=10)
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--quick", action="store_true", help="1 run, few messages")
    args = parser.parse_args()
    if args.quick:
        args.repeat, args.messages = 1, 200
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
