"""Capacity plan of the relay toward national scale: a seeded simulation of a week of outreach
work, minute by minute, for every team, turned into relay nodes and PostgreSQL databases.

    python bench/capacity_sim.py                   # the tiers of docs/operations.md
    python bench/capacity_sim.py --calibrate       # also measure this machine's PostgreSQL

Assumptions (each a flag; the defaults are the plan's):
- 300,000 persons followed by 3,000 professionals at scale 1; 1.5 devices per professional;
  team sizes drawn from a log-normal (median 12, 4..60 professionals); persons spread over teams
  in proportion to their size.
- A professional works 4 shifts a week; during a shift a device sends envelopes (one per
  flush of edits) as a Poisson process: 120 envelopes per shift on average, ~1 KiB each.
- Shifts follow the street-outreach day: 40 % day (9h-17h), 60 % evening and night
  (18h-2h), so the evening hours carry the peak.
- Fan-out: every other device of the team that is online receives each envelope; a device is
  online during its shift and, off shift, 15 % of the time (a phone syncing in a pocket).
- Envelopes are kept 30 days (the default retention); 2 snapshots per team and compartment
  (2 compartments), each 20 KiB per person followed (an assumption: records, history and
  comments of one person in one compartment, compressed CRDT state plus encryption).
- Capacity of one relay node and of one PostgreSQL database: measured figures from
  docs/benchmarks.md (flags --node-deliveries, --db-commits), used at 50 % to keep headroom
  for a node loss, catch-up storms after a restart, and noisy neighbours.
The relay group-commits: one database transaction per batch, but at peak load the plan counts
one transaction per envelope (no batching), the worst case."""

from __future__ import annotations

import argparse
import asyncio
import bisect
import math
import os
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MINUTES = 7 * 24 * 60  # one simulated week


@dataclass(frozen=True)
class Tier:
    """One scale of the plan."""

    label: str
    factor: float


TIERS = [Tier("scale 1: 300k persons, 3k professionals", 1.0),
         Tier("x3 (a large country's street outreach)", 3.0),
         Tier("x10 (every social worker in the field)", 10.0),
         Tier("x30 (beyond: several countries)", 30.0)]


def team_sizes(pros: int, rng: random.Random) -> list[int]:
    sizes: list[int] = []
    while sum(sizes) < pros:
        sizes.append(max(4, min(60, round(rng.lognormvariate(math.log(12), 0.6)))))
    sizes[-1] -= sum(sizes) - pros
    if sizes[-1] < 1:
        sizes.pop()
    return sizes


