"""The seeded loop of connection drops during deliveries on a busy device (issue 16, case 1).

One seed (``run_seed``), everything random in it drawn from the seed:

1. a relay SUBPROCESS (SQLite, catch-up frames of 1, 3 or 20 envelopes) behind a loopback
   ``FaultProxy``; each start, the first and every restart after a SIGKILL, binds a port the
   kernel chooses, and the proxy (the devices' address, which never changes) forwards to it;
2. admin ``A`` and members ``B`` and ``C``, each with its encrypted store file, syncing
   through the proxy;
3. while ``B`` is closed, ``A`` and ``C`` write a backlog (persons, descriptions, comments):
   ``B``'s catch-up is many delivery frames, each one store transaction;
4. ``B`` reopens and catches up while all three keep editing (``B`` is busy: applying
   deliveries, sealing and pushing its own edits), and a fault loop injects, every
   0.05–0.4 s, one of: relay SIGKILL (restarted after 0.05–0.5 s), a cut of every
   live connection, a network cut of 0.2–1 s, or a **trap**: the next store transaction ``B``
   opens while it applies a delivery triggers a cut, a network cut or a relay SIGKILL right
   there (the inbox task is then cancelled inside, or just before, that transaction);
5. faults stop; every sync is closed and every device closed, then **every device is reopened
   from its store file** and synced;
6. checks: every edit whose ``await`` returned is present exactly once on every device
   (persons by id and by their unique name, the last description each device set, every
   comment), the three devices hold identical content, each device's committed cursor equals
   the relay's head (read from the relay's database), and nothing is parked (waiting for
   dependencies), quarantined (envelopes or updates) or stalled.

Before the commit ordering of issue 16, a drop while a delivery waited for the store lost a
teammate's envelopes for good (8 of 11 runs of such a loop).

    ./dev python -m tests.sync.drop_loop --seeds 200 [--first 0] [--jobs 2] [--json out.json]

tests/sync/test_drop_loop.py runs a short series in ``./dev test``. A failure names its seed:
``./dev python -m tests.sync.drop_loop --first <seed> --seeds 1``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import random
import sqlite3
import sys
import tempfile
import time
import traceback
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mano_core.device import Device
from mano_core.ids import Compartment
from mano_core.store import TEST_KDF, LocalStore
from mano_core.sync.client import Backoff, SyncClient
from mano_core.team import Team
from tests.faults.proxy import FaultProxy
from tests.harness.devices import PASS
from tests.harness.relay import PROCESS_ARGS, RestartableRelay
from tests.sync.helpers import content, eventually, join

NAMES = ("A", "B", "C")


@dataclass
class Ledger:
    """What one device was told was saved (its ``await`` returned)."""

    persons: dict[str, str] = field(default_factory=dict)       # id -> name
    descriptions: dict[str, str] = field(default_factory=dict)  # id -> last description set
    comments: dict[str, str] = field(default_factory=dict)      # id -> text

    @property
    def edits(self) -> int:
        return len(self.persons) + len(self.descriptions) + len(self.comments)


@dataclass
class SeedResult:
    seed: int
    edits: int
    faults: Counter[str]
    seconds: float


class PortRelay(RestartableRelay):
    """The relay subprocess, SIGKILLed and restarted at will behind the proxy (each start on a
    port of the kernel's choosing: tests/harness/relay.py), and its database."""

    def __init__(self, db: Path, *extra: str) -> None:
        super().__init__(db, *PROCESS_ARGS, *extra)
        self.db_path = db

    def head(self, team_id: str, c: Compartment = Compartment.GENERAL) -> int:
        """The relay's head of ``c`` for the team, read from its database."""
        with contextlib.closing(sqlite3.connect(self.db_path)) as db:
            row = db.execute("SELECT head FROM heads WHERE team = ? AND c = ?",
                             (uuid.UUID(team_id).bytes, int(c))).fetchone()
        return int(row[0]) if row else 0


class DeliveryTrap:
    """Wraps a store's transactions: once armed, the next transaction opened while the sync
    client applies a delivery (its delivery lock is held) fires the armed fault right there;
    then either the transaction goes on at once (the cancellation lands inside it) or after
    a pause (it lands before it, while waiting for the store)."""

    def __init__(self, store: LocalStore, rng: random.Random) -> None:
        self.rng = rng
        self.sync: SyncClient | None = None
        self.armed: Callable[[], None] | None = None
        self.fired = 0  # faults fired inside a delivery
        self._original = store.transaction
        store.transaction = self._transaction  # type: ignore[method-assign]

    def arm(self, fault: Callable[[], None]) -> None:
        self.armed = fault

    def _in_delivery(self) -> bool:
        return self.sync is not None and self.sync.sync._serial.locked()

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Any]:
        if self.armed is not None and self._in_delivery():
            fault, self.armed = self.armed, None
            fault()
            self.fired += 1
            if self.rng.random() < 0.5:
                await asyncio.sleep(self.rng.uniform(0.0, 0.01))
        async with self._original() as tx:
            yield tx


async def _edits(name: str, team: Team, rng: random.Random, n: int, ledger: Ledger,
                 pause: float) -> None:
    """``n`` random edits: create a person, change the description of one of this device's
    persons, comment on one; each recorded once its ``await`` returned."""
    mine = list(ledger.persons)
    for _ in range(n):
        i = ledger.edits
        op = rng.random()
        if op < 0.5 or not mine:
            p = await team.persons.create(name=f"{name}-{i}")
            ledger.persons[p.id] = p.name
            mine.append(p.id)
        elif op < 0.75:
            pid = rng.choice(mine)
            await team.persons.update(pid, description=f"{name}-d{i}")
            ledger.descriptions[pid] = f"{name}-d{i}"
        else:
            c = await team.comments.create(text=f"{name}-c{i}", person=rng.choice(mine),
                                           date=dt.datetime.now(dt.UTC))
            ledger.comments[c.id] = c.text
        if pause:
            await asyncio.sleep(rng.uniform(0, pause))


async def _faults(rng: random.Random, relay: PortRelay, proxy: FaultProxy, trap: DeliveryTrap,
                  stop: asyncio.Event, counts: Counter[str], min_faults: int) -> None:
    restart_at: float | None = None
    loop = asyncio.get_running_loop()

    def trapped(kind: str) -> Callable[[], None]:
        def fire() -> None:
            nonlocal restart_at
            counts[f"trap_{kind}"] += 1
            if kind == "cut":
                proxy.cut_all(count=False)
            elif kind == "down":
                proxy.down_for(rng.uniform(0.2, 1.0))
            else:
                relay.kill_now()
                restart_at = loop.time() + rng.uniform(0.05, 0.5)
        return fire

    injected = 0
    while not stop.is_set() or injected < min_faults:
        injected += 1
        await asyncio.sleep(rng.uniform(0.05, 0.4))
        if restart_at is not None and loop.time() >= restart_at:
            await relay.kill()  # reap the killed process
            await relay.start()
            restart_at = None
        kind = rng.choice(["trap", "trap", "trap", "relay_kill", "cut", "down"])
        if kind == "trap":
            if trap.armed is None:
                trap.arm(trapped(rng.choice(["cut", "cut", "down", "relay_kill"])))
                counts["traps_armed"] += 1
        elif kind == "relay_kill" and restart_at is None:
            await relay.kill()
            counts["relay_sigkill"] += 1
            await asyncio.sleep(rng.uniform(0.05, 0.5))
            await relay.start()
        elif kind == "cut":
            if proxy.cut_all(count=False):
                counts["cut_live"] += 1
        elif kind == "down":
            proxy.down_for(rng.uniform(0.2, 1.0))
            counts["network_down"] += 1
    trap.armed = None
    if restart_at is not None or not relay.running:
        with contextlib.suppress(Exception):
            await relay.kill()
        await relay.start()