def shift_weight(minute: int) -> tuple[float, float]:
    """Share of the week's day shifts and night shifts that are on at this minute."""
    hour = (minute // 60) % 24
    day = 1.0 if 9 <= hour < 17 else 0.0
    night = 1.0 if hour >= 18 or hour < 2 else 0.0
    return day, night


@dataclass
class Load:
    """Totals over the whole system, per simulation step."""

    envelopes: list[int]
    deliveries: list[int]
    online: list[int]


class Sampler:
    """Binomial and Poisson draws by inverse CDF over cached tables (few distinct
    parameters occur: team sizes times three shift probabilities)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._cdfs: dict[tuple[str, float, float], list[float]] = {}

    def _draw(self, key: tuple[str, float, float], pmf: list[float]) -> int:
        cdf = self._cdfs.get(key)
        if cdf is None:
            cdf, total = [], 0.0
            for x in pmf:
                total += x
                cdf.append(total)
            self._cdfs[key] = cdf
        return min(len(cdf) - 1, bisect.bisect_left(cdf, self.rng.random() * cdf[-1]))

    def binom(self, n: int, p: float) -> int:
        if n <= 0 or p <= 0:
            return 0
        key = ("b", n, p)
        if key in self._cdfs:
            return self._draw(key, [])
        return self._draw(key, [math.comb(n, k) * p**k * (1 - p) ** (n - k)
                                for k in range(n + 1)])

    def poisson(self, lam: float) -> int:
        if lam <= 0:
            return 0
        key = ("p", lam, 0.0)
        if key in self._cdfs:
            return self._draw(key, [])
        top = int(lam + 12 * math.sqrt(lam) + 12)
        log_pmf = [k * math.log(lam) - lam - math.lgamma(k + 1) for k in range(top)]
        return self._draw(key, [math.exp(x) for x in log_pmf])


def simulate(args: argparse.Namespace, factor: float, rng: random.Random) -> tuple[Load, int]:
    """Simulate the week in steps of ``args.step`` minutes; returns the load and team count."""
    sizes = team_sizes(int(args.professionals * factor), rng)
    draw = Sampler(rng)
    steps = MINUTES // args.step
    env, dlv, onl = [0] * steps, [0] * steps, [0] * steps
    per_step = args.envelopes_per_shift / 480 * args.step  # per on-shift device
    # Chance that a professional is on a day (night) shift at a minute of that slot: his
    # shifts split 40/60 over the 7 day (night) slots of a week. One device carries a shift;
    # his second device, if any, idles.
    p_day, p_night = args.shifts * 0.4 / 7, args.shifts * 0.6 / 7
    p_on = []
    for i in range(steps):
        d, n = shift_weight(i * args.step)
        p_on.append(min(1.0, d * p_day + n * p_night))
    for size in sizes:
        devices = max(1, round(size * args.devices_per_pro))
        for i in range(steps):
            on_shift = draw.binom(size, p_on[i])
            online = on_shift + draw.binom(devices - on_shift, args.idle_online)
            k = draw.poisson(on_shift * per_step)
            env[i] += k
            dlv[i] += k * max(0, online - 1)
            onl[i] += online
    return Load(env, dlv, onl), len(sizes)


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


async def calibrate(dsn: str, seconds: float = 5.0, writers: int = 16) -> float:
    """Single-envelope transactions per second that this machine's PostgreSQL sustains with
    ``writers`` concurrent relay writers on distinct teams (no group commit: worst case)."""
    import asyncpg

    from sync_server.storage import NewEnvelope, PostgresStorage

    schema = "cal_" + os.urandom(6).hex()
    st = PostgresStorage(f"{dsn}{'&' if '?' in dsn else '?'}search_path={schema}",
                         pool_size=writers)
    await st.open()
    teams = [os.urandom(16) for _ in range(writers)]
    for t in teams:
        await st.create_team(t, [b"g"], 0.0)
    done = 0
    stop = time.perf_counter() + seconds

    async def writer(team: bytes) -> None:
        nonlocal done
        i = 0
        while time.perf_counter() < stop:
            await st.append_envelopes([NewEnvelope(team, 0, b"a" * 32, i, os.urandom(1024))], 0.0)
            i += 1
            done += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(writer(t) for t in teams))
    rate = done / (time.perf_counter() - t0)
    await st.close()
    conn = await asyncpg.connect(dsn)
    await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    await conn.close()
    return rate


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--persons", type=int, default=300_000)
    p.add_argument("--professionals", type=int, default=3_000)
    p.add_argument("--devices-per-pro", type=float, default=1.5)
    p.add_argument("--shifts", type=float, default=4.0, help="shifts per professional per week")
    p.add_argument("--envelopes-per-shift", type=float, default=120.0)
    p.add_argument("--envelope-bytes", type=int, default=1024)
    p.add_argument("--idle-online", type=float, default=0.15)
    p.add_argument("--snapshot-bytes-per-person", type=int, default=20 * 1024,
                   help="one person's share of one compartment's snapshot (an assumption)")
    p.add_argument("--retention-days", type=float, default=30.0)
    p.add_argument("--node-deliveries", type=float, default=40_000.0,
                   help="deliveries/s one relay node sustains (docs/benchmarks.md)")
    p.add_argument("--node-connections", type=int, default=10_000)
    p.add_argument("--db-commits", type=float, default=2_000.0,
                   help="single-envelope transactions/s one PostgreSQL sustains (--calibrate)")
    p.add_argument("--db-storage-gb", type=float, default=500.0,
                   help="largest database to plan on (backup, restore and vacuum times)")
    p.add_argument("--auth-per-second", type=float, default=5_000.0,
                   help="authentications/s one node sustains (one Ed25519 verify each)")
    p.add_argument("--headroom", type=float, default=0.5, help="share of capacity to plan on")
    p.add_argument("--step", type=int, default=10, help="simulation step in minutes")
    p.add_argument("--seed", type=int, default=8)
    p.add_argument("--calibrate", action="store_true",
                   help="measure --db-commits on MANO_TEST_POSTGRES_DSN / scripts/postgres.sh")
    args = p.parse_args()
    if args.calibrate:
        from bench.relay_nodes import postgres_dsn

        rate = asyncio.run(calibrate(postgres_dsn()))
        print(f"calibration: {rate:,.0f} single-envelope transactions/s on this machine's "
              f"PostgreSQL (16 concurrent writers, fsync on)")
        args.db_commits = rate
    print(f"capacity: {args.node_deliveries:,.0f} deliveries/s per node, "
          f"{args.db_commits:,.0f} transactions/s per database, planned at "
          f"{args.headroom:.0%}\n")
    print("| tier | teams | devices | peak online | envelopes/s (p99 / peak) | "
          "deliveries/s (p99 / peak) | stored (GB) | relay nodes | node loss: re-auth (s) | "
          "databases |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for tier in TIERS:
        rng = random.Random(args.seed)
        load, teams = simulate(args, tier.factor, rng)
        env_s = [e / (60 * args.step) for e in load.envelopes]
        dlv_s = [d / (60 * args.step) for d in load.deliveries]
        peak_env, p99_env = max(env_s), pct(env_s, 0.99)
        peak_dlv, p99_dlv = max(dlv_s), pct(dlv_s, 0.99)
        online = max(load.online)
        week_env = sum(load.envelopes)
        persons = args.persons * tier.factor
        stored = (week_env / 7 * args.retention_days * args.envelope_bytes
                  + 2 * 2 * persons * args.snapshot_bytes_per_person)  # 2 kept x 2 compartments
        nodes = max(2, math.ceil(peak_dlv / (args.node_deliveries * args.headroom)),
                    math.ceil(online / (args.node_connections * args.headroom))) + 1
        dbs = max(1, math.ceil(peak_env / (args.db_commits * args.headroom)),
                  math.ceil(stored / 1e9 / args.db_storage_gb))
        storm = online / nodes / (args.auth_per_second * (nodes - 1))
        devices = round(args.professionals * tier.factor * args.devices_per_pro)
        print(f"| {tier.label} | {teams:,} | {devices:,} | {online:,} | "
              f"{p99_env:,.1f} / {peak_env:,.1f} | {p99_dlv:,.0f} / {peak_dlv:,.0f} | "
              f"{stored / 1e9:,.0f} | {nodes} | {storm:.2f} | {dbs} |")
    print("\nrelay nodes: enough for peak deliveries and connections at the planned share, "
          "plus one spare (N+1), at least 3. node loss: the sessions of one node at peak "
          "re-authenticating on the others. databases: peak envelopes/s at one transaction "
          "each at the planned share of one database, and at most --db-storage-gb each.")


if __name__ == "__main__":
    main()