def _check(seed: int, final: dict[str, Any], ledgers: dict[str, Ledger], on: str = "A") -> None:
    """Every edit of every ledger is in ``final`` (device ``on``'s content) exactly once."""
    seed_on = f"{seed} (on {on})"
    persons, comments = final["persons"], final["comments"]
    names = Counter(p["name"] for p in persons.values())
    for who, led in ledgers.items():
        for pid, name in led.persons.items():
            assert pid in persons, f"seed {seed_on}: {who}'s saved person {name} is missing"
            assert names[name] == 1, f"seed {seed_on}: person {name} present {names[name]} times"
        for pid, desc in led.descriptions.items():
            got = persons[pid].get("description")
            assert got == desc, f"seed {seed_on}: {who}'s description {desc} lost ({got!r})"
        for cid, text in led.comments.items():
            assert cid in comments and comments[cid]["text"] == text, \
                f"seed {seed_on}: {who}'s comment {text} lost"


async def _settle(seed: int, syncs: list[SyncClient], timeout: float) -> None:
    for s in syncs:
        try:
            await s.wait_synced(timeout)
        except TimeoutError:
            raise AssertionError(f"seed {seed}: never synced: " + "; ".join(
                f"{x.state.status.value} pending={x.state.pending_local}/"
                f"{x.state.pending_envelopes} cursor={x.state.cursor} head={x.state.head} "
                f"err={x.state.last_error} alerts={x.state.alerts[-3:]}"
                for x in syncs)) from None


async def run_seed(seed: int, workdir: Path, *, backlog: int = 40, edits: int = 25,
                   min_faults: int = 10) -> SeedResult:
    """One seed in ``workdir`` (a fresh directory); AssertionError naming the seed on a loss."""
    started = time.monotonic()
    rng = random.Random(seed)
    counts: Counter[str] = Counter()
    batch = rng.choice([1, 3, 20])
    counts[f"catchup_batch_{batch}"] += 1
    relay = PortRelay(workdir / "relay.db", "--catchup-batch", str(batch))
    paths = {n: workdir / f"{n}.mano" for n in NAMES}
    ledgers = {n: Ledger() for n in NAMES}
    devices: dict[str, Device] = {}
    teams: dict[str, Team] = {}
    syncs: dict[str, SyncClient] = {}

    def backoff() -> Backoff:
        return Backoff(first=0.02, cap=0.3, rng=random.Random(rng.random()))

    async def start(n: str, url: str) -> SyncClient:
        s = await devices[n].sync(teams[n], url, backoff=backoff(), flush_delay=0.0)
        await s.__aenter__()
        syncs[n] = s
        return s

    async def close(n: str) -> None:
        s = syncs.pop(n, None)
        if s is not None:
            await asyncio.wait_for(s.close(), 30)
        await devices.pop(n).close()

    async def reopen(n: str, team_id: str) -> None:
        devices[n] = await Device.open(paths[n], PASS)
        teams[n] = await devices[n].open_team(team_id)

    await relay.start()
    try:
        async with FaultProxy(relay.port, rng=random.Random(rng.random())) as proxy:
            relay.front = proxy  # every restart re-points the proxy at the new port
            for n in NAMES:
                devices[n] = await Device.create(paths[n], PASS, kdf=TEST_KDF)
            teams["A"] = await devices["A"].create_team("Maraude")
            team_id = teams["A"].id
            sa = await start("A", proxy.url)
            for n in ("B", "C"):
                teams[n] = await join(sa, devices[n], proxy.url)
            await start("C", proxy.url)
            await close("B")

            # B away: a backlog for its catch-up.
            await asyncio.gather(*(_edits(n, teams[n], random.Random(rng.random()), backlog,
                                          ledgers[n], 0.01) for n in ("A", "C")))
            await _settle(seed, [syncs["A"], syncs["C"]], 60)

            # B back, busy: catching up, applying live deliveries, writing, under faults.
            await reopen("B", team_id)
            trap = DeliveryTrap(devices["B"].store, random.Random(rng.random()))
            stop = asyncio.Event()
            fault_task = asyncio.create_task(_faults(rng, relay, proxy, trap, stop, counts,
                                                     min_faults))
            trap.sync = await start("B", proxy.url)
            await asyncio.gather(*(_edits(n, teams[n], random.Random(rng.random()), edits,
                                          ledgers[n], 0.05) for n in NAMES))
            stop.set()
            await fault_task

            # Every device closed, then reopened from its store file alone.
            for n in NAMES:
                await close(n)
            for n in NAMES:
                await reopen(n, team_id)
                await start(n, proxy.url)
            group = [syncs[n] for n in NAMES]
            await _settle(seed, group, 90)
            try:
                await eventually(lambda: all(content(teams[n]) == content(teams["A"])
                                             for n in NAMES), 60, "convergence")
            except AssertionError:
                for n in NAMES:  # name what is lost, and where
                    _check(seed, content(teams[n]), ledgers, on=n)
                raise AssertionError(f"seed {seed}: the devices differ") from None
            await _settle(seed, group, 90)
            head = relay.head(team_id)
            for n in NAMES:
                s, team = syncs[n], teams[n]
                assert s.state.cursor[Compartment.GENERAL] == head, \
                    f"seed {seed}: {n}'s cursor {s.state.cursor} is not the relay's head {head}"
                assert not s.state.quarantine, f"seed {seed}: {n} quarantined {s.state.quarantine}"
                assert not await team.quarantine.list(), f"seed {seed}: {n} quarantined updates"
                assert s.state.waiting_updates == 0, f"seed {seed}: {n} parked updates"
                assert not s.state.stalled, f"seed {seed}: {n} stalled {s.state.stalled}"
            _check(seed, content(teams["A"]), ledgers)
            counts.update({f"proxy_{k}": v for k, v in proxy.counts.items()})
            return SeedResult(seed, sum(led.edits for led in ledgers.values()), counts,
                              time.monotonic() - started)
    finally:
        for s in syncs.values():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(s.close(), 10)
        for d in devices.values():
            if not d.store.closed:
                with contextlib.suppress(Exception):
                    await d.close()
        await relay.stop_all()


async def _one(seed: int, sem: asyncio.Semaphore, out: dict[str, Any]) -> None:
    async with sem:
        with tempfile.TemporaryDirectory(prefix=f"mano-drop-{seed}-") as d:
            try:
                r = await asyncio.wait_for(run_seed(seed, Path(d)), 300)
            except BaseException as exc:  # report and go on
                out["failed"].append({"seed": seed, "error": repr(exc)[:800]})
                print(f"seed {seed}: FAILED {exc!r}", flush=True)
                traceback.print_exc()
                return
            out["passed"] += 1
            out["edits"] += r.edits
            out["faults"].update(r.faults)
            print(f"seed {seed}: ok in {r.seconds:.1f}s, {r.edits} edits, {dict(r.faults)}",
                  flush=True)


async def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20, help="how many seeds")
    ap.add_argument("--first", type=int, default=0, help="the first seed")
    ap.add_argument("--jobs", type=int, default=1, help="seeds run concurrently")
    ap.add_argument("--json", help="write the figures to this file too")
    args = ap.parse_args(argv)
    out: dict[str, Any] = {"seeds": args.seeds, "first": args.first, "passed": 0, "failed": [],
                           "edits": 0, "faults": Counter()}
    start = time.monotonic()
    sem = asyncio.Semaphore(args.jobs)
    await asyncio.gather(*(_one(s, sem, out) for s in range(args.first, args.first + args.seeds)))
    out["seconds"] = round(time.monotonic() - start, 1)
    out["faults"] = dict(sorted(out["faults"].items()))
    print(json.dumps(out, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 1 if out["failed"] else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
